import type { App, BlockButtonAction } from '@slack/bolt';
import { authorizeClose } from '../../../services/close-exception';
import { ACTION_IDS } from '../../ids';
import { closeModal } from '../../views/decision-modals';
import type { ListenerDeps } from '../deps';
import { parseExceptionId, refusalText, tellPrivately } from '../refusals';
import { replyTo } from './reply-to';

export function registerCloseButton(app: App, deps: ListenerDeps): void {
  app.action<BlockButtonAction>(ACTION_IDS.close, async ({ ack, body, action, client, respond }) => {
    await ack();
    const exceptionId = parseExceptionId(action.value);
    if (!exceptionId) return;
    try {
      const record = authorizeClose(deps.services, exceptionId, body.user.id);
      await client.views.open({ trigger_id: body.trigger_id, view: closeModal(record) });
    } catch (error) {
      await tellPrivately(replyTo(body, client, respond, deps.logger), refusalText(error, deps.logger, { exceptionId, action: action.action_id }));
    }
  });
}
