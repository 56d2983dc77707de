import type { App, BlockButtonAction } from '@slack/bolt';
import { authorizeDecision, decideException } from '../../../services/decide-exception';
import { ACTION_IDS } from '../../ids';
import { rejectionModal } from '../../views/decision-modals';
import { voteRecordedNote } from '../../views/exception-cards';
import { pressedOn, readShownFor } from '../../shown-for-value';
import type { ListenerDeps } from '../deps';
import { refusalWithLink, tellPrivately } from '../refusals';
import { registerModalButton } from './modal-button';
import { replyTo } from './reply-to';
import { requestLogger } from '../../request-log';

export function registerDecisionButtons(app: App, deps: ListenerDeps): void {
  app.action<BlockButtonAction>(ACTION_IDS.approve, async ({ ack, body, action, client, respond, context }) => {
    await ack();
    const shown = readShownFor(action.value, pressedOn(body));
    if (!shown) return;
    const { exceptionId } = shown;
    const logger = requestLogger(context, deps.logger);
    const reply = replyTo(body, client, respond, logger);
    try {
      const result = decideException(deps.services, { exceptionId, deciderId: body.user.id, outcome: 'approve', shown });
      deps.wakeNotifier();
      if (result.outcome === 'pending') await tellPrivately(reply, voteRecordedNote(result.ref, result.tally));
    } catch (error) {
      await tellPrivately(reply, await refusalWithLink(error, client, logger, { exceptionId, action: action.action_id }));
    }
  });

  // A rejection needs a reason, so the button opens a modal; the decision is recorded when it is submitted.
  registerModalButton(app, deps, ACTION_IDS.reject, (services, id, userId, shown) => rejectionModal(authorizeDecision(services, id, userId, 'reject', shown)));
}
