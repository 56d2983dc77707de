import { and, eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assessments, auditEvents, decisions, exceptions, followUps } from '../../src/db/schema';
import { exportRegister } from '../../src/services/export-register';
import { verifyRegister } from '../../src/services/verify-register';
import { ACTION_IDS, CALLBACK_IDS, CHANGES_BLOCK_ID, INPUT_ACTION_ID, REQUEST_BLOCK_IDS as B } from '../../src/slack/ids';
import type { StoredMessage } from '../support/slack-stand-in';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { approvalCardsIn, assess, buttons, cardFor, clickButton, decisionCard, ephemeralsTo, renewalDecisionCard, requestValues, submitRenewal, submitRequest, VALID_FORM, type RequestForm } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const CHANGES = 'Scope: only the 12 payroll users, not all 40 <!channel>; name the VPN gateway.';
const ESCAPED_CHANGES = 'Scope: only the 12 payroll users, not all 40 &lt;!channel&gt;; name the VPN gateway.';
const NARROWER_SCOPE = 'The HR payroll application hr-app-01 and its 12 payroll users';

const exception = () => h.app.register.db.select().from(exceptions).get()!;
const eventsOf = (kind: 'exception.changes_requested' | 'exception.amended') =>
  h.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, kind)).all().map((e) => ({ ...e, payload: JSON.parse(e.payload) as Record<string, unknown> }));
const trailMatchesRegister = () => expect(verifyRegister(h.app.register.db, { timeZone: 'UTC' }).findings).toEqual([]);
const said = (message: StoredMessage) => JSON.stringify(message.blocks);

/** Presses "Ask for changes" on `message` as `userId`; returns the modal Slack opened, if any. */
async function openAskForChanges(message: StoredMessage, userId: string) {
  const opened = h.standIn.callsTo('views.open').length;
  await clickButton(h, message, ACTION_IDS.askForChanges, userId);
  if (h.standIn.callsTo('views.open').length === opened) return undefined;
  const call = h.standIn.callsTo('views.open').at(-1)!;
  return { sent: call.args.view as { callback_id: string; blocks: unknown[] }, view: call.response.view as { id: string; private_metadata: string } };
}

async function submitChanges(userId: string, view: { id: string; private_metadata: string }, changes: string | null) {
  const response = await h.driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.changesRequested,
    viewId: view.id,
    privateMetadata: view.private_metadata,
    values: { [CHANGES_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: changes } } },
  });
  await h.settle();
  return response;
}

async function sendBack(message: StoredMessage, userId: string, changes = CHANGES) {
  const modal = await openAskForChanges(message, userId);
  expect(modal, 'the Ask for changes modal opened').toBeDefined();
  const response = await submitChanges(userId, modal!.view, changes);
  expect(response.text).toBe('');
}

/** The DM that tells the requester what to change: the latest one with the Amend button. */
const sentBackDm = () => [...h.standIn.dmsTo(PEOPLE.requester)].reverse().find((m) => buttons(m).includes(ACTION_IDS.amendRequest));

/** Presses "Amend request" in the requester's DM; returns the prefilled modal Slack opened. */
async function openAmendment(userId: string = PEOPLE.requester, dm: StoredMessage = sentBackDm()!) {
  const opened = h.standIn.callsTo('views.open').length;
  await clickButton(h, dm, ACTION_IDS.amendRequest, userId);
  if (h.standIn.callsTo('views.open').length === opened) return undefined;
  const call = h.standIn.callsTo('views.open').at(-1)!;
  return { sent: call.args.view as { callback_id: string; private_metadata: string; blocks: { block_id?: string; element?: Record<string, unknown> }[] }, view: call.response.view as { id: string; private_metadata: string } };
}

async function submitAmendment(view: { id: string; private_metadata: string }, form: RequestForm, userId: string = PEOPLE.requester) {
  const response = await h.driver.viewSubmission({ userId, callbackId: CALLBACK_IDS.amendment, viewId: view.id, privateMetadata: view.private_metadata, values: requestValues({ ...VALID_FORM, ...form }) });
  await h.settle();
  return response;
}

