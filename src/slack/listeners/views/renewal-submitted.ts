import type { App } from '@slack/bolt';
import { requestRenewal } from '../../../services/request-renewal';
import { CALLBACK_IDS, RENEWAL_BLOCK_IDS } from '../../ids';
import { calendarDateIn } from '../../../domain/calendar';
import { renewalRequestedConfirmation } from '../../views/confirmations';
import { readRenewalForm } from '../../views/renewal-modal';
import { ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { blockErrors, parseExceptionId, refusalText } from '../refusals';
import { requestLogger } from '../../request-log';

export function registerRenewalSubmitted(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.renewal, async ({ ack, body, view, context }) => {
    const exceptionId = parseExceptionId(view.private_metadata);
    try {
      if (!exceptionId) throw new Error(`renewal modal without an exception id: ${view.private_metadata}`);
      const result = requestRenewal(deps.services, {
        exceptionId,
        actorId: body.user.id,
        input: readRenewalForm(ViewState.parse(view.state.values)),
        submissionKey: view.id,
      });
      if (!result.ok) {
        await ack({ response_action: 'errors', errors: blockErrors(result.errors, RENEWAL_BLOCK_IDS) });
        return;
      }
      await ack({ response_action: 'update', view: renewalRequestedConfirmation(result, calendarDateIn(deps.services.clock(), deps.services.timeZone), deps.services.timeZone) });
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [RENEWAL_BLOCK_IDS.progress]: refusalText(error, requestLogger(context, deps.logger), { exceptionId }) } });
    }
  });
}
