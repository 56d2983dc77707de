import type { webApi } from '@slack/bolt';
import type { BoundPerson, BypassChoice } from '../../../db/integrations';
import { looksLikeJiraKey } from '../../../domain/integrations';
import type { Connectors } from '../../../integrations/connectors';
import { IDENTITY_VENDORS, VENDOR_LABELS, isConnectorError, type IdentityConnector, type IdentityVendor } from '../../../integrations/port';
import type { StructuredLogger } from '../../../logger';
import { BYPASS_BLOCK_IDS, type BypassPick } from '../../views/request-modal';
import { UNREACHABLE_PREFIX } from '../options/bypass-group-options';

/**
 * The bypass a request names, found in the vendor before anything is stored: the binding applied on approval needs
 * the vendor's real ids, so a person or a group the vendor does not know is a field error now, not a failure later.
 */
export type BypassResolution = { ok: true; choice?: BypassChoice } | { ok: false; errors: Record<string, string> };

/** At most this many vendor calls at once: a hundred people must not hit the vendor's rate limit in one burst. */
const CONCURRENCY = 8;
/** A field error names this many people, then counts the rest. */
const NAMED = 3;
/**
 * Slack waits 3 seconds for the answer to a submitted form, then tells the person it failed: what a vendor has not
 * answered by this budget is taken as unreachable, leaving the rest of the 3 seconds for the register itself.
 */
export const VENDOR_ANSWER_BUDGET_MS = 2000;
const LATE = Symbol('late');

/** `work`'s answer if it comes within the budget, else `late()`'s; a failure after the budget is no one's to handle. */
async function withinBudget<T>(work: Promise<T>, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof LATE>((resolve) => (timer = setTimeout(() => resolve(LATE), VENDOR_ANSWER_BUDGET_MS)));
  work.catch(() => undefined);
  try {
    const first = await Promise.race([work, deadline]);
    return first === LATE ? late() : first;
  } finally {
    clearTimeout(timer);
  }
}

interface SlackPerson {
  slackUserId: string;
  name: string;
  email?: string;
}

export async function resolveBypass(connectors: Connectors, client: webApi.WebClient, pick: BypassPick, logger: StructuredLogger): Promise<BypassResolution> {
  if (!pick.group && pick.people.length === 0) return { ok: true };
  if (!pick.group) return { ok: false, errors: { [BYPASS_BLOCK_IDS.group]: 'Choose the group these people are to be added to, or clear People it covers.' } };
  if (pick.group.vendor === UNREACHABLE_PREFIX) {
    return { ok: false, errors: { [BYPASS_BLOCK_IDS.group]: 'That is not a group: the identity provider could not be reached when the list was shown. Open the list again and choose a group.' } };
  }
  const vendor = IDENTITY_VENDORS.find((known) => known === pick.group!.vendor);
  const connector = vendor && connectors.identity[vendor];
  if (!vendor || !connector) {
    return { ok: false, errors: { [BYPASS_BLOCK_IDS.group]: 'That group is in an identity provider this app is no longer connected to. Open the list again and choose a group from it.' } };
  }
  const label = VENDOR_LABELS[vendor];
  if (pick.people.length === 0) return { ok: false, errors: { [BYPASS_BLOCK_IDS.people]: `Choose the people the ${label} group is to cover, or clear Bypass group.` } };

  const { groupId } = pick.group;
  const late = (): BypassResolution => {
    logger.warn(`${label} did not answer within ${VENDOR_ANSWER_BUDGET_MS} ms to check the bypass group and people`, { vendor });
    const text = `${label} did not answer in time to check the group and its people; the request needs their ${label} ids. Try again in a moment.`;
    return { ok: false, errors: { [BYPASS_BLOCK_IDS.group]: text } };
  };
  return withinBudget(lookUpBypass(connector, client, vendor, groupId, pick.people, logger), late);
}