describe('asking for changes while a request waits for its risk assessment', () => {
  beforeEach(async () => {
    await submitRequest(h);
  });

  it('sends it back with what to change: the card waits for the requester with no buttons to act, and the requester gets what to change and an Amend button', async () => {
    const modal = await openAskForChanges(cardFor(h, 'EXC-0001'), PEOPLE.security);
    expect(modal!.sent.callback_id).toBe(CALLBACK_IDS.changesRequested);
    expect(JSON.stringify(modal!.sent.blocks)).toContain(`<@${PEOPLE.requester}>`);

    const tooShort = await submitChanges(PEOPLE.security, modal!.view, 'fix it');
    expect(tooShort.json).toMatchObject({ response_action: 'errors', errors: { [CHANGES_BLOCK_ID]: expect.stringMatching(/at least 10 characters/) } });
    expect(eventsOf('exception.changes_requested')).toEqual([]);

    expect((await submitChanges(PEOPLE.security, modal!.view, CHANGES)).text).toBe('');
    expect(exception()).toMatchObject({ status: 'requested' });
    expect(eventsOf('exception.changes_requested')).toEqual([expect.objectContaining({ actorId: PEOPLE.security, payload: expect.objectContaining({ stage: 'assessment', changes: CHANGES }) })]);

    const card = cardFor(h, 'EXC-0001');
    expect(buttons(card)).toEqual([]);
    expect(said(card)).toContain(`*Sent back to <@${PEOPLE.requester}> for changes* by <@${PEOPLE.security}>`);
    expect(said(card)).toContain(ESCAPED_CHANGES);
    expect(said(card)).not.toContain('<!channel>');
    expect(said(card)).toContain(ACTION_IDS.viewRecord);

    const dm = sentBackDm()!;
    expect(dm.text).toBe('EXC-0001 was sent back to you for changes.');
    expect(said(dm)).toContain('Your request *EXC-0001* (Legacy HR system without MFA) was *sent back for changes*. It is not rejected.');
    expect(said(dm)).toContain(`<@${PEOPLE.security}> sent it back before its risk assessment`);
    expect(said(dm)).toContain(ESCAPED_CHANGES);
    expect(buttons(dm)).toEqual([ACTION_IDS.amendRequest, ACTION_IDS.withdrawRequest, ACTION_IDS.viewRecord]);

    // Lists say where it stands, not "waiting for risk assessment".
    const listed = JSON.stringify((await h.driver.slashCommand({ userId: PEOPLE.requester, text: 'list' })).json);
    expect(listed).toContain('Sent back for changes');
    expect(listed).not.toContain('Waiting for risk assessment');
    await h.driver.event({ type: 'app_home_opened', user: PEOPLE.requester, channel: 'D0HOME', tab: 'home' });
    await h.settle();
    const home = h.standIn.callsTo('views.publish').findLast((c) => c.args.user_id === PEOPLE.requester)!;
    expect(JSON.stringify(home.args.view)).toContain('Sent back to its requester for changes');
    // The register counts it as waiting for its requester, not for an assessment: in `list all` and in the export.
    const register = JSON.stringify((await h.driver.slashCommand({ userId: PEOPLE.security, text: 'list all' })).json);
    expect(register).toContain('Sent back to their requesters for changes');
    expect(register).not.toContain('Waiting for assessment or a decision');
    expect([...exportRegister(h.app.register.db)].map((row) => [row.id, row.status, row.waiting_for])).toEqual([['EXC-0001', 'requested', 'requester (sent back for changes)']]);
    expect(h.standIn.rejected()).toEqual([]);
    trailMatchesRegister();
  });

  it('keeps a sent-back request out of the security team\'s queue: the stale Assess button is refused, and nobody is nudged', async () => {
    const before = cardFor(h, 'EXC-0001');
    await sendBack(before, PEOPLE.security);
    await clickButton(h, before, ACTION_IDS.assessRisk, PEOPLE.security2);
    expect(ephemeralsTo(h, PEOPLE.security2)).toEqual([expect.stringMatching(/^EXC-0001 was sent back to <@U0REQUEST> for changes, so it cannot be assessed now/)]);

    h.clock.advance(6 * 24 * 3600_000);
    const [, , stalled] = await h.runJobs();
    expect(stalled).toMatchObject({ job: 'stalled_decisions', result: expect.stringMatching(/^nudged: none/) });
  });

  it('refuses whoever may not send it back at this stage, privately, opening no modal', async () => {
    for (const [person, refusal] of [
      [PEOPLE.ciso, /only the security team can ask for changes/],
      [PEOPLE.requester, /only the security team can ask for changes/],
      [PEOPLE.bystander, /^There is no exception EXC-0001 that you can see/],
    ] as const) {
      expect(await openAskForChanges(cardFor(h, 'EXC-0001'), person)).toBeUndefined();
      expect(ephemeralsTo(h, person)).toEqual([expect.stringMatching(refusal)]);
    }
    expect(eventsOf('exception.changes_requested')).toEqual([]);
  });

  it('lets the requester amend it in the form filled in as it stands; both versions stay in the history and it waits for its assessment again', async () => {
    await sendBack(cardFor(h, 'EXC-0001'), PEOPLE.security);
    // A copy of the DM as it was, kept by a client that has not caught up with its update.
    const asSent = structuredClone(sentBackDm()!);
    const modal = await openAmendment();
    expect(modal!.sent.callback_id).toBe(CALLBACK_IDS.amendment);
    const element = (blockId: string) => modal!.sent.blocks.find((b) => b.block_id === blockId)?.element ?? {};
    expect(element(B.title).initial_value).toBe(VALID_FORM.title);
    expect(element(B.scope).initial_value).toBe(VALID_FORM.scope);
    expect(element(B.compensatingControls).initial_value).toBe(VALID_FORM.compensatingControls);
    expect(element(B.owner).initial_user).toBe(PEOPLE.owner);
    expect(element(B.expiresOn).initial_date).toBe(VALID_FORM.expiresOn);
    expect(element(B.policy).initial_option).toMatchObject({ value: 'MFA-01' });
    expect(JSON.stringify(modal!.sent.blocks)).toContain(ESCAPED_CHANGES);

    const unchanged = await submitAmendment(modal!.view, {});
    expect(unchanged.json).toMatchObject({ response_action: 'errors', errors: { [B.title]: expect.stringMatching(/^Nothing was changed/) } });
    // The amended owner is held to what a new request's owner is.
    h.standIn.addUser({ id: 'U0BOTTY', name: 'botty', isBot: true });
    const botOwner = await submitAmendment(modal!.view, { owner: 'U0BOTTY' });
    expect(botOwner.json).toMatchObject({ response_action: 'errors', errors: { [B.owner]: expect.stringMatching(/not an app or bot/) } });
    const invalid = await submitAmendment(modal!.view, { scope: 'tiny' });
    expect(invalid.json).toMatchObject({ response_action: 'errors', errors: { [B.scope]: expect.any(String) } });
    expect(eventsOf('exception.amended')).toEqual([]);

    expect((await submitAmendment(modal!.view, { scope: NARROWER_SCOPE })).text).toBe('');
    expect(exception()).toMatchObject({ status: 'requested', scope: NARROWER_SCOPE });
    expect(eventsOf('exception.amended')).toEqual([
      expect.objectContaining({ actorId: PEOPLE.requester, payload: expect.objectContaining({ changes: [{ field: 'scope', from: VALID_FORM.scope, to: NARROWER_SCOPE }] }) }),
    ]);

    const card = cardFor(h, 'EXC-0001');
    expect(buttons(card)).toEqual([ACTION_IDS.assessRisk, ACTION_IDS.askForChanges, ACTION_IDS.viewRecord]);
    expect(said(card)).toContain(`Amended by <@${PEOPLE.requester}>`);
    expect(said(card)).toContain('(scope changed)');
    expect(said(card)).not.toContain('Sent back');

    // The Amend button has done its work: pressed again on the DM as it was, it is refused.
    expect(sentBackDm()).toBeUndefined();
    expect(await openAmendment(PEOPLE.requester, asSent)).toBeUndefined();
    expect(ephemeralsTo(h, PEOPLE.requester)).toEqual([expect.stringMatching(/is not sent back for changes/)]);

    await assess(h, 'EXC-0001', 2, 2);
    expect(exception().status).toBe('pending_approval');
    trailMatchesRegister();
  });

  it('sent back a second time, the first message\'s Amend button is refused: the latest changes asked for are what to answer', async () => {
    await sendBack(cardFor(h, 'EXC-0001'), PEOPLE.security);
    const first = sentBackDm()!;
    await submitAmendment((await openAmendment())!.view, { scope: NARROWER_SCOPE });
    await sendBack(cardFor(h, 'EXC-0001'), PEOPLE.security2, 'Compensating control: say who reviews the weekly login report.');
    expect(sentBackDm()!.ts).not.toBe(first.ts);
    expect(await openAmendment(PEOPLE.requester, first)).toBeUndefined();
    expect(ephemeralsTo(h, PEOPLE.requester)).toEqual([expect.stringMatching(/^EXC-0001 was sent back to you again since, with other changes asked for/)]);
    const latest = await openAmendment();
    expect(JSON.stringify(latest!.sent.blocks)).toContain('say who reviews the weekly login report');
    trailMatchesRegister();
  });

  it('once amended, the DM that sent it back is updated: what was asked stays, its Amend and Withdraw buttons go, and it says what became of it', async () => {
    await sendBack(cardFor(h, 'EXC-0001'), PEOPLE.security);
    const dm = sentBackDm()!;
    expect(buttons(dm)).toEqual([ACTION_IDS.amendRequest, ACTION_IDS.withdrawRequest, ACTION_IDS.viewRecord]);
    h.clock.advance(3600_000);
    await submitAmendment((await openAmendment())!.view, { scope: NARROWER_SCOPE });

    const updates = () => h.standIn.callsTo('chat.update').filter((c) => c.args.channel === dm.channel && c.args.ts === dm.ts);
    expect(updates()).toHaveLength(1);
    const amended = h.standIn.dmsTo(PEOPLE.requester).find((m) => m.ts === dm.ts)!;
    expect(buttons(amended)).toEqual([ACTION_IDS.viewRecord]);
    expect(said(amended)).toContain(ESCAPED_CHANGES);
    expect(said(amended)).toContain(`:pencil2: *You amended it* <!date^${Date.parse(h.clock.now.toISOString()) / 1000}^`);
    expect(said(amended)).toContain('(scope changed); it waits for its risk assessment again.');

    // Assessed since: the DM says so once the triage card moves again; then sent back a second time, it points to the latest message.
    await assess(h, 'EXC-0001', 2, 2);
    expect(said(h.standIn.dmsTo(PEOPLE.requester).find((m) => m.ts === dm.ts)!)).toContain('it was assessed again and waits for its decision.');
    await sendBack(decisionCard(h, 'EXC-0001'), PEOPLE.ciso, 'Compensating control: say who reviews the weekly login report.');
    const first = h.standIn.dmsTo(PEOPLE.requester).find((m) => m.ts === dm.ts)!;
    expect(buttons(first)).toEqual([ACTION_IDS.viewRecord]);
    expect(said(first)).toContain('*It was sent back to you again since*, with other changes asked for: amend it from the latest message.');
    expect(buttons(sentBackDm()!)).toContain(ACTION_IDS.amendRequest);
    expect(sentBackDm()!.ts).not.toBe(dm.ts);
    // Nothing else moved: drawn again, the DM reads the same and Slack is not called.
    const calls = updates().length;
    await h.driver.event({ type: 'app_home_opened', user: PEOPLE.requester, channel: 'D0HOME', tab: 'home' });
    await h.settle();
    expect(updates()).toHaveLength(calls);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('refuses an amendment by anyone but the requester', async () => {
    await sendBack(cardFor(h, 'EXC-0001'), PEOPLE.security);
    expect(await openAmendment(PEOPLE.owner)).toBeUndefined();
    expect(ephemeralsTo(h, PEOPLE.owner)).toEqual([expect.stringMatching(/Only the requester \(<@U0REQUEST>\) can amend EXC-0001/)]);
    const modal = await openAmendment();
    const response = await submitAmendment(modal!.view, { scope: NARROWER_SCOPE }, PEOPLE.owner);
    expect(response.json).toMatchObject({ response_action: 'errors', errors: { [B.title]: expect.stringMatching(/Only the requester/) } });
    expect(exception().scope).toBe(VALID_FORM.scope);
  });
});

describe('asking for changes while a request waits for its decision', () => {
  it('sets the assessment aside: the decision message says it was sent back with no buttons, and the amended request is assessed and decided afresh', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 3);
    const decision = decisionCard(h, 'EXC-0001');
    expect(buttons(decision)).toContain(ACTION_IDS.askForChanges);

    // The security team assessed it; at its decision only the deciders send it back.
    expect(await openAskForChanges(decision, PEOPLE.security2)).toBeUndefined();
    expect(ephemeralsTo(h, PEOPLE.security2)).toEqual([expect.stringMatching(/Only the CISO or a delegated approver/)]);

    await sendBack(decision, PEOPLE.ciso);
    expect(exception()).toMatchObject({ status: 'requested', route: null, riskScore: null });
    expect(h.app.register.db.select().from(assessments).all()).toEqual([]);
    expect(eventsOf('exception.changes_requested')[0]!.payload).toMatchObject({ stage: 'decision', setAside: { assessment: expect.objectContaining({ assessorId: PEOPLE.security, score: 6 }) } });

    const sentBack = decisionCard(h, 'EXC-0001');
    expect(sentBack.ts).toBe(decision.ts);
    expect(buttons(sentBack)).toEqual([]);
    expect(said(sentBack)).toContain(`*Sent back to <@${PEOPLE.requester}> for changes* by <@${PEOPLE.ciso}>`);
    expect(buttons(cardFor(h, 'EXC-0001'))).toEqual([]);

    // A late Approve on the message as it was is refused.
    await clickButton(h, decision, ACTION_IDS.approve, PEOPLE.deputy);
    expect(ephemeralsTo(h, PEOPLE.deputy)).toEqual([expect.stringMatching(/^EXC-0001 was sent back to <@U0REQUEST> for changes, so it cannot be decided now/)]);
    expect(h.app.register.db.select().from(decisions).all()).toEqual([]);

    const modal = await openAmendment();
    await submitAmendment(modal!.view, { compensatingControls: 'Access only through the hardened VPN gateway vpn-gw-2 with device certificates; logins reviewed daily.' });
    expect(buttons(cardFor(h, 'EXC-0001'))).toContain(ACTION_IDS.assessRisk);
    expect(said(decisionCard(h, 'EXC-0001'))).toContain('*Amended* by');

    await assess(h, 'EXC-0001', 2, 2, PEOPLE.security2);
    const fresh = approvalCardsIn(h, CHANNELS.approvals).filter((m) => buttons(m).includes(ACTION_IDS.approve));
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.ts).not.toBe(decision.ts);
    // An old copy of the first version's decision message, still showing Approve, does not approve the amended one.
    await clickButton(h, decision, ACTION_IDS.approve, PEOPLE.deputy);
    expect(ephemeralsTo(h, PEOPLE.deputy).at(-1)).toMatch(/^This was for the version sent back for changes; the amended request is decided (here: https:\/\/|on its own decision message)/);
    expect(h.app.register.db.select().from(decisions).all()).toEqual([]);
    await clickButton(h, fresh[0]!, ACTION_IDS.approve, PEOPLE.ciso);
    expect(exception()).toMatchObject({ status: 'active', riskScore: 4 });
    expect(h.app.register.db.select().from(assessments).all()).toEqual([expect.objectContaining({ assessorId: PEOPLE.security2, score: 4 })]);
    expect(h.standIn.rejected()).toEqual([]);
    trailMatchesRegister();
  });

  it('on the committee, votes given to the version sent back stop counting: the member votes again on the amended one', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);
    const card = decisionCard(h, 'EXC-0001', CHANNELS.committee);
    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.committee1);
    expect(h.app.register.db.select().from(decisions).all()).toHaveLength(1);

    await sendBack(decisionCard(h, 'EXC-0001', CHANNELS.committee), PEOPLE.committee2);
    expect(h.app.register.db.select().from(decisions).all()).toEqual([]);
    expect(eventsOf('exception.changes_requested')[0]!.payload).toMatchObject({ setAside: { votes: [expect.objectContaining({ deciderId: PEOPLE.committee1, outcome: 'approve' })] } });

    const modal = await openAmendment();
    await submitAmendment(modal!.view, { scope: NARROWER_SCOPE });
    await assess(h, 'EXC-0001', 4, 4);
    const fresh = approvalCardsIn(h, CHANNELS.committee).filter((m) => buttons(m).includes(ACTION_IDS.approve));
    expect(fresh).toHaveLength(1);
    await clickButton(h, fresh[0]!, ACTION_IDS.approve, PEOPLE.committee1);
    expect(h.app.register.db.select().from(decisions).where(and(eq(decisions.exceptionId, 1), eq(decisions.round, 0))).all()).toEqual([expect.objectContaining({ deciderId: PEOPLE.committee1 })]);
    expect(exception().status).toBe('pending_approval');
    trailMatchesRegister();
  });
});

