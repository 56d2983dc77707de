import type { App } from '@slack/bolt';
import { assessRisk } from '../../../services/assess-risk';
import { decideException } from '../../../services/decide-exception';
import { ASSESSMENT_BLOCK_IDS, CALLBACK_IDS, REJECTION_BLOCK_ID } from '../../ids';
import { readInput, ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { blockErrors, parseExceptionId, refusalText } from '../refusals';

export function registerDecisionSubmissions(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.assessment, async ({ ack, body, view }) => {
    const exceptionId = parseExceptionId(view.private_metadata);
    try {
      if (!exceptionId) throw new Error(`assessment modal without an exception id: ${view.private_metadata}`);
      const values = ViewState.parse(view.state.values);
      const result = assessRisk(deps.services, {
        exceptionId,
        assessorId: body.user.id,
        input: {
          likelihood: readInput(values, ASSESSMENT_BLOCK_IDS.likelihood).selected_option?.value,
          impact: readInput(values, ASSESSMENT_BLOCK_IDS.impact).selected_option?.value,
          rationale: readInput(values, ASSESSMENT_BLOCK_IDS.rationale).value ?? undefined,
        },
      });
      if (!result.ok) {
        await ack({ response_action: 'errors', errors: blockErrors(result.errors, ASSESSMENT_BLOCK_IDS) });
        return;
      }
      await ack();
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [ASSESSMENT_BLOCK_IDS.rationale]: refusalText(error, deps.logger, { exceptionId }) } });
    }
  });

  app.view(CALLBACK_IDS.rejection, async ({ ack, body, view }) => {
    const exceptionId = parseExceptionId(view.private_metadata);
    try {
      if (!exceptionId) throw new Error(`rejection modal without an exception id: ${view.private_metadata}`);
      const values = ViewState.parse(view.state.values);
      decideException(deps.services, {
        exceptionId,
        deciderId: body.user.id,
        outcome: 'reject',
        comment: readInput(values, REJECTION_BLOCK_ID).value ?? undefined,
      });
      await ack();
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [REJECTION_BLOCK_ID]: refusalText(error, deps.logger, { exceptionId }) } });
    }
  });
}
