import { and, asc, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/db/audit-chain';
import { auditEvents, decisions, exceptions, renewals } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS, INPUT_ACTION_ID, REJECTION_BLOCK_ID } from '../../src/slack/ids';
import { UNEXPECTED_ERROR_TEXT } from '../../src/slack/listeners/refusals';
import { CHANNELS, PEOPLE, startHarness, type Harness } from '../e2e/harness';
import { assess, buttons, clickButton, decisionCard, ephemeralsTo, pressButton, renewalDecisionCard, submitRenewal, submitRequest } from '../e2e/flows';
import { sleep } from './support';

let open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.map((harness) => harness.close()));
  open = [];
});

async function start(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const harness = await startHarness(options);
  open.push(harness);
  return harness;
}

async function stop(harness: Harness): Promise<void> {
  open = open.filter((o) => o !== harness);
  await harness.close();
}

const ref = (id: number) => `EXC-${String(id).padStart(4, '0')}`;
const exceptionRow = (harness: Harness, id: number) => harness.app.register.db.select().from(exceptions).where(eq(exceptions.id, id)).get()!;
const eventsOf = (harness: Harness, id: number) => harness.app.register.db.select().from(auditEvents).where(eq(auditEvents.exceptionId, id)).orderBy(asc(auditEvents.id)).all();
const undelivered = (harness: Harness) => harness.app.register.sqlite.prepare("select count(*) as n from outbox where state != 'delivered'").get() as { n: number };
const dmTexts = (harness: Harness, userId: string, pattern: RegExp) => harness.standIn.dmsTo(userId).map((m) => m.text ?? '').filter((t) => pattern.test(t));

/** Twenty people allowed to approve on the fast path: the CISO, the deputy and eighteen more delegates. */
const APPROVERS = [PEOPLE.ciso, PEOPLE.deputy, ...Array.from({ length: 18 }, (_, i) => `U0DELEG${String(i + 1).padStart(2, '0')}`)];

async function withTwentyApprovers(): Promise<Harness> {
  const harness = await start({ env: { APPROVER_IDS: APPROVERS.join(',') } });
  for (const id of APPROVERS.slice(2)) harness.standIn.addUser({ id, name: id.toLowerCase(), realName: `Delegate ${id}`, tz: 'Europe/London' });
  return harness;
}