describe('an amended request that stalls again', () => {
  it('is nudged and escalated again, counted from its amendment, under follow-ups of its own', async () => {
    await submitRequest(h); // Wednesday 25 Nov
    const triage = cardFor(h, 'EXC-0001');
    const nudges = () => h.standIn.messages(triage.channel).filter((m) => m.threadTs === triage.ts && /has waited \d+ working days/.test(m.text ?? ''));
    const escalations = () => h.standIn.messages(CHANNELS.committee).filter((m) => !m.threadTs && /waited more than 5 working days/.test(m.text ?? ''));
    const stallNotices = () => h.standIn.dmsTo(PEOPLE.requester).filter((m) => /is still waiting for/.test(m.text ?? ''));
    const runJobsOn = async (iso: string) => {
      h.clock.now = new Date(iso);
      await h.runJobs();
    };
    await runJobsOn('2026-11-30T09:00:00Z'); // 3 working days: nudged
    await runJobsOn('2026-12-03T09:00:00Z'); // 6: escalated
    expect([nudges().length, escalations().length, stallNotices().length]).toEqual([1, 1, 2]);

    h.clock.now = new Date('2026-12-03T11:00:00Z');
    await sendBack(cardFor(h, 'EXC-0001'), PEOPLE.security);
    h.clock.now = new Date('2026-12-04T10:00:00Z'); // Friday
    await submitAmendment((await openAmendment())!.view, { scope: NARROWER_SCOPE });

    await runJobsOn('2026-12-08T09:00:00Z'); // Tuesday: 2 working days since the amendment, not yet
    expect(nudges()).toHaveLength(1);
    await runJobsOn('2026-12-09T09:00:00Z'); // Wednesday: 3
    await runJobsOn('2026-12-09T17:00:00Z');
    expect(nudges()).toHaveLength(2);
    expect(JSON.stringify(nudges()[1]!.blocks)).toContain('has waited *3 working days* for a risk assessment');
    expect(stallNotices()).toHaveLength(3);
    expect(JSON.stringify(stallNotices()[2]!.blocks)).toContain(`since <!date^${Date.parse('2026-12-04T10:00:00Z') / 1000}^`);

    await runJobsOn('2026-12-14T09:00:00Z'); // Monday: 6
    expect(escalations()).toHaveLength(2);
    expect(stallNotices()).toHaveLength(4);
    expect(
      h.app.register.db
        .select({ kind: followUps.kind, key: followUps.key })
        .from(followUps)
        .all()
        .map((f) => `${f.kind} ${f.key}`)
        .sort(),
    ).toEqual(['stall_escalation 0:assessment', 'stall_escalation 0:assessment:amended:1', 'stall_nudge 0:assessment', 'stall_nudge 0:assessment:amended:1']);
    expect(h.standIn.rejected()).toEqual([]);
    trailMatchesRegister();
  });
});

