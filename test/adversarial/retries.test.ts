import { afterEach, describe, expect, it } from 'vitest';
import { ACTION_IDS, ASSESSMENT_BLOCK_IDS, CALLBACK_IDS, CLOSING_NOTE_BLOCK_ID, INPUT_ACTION_ID, REJECTION_BLOCK_ID } from '../../src/slack/ids';
import { UNEXPECTED_ERROR_TEXT } from '../../src/slack/listeners/refusals';
import { verifyAuditChain } from '../../src/db/audit-chain';
import { CHANNELS, PEOPLE, startHarness, type Harness } from '../e2e/harness';
import { assess, cardFor, clickButton, commandModal, decisionCard, ephemeralsTo, renewalValues, requestValues, submitRequest, VALID_FORM } from '../e2e/flows';
import type { SlackDriver } from '../support/slack-driver';
import type { StoredMessage } from '../support/slack-stand-in';
import { auditKinds, captureRequest, countDelta, deliver, registerSnapshot, sleep, type CapturedRequest } from './support';

// Slack delivers again when it did not see an acknowledgement in time, with the same body and an X-Slack-Retry-Num
// header; a retry can also overtake or race the original. Every kind of interaction, delivered 1, 2, 3 and 4 times,
// sequentially and concurrently, must have exactly the effect of one delivery: the same audit events, rows,
// notifications and Slack calls, and nobody told that something went wrong.

const HELP = 'C0SECHELP';
const ASK = 'can we skip MFA for the two contractors starting Monday? their keys arrive next week';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const text = (value: string) => ({ type: 'plain_text_input', value });
const option = (n: number) => ({ type: 'static_select', selected_option: { text: { type: 'plain_text', text: String(n) }, value: String(n) } });
const asRef = (m: StoredMessage) => ({ channel: m.channel, ts: m.ts, blocks: m.blocks, text: m.text });

function buttonValue(m: StoredMessage, actionId: string): string | undefined {
  return (m.blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === actionId)?.value;
}

function openedView(harness: Harness): { id: string; private_metadata: string } {
  return harness.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
}