/** The group and each person found in the vendor, or the field error that says what it did not know. */
async function lookUpBypass(connector: IdentityConnector, client: webApi.WebClient, vendor: IdentityVendor, groupId: string, picked: readonly string[], logger: StructuredLogger): Promise<BypassResolution> {
  const label = VENDOR_LABELS[vendor];
  try {
    const [group, people] = await Promise.all([connector.findGroup(groupId), slackPeople(client, picked)]);
    if (!group) {
      return { ok: false, errors: { [BYPASS_BLOCK_IDS.group]: `${label} no longer has that group (it was deleted or renamed away). Open the list again and choose a group.` } };
    }
    if (people.failed.length > 0) {
      return { ok: false, errors: { [BYPASS_BLOCK_IDS.people]: `Slack did not tell us the email of ${named(people.failed)}: try again in a moment.` } };
    }
    const found = await inBatches(people.found, (person) => (person.email ? connector.findUserByEmail(person.email) : Promise.resolve(undefined)));
    const noEmail = people.found.filter((person) => !person.email);
    const noAccount = people.found.filter((person, i) => person.email && !found[i]);
    const problems = [
      ...noEmail.map((person) => `${person.name} has no email on their Slack profile, so ${label} cannot be matched`),
      ...noAccount.map((person) => `${person.name} has no ${label} account with ${person.email}`),
    ];
    if (problems.length > 0) {
      const listed = problems.length > NAMED ? `${problems.slice(0, NAMED).join('; ')}; and ${problems.length - NAMED} more` : problems.join('; ');
      return { ok: false, errors: { [BYPASS_BLOCK_IDS.people]: `${listed}. Ask IT to create the account, or remove ${problems.length === 1 ? 'them' : 'those people'} from the list.` } };
    }
    const bound: BoundPerson[] = people.found.map((person, i) => ({ slackUserId: person.slackUserId, vendorUserId: found[i]!.id, email: person.email ?? null, displayName: person.name }));
    return { ok: true, choice: { vendor, groupId: group.id, groupName: group.name, people: bound } };
  } catch (error) {
    if (!isConnectorError(error)) throw error;
    logger.warn(`could not check the bypass group and people in ${label}`, { vendor, code: error.code, message: error.message });
    const text =
      error.code === 'refused'
        ? `${label} refused to look up the group or its people, so the request cannot name them yet: ${error.message} Ask whoever runs this app to fix it, or clear Bypass group and People it covers.`
        : `${label} could not be reached to check the group and its people; the request needs their ${label} ids. Try again in a moment.`;
    return { ok: false, errors: { [BYPASS_BLOCK_IDS.group]: text } };
  }
}

/** A Jira key the requester typed, checked now so a typo is caught in the form; Jira down does not hold the request up. */
export async function checkExternalRef(connectors: Connectors, externalRef: string | undefined, logger: StructuredLogger): Promise<{ error?: string; warning?: string }> {
  const key = externalRef?.trim();
  const jira = connectors.change;
  if (!jira || !key || !looksLikeJiraKey(key)) return {};
  const asked = (async (): Promise<{ error?: string; warning?: string }> => {
    try {
      if (await jira.findIssue(key)) return {};
      return { error: `${key} is not a Jira issue this app can see; check the key, or leave the field empty and the app creates an issue on approval.` };
    } catch (error) {
      if (!isConnectorError(error)) throw error;
      logger.warn('could not check the external reference in Jira; taking the request with a warning', { code: error.code, message: error.message });
      return { warning: `Jira could not be reached to check ${key}; it is checked again when the exception is approved.` };
    }
  })();
  return withinBudget(asked, () => {
    logger.warn(`Jira did not answer within ${VENDOR_ANSWER_BUDGET_MS} ms to check the external reference; taking the request with a warning`);
    return { warning: `Jira did not answer in time to check ${key}; it is checked again when the exception is approved.` };
  });
}

function named(people: readonly SlackPerson[]): string {
  const names = people.map((person) => person.name);
  return names.length > NAMED ? `${names.slice(0, NAMED).join(', ')} and ${names.length - NAMED} more` : names.join(', ');
}

/** Each picked person's name and profile email; reading the email needs the users:read.email scope. */
async function slackPeople(client: webApi.WebClient, userIds: readonly string[]): Promise<{ found: SlackPerson[]; failed: SlackPerson[] }> {
  const answers = await inBatches(userIds, (user) =>
    client.users.info({ user }).then(
      (result) => ({ ok: true as const, user, info: result.user }),
      () => ({ ok: false as const, user }),
    ),
  );
  const found: SlackPerson[] = [];
  const failed: SlackPerson[] = [];
  for (const answer of answers) {
    if (!answer.ok || !answer.info) {
      failed.push({ slackUserId: answer.user, name: answer.user });
      continue;
    }
    const profile = answer.info.profile;
    const name = profile?.real_name || answer.info.real_name || profile?.display_name || answer.info.name || answer.user;
    const email = profile?.email?.trim();
    found.push({ slackUserId: answer.user, name, ...(email ? { email } : {}) });
  }
  return { found, failed };
}

async function inBatches<T, R>(items: readonly T[], call: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += CONCURRENCY) results.push(...(await Promise.all(items.slice(i, i + CONCURRENCY).map(call))));
  return results;
}
