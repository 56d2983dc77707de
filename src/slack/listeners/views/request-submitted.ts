import type { App, webApi } from '@slack/bolt';
import type { OwnerAccount } from '../../../domain/request';
import { requestException } from '../../../services/request-exception';
import { CALLBACK_IDS, REQUEST_BLOCK_IDS } from '../../ids';
import { readRequestForm } from '../../views/request-modal';
import { ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { blockErrors, refusalText } from '../refusals';

export function registerRequestSubmitted(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.request, async ({ ack, body, view, client }) => {
    try {
      const input = readRequestForm(ViewState.parse(view.state.values));
      const result = requestException(deps.services, {
        requesterId: body.user.id,
        input,
        ownerAccount: input.owner ? await lookUpAccount(client, input.owner, deps) : undefined,
        submissionKey: view.id,
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

const LOOKUP_TIMEOUT_MS = 1000;

/** Best effort within Slack's three seconds: if Slack is slow or down, the request is not held up by this check. */
async function lookUpAccount(client: webApi.WebClient, userId: string, deps: ListenerDeps): Promise<OwnerAccount | undefined> {
  const lookup = client.users
    .info({ user: userId })
    .then((result) => (result.user ? { isBot: Boolean(result.user.is_bot || result.user.is_app_user), deleted: Boolean(result.user.deleted) } : undefined))
    .catch((error: unknown) => {
      deps.logger.warn('could not check the owner with users.info; accepting the request without the check', error);
      return undefined;
    });
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS).unref());
  return Promise.race([lookup, timeout]);
}
