import type { App } from '@slack/bolt';
import { requestTermChange } from '../../../services/change-terms';
import { CALLBACK_IDS, TERM_CHANGE_BLOCK_IDS } from '../../ids';
import { readChangeTermsForm } from '../../views/change-terms-modal';
import { termChangeRequestedConfirmation } from '../../views/confirmations';
import { ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { blockErrors, parseExceptionId, refusalText } from '../refusals';
import { requestLogger } from '../../request-log';

export function registerChangeTermsSubmitted(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.changeTerms, async ({ ack, body, view, context }) => {
    const exceptionId = parseExceptionId(view.private_metadata);
    try {
      if (!exceptionId) throw new Error(`change-terms modal without an exception id: ${view.private_metadata}`);
      const result = requestTermChange(deps.services, {
        exceptionId,
        actorId: body.user.id,
        input: readChangeTermsForm(ViewState.parse(view.state.values)),
        submissionKey: view.id,
      });
      if (!result.ok) {
        await ack({ response_action: 'errors', errors: blockErrors(result.errors, TERM_CHANGE_BLOCK_IDS) });
        return;
      }
      await ack({ response_action: 'update', view: termChangeRequestedConfirmation(result) });
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [TERM_CHANGE_BLOCK_IDS.reason]: refusalText(error, requestLogger(context, deps.logger), { exceptionId }) } });
    }
  });
}