/** EXC-0001 approved on the fast path at 2026-11-25, expiring 2027-01-15, owned by PEOPLE.owner. */
async function activeException(harness: Harness) {
  await submitRequest(harness);
  await assess(harness, 'EXC-0001', 2, 2);
  await clickButton(harness, decisionCard(harness, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
}

/** The message in `userId`'s DM that carries `actionId`. */
function dmWithButton(harness: Harness, userId: string, actionId: string): StoredMessage {
  const found = harness.standIn.dmsTo(userId).filter((m) => buttonValue(m, actionId) !== undefined);
  expect(found, `a DM to ${userId} with ${actionId}`).toHaveLength(1);
  return found[0]!;
}

interface Interaction {
  name: string;
  /** Who acts: whose private replies are checked. */
  actor: string;
  env?: Record<string, string>;
  /** Brings the register to the moment before the interaction; returns how to build the interaction's request. */
  setup(harness: Harness): Promise<(d: SlackDriver) => Promise<unknown>>;
  /** The effect of exactly one delivery, as changes of counts (see `effects`). */
  once: Record<string, number>;
  /** Opens a modal with the delivery's trigger_id, which Slack lets be used once. */
  opensModal?: boolean;
}

const INTERACTIONS: Interaction[] = [
  {
    name: 'slash command opening the request modal',
    actor: PEOPLE.requester,
    opensModal: true,
    setup: async () => (d) => d.slashCommand({ userId: PEOPLE.requester, text: 'request' }),
    once: {
      'api:views.open': 1,
    },
  },
  {
    name: 'request modal submission',
    actor: PEOPLE.requester,
    setup: async (harness) => {
      const viewId = (await commandModal(harness, PEOPLE.requester, 'request'))!.id;
      return (d) => d.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values: requestValues(VALID_FORM) });
    },
    once: {
      'audit:exception.requested': 1,
      'table:audit_events': 1,
      'table:exceptions': 1,
      'table:outbox': 3,
      'outbox:direct_message:owner_named': 1,
      'outbox:direct_message:receipt': 1,
      'outbox:post_card:triage': 1,
      'api:chat.postMessage': 3,
      'api:conversations.open': 2,
      [`dm:${PEOPLE.owner}`]: 1,
      [`dm:${PEOPLE.requester}`]: 1,
      [`channel:${CHANNELS.approvals}`]: 1,
    },
  },
  {
    name: 'Assess risk click opening the assessment modal',
    actor: PEOPLE.security,
    opensModal: true,
    setup: async (harness) => {
      await submitRequest(harness);
      const card = cardFor(harness, 'EXC-0001');
      return (d) => d.blockAction({ userId: PEOPLE.security, actionId: ACTION_IDS.assessRisk, value: buttonValue(card, ACTION_IDS.assessRisk), message: asRef(card) });
    },
    once: {
      'api:views.open': 1,
    },
  },
  {
    name: 'Assess risk submission',
    actor: PEOPLE.security,
    setup: async (harness) => {
      await submitRequest(harness);
      await clickButton(harness, cardFor(harness, 'EXC-0001'), ACTION_IDS.assessRisk, PEOPLE.security);
      const view = openedView(harness);
      return (d) =>
        d.viewSubmission({
          userId: PEOPLE.security,
          callbackId: CALLBACK_IDS.assessment,
          viewId: view.id,
          privateMetadata: view.private_metadata,
          values: {
            [ASSESSMENT_BLOCK_IDS.likelihood]: { [INPUT_ACTION_ID]: option(2) },
            [ASSESSMENT_BLOCK_IDS.impact]: { [INPUT_ACTION_ID]: option(3) },
            [ASSESSMENT_BLOCK_IDS.rationale]: { [INPUT_ACTION_ID]: text('Internet-facing but only 40 users, VPN-only access.') },
          },
        });
    },
    once: {
      'audit:exception.assessed': 1,
      'table:assessments': 1,
      'table:audit_events': 1,
      'table:outbox': 3,
      'outbox:post_card:approval': 1,
      'outbox:refresh_card:triage': 1,
      // The requester is told it was assessed and whose decision it waits for.
      'outbox:direct_message:assessed': 1,
      'api:chat.postMessage': 2,
      'api:conversations.open': 1,
      [`dm:${PEOPLE.requester}`]: 1,
      'api:chat.update': 1,
      [`channel:${CHANNELS.approvals}`]: 1,
      [`updates:${CHANNELS.approvals}`]: 1,
    },
  },
  {
    name: 'Approve click on the fast path',
    actor: PEOPLE.ciso,
    setup: async (harness) => {
      await submitRequest(harness);
      await assess(harness, 'EXC-0001', 2, 3);
      const card = decisionCard(harness, 'EXC-0001');
      return (d) => d.blockAction({ userId: PEOPLE.ciso, actionId: ACTION_IDS.approve, value: buttonValue(card, ACTION_IDS.approve), message: asRef(card) });
    },
    once: {
      'audit:exception.approved': 1,
      'table:audit_events': 1,
      'table:decisions': 1,
      'table:outbox': 4,
      'outbox:direct_message:approved': 2,
      'outbox:refresh_card:approval': 1,
      'outbox:refresh_card:triage': 1,
      'api:chat.postMessage': 2,
      'api:chat.update': 2,
      'api:conversations.open': 2,
      [`dm:${PEOPLE.owner}`]: 1,
      [`dm:${PEOPLE.requester}`]: 1,
      [`updates:${CHANNELS.approvals}`]: 2,
    },
  },
  {
    name: 'first committee vote',
    actor: PEOPLE.committee1,
    setup: async (harness) => {
      await submitRequest(harness);
      await assess(harness, 'EXC-0001', 4, 4);
      const card = decisionCard(harness, 'EXC-0001', CHANNELS.committee);
      return (d) => d.blockAction({ userId: PEOPLE.committee1, actionId: ACTION_IDS.approve, value: buttonValue(card, ACTION_IDS.approve), message: asRef(card) });
    },
    once: {
      'audit:exception.vote_recorded': 1,
      'table:audit_events': 1,
      'table:decisions': 1,
      'table:outbox': 1,
      'outbox:refresh_card:approval': 1,
      'api:chat.update': 1,
      [`updates:${CHANNELS.committee}`]: 1,
    },
  },
  {
    name: 'committee vote reaching the quorum',
    actor: PEOPLE.committee2,
    setup: async (harness) => {
      await submitRequest(harness);
      await assess(harness, 'EXC-0001', 4, 4);
      await clickButton(harness, decisionCard(harness, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
      const card = decisionCard(harness, 'EXC-0001', CHANNELS.committee);
      return (d) => d.blockAction({ userId: PEOPLE.committee2, actionId: ACTION_IDS.approve, value: buttonValue(card, ACTION_IDS.approve), message: asRef(card) });
    },
    once: {
      'audit:exception.approved': 1,
      'table:audit_events': 1,
      'table:decisions': 1,
      'table:outbox': 4,
      'outbox:direct_message:approved': 2,
      'outbox:refresh_card:approval': 1,
      'outbox:refresh_card:triage': 1,
      'api:chat.postMessage': 2,
      'api:chat.update': 2,
      'api:conversations.open': 2,
      [`dm:${PEOPLE.owner}`]: 1,
      [`dm:${PEOPLE.requester}`]: 1,
      [`updates:${CHANNELS.approvals}`]: 1,
      [`updates:${CHANNELS.committee}`]: 1,
    },
  },
  {
    name: 'rejection with a reason',
    actor: PEOPLE.deputy,
    setup: async (harness) => {
      await submitRequest(harness);
      await assess(harness, 'EXC-0001', 2, 3);
      await clickButton(harness, decisionCard(harness, 'EXC-0001'), ACTION_IDS.reject, PEOPLE.deputy);
      const view = openedView(harness);
      return (d) =>
        d.viewSubmission({
          userId: PEOPLE.deputy,
          callbackId: CALLBACK_IDS.rejection,
          viewId: view.id,
          privateMetadata: view.private_metadata,
          values: { [REJECTION_BLOCK_ID]: { [INPUT_ACTION_ID]: text('The VPN control is not enough for payroll data.') } },
        });
    },
    once: {
      'audit:exception.rejected': 1,
      'table:audit_events': 1,
      'table:decisions': 1,
      'table:outbox': 4,
      'outbox:direct_message:rejected': 2,
      'outbox:refresh_card:approval': 1,
      'outbox:refresh_card:triage': 1,
      'api:chat.postMessage': 2,
      'api:chat.update': 2,
      'api:conversations.open': 2,
      [`dm:${PEOPLE.owner}`]: 1,
      [`dm:${PEOPLE.requester}`]: 1,
      [`updates:${CHANNELS.approvals}`]: 2,
    },
  },
  {
    name: 'renewal submission',
    actor: PEOPLE.owner,
    setup: async (harness) => {
      await activeException(harness);
      harness.clock.now = new Date('2027-01-05T09:00:00Z');
      const modal = (await commandModal(harness, PEOPLE.owner, 'renew EXC-0001'))!;
      const values = renewalValues({
        progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.',
        percentComplete: '60',
        evidenceUrl: 'https://tickets.example.com/CHG-4711',
        controlTestedOn: '2026-12-20',
        expiresOn: '2027-03-01',
      });
      return (d) => d.viewSubmission({ userId: PEOPLE.owner, callbackId: CALLBACK_IDS.renewal, viewId: modal.id, privateMetadata: modal.privateMetadata, values });
    },
    once: {
      'audit:renewal.requested': 1,
      'table:audit_events': 1,
      'table:outbox': 2,
      'table:renewals': 1,
      'outbox:refresh_card:triage': 1,
      'outbox:thread_reply:renewal_requested': 1,
      'api:chat.postMessage': 1,
      'api:chat.update': 1,
      [`channel:${CHANNELS.approvals}`]: 1,
      [`updates:${CHANNELS.approvals}`]: 1,
    },
  },
  {
    name: 'close submission',
    actor: PEOPLE.owner,
    setup: async (harness) => {
      await activeException(harness);
      const modal = (await commandModal(harness, PEOPLE.owner, 'close EXC-0001'))!;
      return (d) =>
        d.viewSubmission({
          userId: PEOPLE.owner,
          callbackId: CALLBACK_IDS.close,
          viewId: modal.id,
          privateMetadata: modal.privateMetadata,
          values: { [CLOSING_NOTE_BLOCK_ID]: { [INPUT_ACTION_ID]: text('MFA rolled out to the HR system; the gap is closed.') } },
        });
    },
    once: {
      'audit:exception.closed': 1,
      'table:audit_events': 1,
      'table:outbox': 3,
      'outbox:direct_message:closed': 1,
      'outbox:refresh_card:approval': 1,
      'outbox:refresh_card:triage': 1,
      'api:chat.postMessage': 1,
      'api:chat.update': 2,
      'api:conversations.open': 1,
      [`dm:${PEOPLE.requester}`]: 1,
      [`updates:${CHANNELS.approvals}`]: 2,
    },
  },
  {
    name: 'Renew button on a reminder DM',
    actor: PEOPLE.owner,
    opensModal: true,
    setup: async (harness) => {
      await activeException(harness);
      harness.clock.now = new Date('2027-01-01T08:00:00Z'); // 14 days left
      await harness.runJobs();
      const reminder = dmWithButton(harness, PEOPLE.owner, ACTION_IDS.renew);
      return (d) => d.blockAction({ userId: PEOPLE.owner, actionId: ACTION_IDS.renew, value: buttonValue(reminder, ACTION_IDS.renew), message: asRef(reminder) });
    },
    once: {
      'api:views.open': 1,
    },
  },
  {
    name: 'Close button on a reminder DM',
    actor: PEOPLE.owner,
    opensModal: true,
    setup: async (harness) => {
      await activeException(harness);
      harness.clock.now = new Date('2027-01-01T08:00:00Z');
      await harness.runJobs();
      const reminder = dmWithButton(harness, PEOPLE.owner, ACTION_IDS.close);
      return (d) => d.blockAction({ userId: PEOPLE.owner, actionId: ACTION_IDS.close, value: buttonValue(reminder, ACTION_IDS.close), message: asRef(reminder) });
    },
    once: {
      'api:views.open': 1,
    },
  },
  {
    name: 'check-in answer No',
    actor: PEOPLE.owner,
    setup: async (harness) => {
      await activeException(harness);
      harness.clock.now = new Date('2026-12-25T12:00:00Z'); // 30 days after activation
      await harness.runJobs();
      const question = dmWithButton(harness, PEOPLE.owner, ACTION_IDS.checkinNo);
      return (d) => d.blockAction({ userId: PEOPLE.owner, actionId: ACTION_IDS.checkinNo, value: buttonValue(question, ACTION_IDS.checkinNo), message: asRef(question) });
    },
    once: {
      'audit:exception.checkin_answered': 1,
      'table:audit_events': 1,
      'table:outbox': 2,
      'outbox:channel_post:checkin_alert': 1,
      'outbox:refresh_card:triage': 1,
      'api:chat.postMessage': 1,
      // The triage card, and the question in the owner's DM (updated in place: the DM may hold other notices).
      'api:chat.update': 2,
      [`channel:${CHANNELS.approvals}`]: 1,
      [`updates:${CHANNELS.approvals}`]: 1,
    },
  },
  {
    name: 'informal ask in a watched channel (Events API)',
    actor: PEOPLE.requester,
    env: { WATCH_CHANNELS: HELP },
    setup: async () => (d) => d.event({ type: 'message', channel: HELP, user: PEOPLE.requester, text: ASK }),
    once: {
      'table:informal_asks': 1,
      'table:outbox': 1,
      'outbox:informal_pointer:': 1,
      'api:chat.postMessage': 1,
      [`channel:${HELP}`]: 1,
    },
  },
];

/** Look-ups (the app's identity, the owner's account) change nothing in Slack; a repeat may ask again. */
const READ_ONLY_METHODS = new Set(['auth.test', 'users.info', 'chat.getPermalink']);

/** Everything one delivery may change, as counts: audit events, rows, outbox rows, Slack calls, messages. */
function effects(harness: Harness): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (key: string, n = 1) => {
    counts[key] = (counts[key] ?? 0) + n;
  };
  for (const [kind, n] of Object.entries(auditKinds(harness))) add(`audit:${kind}`, n);
  for (const [table, state] of Object.entries(registerSnapshot(harness.databasePath))) add(`table:${table}`, state.rows);
  const outbox = harness.app.register.sqlite.prepare('select kind, payload from outbox').all() as { kind: string; payload: string }[];
  for (const row of outbox) {
    const payload = JSON.parse(row.payload) as { message?: string; card?: string };
    // App Home is published whole, for whoever is concerned, as often as the app likes: replacing it is no effect to repeat.
    if (payload.card === 'home') add('table:outbox', -1);
    else add(`outbox:${row.kind}:${payload.message ?? payload.card ?? ''}`);
  }
  for (const call of harness.standIn.calls) {
    if (call.method === 'views.publish') continue;
    if (call.method !== 'response_url' && !READ_ONLY_METHODS.has(call.method) && call.httpStatus === 200 && call.response.ok === true) add(`api:${call.method}`);
  }
  for (const userId of Object.values(PEOPLE)) add(`dm:${userId}`, harness.standIn.dmsTo(userId).length);
  for (const channel of [CHANNELS.approvals, CHANNELS.committee, HELP]) {
    const messages = harness.standIn.messages(channel).filter((m) => m.user === harness.standIn.botUserId);
    add(`channel:${channel}`, messages.length);
    add(`updates:${channel}`, messages.reduce((sum, m) => sum + m.updates, 0));
  }
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}

interface Pattern {
  name: string;
  deliveries: number;
  /** Sends the request as Slack would: the original (retry 0) and its retries, in this order and grouping. */
  send(harness: Harness, request: CapturedRequest): Promise<number[]>;
}

const sequential = async (harness: Harness, request: CapturedRequest, retryNums: number[]) => {
  const statuses: number[] = [];
  for (const retryNum of retryNums) {
    statuses.push((await deliver(harness, request, retryNum)).status);
    await harness.settle();
  }
  return statuses;
};
const atOnce = async (harness: Harness, request: CapturedRequest, retryNums: number[]) => (await Promise.all(retryNums.map((n) => deliver(harness, request, n)))).map((r) => r.status);

const PATTERNS: Pattern[] = [
  { name: 'delivered once', deliveries: 1, send: (harness, request) => sequential(harness, request, [0]) },
  { name: 'delivered twice, the retry after the original was handled', deliveries: 2, send: (harness, request) => sequential(harness, request, [0, 1]) },
  { name: 'delivered three times at once', deliveries: 3, send: (harness, request) => atOnce(harness, request, [0, 1, 2]) },
  {
    name: 'delivered four times: the original, a retry racing it, then two more retries one after the other',
    deliveries: 4,
    send: async (harness, request) => {
      const first = await atOnce(harness, request, [0, 1]);
      await harness.settle();
      await sleep(5);
      return [...first, ...(await sequential(harness, request, [2, 3]))];
    },
  },
];

/** Brings a fresh app to the moment before `interaction`, catches its request and measures what sending it does. */
async function run(interaction: Interaction, pattern: Pattern) {
  h = await startHarness(interaction.env ? { env: interaction.env } : {});
  const harness = h;
  const build = await interaction.setup(harness);
  const request = await captureRequest(harness, build);
  await harness.settle();
  const before = effects(harness);
  const privateBefore = ephemeralsTo(harness, interaction.actor).length;
  const logLines = harness.logs.length;

  const statuses = await pattern.send(harness, request);
  await harness.settle();
  await sleep(20); // anything still running after the acknowledgements
  await harness.settle();

  return {
    statuses,
    delta: countDelta(before, effects(harness)),
    told: ephemeralsTo(harness, interaction.actor).slice(privateBefore),
    errors: harness.logs.slice(logLines).filter((line) => /"level":"error"/.test(line)),
  };
}

describe.each(INTERACTIONS)('$name', (interaction) => {
  it.each(PATTERNS)('$name: exactly one effect', async (pattern) => {
    const { statuses, delta, told, errors } = await run(interaction, pattern);

    expect(statuses).toEqual(Array.from({ length: pattern.deliveries }, () => 200));
    expect(delta).toEqual(interaction.once);
    const harness = h!;
    expect(harness.app.register.sqlite.prepare("select count(*) as n from outbox where state != 'delivered'").get()).toEqual({ n: 0 });
    expect(verifyAuditChain(harness.app.register.db)).toMatchObject({ ok: true });
    expect(harness.standIn.rejected().filter((c) => c.method !== 'views.open')).toEqual([]);
    if (!interaction.opensModal) {
      // A repeat is not a failure: nobody is told that something went wrong, and nothing is logged as an error.
      expect(told.filter((t) => t === UNEXPECTED_ERROR_TEXT)).toEqual([]);
      expect(errors).toEqual([]);
    }
    if (pattern.deliveries === 1) expect(told.filter((t) => /already|cannot|no longer/i.test(t))).toEqual([]);
  });
});

describe('retried deliveries of a command or button that opens a modal', () => {
  // The original opened the modal and used up the trigger_id; a retry of it cannot open another and should say
  // nothing. Today each retry's views.open is refused with exchanged_trigger_id, the person is told "Something went
  // wrong on our side ... try again in a minute" although their modal is open, and an error is logged per retry.
  it('opens one modal, and nobody is told that something went wrong', { timeout: 30_000 }, async () => {
    const outcomes: string[] = [];
    for (const interaction of INTERACTIONS.filter((i) => i.opensModal)) {
      const { delta, told, errors } = await run(interaction, PATTERNS.find((p) => p.deliveries === 2)!);
      outcomes.push(`${interaction.name}: ${JSON.stringify(delta)}; told ${JSON.stringify(told)}; ${errors.length} error log lines`);
      await h!.close();
      h = undefined;
    }
    expect(outcomes).toEqual(INTERACTIONS.filter((i) => i.opensModal).map((i) => `${i.name}: ${JSON.stringify({ 'api:views.open': 1 })}; told []; 0 error log lines`));
  });
});
