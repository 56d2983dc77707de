import type { App, BlockButtonAction } from '@slack/bolt';
import type { CheckinAnswer } from '../../../db/schema';
import { answerCheckin } from '../../../services/answer-checkin';
import { authorizeReapproval } from '../../../services/reapprove-exception';
import { ACTION_IDS } from '../../ids';
import { reapprovalModal } from '../../views/decision-modals';
import type { ListenerDeps } from '../deps';
import { parseExceptionId, refusalText, tellPrivately } from '../refusals';
import { registerModalButton } from './modal-button';
import { replyTo } from './reply-to';
import { requestLogger } from '../../request-log';

export function registerFollowUpButtons(app: App, deps: ListenerDeps): void {
  const answer = (value: CheckinAnswer) =>
    app.action<BlockButtonAction>(value === 'yes' ? ACTION_IDS.checkinYes : ACTION_IDS.checkinNo, async ({ ack, body, action, client, respond, context }) => {
      await ack();
      const checkinId = parseExceptionId(action.value);
      if (!checkinId) return;
      try {
        answerCheckin(deps.services, { checkinId, actorId: body.user.id, answer: value });
        // The answer takes the question's buttons away through the outbox: the DM may hold other notices too.
        deps.wakeNotifier();
      } catch (error) {
        const logger = requestLogger(context, deps.logger);
        await tellPrivately(replyTo(body, client, respond, logger), refusalText(error, logger, { checkinId, action: action.action_id }));
      }
    });
  answer('yes');
  answer('no');

  registerModalButton(app, deps, ACTION_IDS.reapprove, (services, id, userId) => reapprovalModal(authorizeReapproval(services, id, userId)));
}