describe('twenty approvers, one decision', () => {
  it('records exactly one approval when twenty authorised approvers click Approve at the same moment', async () => {
    const h = await withTwentyApprovers();
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 3);
    const card = decisionCard(h, 'EXC-0001');
    const updatesBefore = h.standIn.callsTo('chat.update').length;
    const postsBefore = h.standIn.callsTo('chat.postMessage').length;

    const responses = await Promise.all(APPROVERS.map((userId) => pressButton(h, card, ACTION_IDS.approve, userId)));
    await h.settle();

    expect(responses.map((r) => r.status)).toEqual(APPROVERS.map(() => 200));
    const stored = h.app.register.db.select().from(decisions).all();
    expect(stored).toHaveLength(1);
    const winner = stored[0]!.deciderId;
    expect(APPROVERS).toContain(winner);
    expect(stored[0]).toMatchObject({ outcome: 'approve', round: 0 });
    expect(exceptionRow(h, 1)).toMatchObject({ status: 'active', expiresOn: '2027-01-15', originalExpiresOn: '2027-01-15' });
    expect(eventsOf(h, 1).map((e) => e.kind)).toEqual(['exception.requested', 'exception.assessed', 'exception.approved']);
    expect(eventsOf(h, 1).at(-1)!.actorId).toBe(winner);

    // One set of notifications: one DM each to requester and owner, the two cards updated once each.
    expect(dmTexts(h, PEOPLE.requester, /approved/)).toEqual(['EXC-0001 was approved. It expires on Fri 15 Jan 2027.']);
    expect(dmTexts(h, PEOPLE.owner, /approved/)).toEqual(['EXC-0001 was approved. It expires on Fri 15 Jan 2027.']);
    expect(h.standIn.callsTo('chat.postMessage').length - postsBefore).toBe(2);
    expect(h.standIn.callsTo('chat.update').length - updatesBefore).toBe(2);
    const final = decisionCard(h, 'EXC-0001');
    expect(buttons(final)).toEqual([]);
    expect(JSON.stringify(final.blocks)).toContain(`<@${winner}>`);

    // Each of the nineteen who lost the race is told once, privately and clearly; the winner is told nothing.
    for (const userId of APPROVERS) {
      const told = ephemeralsTo(h, userId);
      if (userId === winner) expect(told, `winner ${userId}`).toEqual([]);
      else {
        expect(told, `loser ${userId}`).toHaveLength(1);
        expect(told[0]).not.toBe(UNEXPECTED_ERROR_TEXT);
        expect(told[0]).toMatch(/EXC-0001|active|decided/);
      }
    }
    expect(verifyAuditChain(h.app.register.db)).toMatchObject({ ok: true, events: expect.any(Number) });
    expect(undelivered(h)).toEqual({ n: 0 });
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('records exactly one outcome when ten Approve clicks race ten rejection submissions, five times over', { timeout: 30_000 }, async () => {
    const h = await withTwentyApprovers();
    const approving = APPROVERS.filter((_, i) => i % 2 === 0);
    const rejecting = APPROVERS.filter((_, i) => i % 2 === 1);
    const outcomes: string[] = [];

    for (let id = 1; id <= 5; id++) {
      await submitRequest(h, { title: `Contested exception number ${id}` });
      await assess(h, ref(id), 2, 2);
      // Every rejecter opens the reason modal first, as they would on the card.
      const modals: { userId: string; viewId: string; privateMetadata: string }[] = [];
      for (const userId of rejecting) {
        await clickButton(h, decisionCard(h, ref(id)), ACTION_IDS.reject, userId);
        const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
        modals.push({ userId, viewId: view.id, privateMetadata: view.private_metadata });
      }
      const card = decisionCard(h, ref(id));
      const clicks = approving.map((userId) => pressButton(h, card, ACTION_IDS.approve, userId));
      const submissions = modals.map((m) =>
        h.driver.viewSubmission({
          userId: m.userId,
          callbackId: CALLBACK_IDS.rejection,
          viewId: m.viewId,
          privateMetadata: m.privateMetadata,
          values: { [REJECTION_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'The compensating control has not been tested this year.' } } },
        }),
      );
      // Interleave the two kinds so neither always starts first.
      const responses = await Promise.all(id % 2 === 0 ? [...clicks, ...submissions] : [...submissions, ...clicks]);
      await h.settle();

      expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
      const stored = h.app.register.db.select().from(decisions).where(eq(decisions.exceptionId, id)).all();
      expect(stored, `${ref(id)} decisions`).toHaveLength(1);
      const status = exceptionRow(h, id).status;
      const verdict = eventsOf(h, id).filter((e) => e.kind === 'exception.approved' || e.kind === 'exception.rejected');
      expect(verdict, `${ref(id)} verdicts`).toHaveLength(1);
      if (stored[0]!.outcome === 'approve') {
        expect(status).toBe('active');
        expect(verdict[0]!.kind).toBe('exception.approved');
        expect(approving).toContain(stored[0]!.deciderId);
      } else {
        expect(status).toBe('rejected');
        expect(verdict[0]!.kind).toBe('exception.rejected');
        expect(rejecting).toContain(stored[0]!.deciderId);
      }
      // One outcome DM each, and it is the outcome recorded.
      for (const userId of [PEOPLE.requester, PEOPLE.owner]) {
        expect(dmTexts(h, userId, new RegExp(`^${ref(id)} was (approved|rejected)`)), `${ref(id)} DMs to ${userId}`).toEqual([
          expect.stringContaining(status === 'active' ? 'approved' : 'rejected'),
        ]);
      }
      // The losers of a rejection race get the refusal as a field error, never a generic failure.
      for (const response of responses) expect(response.text).not.toContain(UNEXPECTED_ERROR_TEXT);
      outcomes.push(`${ref(id)}: ${status}`);
    }

    for (const userId of APPROVERS) expect(ephemeralsTo(h, userId)).not.toContain(UNEXPECTED_ERROR_TEXT);
    expect(outcomes).toHaveLength(5);
    expect(verifyAuditChain(h.app.register.db)).toMatchObject({ ok: true });
    expect(undelivered(h)).toEqual({ n: 0 });
    expect(h.standIn.rejected()).toEqual([]);
  });
});

