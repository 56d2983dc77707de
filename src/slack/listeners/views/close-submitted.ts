import type { App } from '@slack/bolt';
import { closeException } from '../../../services/close-exception';
import { CALLBACK_IDS, CLOSING_NOTE_BLOCK_ID } from '../../ids';
import { closedConfirmation } from '../../views/confirmations';
import { readInput, ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { parseExceptionId, refusalText } from '../refusals';
import { requestLogger } from '../../request-log';

export function registerCloseSubmitted(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.close, async ({ ack, body, view, context }) => {
    const exceptionId = parseExceptionId(view.private_metadata);
    try {
      if (!exceptionId) throw new Error(`closing modal without an exception id: ${view.private_metadata}`);
      const values = ViewState.parse(view.state.values);
      const closed = closeException(deps.services, { exceptionId, actorId: body.user.id, note: readInput(values, CLOSING_NOTE_BLOCK_ID).value ?? undefined });
      await ack({ response_action: 'update', view: closedConfirmation(closed) });
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [CLOSING_NOTE_BLOCK_ID]: refusalText(error, requestLogger(context, deps.logger), { exceptionId }) } });
    }
  });
}
