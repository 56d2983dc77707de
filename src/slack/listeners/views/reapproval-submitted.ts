import type { App } from '@slack/bolt';
import { reapproveException } from '../../../services/reapprove-exception';
import { CALLBACK_IDS, FRESH_JUSTIFICATION_BLOCK_ID } from '../../ids';
import { readInput, ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { parseExceptionId, refusalText } from '../refusals';
import { requestLogger } from '../../request-log';

export function registerReapprovalSubmitted(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.reapproval, async ({ ack, body, view, context }) => {
    const exceptionId = parseExceptionId(view.private_metadata);
    try {
      if (!exceptionId) throw new Error(`re-approval modal without an exception id: ${view.private_metadata}`);
      const values = ViewState.parse(view.state.values);
      reapproveException(deps.services, { exceptionId, actorId: body.user.id, justification: readInput(values, FRESH_JUSTIFICATION_BLOCK_ID).value ?? undefined });
      await ack();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [FRESH_JUSTIFICATION_BLOCK_ID]: refusalText(error, requestLogger(context, deps.logger), { exceptionId }) } });
    }
  });
}