// ---- a committee vote racing the expiry sweep -------------------------------------------------------------------

const ORIGINAL_EXPIRY = '2027-01-15';
const RENEWED_EXPIRY = '2027-03-01';
/** The end of the expiry day in TZ (UTC): the first instant at which the sweep expires the exception. */
const EXPIRY_DUE = new Date('2027-01-16T00:00:00.000Z');

/**
 * EXC-0001, approved by the committee, expiring 2027-01-15; renewed by its owner on 2027-01-05, assessed high-risk
 * so the committee decides it, and already approved by one member. The clock then stands at the exact moment the
 * exception is due to expire.
 */
async function committeeRenewalAtExpiry(): Promise<Harness> {
  const h = await start();
  await submitRequest(h);
  await assess(h, 'EXC-0001', 4, 4);
  await clickButton(h, decisionCard(h, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
  await clickButton(h, decisionCard(h, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee2);
  expect(exceptionRow(h, 1)).toMatchObject({ status: 'active', expiresOn: ORIGINAL_EXPIRY });

  h.clock.now = new Date('2027-01-05T09:00:00Z');
  const { response } = await submitRenewal(h, PEOPLE.owner, {
    progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.',
    percentComplete: '60',
    evidenceUrl: 'https://tickets.example.com/CHG-4711',
    controlTestedOn: '2026-12-20',
    expiresOn: RENEWED_EXPIRY,
  });
  expect(response?.json).toMatchObject({ response_action: 'update' });
  await assess(h, 'EXC-0001', 4, 4);
  await clickButton(h, renewalDecisionCard(h, 'EXC-0001', 1, CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
  expect(h.app.register.db.select().from(renewals).get()).toMatchObject({ status: 'pending_approval' });

  h.clock.now = new Date(EXPIRY_DUE.getTime() - 1);
  await h.runJobs();
  expect(exceptionRow(h, 1).status, 'still active in the last millisecond of its expiry day').toBe('active');
  h.clock.now = EXPIRY_DUE;
  return h;
}

/** Starts `a` and `b` with the given head start for one of them, so rounds exercise both orders. */
async function race<A, B>(a: () => Promise<A>, b: () => Promise<B>, round: number): Promise<[A, B]> {
  const delay = (round >> 1) * 2;
  const aFirst = round % 2 === 0;
  return Promise.all([
    (async () => {
      if (!aFirst) await sleep(delay);
      return a();
    })(),
    (async () => {
      if (aFirst) await sleep(delay);
      return b();
    })(),
  ]);
}

describe('a final committee vote racing the expiry sweep', () => {
  // The README: "If the exception expires while its renewal waits, it expires; a later approval brings it back with
  // an expiry counted from the approval." So the two consistent outcomes of the race are: the vote first (renewal
  // approved, the sweep finds nothing due) or the sweep first (expired, then reactivated by the approval). Never
  // the vote counted and the exception expired afterwards, never two approvals, never a refused vote.
  it('ends every round in one consistent outcome: renewed, or expired and then reactivated, never both', { timeout: 60_000 }, async () => {
    const orders: string[] = [];
    for (let round = 0; round < 10; round++) {
      const h = await committeeRenewalAtExpiry();
      const card = renewalDecisionCard(h, 'EXC-0001', 1, CHANNELS.committee);

      const [vote] = await race(() => pressButton(h, card, ACTION_IDS.approve, PEOPLE.committee2), () => h.runJobs(), round);
      await h.settle();
      expect(vote.status).toBe(200);

      const events = eventsOf(h, 1);
      const renewalRequested = events.findIndex((e) => e.kind === 'renewal.requested');
      const after = events.slice(renewalRequested);
      const approved = after.filter((e) => e.kind === 'renewal.approved');
      const expired = after.filter((e) => e.kind === 'exception.expired');
      expect(approved, `round ${round}: renewal approvals`).toHaveLength(1);
      expect(expired.length, `round ${round}: expiries`).toBeLessThanOrEqual(1);
      const reactivated = (JSON.parse(approved[0]!.payload) as { reactivated: boolean; newExpiresOn: string }).reactivated;
      if (expired.length === 1) {
        // The sweep came first: the expiry is recorded before the approval, which says it reactivated.
        expect(expired[0]!.id).toBeLessThan(approved[0]!.id);
        expect(reactivated).toBe(true);
        orders.push('expired, then reactivated');
      } else {
        expect(reactivated).toBe(false);
        orders.push('renewed before the sweep');
      }
      expect(JSON.parse(approved[0]!.payload)).toMatchObject({ newExpiresOn: RENEWED_EXPIRY, round: 1 });

      // Either way the register ends in the same state.
      expect(exceptionRow(h, 1)).toMatchObject({ status: 'active', expiresOn: RENEWED_EXPIRY, originalExpiresOn: ORIGINAL_EXPIRY, renewalCount: 1 });
      expect(h.app.register.db.select().from(renewals).get()).toMatchObject({ status: 'approved', newExpiresOn: RENEWED_EXPIRY });
      const votes = h.app.register.db.select().from(decisions).where(and(eq(decisions.exceptionId, 1), eq(decisions.round, 1))).all();
      expect(votes.map((v) => v.deciderId).sort()).toEqual([PEOPLE.committee1, PEOPLE.committee2]);
      // The vote was counted, so the voter was not refused; nobody was told something went wrong.
      expect(ephemeralsTo(h, PEOPLE.committee2)).toEqual([]);

      // One set of notifications for the outcome that happened.
      const renewedDms = dmTexts(h, PEOPLE.owner, /renewal of EXC-0001 was approved/);
      expect(renewedDms).toEqual(['The renewal of EXC-0001 was approved. It now expires on Mon 1 Mar.']); // RENEWED_EXPIRY
      expect(dmTexts(h, PEOPLE.owner, /has expired/)).toHaveLength(expired.length);
      expect(dmTexts(h, PEOPLE.requester, /has expired/)).toHaveLength(expired.length);
      expect(dmTexts(h, PEOPLE.requester, /renewal of EXC-0001 was approved/)).toHaveLength(1);

      // Another sweep at the same instant, and the next day, leave the renewed exception alone.
      await h.runJobs();
      h.clock.now = new Date('2027-01-17T09:00:00Z');
      await h.runJobs();
      expect(exceptionRow(h, 1).status).toBe('active');
      expect(eventsOf(h, 1).filter((e) => e.kind === 'exception.expired')).toHaveLength(expired.length);
      expect(verifyAuditChain(h.app.register.db)).toMatchObject({ ok: true });
      expect(undelivered(h)).toEqual({ n: 0 });
      expect(h.standIn.rejected()).toEqual([]);
      await stop(h);
    }
    expect(orders).toHaveLength(10);
  });

  it('ends every round expired with one rejection when the final committee vote is a rejection', { timeout: 40_000 }, async () => {
    for (let round = 0; round < 4; round++) {
      const h = await committeeRenewalAtExpiry();
      await clickButton(h, renewalDecisionCard(h, 'EXC-0001', 1, CHANNELS.committee), ACTION_IDS.reject, PEOPLE.committee2);
      const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
      const submit = () =>
        h.driver.viewSubmission({
          userId: PEOPLE.committee2,
          callbackId: CALLBACK_IDS.rejection,
          viewId: view.id,
          privateMetadata: view.private_metadata,
          values: { [REJECTION_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'No real progress since the first approval; finish the migration.' } } },
        });

      const [response] = await race(submit, () => h.runJobs(), round);
      await h.settle();
      expect(response.status).toBe(200);
      expect(response.text).toBe('');

      const after = eventsOf(h, 1).slice(eventsOf(h, 1).findIndex((e) => e.kind === 'renewal.requested'));
      expect(after.filter((e) => e.kind === 'renewal.rejected'), `round ${round}`).toHaveLength(1);
      expect(after.filter((e) => e.kind === 'exception.expired'), `round ${round}`).toHaveLength(1);
      expect(after.filter((e) => e.kind === 'renewal.approved')).toEqual([]);
      // Whichever came first, the sweep expires it (now or right after the rejection); it is never renewed.
      await h.runJobs();
      expect(exceptionRow(h, 1)).toMatchObject({ status: 'expired', expiresOn: ORIGINAL_EXPIRY, renewalCount: 0 });
      expect(h.app.register.db.select().from(renewals).get()).toMatchObject({ status: 'rejected', newExpiresOn: null });
      expect(dmTexts(h, PEOPLE.owner, /has expired/)).toHaveLength(1);
      expect(dmTexts(h, PEOPLE.owner, /renewal of EXC-0001 was rejected/)).toHaveLength(1);
      expect(verifyAuditChain(h.app.register.db)).toMatchObject({ ok: true });
      expect(undelivered(h)).toEqual({ n: 0 });
      await stop(h);
    }
  });

  it('refuses, with the reason, a final committee vote on a request whose requested expiry has passed, whatever the sweep does', { timeout: 30_000 }, async () => {
    for (let round = 0; round < 4; round++) {
      const h = await start();
      await submitRequest(h, { expiresOn: '2026-12-10' });
      await assess(h, 'EXC-0001', 4, 4);
      await clickButton(h, decisionCard(h, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
      h.clock.now = new Date('2026-12-11T00:00:00.000Z'); // the requested expiry day has just ended
      const card = decisionCard(h, 'EXC-0001', CHANNELS.committee);

      const [vote] = await race(() => pressButton(h, card, ACTION_IDS.approve, PEOPLE.committee2), () => h.runJobs(), round);
      await h.settle();

      expect(vote.status).toBe(200);
      expect(ephemeralsTo(h, PEOPLE.committee2)).toEqual([expect.stringContaining('2026-12-10 has already passed')]);
      expect(exceptionRow(h, 1)).toMatchObject({ status: 'pending_approval', expiresOn: null });
      expect(h.app.register.db.select().from(decisions).all().map((d) => d.deciderId)).toEqual([PEOPLE.committee1]);
      const kinds = eventsOf(h, 1).map((e) => e.kind);
      expect(kinds.filter((k) => k === 'exception.approved' || k === 'exception.expired')).toEqual([]);
      expect(dmTexts(h, PEOPLE.owner, /approved|expired/)).toEqual([]);
      expect(verifyAuditChain(h.app.register.db)).toMatchObject({ ok: true });
      await stop(h);
    }
  });

  it('tells the owner the date it really expired on, even when the expiry notice is delivered after the reactivation', async () => {
    // The sweep wins the race, but Slack is slow: its notices are still queued when the final vote reactivates the
    // exception. Notices are rendered at delivery time, so the expiry DM must not claim the new expiry date.
    const h = await committeeRenewalAtExpiry();
    h.standIn.fail({ status: 503 });
    await h.runJobs();
    expect(exceptionRow(h, 1).status).toBe('expired');
    await clickButton(h, renewalDecisionCard(h, 'EXC-0001', 1, CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee2);
    expect(exceptionRow(h, 1)).toMatchObject({ status: 'active', expiresOn: RENEWED_EXPIRY });
    h.standIn.clearFailures();
    for (let i = 0; i < 20 && undelivered(h).n > 0; i++) {
      h.clock.advance(60_000);
      await h.settle();
    }
    expect(undelivered(h)).toEqual({ n: 0 });

    const expiredDm = h.standIn.dmsTo(PEOPLE.owner).find((m) => (m.text ?? '').includes('has expired'));
    expect(expiredDm, 'the expiry DM').toBeDefined();
    // Days read as people say them: Fri 15 Jan is ORIGINAL_EXPIRY, Mon 1 Mar RENEWED_EXPIRY.
    expect(JSON.stringify(expiredDm!.blocks)).toContain('at the end of Fri 15 Jan');
    expect(JSON.stringify(expiredDm!.blocks)).not.toContain('Mon 1 Mar');
    // The same for the sweep's summary in the approvals channel.
    const summary = h.standIn.messages(CHANNELS.approvals).find((m) => /exceptions? expired/.test(m.text ?? ''));
    expect(summary, 'the expiry summary post').toBeDefined();
    expect(JSON.stringify(summary!.blocks)).toContain('Fri 15 Jan');
    expect(JSON.stringify(summary!.blocks)).not.toContain('Mon 1 Mar');
  });
});
