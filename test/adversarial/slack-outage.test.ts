import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/db/audit-chain';
import { exceptions } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS, INPUT_ACTION_ID, REJECTION_BLOCK_ID } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from '../e2e/harness';
import { assess, buttons, clickButton, decisionCard, pressButton, submitRequest, triageMessage } from '../e2e/flows';
import type { SlackCall } from '../support/slack-stand-in';

// Slack goes down for a minute of the app's time (500s and 503s, then 429s with Retry-After) exactly while
// approvers decide a burst of exceptions and the expiry sweep expires several. The notifier retries on the app's
// clock. Once Slack is back, every notification is delivered exactly once: no message missing, none twice, the
// outbox empty, and every card showing the final state.

const SECOND = 1000;
let h: Harness;
beforeEach(async () => {
  h = await startHarness(); // Wednesday 2026-11-25T10:00Z
});
afterEach(async () => {
  await h.close();
});

const ref = (id: number) => `EXC-${String(id).padStart(4, '0')}`;
const status = (id: number) => h.app.register.db.select().from(exceptions).where(eq(exceptions.id, id)).get()!.status;
const ok = (c: SlackCall) => c.httpStatus === 200 && c.response.ok === true;

interface OutboxRow {
  id: number;
  kind: string;
  payload: string;
  state: string;
  attempts: number;
  last_error: string | null;
}
const outboxRows = (afterId = 0) => h.app.register.sqlite.prepare('select id, kind, payload, state, attempts, last_error from outbox where id > ? order by id').all(afterId) as OutboxRow[];
const maxOutboxId = () => (h.app.register.sqlite.prepare('select coalesce(max(id), 0) as id from outbox').get() as { id: number }).id;

/** Who requested what: several requesters, so DMs go to several people; every exception is owned by PEOPLE.owner. */
const EXPIRING = [
  { id: 1, requester: PEOPLE.requester },
  { id: 2, requester: PEOPLE.requester },
  { id: 3, requester: PEOPLE.bystander },
  { id: 4, requester: PEOPLE.bystander },
];
const APPROVED_FAST = [
  { id: 5, requester: PEOPLE.requester, approver: PEOPLE.ciso },
  { id: 6, requester: PEOPLE.bystander, approver: PEOPLE.deputy },
  { id: 7, requester: PEOPLE.committee3, approver: PEOPLE.ciso },
];
const REJECTED = [
  { id: 8, requester: PEOPLE.requester },
  { id: 9, requester: PEOPLE.bystander },
  { id: 10, requester: PEOPLE.committee3 },
];
const COMMITTEE = { id: 11, requester: PEOPLE.requester };
const REASON = 'The compensating control was never tested; test it and ask again.';

interface Scene {
  rejectionModals: Map<number, { id: string; private_metadata: string }>;
}

/**
 * EXC-0001..0004 active and expiring at the end of 2026-11-26; EXC-0005..0010 assessed and waiting for the fast path,
 * with the deputy's rejection modal open for 0008..0010; EXC-0011 on the committee route with one approval of two.
 */
async function buildScene(): Promise<Scene> {
  for (const e of EXPIRING) {
    await submitRequest(h, { title: `Expiring exception ${e.id}`, expiresOn: '2026-11-26' }, e.requester);
    await assess(h, ref(e.id), 2, 2);
    await clickButton(h, decisionCard(h, ref(e.id)), ACTION_IDS.approve, PEOPLE.ciso);
    expect(status(e.id)).toBe('active');
  }
  for (const e of [...APPROVED_FAST, ...REJECTED]) {
    await submitRequest(h, { title: `Waiting exception ${e.id}` }, e.requester);
    await assess(h, ref(e.id), 2, 2);
  }
  const rejectionModals = new Map<number, { id: string; private_metadata: string }>();
  for (const e of REJECTED) {
    await clickButton(h, decisionCard(h, ref(e.id)), ACTION_IDS.reject, PEOPLE.deputy);
    rejectionModals.set(e.id, h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string });
  }
  await submitRequest(h, { title: 'Committee exception' }, COMMITTEE.requester);
  await assess(h, ref(COMMITTEE.id), 4, 4);
  await clickButton(h, decisionCard(h, ref(COMMITTEE.id), CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
  expect(h.app.register.sqlite.prepare("select count(*) as n from outbox where state != 'delivered'").get()).toEqual({ n: 0 });
  expect(h.standIn.rejected()).toEqual([]);
  return { rejectionModals };
}

async function rejectDuringOutage(scene: Scene, id: number) {
  const view = scene.rejectionModals.get(id)!;
  const response = await h.driver.viewSubmission({
    userId: PEOPLE.deputy,
    callbackId: CALLBACK_IDS.rejection,
    viewId: view.id,
    privateMetadata: view.private_metadata,
    values: { [REJECTION_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: REASON } } },
  });
  expect(response.status).toBe(200);
  expect(response.text).toBe('');
}

