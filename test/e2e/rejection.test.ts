import { count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, decisions, exceptions } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS, INPUT_ACTION_ID, REJECTION_BLOCK_ID } from '../../src/slack/ids';
import { PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, clickButton, decisionCard, ephemeralsTo, reject, submitRequest } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const rows = (table: typeof decisions | typeof auditEvents) => h.app.register.db.select({ n: count() }).from(table).get()!.n;
const exception = () => h.app.register.db.select().from(exceptions).get()!;

/** Presses Reject and returns the modal Slack opened. */
async function openRejection(userId: string) {
  const opened = h.standIn.callsTo('views.open').length;
  await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.reject, userId);
  expect(h.standIn.callsTo('views.open'), 'rejection modal opened').toHaveLength(opened + 1);
  const call = h.standIn.callsTo('views.open').at(-1)!;
  return { sent: call.args.view as { callback_id: string; private_metadata: string; blocks: { block_id?: string; type: string }[] }, view: call.response.view as { id: string; private_metadata: string } };
}

function submitReason(userId: string, view: { id: string; private_metadata: string }, reason: string | null) {
  return h.driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.rejection,
    viewId: view.id,
    privateMetadata: view.private_metadata,
    values: { [REJECTION_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: reason } } },
  });
}

const REASON = 'Compensating control <!channel> & <https://evil.example|click> is not tested; re-submit after the VPN review.';
const ESCAPED_REASON = 'Compensating control &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; is not tested; re-submit after the VPN review.';