describe('the requester is told where the request stands', () => {
  it('once assessed, by whom, with the score and its band, and whose decision it now waits for', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    const dm = h.standIn.dmsTo(PEOPLE.requester).find((m) => m.text?.includes('was assessed'))!;
    expect(dm.text).toBe('EXC-0001 was assessed: risk 4. It now waits for a decision.');
    expect(said(dm)).toContain(`<@${PEOPLE.security}> assessed your request *EXC-0001*`);
    expect(said(dm)).toContain('risk 2 × 2 = *4* (low).');
    expect(said(dm)).toContain('It now waits for a decision from <@U0CISO> or <@U0DEPUTY>.');
    expect(buttons(dm)).toEqual([ACTION_IDS.viewRecord]);
    expect(h.standIn.dmsTo(PEOPLE.owner).some((m) => m.text?.includes('was assessed'))).toBe(false);
  });

  it('naming the committee members who may vote, and how many approvals it needs', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4);
    const dm = h.standIn.dmsTo(PEOPLE.requester).find((m) => m.text?.includes('was assessed'))!;
    expect(said(dm)).toContain("(high).");
    expect(said(dm)).toContain("It now waits for the steering committee's decision: 2 approvals needed from <@U0COM1>, <@U0COM2>, <@U0COM3>.");
  });

  it('naming the one approver left when the other is the owner', async () => {
    await submitRequest(h, { owner: PEOPLE.deputy });
    await assess(h, 'EXC-0001', 2, 2);
    const dm = h.standIn.dmsTo(PEOPLE.requester).find((m) => m.text?.includes('was assessed'))!;
    expect(said(dm)).toContain("It now waits for <@U0CISO>'s decision.");
  });
});

