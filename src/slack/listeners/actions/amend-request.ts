import type { App, BlockButtonAction } from '@slack/bolt';
import { authorizeAmendment } from '../../../services/amend-request';
import { requestFormDefaults } from '../../../services/request-exception';
import { ACTION_IDS } from '../../ids';
import { requestLogger } from '../../request-log';
import { amendmentModal, readAmendValue } from '../../views/amendment-messages';
import type { ListenerDeps } from '../deps';
import { modalAlreadyOpened, refusalText, tellPrivately } from '../refusals';
import { replyTo } from './reply-to';

/** The requester's "Amend request": the request form, filled in as it stands, for the send-back the button answers. */
export function registerAmendRequest(app: App, deps: ListenerDeps): void {
  app.action<BlockButtonAction>(ACTION_IDS.amendRequest, async ({ ack, body, action, client, respond, context }) => {
    await ack();
    const value = readAmendValue(action.value);
    if (!value) return;
    const logger = requestLogger(context, deps.logger);
    try {
      const { record, sentBack } = authorizeAmendment(deps.services, value.exception, body.user.id, value.sentBack);
      await client.views.open({ trigger_id: body.trigger_id, view: amendmentModal(record, sentBack, requestFormDefaults(deps.services)) });
    } catch (error) {
      if (modalAlreadyOpened(error)) return;
      await tellPrivately(replyTo(body, client, respond, logger), refusalText(error, logger, { exceptionId: value.exception, action: action.action_id }));
    }
  });
}
