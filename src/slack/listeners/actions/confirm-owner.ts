import type { App, BlockButtonAction } from '@slack/bolt';
import { confirmOwner, type OwnerAnswer } from '../../../services/confirm-owner';
import { ACTION_IDS } from '../../ids';
import { requestLogger } from '../../request-log';
import { ownerAnswered } from '../../views/direct-messages';
import type { ListenerDeps } from '../deps';
import { parseExceptionId, refusalText, tellPrivately } from '../refusals';
import { replyTo } from './reply-to';

/** Accept and Decline on the "you were named owner" DM. */
export function registerOwnerButtons(app: App, deps: ListenerDeps): void {
  const answer = (value: OwnerAnswer) =>
    app.action<BlockButtonAction>(value === 'accept' ? ACTION_IDS.acceptOwnership : ACTION_IDS.declineOwnership, async ({ ack, body, action, client, respond, context }) => {
      await ack();
      const exceptionId = parseExceptionId(action.value);
      if (!exceptionId) return;
      try {
        const record = confirmOwner(deps.services, { exceptionId, actorId: body.user.id, answer: value });
        deps.wakeNotifier();
        // The buttons give way to the answer, so the DM says what was chosen.
        await respond({ replace_original: true, ...ownerAnswered(record, value) });
      } catch (error) {
        const logger = requestLogger(context, deps.logger);
        await tellPrivately(replyTo(body, client, respond, logger), refusalText(error, logger, { exceptionId, action: action.action_id }));
      }
    });
  answer('accept');
  answer('decline');
}