describe('rejecting an exception', () => {
  beforeEach(async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 3);
  });

  it('opens a modal asking for the reason when Reject is pressed, and records nothing yet', async () => {
    const { sent } = await openRejection(PEOPLE.ciso);
    expect(sent.callback_id).toBe(CALLBACK_IDS.rejection);
    expect(JSON.parse(sent.private_metadata)).toEqual({ exception: 1, round: 0, stage: 'decision', expiresOn: '2027-01-15' });
    expect(sent.blocks.some((b) => b.type === 'input' && b.block_id === REJECTION_BLOCK_ID)).toBe(true);
    expect(rows(decisions)).toBe(0);
    expect(exception().status).toBe('pending_approval');
    expect(h.standIn.rejected()).toEqual([]);
  });

  it.each([
    ['too short', 'No.'],
    ['only spaces', '              '],
    ['missing', null],
  ])('keeps the modal open with an error on the reason when it is %s, and records nothing', async (_label, reason) => {
    const { view } = await openRejection(PEOPLE.ciso);
    const audit = rows(auditEvents);
    const calls = h.standIn.calls.length;

    const response = await submitReason(PEOPLE.ciso, view, reason);
    await h.settle();

    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ response_action: 'errors' });
    expect(Object.keys(response.json.errors)).toEqual([REJECTION_BLOCK_ID]);
    expect(response.json.errors[REJECTION_BLOCK_ID]).toMatch(/reason/i);
    expect(rows(decisions)).toBe(0);
    expect(rows(auditEvents)).toBe(audit);
    expect(exception().status).toBe('pending_approval');
    expect(h.standIn.calls.length, 'no Slack call at all').toBe(calls);
    expect(buttons(decisionCard(h, 'EXC-0001'))).toEqual([ACTION_IDS.approve, ACTION_IDS.reject, ACTION_IDS.askForChanges, ACTION_IDS.viewRecord]);
  });

  it('rejects with a proper reason: the card loses its buttons and shows the escaped reason; requester and owner are told', async () => {
    const before = decisionCard(h, 'EXC-0001');
    const { view } = await openRejection(PEOPLE.deputy);
    const tooShort = await submitReason(PEOPLE.deputy, view, 'nope');
    expect(tooShort.json).toMatchObject({ response_action: 'errors' });

    // The same modal, corrected and submitted again.
    const response = await submitReason(PEOPLE.deputy, view, REASON);
    await h.settle();
    expect(response.status).toBe(200);
    expect(response.text).toBe('');

    expect(exception()).toMatchObject({ status: 'rejected', expiresOn: null });
    const stored = h.app.register.db.select().from(decisions).all();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ deciderId: PEOPLE.deputy, outcome: 'reject', comment: REASON });

    const card = decisionCard(h, 'EXC-0001');
    expect(card.updates).toBeGreaterThan(0);
    expect(buttons(card)).toEqual([]);
    const blocks = JSON.stringify(card.blocks);
    expect(blocks).toContain(`*Rejected* by <@${PEOPLE.deputy}>`);
    expect(blocks).toContain(JSON.stringify(ESCAPED_REASON).slice(1, -1));
    expect(blocks).not.toContain('<!channel>');
    expect(blocks).not.toContain('<https://evil.example|click>');
    expect(card.text).toContain('rejected');

    for (const person of [PEOPLE.requester, PEOPLE.owner]) {
      const rejected = h.standIn.dmsTo(person).filter((m) => m.text?.includes('rejected'));
      expect(rejected, `rejection DM to ${person}`).toHaveLength(1);
      const dm = JSON.stringify(rejected[0]!.blocks);
      expect(dm).toContain(JSON.stringify(ESCAPED_REASON).slice(1, -1));
      expect(dm).not.toContain('<!channel>');
      expect(dm).toContain(`<@${PEOPLE.deputy}>`);
    }
    expect(h.standIn.dmsTo(PEOPLE.owner)).toHaveLength(2); // named owner, rejection
    expect(h.standIn.dmsTo(PEOPLE.owner)[0]!.text).toBe('You were named owner of EXC-0001.');
    expect(h.standIn.dmsTo(PEOPLE.requester).map((m) => m.text)).toEqual([expect.stringContaining('received'), 'EXC-0001 was assessed: risk 6. It now waits for a decision.', expect.stringContaining('rejected')]);

    // A late Approve on the old card is refused and changes nothing.
    await clickButton(h, before, ACTION_IDS.approve, PEOPLE.ciso);
    expect(ephemeralsTo(h, PEOPLE.ciso)).toEqual([expect.stringMatching(/rejected, so it cannot be approved/)]);
    expect(rows(decisions)).toBe(1);
    expect(exception().status).toBe('rejected');
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('refuses a Reject click from someone without authority with an ephemeral, and opens no modal', async () => {
    const opened = h.standIn.callsTo('views.open').length;
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.reject, PEOPLE.bystander);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.reject, PEOPLE.committee1);
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened);
    expect(ephemeralsTo(h, PEOPLE.bystander)).toEqual([expect.stringMatching(/^There is no exception EXC-0001 that you can see/)]);
    expect(ephemeralsTo(h, PEOPLE.committee1)).toEqual([expect.stringMatching(/Only the CISO or a delegated approver/)]);
    expect(rows(decisions)).toBe(0);
    expect(exception().status).toBe('pending_approval');
  });

  it('refuses a rejection submitted by someone without authority even if they got hold of the modal', async () => {
    const { view } = await openRejection(PEOPLE.ciso);
    const response = await submitReason(PEOPLE.bystander, view, REASON);
    await h.settle();
    expect(response.json).toMatchObject({ response_action: 'errors', errors: { [REJECTION_BLOCK_ID]: expect.stringMatching(/^There is no exception EXC-0001 that you can see/) } });
    expect(rows(decisions)).toBe(0);
    expect(exception().status).toBe('pending_approval');
  });
});

describe('rejecting an exception whose requester is also its owner', () => {
  it('sends that person one rejection DM, not two', async () => {
    await submitRequest(h, { owner: PEOPLE.requester });
    await assess(h, 'EXC-0001', 2, 3);
    await reject(h, decisionCard(h, 'EXC-0001'), PEOPLE.ciso, 'The scope is far wider than the justification supports.');
    expect(exception().status).toBe('rejected');
    expect(h.standIn.dmsTo(PEOPLE.requester).map((m) => m.text)).toEqual([expect.stringContaining('received'), expect.stringContaining('was assessed'), expect.stringContaining('rejected')]);
  });

  it('refuses the owner who tries to reject their own exception (separation of duties), opening no modal', async () => {
    await submitRequest(h, { owner: PEOPLE.deputy });
    await assess(h, 'EXC-0001', 2, 3);
    const opened = h.standIn.callsTo('views.open').length;
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.reject, PEOPLE.deputy);
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened);
    expect(ephemeralsTo(h, PEOPLE.deputy)).toEqual([expect.stringMatching(/separation of duties/)]);
  });
});
