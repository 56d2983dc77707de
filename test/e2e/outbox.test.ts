import { asc, eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decisions, exceptions, outbox } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS } from '../../src/slack/ids';
import type { FailureRule } from '../support/slack-stand-in';
import { CHANNELS, HEALTHZ_DETAILS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, clickButton, decisionCard, openRequestModal, requestValues, submitRequest, triageMessage, VALID_FORM, type RequestForm } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const SECOND = 1000;
const exception = (id = 1) => h.app.register.db.select().from(exceptions).where(eq(exceptions.id, id)).get();
const pendingRows = () => h.app.register.db.select().from(outbox).where(eq(outbox.state, 'pending')).orderBy(asc(outbox.id)).all();
const topLevel = (channel: string) => h.standIn.messages(channel).filter((m) => !m.threadTs);
const dmTexts = (userId: string) => h.standIn.dmsTo(userId).map((m) => m.text ?? '');
const failedCalls = () => h.standIn.calls.filter((c) => c.httpStatus !== 200);

async function health(): Promise<{ status: number; contentType: string | null; body: { ok: boolean; outbox: { pending: number; dead: number } } }> {
  const response = await fetch(`http://127.0.0.1:${h.app.port}/healthz`, { headers: HEALTHZ_DETAILS });
  return { status: response.status, contentType: response.headers.get('content-type'), body: (await response.json()) as never };
}

/** Opens the request modal while Slack is healthy, then submits it while Slack fails as `rule` says. */
async function submitWhileFailing(rule: FailureRule, form: RequestForm = {}, userId: string = PEOPLE.requester) {
  const viewId = await openRequestModal(h, userId);
  h.standIn.fail(rule);
  const response = await h.driver.viewSubmission({ userId, callbackId: CALLBACK_IDS.request, viewId, values: requestValues({ ...VALID_FORM, ...form }) });
  await h.settle();
  return response;
}

/** Moves the app's clock and lets it deliver whatever became due. */
async function advance(ms: number) {
  h.clock.advance(ms);
  await h.settle();
}

