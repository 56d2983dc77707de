import type { App } from '@slack/bolt';
import { askForChanges } from '../../../services/ask-for-changes';
import { CALLBACK_IDS, CHANGES_BLOCK_ID } from '../../ids';
import { requestLogger } from '../../request-log';
import { readShownFor } from '../../shown-for-value';
import { readInput, ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { refusalWithLink } from '../refusals';

export function registerChangesRequestedSubmitted(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.changesRequested, async ({ ack, body, view, client, context }) => {
    const shown = readShownFor(view.private_metadata);
    const exceptionId = shown?.exceptionId;
    try {
      if (!shown) throw new Error(`changes-requested modal without an exception id: ${view.private_metadata}`);
      const result = askForChanges(deps.services, {
        exceptionId: shown.exceptionId,
        actorId: body.user.id,
        shown,
        changes: readInput(ViewState.parse(view.state.values), CHANGES_BLOCK_ID).value ?? undefined,
      });
      if (!result.ok) {
        await ack({ response_action: 'errors', errors: { [CHANGES_BLOCK_ID]: result.error } });
        return;
      }
      await ack();
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [CHANGES_BLOCK_ID]: await refusalWithLink(error, client, requestLogger(context, deps.logger), { exceptionId }) } });
    }
  });
}