/** Moves the app's clock by `ms` in steps, letting the notifier run (and retry) at each. */
async function advance(ms: number, step = 5 * SECOND) {
  for (let passed = 0; passed < ms; passed += step) {
    h.clock.advance(Math.min(step, ms - passed));
    await h.settle();
  }
}

/** After recovery: every queued notification delivered once, per target, and the cards in their final state. */
function expectEverythingDeliveredOnce(firstRow: number, callsBefore: number) {
  const rows = outboxRows(firstRow);
  expect(rows.filter((r) => r.state !== 'delivered'), 'undelivered or abandoned notifications').toEqual([]);

  // Exactly once, in total: one successful post per posting notification, one update per card refresh.
  const calls = h.standIn.calls.slice(callsBefore).filter(ok);
  // App Home's refreshes publish tabs (as often as a person's tab changed), not messages.
  const sent = rows.filter((r) => r.last_error === null && !r.payload.includes('"card":"home"'));
  const posts = sent.filter((r) => r.kind !== 'refresh_card').length;
  const refreshes = sent.filter((r) => r.kind === 'refresh_card').length;
  expect(calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(posts);
  expect(calls.filter((c) => c.method === 'chat.update')).toHaveLength(refreshes);
  expect(rows.filter((r) => r.last_error !== null).map((r) => `${r.kind}: ${r.last_error}`), 'notifications dropped as having nothing to send').toEqual([]);

  // Per person: exactly one DM per direct message queued for them, no text twice.
  const dmRows = rows.filter((r) => r.kind === 'direct_message' || r.kind === 'expiry_digest');
  for (const userId of Object.values(PEOPLE)) {
    const queued = dmRows.filter((r) => (JSON.parse(r.payload) as { recipientId: string }).recipientId === userId).length;
    const received = calls.filter((c) => c.method === 'chat.postMessage' && String(c.args.channel).startsWith('D') && h.standIn.dmsTo(userId).some((m) => m.channel === c.args.channel));
    expect(received, `DMs to ${userId}`).toHaveLength(queued);
    const texts = received.map((c) => String(c.args.text));
    expect(new Set(texts).size, `distinct DMs to ${userId}: ${texts.join(' | ')}`).toBe(texts.length);
  }
  // Per channel: one post per channel notification, and no second top-level card for any exception.
  for (const channel of [CHANNELS.approvals, CHANNELS.committee]) {
    const queued = rows.filter((r) => r.kind !== 'refresh_card' && (JSON.parse(r.payload) as { channel?: string }).channel === channel).length;
    expect(calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === channel), `posts to ${channel}`).toHaveLength(queued);
  }
  // Per card: each refreshed card updated as often as it was queued, and every update went to an existing card.
  const refreshTargets = new Map<string, number>();
  for (const c of calls.filter((call) => call.method === 'chat.update')) refreshTargets.set(`${String(c.args.channel)}/${String(c.args.ts)}`, (refreshTargets.get(`${String(c.args.channel)}/${String(c.args.ts)}`) ?? 0) + 1);
  const stored = new Set(h.standIn.messages().map((m) => `${m.channel}/${m.ts}`));
  for (const target of refreshTargets.keys()) expect(stored.has(target), `updated card ${target} exists`).toBe(true);
}