describe('outbox delivery when Slack fails', () => {
  it('stores a submission while Slack answers 500, then delivers receipt and triage card exactly once after the backoff', async () => {
    const response = await submitWhileFailing({ status: 500, times: 50 });

    expect(response.status).toBe(200);
    expect(response.text).toBe('');
    expect(exception()).toMatchObject({ status: 'requested', triageTs: null });
    expect(failedCalls().length).toBeGreaterThan(0);
    expect(h.standIn.messages()).toEqual([]);
    expect(pendingRows()).toHaveLength(4); // receipt, owner-named DM, triage card, App Home of those concerned
    expect(pendingRows()[0]).toMatchObject({ attempts: 1, lastError: expect.stringContaining('500') });

    h.standIn.clearFailures();
    // Not yet due: nothing is retried before the backoff has passed.
    await advance(SECOND / 2);
    expect(h.standIn.messages()).toEqual([]);
    await advance(SECOND);

    expect(dmTexts(PEOPLE.requester)).toEqual([expect.stringContaining('EXC-0001')]);
    expect(dmTexts(PEOPLE.owner)).toEqual(['You were named owner of EXC-0001.']);
    expect(topLevel(CHANNELS.approvals)).toHaveLength(1);
    expect(buttons(triageMessage(h, 'EXC-0001'))).toEqual([ACTION_IDS.assessRisk, ACTION_IDS.askForChanges, ACTION_IDS.viewRecord]);
    expect(exception()!.triageTs).toBe(triageMessage(h, 'EXC-0001').ts);
    expect(pendingRows()).toEqual([]);

    // Further runs deliver nothing twice.
    const calls = h.standIn.calls.length;
    await advance(60 * SECOND);
    expect(h.standIn.calls.length).toBe(calls);
    expect(dmTexts(PEOPLE.requester)).toHaveLength(1);
    expect(dmTexts(PEOPLE.owner)).toHaveLength(1);
  });

  it('waits out a long outage: after 30 minutes of 500s and 429s the receipt and triage card still go out, once', async () => {
    await submitWhileFailing({ status: 500 });
    for (let minute = 0; minute < 20; minute++) await advance(60 * SECOND);
    h.standIn.clearFailures();
    h.standIn.fail({ status: 429, retryAfterSeconds: 30 });
    for (let minute = 0; minute < 10; minute++) await advance(60 * SECOND);
    expect(h.standIn.messages()).toEqual([]);
    expect((await health()).body.outbox).toMatchObject({ pending: 4, dead: 0 });

    h.standIn.clearFailures();
    await advance(2 * 60 * 60 * SECOND);
    expect(dmTexts(PEOPLE.requester)).toEqual([expect.stringContaining('EXC-0001')]);
    expect(dmTexts(PEOPLE.owner)).toEqual(['You were named owner of EXC-0001.']);
    expect(topLevel(CHANNELS.approvals)).toHaveLength(1);
    expect((await health()).body.outbox).toMatchObject({ pending: 0, dead: 0, oldestPendingSince: null });
  });

  it('keeps serving after Slack failed the identity check on the first request', async () => {
    h.standIn.fail({ status: 500, times: 1, methods: ['auth.test'] });
    await h.driver.slashCommand({ userId: PEOPLE.requester, text: 'request' });
    await h.settle();
    expect(h.standIn.callsTo('views.open')).toHaveLength(0);

    const second = await h.driver.slashCommand({ userId: PEOPLE.requester, text: 'request' });
    await h.settle();
    expect(second.status).toBe(200);
    expect(h.standIn.callsTo('views.open')).toHaveLength(1);
    expect(h.standIn.calls.filter((c) => c.method === 'auth.test')).toHaveLength(2);
  });

  it('backs off exponentially while Slack keeps failing and delivers once it recovers', async () => {
    await submitWhileFailing({ status: 500 });
    const attempts = () => pendingRows()[0]!.attempts;
    expect(attempts()).toBe(1);

    await advance(SECOND); // 1 s after the first failure: second attempt
    expect(attempts()).toBe(2);
    await advance(SECOND); // the next wait is 2 s: not yet
    expect(attempts()).toBe(2);
    await advance(SECOND);
    expect(attempts()).toBe(3);
    expect(h.standIn.messages()).toEqual([]);

    h.standIn.clearFailures();
    await advance(4 * SECOND);
    expect(pendingRows()).toEqual([]);
    expect(dmTexts(PEOPLE.requester)).toHaveLength(1);
    expect(topLevel(CHANNELS.approvals)).toHaveLength(1);
  });

  it('stores a decision while Slack answers 429, and delivers card updates and DMs once after Retry-After', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 3);
    const card = decisionCard(h, 'EXC-0001');
    const dmsBefore = { requester: dmTexts(PEOPLE.requester).length, owner: dmTexts(PEOPLE.owner).length };
    const updatesBefore = h.standIn.callsTo('chat.update').length;

    h.standIn.fail({ status: 429, retryAfterSeconds: 30, times: 5 });
    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.ciso);

    expect(exception()).toMatchObject({ status: 'active', expiresOn: '2027-01-15' });
    expect(h.app.register.db.select().from(decisions).all()).toHaveLength(1);
    expect(h.standIn.calls.some((c) => c.httpStatus === 429)).toBe(true);
    expect(pendingRows().length).toBe(5); // approval card, triage card, requester DM, owner DM, App Home of those concerned

    h.standIn.clearFailures();
    await advance(29 * SECOND);
    expect(h.standIn.callsTo('chat.update')).toHaveLength(updatesBefore);
    expect(dmTexts(PEOPLE.owner)).toHaveLength(dmsBefore.owner);

    await advance(2 * SECOND);
    expect(pendingRows()).toEqual([]);
    expect(buttons(decisionCard(h, 'EXC-0001'))).toEqual([]);
    expect(JSON.stringify(decisionCard(h, 'EXC-0001').blocks)).toContain(`<@${PEOPLE.ciso}>`);
    expect(dmTexts(PEOPLE.owner).slice(dmsBefore.owner)).toEqual([expect.stringContaining('approved')]);
    expect(dmTexts(PEOPLE.requester).slice(dmsBefore.requester)).toEqual([expect.stringContaining('approved')]);
    // One decision message, one triage card: updates never turn into new posts.
    expect(topLevel(CHANNELS.approvals)).toHaveLength(1);
    expect(h.standIn.messages(CHANNELS.approvals)).toHaveLength(2);

    const calls = h.standIn.calls.length;
    await advance(10 * 60 * SECOND);
    expect(h.standIn.calls.length).toBe(calls);
  });

  it("does not hold up cards or other people's messages behind a DM that failed", async () => {
    // The one failure hits the requester's receipt (its conversations.open); the triage card went out before it.
    await submitWhileFailing({ status: 500, times: 1, methods: ['conversations.open'] });
    expect(pendingRows().map((r) => JSON.parse(r.payload).message)).toEqual(['receipt']);
    expect(exception(1)!.triageTs).not.toBeNull();
    expect(dmTexts(PEOPLE.owner)).toEqual(['You were named owner of EXC-0001.']);

    await submitRequest(h, { title: 'Second exception, no trouble' }, PEOPLE.committee3);
    expect(exception(2)!.triageTs).not.toBeNull();
    expect(dmTexts(PEOPLE.committee3)).toEqual([expect.stringContaining('EXC-0002')]);
    expect(pendingRows().map((r) => r.exceptionId)).toEqual([1]);

    await advance(SECOND);
    expect(pendingRows()).toEqual([]);
    expect(topLevel(CHANNELS.approvals)).toHaveLength(2);
    expect(dmTexts(PEOPLE.requester)).toEqual([expect.stringContaining('EXC-0001')]);
  });
});

