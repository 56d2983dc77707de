import type { App } from '@slack/bolt';
import { assessRisk } from '../../../services/assess-risk';
import { decideException } from '../../../services/decide-exception';
import { ASSESSMENT_BLOCK_IDS, CALLBACK_IDS, REJECTION_BLOCK_ID } from '../../ids';
import { readShownFor } from '../../shown-for-value';
import { readInput, ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { blockErrors, refusalWithLink } from '../refusals';
import { requestLogger } from '../../request-log';

export function registerDecisionSubmissions(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.assessment, async ({ ack, body, view, client, context }) => {
    const shown = readShownFor(view.private_metadata);
    const exceptionId = shown?.exceptionId;
    try {
      if (!shown) throw new Error(`assessment modal without an exception id: ${view.private_metadata}`);
      const values = ViewState.parse(view.state.values);
      const result = assessRisk(deps.services, {
        exceptionId: shown.exceptionId,
        assessorId: body.user.id,
        shown,
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
      await ack({ response_action: 'errors', errors: { [ASSESSMENT_BLOCK_IDS.rationale]: await refusalWithLink(error, client, requestLogger(context, deps.logger), { exceptionId }) } });
    }
  });

  app.view(CALLBACK_IDS.rejection, async ({ ack, body, view, client, context }) => {
    const shown = readShownFor(view.private_metadata);
    const exceptionId = shown?.exceptionId;
    try {
      if (!shown) throw new Error(`rejection modal without an exception id: ${view.private_metadata}`);
      const values = ViewState.parse(view.state.values);
      decideException(deps.services, {
        exceptionId: shown.exceptionId,
        deciderId: body.user.id,
        outcome: 'reject',
        shown,
        comment: readInput(values, REJECTION_BLOCK_ID).value ?? undefined,
      });
      await ack();
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [REJECTION_BLOCK_ID]: await refusalWithLink(error, client, requestLogger(context, deps.logger), { exceptionId }) } });
    }
  });
}
