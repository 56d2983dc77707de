import type { App, BlockButtonAction } from '@slack/bolt';
import { authorizeRenewal } from '../../../services/request-renewal';
import { ACTION_IDS } from '../../ids';
import { renewalModal } from '../../views/renewal-modal';
import type { ListenerDeps } from '../deps';
import { parseExceptionId, refusalText, tellPrivately } from '../refusals';
import { replyTo } from './reply-to';

export function registerRenewButton(app: App, deps: ListenerDeps): void {
  app.action<BlockButtonAction>(ACTION_IDS.renew, async ({ ack, body, action, client, respond }) => {
    await ack();
    const exceptionId = parseExceptionId(action.value);
    if (!exceptionId) return;
    try {
      await client.views.open({ trigger_id: body.trigger_id, view: renewalModal(authorizeRenewal(deps.services, exceptionId, body.user.id)) });
    } catch (error) {
      await tellPrivately(replyTo(body, client, respond, deps.logger), refusalText(error, deps.logger, { exceptionId, action: action.action_id }));
    }
  });
}