describe('outbox across a restart', () => {
  it('delivers notifications queued before a restart from the restarted app, exactly once', async () => {
    await submitWhileFailing({ status: 500 });
    expect(pendingRows()).toHaveLength(4);
    const oldApp = h.app;

    await h.restart();
    expect(h.app).not.toBe(oldApp);
    expect(exception()).toMatchObject({ status: 'requested' });
    expect(pendingRows()).toHaveLength(4);

    h.standIn.clearFailures();
    await advance(2 * SECOND);
    expect(pendingRows()).toEqual([]);
    expect(dmTexts(PEOPLE.requester)).toEqual([expect.stringContaining('EXC-0001')]);
    expect(dmTexts(PEOPLE.owner)).toEqual(['You were named owner of EXC-0001.']);
    expect(topLevel(CHANNELS.approvals)).toHaveLength(1);

    // The restarted app carries on with the card it posted.
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.deputy);
    expect(exception()).toMatchObject({ status: 'active' });
    // Filed, assessed (and whose decision it waits for), approved.
    expect(dmTexts(PEOPLE.requester)).toHaveLength(3);
    expect(h.standIn.rejected().filter((c) => c.httpStatus === 200)).toEqual([]);
  });

  it('delivers a decision queued before a restart', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);
    await clickButton(h, decisionCard(h, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
    h.standIn.fail({ status: 500 });
    await clickButton(h, decisionCard(h, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee2);
    expect(exception()!.status).toBe('active');
    expect(dmTexts(PEOPLE.owner)).toEqual(['You were named owner of EXC-0001.']);

    await h.restart();
    h.standIn.clearFailures();
    await advance(2 * SECOND);

    expect(dmTexts(PEOPLE.owner)).toEqual(['You were named owner of EXC-0001.', expect.stringContaining('approved')]);
    expect(dmTexts(PEOPLE.requester).filter((t) => t.includes('approved'))).toHaveLength(1);
    expect(buttons(decisionCard(h, 'EXC-0001', CHANNELS.committee))).toEqual([]);
    expect(pendingRows()).toEqual([]);
  });
});

describe('GET /healthz', () => {
  it('answers 200 JSON with the outbox backlog, before and after delivery', async () => {
    const idle = await health();
    expect(idle.status).toBe(200);
    expect(idle.contentType).toMatch(/application\/json/);
    expect(idle.body).toMatchObject({ ok: true, outbox: { pending: 0, dead: 0 } });

    await submitWhileFailing({ status: 500 });
    const backlog = await health();
    expect(backlog.status).toBe(200);
    expect(backlog.body.outbox).toMatchObject({ pending: 4, dead: 0 });

    h.standIn.clearFailures();
    await advance(2 * SECOND);
    expect((await health()).body.outbox).toMatchObject({ pending: 0, dead: 0, oldestPendingSince: null });
  });

  it('is not served on POST and does not need a Slack signature for GET', async () => {
    const get = await fetch(`http://127.0.0.1:${h.app.port}/healthz`, { headers: {} });
    expect(get.status).toBe(200);
    const post = await fetch(`http://127.0.0.1:${h.app.port}/healthz`, { method: 'POST' });
    expect(post.status).not.toBe(200);
  });
});