describe('what cannot be sent back', () => {
  it('refuses a renewal (it stands on its evidence) and an amendment of an active exception, saying what to do instead', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    await sendBack(decisionCard(h, 'EXC-0001'), PEOPLE.ciso);
    const staleDm = sentBackDm()!;
    await submitAmendment((await openAmendment())!.view, { scope: NARROWER_SCOPE });
    await assess(h, 'EXC-0001', 2, 2);
    const fresh = approvalCardsIn(h, CHANNELS.approvals).find((m) => buttons(m).includes(ACTION_IDS.approve))!;
    await clickButton(h, fresh, ACTION_IDS.approve, PEOPLE.ciso);
    expect(exception().status).toBe('active');

    // The old DM's Amend button, pressed once the exception is active: its terms change only with a new approval.
    await clickButton(h, staleDm, ACTION_IDS.amendRequest, PEOPLE.requester);
    expect(ephemeralsTo(h, PEOPLE.requester).at(-1)).toMatch(/^EXC-0001 is already decided \(active\), so it cannot be amended\. Its scope, affected systems and compensating control are the terms it was approved on/);

    h.clock.now = new Date('2027-01-05T09:00:00Z');
    const renewal = { progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.', percentComplete: '60', evidenceUrl: 'https://tickets.example.com/CHG-4711', controlTestedOn: '2026-12-20', expiresOn: '2027-03-01' };
    expect((await submitRenewal(h, PEOPLE.owner, renewal)).response?.status).toBe(200);
    await assess(h, 'EXC-0001', 2, 2, PEOPLE.security2);
    // A renewal stands on its evidence: its card offers no Ask for changes, and a press made up from its Approve
    // button's value is refused all the same.
    const renewalCard = renewalDecisionCard(h, 'EXC-0001', 1);
    expect(buttons(renewalCard)).not.toContain(ACTION_IDS.askForChanges);
    const elements = (renewalCard.blocks as { elements?: { action_id?: string; value?: string }[] }[]).flatMap((b) => b.elements ?? []);
    const approveValue = elements.find((e) => e.action_id === ACTION_IDS.approve)?.value;
    expect(approveValue).toBeDefined();
    await h.driver.blockAction({ userId: PEOPLE.deputy, actionId: ACTION_IDS.askForChanges, value: approveValue, message: { channel: renewalCard.channel, ts: renewalCard.ts, blocks: renewalCard.blocks, text: renewalCard.text } });
    await h.settle();
    expect(ephemeralsTo(h, PEOPLE.deputy)).toEqual([expect.stringMatching(/^Renewal 1 of EXC-0001 cannot be sent back for changes: a renewal stands on its evidence/)]);
    trailMatchesRegister();
  });
});
