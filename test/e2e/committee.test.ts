import { count, eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decisions, exceptions } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { slackTime } from '../../src/slack/views/mrkdwn';
import { approvalCardsIn, assess, buttons, clickButton, decisionCard, ephemeralsTo, reject, submitRequest, triageMessage } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const decisionCount = () => h.app.register.db.select({ n: count() }).from(decisions).get()!.n;
const exception = (id = 1) => h.app.register.db.select().from(exceptions).where(eq(exceptions.id, id)).get()!;
const committeeCard = (ref = 'EXC-0001') => decisionCard(h, ref, CHANNELS.committee);

/** A card waiting for a decision: the decision, sending it back, and the whole record. */
const DECIDING = [ACTION_IDS.approve, ACTION_IDS.reject, ACTION_IDS.askForChanges, ACTION_IDS.viewRecord];

const STRUCTURAL_REASON = 'The mainframe vendor ships one release a year; a 90-day clock would force an unsupported hot patch.';

describe('committee route', () => {
  it('sends a score at or above the threshold to the committee channel, not the approvals channel', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);

    expect(exception()).toMatchObject({ status: 'pending_approval', route: 'committee', riskScore: 16 });
    const card = committeeCard();
    expect(buttons(card)).toEqual(DECIDING);
    const blocks = JSON.stringify(card.blocks);
    expect(blocks).toContain('*0 of 2* committee approvals');
    expect(blocks).not.toContain(`<@${PEOPLE.ciso}>`);
    // The approvals channel keeps only the (updated) triage card: no decision message there, not even in its thread.
    expect(approvalCardsIn(h, CHANNELS.approvals)).toEqual([]);
    expect(h.standIn.messages(CHANNELS.approvals)).toHaveLength(1);
    const triage = triageMessage(h, 'EXC-0001');
    expect(buttons(triage)).toEqual([]);
    expect(JSON.stringify(triage.blocks)).toContain('= *16* (high)');
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('leads with the ask: mentions who may vote and who still has to, with the buttons, and the triage card points to the committee', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);
    const lead = () => (committeeCard().blocks as { type: string; text?: { text: string } }[]).slice(0, 3);
    expect(lead().map((b) => b.type)).toEqual(['header', 'section', 'actions']);
    const since = slackTime('2026-11-25T10:00:00.000Z');
    expect(lead()[1]!.text!.text).toBe(
      `:hourglass_flowing_sand: *Waiting for the steering committee*: 0 of 2 approvals, since ${since} · Risk *16* (high)\n` +
        `May vote: <@${PEOPLE.committee1}> <@${PEOPLE.committee2}> <@${PEOPLE.committee3}>\n` +
        `Still to vote: <@${PEOPLE.committee1}> <@${PEOPLE.committee2}> <@${PEOPLE.committee3}> · 2 more approvals decide; any rejection rejects.`,
    );
    const before = JSON.stringify(committeeCard().blocks);
    expect(before).toContain('*Decision by*\\nThe steering committee: 2 of the 3 members who may vote must approve');
    expect(before).not.toContain('Decided by');
    const triageLead = (triageMessage(h, 'EXC-0001').blocks as { text?: { text: string } }[])[1]!.text!.text;
    expect(triageLead).toContain(`*Waiting for the steering committee* in <#${CHANNELS.committee}>: 0 of 2 approvals`);

    await clickButton(h, committeeCard(), ACTION_IDS.approve, PEOPLE.committee2);
    expect(lead()[1]!.text!.text).toContain(`: 1 of 2 approvals, since ${since}`);
    expect(lead()[1]!.text!.text).toContain(`Still to vote: <@${PEOPLE.committee1}> <@${PEOPLE.committee3}> · 1 more approval decides; any rejection rejects.`);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('leaves the assessor out of who may vote on a round they assessed', async () => {
    const harness = await startHarness({ env: { SECURITY_TEAM_IDS: `${PEOPLE.security},${PEOPLE.committee3}` } });
    try {
      await submitRequest(harness);
      await assess(harness, 'EXC-0001', 4, 4, PEOPLE.committee3);
      const text = JSON.stringify(decisionCard(harness, 'EXC-0001', CHANNELS.committee).blocks);
      expect(text).toContain(`May vote: <@${PEOPLE.committee1}> <@${PEOPLE.committee2}>\\n`);
      expect(text).toContain('2 of the 2 members who may vote must approve');
    } finally {
      await harness.close();
    }
  });

  it('routes a structural request (with a reason, expiry within 365 days) to the committee even at a low score and fixes its long expiry', async () => {
    const { response } = await submitRequest(h, { structural: true, structuralReason: STRUCTURAL_REASON, expiresOn: '2027-10-01' });
    expect(response.text).toBe('');
    expect(exception()).toMatchObject({ status: 'requested', structural: true, structuralReason: STRUCTURAL_REASON, requestedExpiresOn: '2027-10-01' });

    await assess(h, 'EXC-0001', 1, 2);
    expect(exception()).toMatchObject({ status: 'pending_approval', route: 'committee', riskScore: 2 });
    expect(approvalCardsIn(h, CHANNELS.approvals)).toEqual([]);
    const card = committeeCard();
    expect(JSON.stringify(card.blocks)).toContain('it is marked structural');

    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.committee1);
    await clickButton(h, committeeCard(), ACTION_IDS.approve, PEOPLE.committee3);
    expect(exception()).toMatchObject({ status: 'active', expiresOn: '2027-10-01', originalExpiresOn: '2027-10-01' });
    expect(JSON.stringify(committeeCard().blocks)).toContain('Expires at the end of *Fri 1 Oct 2027*');
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('refuses a structural request without a written reason in the modal', async () => {
    const { response } = await submitRequest(h, { structural: true, structuralReason: '', expiresOn: '2027-10-01' });
    expect(response.json).toMatchObject({ response_action: 'errors', errors: { structural_reason: expect.stringMatching(/written reason/) } });
    expect(h.app.register.db.select({ n: count() }).from(exceptions).get()!.n).toBe(0);
  });

  it('shows "1 of 2" after the first approval and activates on the second distinct member', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);
    const updatesBefore = h.standIn.callsTo('chat.update').length;

    await clickButton(h, committeeCard(), ACTION_IDS.approve, PEOPLE.committee1);
    expect(exception()).toMatchObject({ status: 'pending_approval', expiresOn: null });
    expect(decisionCount()).toBe(1);
    const afterFirst = committeeCard();
    expect(afterFirst.updates).toBe(1);
    expect(h.standIn.callsTo('chat.update').length).toBe(updatesBefore + 1);
    expect(JSON.stringify(afterFirst.blocks)).toContain('*1 of 2* committee approvals');
    expect(JSON.stringify(afterFirst.blocks)).toContain(`Approved by <@${PEOPLE.committee1}>`);
    expect(buttons(afterFirst)).toEqual(DECIDING);
    expect(ephemeralsTo(h, PEOPLE.committee1)).toEqual([expect.stringContaining('1 of 2')]);
    // Nobody is told the outcome before there is one: the owner has only the note that they were named.
    expect(h.standIn.dmsTo(PEOPLE.owner).map((m) => m.text)).toEqual(['You were named owner of EXC-0001.']);

    h.clock.advance(3 * 24 * 3600_000);
    await clickButton(h, afterFirst, ACTION_IDS.approve, PEOPLE.committee2);
    expect(exception()).toMatchObject({ status: 'active', expiresOn: '2027-01-15', originalExpiresOn: '2027-01-15', activatedAt: '2026-11-28T10:00:00.000Z' });
    expect(decisionCount()).toBe(2);
    const done = committeeCard();
    expect(buttons(done)).toEqual([]);
    const blocks = JSON.stringify(done.blocks);
    expect(blocks).toContain('*2 of 2* committee approvals');
    // Every approver is credited, not only whoever cast the deciding vote.
    expect(blocks).toContain(`*Approved* by <@${PEOPLE.committee1}> and <@${PEOPLE.committee2}> (steering committee, 2 of 2 approvals)`);
    expect(blocks).toContain('Expires at the end of *Fri 15 Jan 2027*');
    expect(blocks).toContain(`*Decided by*\\n<@${PEOPLE.committee1}> and <@${PEOPLE.committee2}> (steering committee)`);
    expect(ephemeralsTo(h, PEOPLE.committee2)).toEqual([]);
    expect(h.standIn.dmsTo(PEOPLE.owner).map((m) => m.text)).toEqual(['You were named owner of EXC-0001.', expect.stringContaining('approved')]);
    expect(h.standIn.dmsTo(PEOPLE.requester).map((m) => m.text)).toEqual([expect.stringContaining('received'), expect.stringContaining('was assessed'), expect.stringContaining('approved')]);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('refuses an approver (the CISO) who is not on the committee, for Approve and Reject', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);
    const card = committeeCard();
    const opened = h.standIn.callsTo('views.open').length;

    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.ciso);
    await clickButton(h, card, ACTION_IDS.reject, PEOPLE.ciso);

    expect(ephemeralsTo(h, PEOPLE.ciso)).toEqual([
      expect.stringMatching(/steering committee, and you are not on it/),
      expect.stringMatching(/steering committee, and you are not on it/),
    ]);
    // Private replies through the response_url must leave the committee card itself in place.
    const replies = h.standIn.responseUrlPosts.filter((p) => p.userId === PEOPLE.ciso);
    expect(replies.map((p) => p.body.replace_original)).toEqual([false, false]);
    expect(buttons(committeeCard())).toEqual(DECIDING);
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened);
    expect(decisionCount()).toBe(0);
    expect(exception().status).toBe('pending_approval');
    expect(committeeCard().updates).toBe(0);
  });

  it('rejects on one committee rejection after an approval', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);
    await clickButton(h, committeeCard(), ACTION_IDS.approve, PEOPLE.committee1);

    const opened = h.standIn.callsTo('views.open').length;
    const beforeRejection = committeeCard();
    const response = await reject(h, beforeRejection, PEOPLE.committee2, 'The compensating control does not cover remote logins at all.');
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened + 1);
    expect(h.standIn.callsTo('views.open').at(-1)!.args.view).toMatchObject({ callback_id: CALLBACK_IDS.rejection });
    expect(response?.status).toBe(200);
    expect(response?.text).toBe('');

    expect(exception()).toMatchObject({ status: 'rejected', expiresOn: null });
    const rows = h.app.register.db.select().from(decisions).all();
    expect(rows.map((r) => [r.deciderId, r.outcome])).toEqual([
      [PEOPLE.committee1, 'approve'],
      [PEOPLE.committee2, 'reject'],
    ]);
    const card = committeeCard();
    expect(buttons(card)).toEqual([]);
    expect(JSON.stringify(card.blocks)).toContain(`*Rejected* by <@${PEOPLE.committee2}>`);
    expect(JSON.stringify(card.blocks)).toContain('does not cover remote logins');
    expect(h.standIn.dmsTo(PEOPLE.owner).map((m) => m.text)).toEqual(['You were named owner of EXC-0001.', expect.stringContaining('rejected')]);

    // The third member's click on the card as it looked before the rejection changes nothing.
    await clickButton(h, beforeRejection, ACTION_IDS.approve, PEOPLE.committee3);
    expect(ephemeralsTo(h, PEOPLE.committee3)).toEqual([expect.stringMatching(/rejected, so it cannot be approved/)]);
    expect(h.app.register.db.select().from(decisions).all()).toHaveLength(2);
  });

  it('records one decision when the same member presses Approve twice, and tells them it is already recorded', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);
    const card = committeeCard();

    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.committee1);
    const updates = h.standIn.callsTo('chat.update').length;
    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.committee1);

    expect(decisionCount()).toBe(1);
    expect(exception().status).toBe('pending_approval');
    const told = ephemeralsTo(h, PEOPLE.committee1);
    expect(told).toHaveLength(2);
    expect(told[0]).toContain('1 of 2');
    expect(told[1]).toMatch(/already/i);
    expect(h.standIn.callsTo('chat.update')).toHaveLength(updates);
  });
});
