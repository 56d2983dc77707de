import type { App, webApi } from '@slack/bolt';
import type { OwnerAccount } from '../../../domain/request';
import { addLogFields } from '../../../logger';
import { requestException } from '../../../services/request-exception';
import { CALLBACK_IDS, REQUEST_BLOCK_IDS } from '../../ids';
import { readRequestForm, readRequestOrigin, type RequestOrigin } from '../../views/request-modal';
import { ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { blockErrors, refusalText } from '../refusals';

export function registerRequestSubmitted(app: App, deps: ListenerDeps): void {
  app.view(CALLBACK_IDS.request, async ({ ack, body, view, client }) => {
    try {
      const input = readRequestForm(ViewState.parse(view.state.values));
      const origin = readRequestOrigin(view.private_metadata);
      const [ownerAccount, originPermalink] = await Promise.all([
        input.owner ? lookUpAccount(client, input.owner, deps) : undefined,
        origin ? permalinkOf(client, origin, deps) : undefined,
      ]);
      const result = requestException(deps.services, { requesterId: body.user.id, input, ownerAccount, originPermalink, submissionKey: view.id });
      if (!result.ok) {
        await ack({ response_action: 'errors', errors: blockErrors(result.errors, REQUEST_BLOCK_IDS) });
        return;
      }
      addLogFields({ exceptionId: result.ref });
      await ack();
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.title]: refusalText(error, deps.logger, { callbackId: view.callback_id }) } });
    }
  });
}

const LOOKUP_TIMEOUT_MS = 1000;

/** Best effort within Slack's three seconds: if Slack is slow or down, the request is not held up by a lookup. */
function withinLookupTime<T>(lookup: Promise<T | undefined>): Promise<T | undefined> {
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS).unref());
  return Promise.race([lookup, timeout]);
}

/** The link to the conversation a request started from; without it the request is still taken. */
async function permalinkOf(client: webApi.WebClient, origin: RequestOrigin, deps: ListenerDeps): Promise<string | undefined> {
  return withinLookupTime(
    client.chat
      .getPermalink({ channel: origin.channel, message_ts: origin.ts })
      .then((result) => result.permalink)
      .catch((error: unknown) => {
        deps.logger.warn('could not link the request to its conversation; taking it without the link', error);
        return undefined;
      }),
  );
}

/** Whether the person named as owner is a bot or deactivated, when Slack says so in time. */
async function lookUpAccount(client: webApi.WebClient, userId: string, deps: ListenerDeps): Promise<OwnerAccount | undefined> {
  const lookup = client.users
    .info({ user: userId })
    .then((result) => (result.user ? { isBot: Boolean(result.user.is_bot || result.user.is_app_user), deleted: Boolean(result.user.deleted) } : undefined))
    .catch((error: unknown) => {
      deps.logger.warn('could not check the owner with users.info; accepting the request without the check', error);
      return undefined;
    });
  return withinLookupTime(lookup);
}
