import type { App } from '@slack/bolt';
import { requestException } from '../../../services/request-exception';
import { CALLBACK_IDS, REQUEST_BLOCK_IDS } from '../../ids';
import { readRequestForm, RequestModalMetadata, ViewState } from '../../views/request-modal';
import type { ListenerDeps } from '../deps';
import { blockErrors, refusalText } from '../refusals';

export function registerRequestSubmitted(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.request, async ({ ack, body, view }) => {
    const metadata = RequestModalMetadata.parse(safeJson(view.private_metadata));
    try {
      const result = requestException(deps.services, {
        requesterId: body.user.id,
        input: readRequestForm(ViewState.parse(view.state.values)),
        submissionKey: view.id,
        originPermalink: metadata.originPermalink,
      });
      if (!result.ok) {
        await ack({ response_action: 'errors', errors: blockErrors(result.errors, REQUEST_BLOCK_IDS) });
        return;
      }
      await ack();
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.title]: refusalText(error, deps.logger, { callbackId: view.callback_id }) } });
    }
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