describe('Slack down during a burst of decisions and an expiry sweep', () => {
  it('delivers every notification exactly once after a minute of 500s, 503s and 429s', { timeout: 60_000 }, async () => {
    const scene = await buildScene();
    const firstRow = maxOutboxId();
    const callsBefore = h.standIn.calls.length;
    const messagesBefore = h.standIn.messages().map((m) => `${m.channel}/${m.ts}/${m.updates}`);

    // Friday 2026-11-27, just after midnight: EXC-0001..0004 are due to expire. Slack goes down.
    h.clock.now = new Date('2026-11-27T00:00:30Z');
    h.standIn.fail({ status: 503, methods: ['chat.update'] });
    h.standIn.fail({ status: 500 });

    // The burst of decisions.
    const clicks = await Promise.all([
      ...APPROVED_FAST.map((e) => pressButton(h, decisionCard(h, ref(e.id)), ACTION_IDS.approve, e.approver)),
      pressButton(h, decisionCard(h, ref(COMMITTEE.id), CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee2),
    ]);
    expect(clicks.map((c) => c.status)).toEqual([200, 200, 200, 200]);
    await h.settle();
    await advance(5 * SECOND);
    await rejectDuringOutage(scene, 8);
    await rejectDuringOutage(scene, 9);
    await h.settle();
    await advance(15 * SECOND);

    // The expiry sweep, still during the outage.
    const reports = await h.runJobs();
    expect(reports.find((r) => r.job === 'expiry_sweep')).toMatchObject({ ran: true, result: 'expired: EXC-0001, EXC-0002, EXC-0003, EXC-0004' });
    await advance(10 * SECOND);

    // Second half of the minute: Slack rate-limits everything with Retry-After: 7.
    h.standIn.clearFailures();
    h.standIn.fail({ status: 429, retryAfterSeconds: 7 });
    const attemptsBefore429 = h.standIn.calls.length;
    await rejectDuringOutage(scene, 10);
    await h.settle();
    await advance(30 * SECOND);

    // A minute down: the register has every decision, Slack has not a single new message.
    for (const e of EXPIRING) expect(status(e.id)).toBe('expired');
    for (const e of APPROVED_FAST) expect(status(e.id)).toBe('active');
    for (const e of REJECTED) expect(status(e.id)).toBe('rejected');
    expect(status(COMMITTEE.id)).toBe('active');
    expect(h.standIn.calls.slice(callsBefore).filter(ok)).toEqual([]);
    expect(h.standIn.messages().map((m) => `${m.channel}/${m.ts}/${m.updates}`)).toEqual(messagesBefore);
    const failed = h.standIn.calls.slice(callsBefore).map((c) => c.httpStatus);
    expect(new Set(failed)).toEqual(new Set([500, 503, 429]));
    // While rate-limited, the app waits out Retry-After (on its own clock) instead of hammering Slack.
    expect(h.standIn.calls.length - attemptsBefore429).toBeLessThanOrEqual(Math.ceil(30 / 7) + 2);
    const pending = outboxRows(firstRow).filter((r) => r.state === 'pending');
    expect(pending.length).toBeGreaterThanOrEqual(30);
    expect(outboxRows(firstRow).filter((r) => r.state === 'dead')).toEqual([]);

    // Slack recovers.
    h.standIn.clearFailures();
    await advance(15 * 60 * SECOND, 15 * SECOND);
    expectEverythingDeliveredOnce(firstRow, callsBefore);

    // What each person sees: one decision DM per decided exception to its requester and its owner.
    for (const e of [...APPROVED_FAST, COMMITTEE]) {
      expect(h.standIn.dmsTo(e.requester).filter((m) => m.text?.startsWith(`${ref(e.id)} was approved`)), `${ref(e.id)} requester`).toHaveLength(1);
      expect(h.standIn.dmsTo(PEOPLE.owner).filter((m) => m.text?.startsWith(`${ref(e.id)} was approved`)), `${ref(e.id)} owner`).toHaveLength(1);
    }
    for (const e of REJECTED) {
      expect(h.standIn.dmsTo(e.requester).filter((m) => m.text?.startsWith(`${ref(e.id)} was rejected`)), `${ref(e.id)} requester`).toHaveLength(1);
      expect(h.standIn.dmsTo(PEOPLE.owner).filter((m) => m.text?.startsWith(`${ref(e.id)} was rejected`)), `${ref(e.id)} owner`).toHaveLength(1);
    }
    // One expiry DM per person for the sweep, listing theirs; one summary in the approvals channel.
    const expiryDms = (userId: string) => h.standIn.dmsTo(userId).filter((m) => /expired/.test(m.text ?? ''));
    expect(expiryDms(PEOPLE.owner).map((m) => m.text)).toEqual(['4 of your exceptions have expired: EXC-0001, EXC-0002, EXC-0003, EXC-0004']);
    expect(expiryDms(PEOPLE.requester).map((m) => m.text)).toEqual(['2 of your exceptions have expired: EXC-0001, EXC-0002']);
    expect(expiryDms(PEOPLE.bystander).map((m) => m.text)).toEqual(['2 of your exceptions have expired: EXC-0003, EXC-0004']);
    expect(h.standIn.messages(CHANNELS.approvals).filter((m) => /exceptions? expired/.test(m.text ?? '')).map((m) => m.text)).toEqual([
      '4 exceptions expired: EXC-0001, EXC-0002, EXC-0003, EXC-0004',
    ]);

    // Every card shows the final state: decision messages without buttons, one top-level card per exception.
    for (const e of [...APPROVED_FAST, ...REJECTED]) expect(buttons(decisionCard(h, ref(e.id))), `${ref(e.id)} decision card`).toEqual([]);
    expect(buttons(decisionCard(h, ref(COMMITTEE.id), CHANNELS.committee))).toEqual([]);
    for (const id of Array.from({ length: 11 }, (_, i) => i + 1)) expect(triageMessage(h, ref(id))).toBeDefined();
    expect(JSON.stringify(triageMessage(h, 'EXC-0001').blocks)).toMatch(/[Ee]xpired/);

    // And nothing more goes out later.
    const calls = h.standIn.calls.length;
    await advance(30 * 60 * SECOND, 60 * SECOND);
    expect(h.standIn.calls.length).toBe(calls);
    expect(verifyAuditChain(h.app.register.db)).toMatchObject({ ok: true });
    // Slack never refused a call as malformed (only the outage's HTTP failures).
    expect(h.standIn.rejected().filter((c) => c.httpStatus === 200)).toEqual([]);
  });

  it('delivers every notification exactly once when Slack flaps: one 500, 429 or 503 armed before every step', { timeout: 60_000 }, async () => {
    const scene = await buildScene();
    const firstRow = maxOutboxId();
    const callsBefore = h.standIn.calls.length;
    h.clock.now = new Date('2026-11-27T00:00:30Z');

    // Every few calls one fails, whichever it is: a DM's conversations.open, its chat.postMessage, a card update.
    let failures = 0;
    const flap = () => {
      h.standIn.clearFailures();
      const status = ([500, 429, 503] as const)[failures++ % 3]!;
      h.standIn.fail({ status, times: 1, retryAfterSeconds: 2 });
    };
    const burst: (() => Promise<unknown>)[] = [
      ...APPROVED_FAST.map((e) => () => pressButton(h, decisionCard(h, ref(e.id)), ACTION_IDS.approve, e.approver)),
      () => pressButton(h, decisionCard(h, ref(COMMITTEE.id), CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee2),
      ...REJECTED.map((e) => () => rejectDuringOutage(scene, e.id)),
      () => h.runJobs(),
    ];
    for (const step of burst) {
      flap();
      await step();
      await h.settle();
      h.clock.advance(SECOND);
    }
    for (let i = 0; i < 120 && outboxRows(firstRow).some((r) => r.state === 'pending'); i++) {
      if (i % 3 === 0) flap();
      h.clock.advance(3 * SECOND);
      await h.settle();
    }
    h.standIn.clearFailures();
    await advance(10 * 60 * SECOND, 30 * SECOND);

    expect(h.standIn.calls.slice(callsBefore).filter((c) => !ok(c)).length).toBeGreaterThanOrEqual(6);
    expectEverythingDeliveredOnce(firstRow, callsBefore);
    for (const e of [...APPROVED_FAST, COMMITTEE]) expect(h.standIn.dmsTo(e.requester).filter((m) => m.text?.startsWith(`${ref(e.id)} was approved`))).toHaveLength(1);
    for (const e of REJECTED) expect(h.standIn.dmsTo(PEOPLE.owner).filter((m) => m.text?.startsWith(`${ref(e.id)} was rejected`))).toHaveLength(1);
    expect(h.standIn.dmsTo(PEOPLE.owner).filter((m) => /expired/.test(m.text ?? ''))).toHaveLength(1);
    expect(verifyAuditChain(h.app.register.db)).toMatchObject({ ok: true });
  });
});
