import { asc, count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, decisions, exceptions } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, clickButton, decisionCard, ephemeralsTo, openRequestModal, pressButton, requestValues, submitRequest, VALID_FORM } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const rows = (table: typeof exceptions | typeof decisions | typeof auditEvents) => h.app.register.db.select({ n: count() }).from(table).get()!.n;
const exception = () => h.app.register.db.select().from(exceptions).get()!;
const receipts = (userId: string) => h.standIn.dmsTo(userId).filter((m) => m.text?.includes('received'));
const ownerNotes = (userId: string) => h.standIn.dmsTo(userId).filter((m) => m.text?.includes('named owner'));
const triageCards = () => h.standIn.messages(CHANNELS.approvals).filter((m) => !m.threadTs);

describe("Slack's retried deliveries", () => {
  it('creates one exception and one receipt when the same view_submission arrives again with a retry number', async () => {
    const { response, viewId } = await submitRequest(h);
    expect(response.text).toBe('');
    const retried = await h.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values: requestValues(VALID_FORM), retryNum: 1 });
    await h.settle();

    expect(retried.status).toBe(200);
    expect(retried.json?.response_action).toBeUndefined();
    expect(rows(exceptions)).toBe(1);
    expect(h.app.register.db.select().from(auditEvents).all().filter((e) => e.kind === 'exception.requested')).toHaveLength(1);
    expect(receipts(PEOPLE.requester)).toHaveLength(1);
    expect(ownerNotes(PEOPLE.owner)).toHaveLength(1);
    expect(triageCards()).toHaveLength(1);
  });

  it('creates one exception when the original and the retry of a submission arrive at the same time', async () => {
    const viewId = await openRequestModal(h);
    const submit = (retryNum?: number) =>
      h.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values: requestValues(VALID_FORM), retryNum });
    const responses = await Promise.all([submit(), submit(1), submit(2)]);
    await h.settle();

    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(rows(exceptions)).toBe(1);
    expect(receipts(PEOPLE.requester)).toHaveLength(1);
    expect(ownerNotes(PEOPLE.owner)).toHaveLength(1);
    expect(triageCards()).toHaveLength(1);
  });

  it('records nothing new for a retried Approve click on the committee route', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);
    const card = decisionCard(h, 'EXC-0001', CHANNELS.committee);
    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.committee1);
    const audit = rows(auditEvents);
    const updates = h.standIn.callsTo('chat.update').length;

    const retried = await pressButton(h, card, ACTION_IDS.approve, PEOPLE.committee1, 1);
    await h.settle();

    expect(retried.status).toBe(200);
    expect(rows(decisions)).toBe(1);
    expect(rows(auditEvents)).toBe(audit);
    expect(exception().status).toBe('pending_approval');
    expect(h.standIn.callsTo('chat.update')).toHaveLength(updates);
    expect(JSON.stringify(decisionCard(h, 'EXC-0001', CHANNELS.committee).blocks)).toContain('*1 of 2*');
  });

  it('records nothing new and sends no second DM for a retried Approve click on the fast path', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    const card = decisionCard(h, 'EXC-0001');
    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.ciso);
    expect(exception().status).toBe('active');
    const audit = rows(auditEvents);
    const posts = h.standIn.callsTo('chat.postMessage').length;

    await pressButton(h, card, ACTION_IDS.approve, PEOPLE.ciso, 1);
    await pressButton(h, card, ACTION_IDS.approve, PEOPLE.ciso, 2);
    await h.settle();

    expect(rows(decisions)).toBe(1);
    expect(rows(auditEvents)).toBe(audit);
    expect(h.standIn.callsTo('chat.postMessage')).toHaveLength(posts);
    expect(h.standIn.dmsTo(PEOPLE.owner).map((m) => m.text)).toEqual(['You were named owner of EXC-0001.', expect.stringContaining('approved')]);
  });
});

