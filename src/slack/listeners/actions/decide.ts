import type { App, BlockButtonAction } from '@slack/bolt';
import { authorizeDecision, decideException } from '../../../services/decide-exception';
import { ACTION_IDS } from '../../ids';
import { rejectionModal } from '../../views/decision-modals';
import { voteRecordedNote } from '../../views/exception-cards';
import type { ListenerDeps } from '../deps';
import { parseExceptionId, refusalText, tellPrivately } from '../refusals';
import { registerModalButton } from './modal-button';
import { replyTo } from './reply-to';

export function registerDecisionButtons(app: App, deps: ListenerDeps): void {
  app.action<BlockButtonAction>(ACTION_IDS.approve, async ({ ack, body, action, client, respond }) => {
    await ack();
    const exceptionId = parseExceptionId(action.value);
    if (!exceptionId) return;
    const reply = replyTo(body, client, respond, deps.logger);
    try {
      const result = decideException(deps.services, { exceptionId, deciderId: body.user.id, outcome: 'approve' });
      deps.wakeNotifier();
      if (result.outcome === 'pending') await tellPrivately(reply, voteRecordedNote(result.ref, result.tally));
    } catch (error) {
      await tellPrivately(reply, refusalText(error, deps.logger, { exceptionId, action: action.action_id }));
    }
  });

  // A rejection needs a reason, so the button opens a modal; the decision is recorded when it is submitted.
  registerModalButton(app, deps, ACTION_IDS.reject, (services, id, userId) => rejectionModal(authorizeDecision(services, id, userId, 'reject')));
}
