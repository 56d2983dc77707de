import type { App, types, webApi } from '@slack/bolt';
import type { OwnerAccount } from '../../../domain/request';
import type { StructuredLogger } from '../../../logger';
import { checkSubmittedRequest, requestException, type RequestExceptionCommand } from '../../../services/request-exception';
import type { ServiceContext } from '../../../services/context';
import type { Connectors } from '../../../integrations/connectors';
import type { BypassChoice } from '../../../db/integrations';
import { plainText } from '../../views/mrkdwn';
import { readBypassPick } from '../../views/request-modal';
import { checkExternalRef, resolveBypass } from './bypass-choice';
import { CALLBACK_IDS, REQUEST_BLOCK_IDS } from '../../ids';
import { addLogFields, requestLogger } from '../../request-log';
import { readRequestForm, readRequestOrigin, type RequestOrigin } from '../../views/request-modal';
import { ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { policyPickerRefusal } from '../options/policy-options';
import { blockErrors, refusalText } from '../refusals';

export function registerRequestSubmitted(app: App, deps: ListenerDeps): void {
  const accounts = recentAccounts();
  app.view(CALLBACK_IDS.request, async ({ ack, body, view, client, context }) => {
    const logger = requestLogger(context, deps.logger);
    try {
      const input = readRequestForm(ViewState.parse(view.state.values));
      const pickerRefusal = policyPickerRefusal(deps.services.db, input.policy);
      if (pickerRefusal) {
        await ack({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.policy]: pickerRefusal } });
        return;
      }
      const origin = readRequestOrigin(view.private_metadata);
      const [ownerAccount, originPermalink, vendorChecks] = await Promise.all([
        input.owner ? accounts.lookUp(input.owner, () => lookUpAccount(client, input.owner!, logger)) : undefined,
        origin ? permalinkOf(client, origin, logger) : undefined,
        checkInVendors(deps.services.connectors, client, ViewState.parse(view.state.values), input.externalRef, logger),
      ]);
      if (!vendorChecks.ok) {
        await ack({ response_action: 'errors', errors: { ...formErrors(deps.services, input, ownerAccount), ...vendorChecks.errors } });
        return;
      }
      const result = requestException(deps.services, { requesterId: body.user.id, input, ownerAccount, originPermalink, submissionKey: view.id, bypass: vendorChecks.bypass });
      if (!result.ok) {
        await ack({ response_action: 'errors', errors: blockErrors(result.errors, REQUEST_BLOCK_IDS) });
        return;
      }
      addLogFields(context, { exceptionId: result.ref });
      await ack(vendorChecks.warning ? { response_action: 'update', view: submittedWithWarning(`Request ${result.ref} is with the security team; you get a receipt in a direct message.`, vendorChecks.warning) } : undefined);
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.title]: refusalText(error, logger, { callbackId: view.callback_id }) } });
    }
  });
}

/**
 * What the configured vendors say about the form: the bypass group and people found there (with the vendor's ids),
 * a Jira key that does not exist, and a warning when Jira could not be asked. Nothing is asked of a vendor not configured.
 */
export async function checkInVendors(
  connectors: Connectors,
  client: webApi.WebClient,
  values: ViewState,
  externalRef: string | undefined,
  logger: StructuredLogger,
): Promise<{ ok: true; bypass?: BypassChoice; picked: boolean; warning?: string } | { ok: false; errors: Record<string, string> }> {
  const pick = readBypassPick(values);
  const [bypass, reference] = await Promise.all([resolveBypass(connectors, client, pick, logger), checkExternalRef(connectors, externalRef, logger)]);
  const errors = { ...(bypass.ok ? {} : bypass.errors), ...(reference.error ? { [REQUEST_BLOCK_IDS.externalRef]: reference.error } : {}) };
  if (!bypass.ok || reference.error) return { ok: false, errors };
  return { ok: true, bypass: bypass.choice, picked: Boolean(pick.group) || pick.people.length > 0, ...(reference.warning ? { warning: reference.warning } : {}) };
}

/** The rest of the form's errors, shown with a vendor's so the requester fixes everything in one go. */
export function formErrors(ctx: ServiceContext, input: RequestExceptionCommand['input'], ownerAccount: RequestExceptionCommand['ownerAccount']): Record<string, string> {
  const checked = checkSubmittedRequest(ctx, input, ownerAccount);
  return checked.ok ? {} : blockErrors(checked.errors, REQUEST_BLOCK_IDS);
}

/** The modal's last screen when the request was taken but something could not be checked: said where the requester is looking. */
export function submittedWithWarning(taken: string, warning: string): types.ModalView {
  return {
    type: 'modal',
    title: plainText('Request submitted', 24),
    close: plainText('Done', 24),
    blocks: [
      { type: 'section', text: { type: 'plain_text', text: taken } },
      { type: 'section', text: { type: 'mrkdwn', text: `:warning: ${warning}` } },
    ],
  };
}

const LOOKUP_TIMEOUT_MS = 1000;
/** How long Slack's answer about an account is trusted: a deactivation shows within this, and the ack stays fast. */
const ACCOUNT_TTL_MS = 10 * 60_000;
const ACCOUNTS_KEPT = 5000;

/** The same owners are named again and again; asking Slack each time would put a round trip before every ack. */
export function recentAccounts() {
  const known = new Map<string, { account: OwnerAccount; until: number }>();
  return {
    async lookUp(userId: string, ask: () => Promise<OwnerAccount | undefined>): Promise<OwnerAccount | undefined> {
      const hit = known.get(userId);
      if (hit && hit.until > Date.now()) return hit.account;
      const account = await ask();
      // Only definite answers are kept: a timeout, an error, or "no such user" (a brand-new account may not be
      // known everywhere yet) asks again next time.
      if (account && !account.unknown) {
        if (known.size >= ACCOUNTS_KEPT) known.delete(known.keys().next().value!);
        known.set(userId, { account, until: Date.now() + ACCOUNT_TTL_MS });
      }
      return account;
    },
  };
}

/** Best effort within Slack's three seconds: if Slack is slow or down, the request is not held up by a lookup. */
function withinLookupTime<T>(lookup: Promise<T | undefined>): Promise<T | undefined> {
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS).unref());
  return Promise.race([lookup, timeout]);
}

/** The link to the conversation a request started from; without it the request is still taken. */
async function permalinkOf(client: webApi.WebClient, origin: RequestOrigin, logger: StructuredLogger): Promise<string | undefined> {
  return withinLookupTime(
    client.chat
      .getPermalink({ channel: origin.channel, message_ts: origin.ts })
      .then((result) => result.permalink)
      .catch((error: unknown) => {
        logger.warn('could not link the request to its conversation; taking it without the link', error);
        return undefined;
      }),
  );
}

/** Whether the person named as owner is a bot or deactivated, when Slack says so in time. */
export async function lookUpAccount(client: webApi.WebClient, userId: string, logger: StructuredLogger): Promise<OwnerAccount | undefined> {
  const lookup = client.users
    .info({ user: userId })
    .then((result) => (result.user ? { isBot: Boolean(result.user.is_bot || result.user.is_app_user), deleted: Boolean(result.user.deleted) } : undefined))
    .catch((error: unknown): OwnerAccount | undefined => {
      // A definite answer, unlike an outage: the person named does not exist.
      if ((error as { data?: { error?: unknown } }).data?.error === 'user_not_found') return { isBot: false, deleted: false, unknown: true };
      logger.warn('could not check the owner with users.info; accepting the request without the check', error);
      return undefined;
    });
  return withinLookupTime(lookup);
}
