import type { App } from '@slack/bolt';
import { withdrawRequest } from '../../../services/withdraw-request';
import { CALLBACK_IDS, WITHDRAWAL_REASON_BLOCK_ID } from '../../ids';
import { requestLogger } from '../../request-log';
import { readInput, ViewState } from '../../views/view-state';
import { withdrawnConfirmation } from '../../views/withdrawal-messages';
import type { ListenerDeps } from '../deps';
import { parseExceptionId, refusalText } from '../refusals';

export function registerWithdrawalSubmitted(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.withdrawal, async ({ ack, body, view, context }) => {
    const exceptionId = parseExceptionId(view.private_metadata);
    try {
      if (!exceptionId) throw new Error(`withdrawal modal without an exception id: ${view.private_metadata}`);
      const values = ViewState.parse(view.state.values);
      const result = withdrawRequest(deps.services, { exceptionId, actorId: body.user.id, reason: readInput(values, WITHDRAWAL_REASON_BLOCK_ID).value ?? undefined });
      if (!result.ok) {
        await ack({ response_action: 'errors', errors: { [WITHDRAWAL_REASON_BLOCK_ID]: result.error } });
        return;
      }
      await ack({ response_action: 'update', view: withdrawnConfirmation(result) });
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [WITHDRAWAL_REASON_BLOCK_ID]: refusalText(error, requestLogger(context, deps.logger), { exceptionId }) } });
    }
  });
}