describe('concurrent clicks and submissions', () => {
  it('records exactly one decision when the two approvers click Approve ten times at once', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 3);
    const card = decisionCard(h, 'EXC-0001');

    const clickers = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? PEOPLE.ciso : PEOPLE.deputy));
    const responses = await Promise.all(clickers.map((userId) => pressButton(h, card, ACTION_IDS.approve, userId)));
    await h.settle();

    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(rows(decisions)).toBe(1);
    expect(exception()).toMatchObject({ status: 'active', expiresOn: '2027-01-15' });
    expect(h.app.register.db.select().from(auditEvents).all().filter((e) => e.kind === 'exception.approved')).toHaveLength(1);
    expect(h.standIn.dmsTo(PEOPLE.owner).filter((m) => m.text?.includes('approved'))).toHaveLength(1);
    expect(h.standIn.dmsTo(PEOPLE.requester).filter((m) => m.text?.includes('approved'))).toHaveLength(1);
    // Everyone whose click lost the race is told privately; nobody is told twice per click.
    expect(clickers.flatMap((userId, i) => (clickers.indexOf(userId) === i ? ephemeralsTo(h, userId) : []))).toHaveLength(9);
    expect(buttons(decisionCard(h, 'EXC-0001'))).toEqual([]);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('activates with two decisions when two committee members approve at the same moment (quorum 2)', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);
    const card = decisionCard(h, 'EXC-0001', CHANNELS.committee);

    await Promise.all([pressButton(h, card, ACTION_IDS.approve, PEOPLE.committee1), pressButton(h, card, ACTION_IDS.approve, PEOPLE.committee2)]);
    await h.settle();

    expect(exception()).toMatchObject({ status: 'active', expiresOn: '2027-01-15' });
    const stored = h.app.register.db.select().from(decisions).all();
    expect(stored.map((d) => d.deciderId).sort()).toEqual([PEOPLE.committee1, PEOPLE.committee2]);
    expect(stored.every((d) => d.outcome === 'approve')).toBe(true);
    const final = decisionCard(h, 'EXC-0001', CHANNELS.committee);
    expect(buttons(final)).toEqual([]);
    expect(JSON.stringify(final.blocks)).toContain('*2 of 2*');
    expect(h.standIn.dmsTo(PEOPLE.owner).filter((m) => m.text?.includes('approved'))).toHaveLength(1);
  });

  it('numbers 20 concurrent submissions from different people EXC-0001..EXC-0020 without gaps or duplicates', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `U0PERSON${String(i + 1).padStart(2, '0')}`);
    const viewIds = await Promise.all(users.map((userId) => openRequestModal(h, userId)));
    expect(new Set(viewIds).size).toBe(20);

    const responses = await Promise.all(
      users.map((userId, i) =>
        h.driver.viewSubmission({ userId, callbackId: CALLBACK_IDS.request, viewId: viewIds[i], values: requestValues({ ...VALID_FORM, title: `Exception number ${i + 1}` }) }),
      ),
    );
    await h.settle();

    expect(responses.map((r) => r.status)).toEqual(users.map(() => 200));
    expect(responses.every((r) => r.text === '')).toBe(true);
    const stored = h.app.register.db.select().from(exceptions).orderBy(asc(exceptions.id)).all();
    expect(stored.map((e) => e.id)).toEqual(users.map((_, i) => i + 1));
    expect(new Set(stored.map((e) => e.requesterId))).toEqual(new Set(users));

    const refs = triageCards().map((m) => /EXC-\d{4}/.exec(JSON.stringify(m.blocks))?.[0]);
    expect(refs.sort()).toEqual(users.map((_, i) => `EXC-${String(i + 1).padStart(4, '0')}`));
    // Each person's receipt names the exception stored for them.
    for (const e of stored) {
      const mine = receipts(e.requesterId);
      expect(mine, `receipt for ${e.requesterId}`).toHaveLength(1);
      expect(mine[0]!.text).toContain(`EXC-${String(e.id).padStart(4, '0')}`);
    }
    expect(h.standIn.rejected()).toEqual([]);
  });
});
