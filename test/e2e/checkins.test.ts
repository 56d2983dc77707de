import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, checkins, exceptions } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS, CLOSING_NOTE_BLOCK_ID, INPUT_ACTION_ID } from '../../src/slack/ids';
import type { StoredMessage } from '../support/slack-stand-in';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, cardFor, clickButton, decisionCard, ephemeralsTo, submitClose, submitRequest, type RequestForm } from './flows';

// Issue 3, "Compensating-control check-ins": every 30 days the owner is asked by DM whether the compensating control
// is still in place and working (Yes / No). Yes records the check-in date; No, or no answer within 7 days, notifies
// the approvers in APPROVALS_CHANNEL and marks the exception as needing attention in the register.

const QUESTION = 'Is the compensating control still in place and working?';

let h: Harness;
beforeEach(async () => {
  h = await startHarness(); // 2026-11-25T10:00Z
});
afterEach(async () => {
  await h.close();
});

const at = (iso: string) => {
  h.clock.now = new Date(iso);
};

/** EXC-0001, approved (activated) at the harness's start, 2026-11-25T10:00Z, owned by PEOPLE.owner. */
async function activeException(form: RequestForm = {}) {
  await submitRequest(h, form);
  await assess(h, 'EXC-0001', 2, 2);
  await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
  expect(exception()).toMatchObject({ status: 'active', ownerId: PEOPLE.owner, lastCheckinOn: null, attentionReason: null });
}

const exception = () => h.app.register.db.select().from(exceptions).where(eq(exceptions.id, 1)).get()!;
const checkinRows = () => h.app.register.db.select().from(checkins).all();
const answerEvents = () => h.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, 'exception.checkin_answered')).all();

const mentionsQuestion = (text: string | undefined) => (text ?? '').toLowerCase().includes('compensating control still in place and working');

/** Every check-in question the app posted (a later answer replaces the stored message, so count the posts). */
function questionPosts() {
  return h.standIn.callsTo('chat.postMessage').filter((c) => mentionsQuestion(String(c.args.text)) || mentionsQuestion(JSON.stringify(c.args.blocks ?? [])));
}

/** The check-in questions in the owner's DM that still carry their buttons. */
function openQuestions(userId: string = PEOPLE.owner): StoredMessage[] {
  return h.standIn.dmsTo(userId).filter((m) => buttons(m).includes(ACTION_IDS.checkinYes));
}

function theOpenQuestion(): StoredMessage {
  const open = openQuestions();
  expect(open, 'one unanswered check-in question in the owner DM').toHaveLength(1);
  return open[0]!;
}

/** Presses a button of `message` as `userId`, sending the button's own value, the way Slack does. */
async function press(message: StoredMessage, actionId: string, userId: string) {
  const element = (message.blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === actionId);
  expect(element, `${actionId} button on the message`).toBeDefined();
  const response = await h.driver.blockAction({
    userId,
    actionId,
    value: element!.value,
    message: { channel: message.channel, ts: message.ts, blocks: message.blocks, text: message.text },
  });
  expect(response.status).toBe(200);
  await h.settle();
  return response;
}

/** Messages in the approvals channel beyond the triage card and its decision thread. */
function attentionAlerts(): StoredMessage[] {
  const cards = new Set([exception().triageTs, exception().approvalTs]);
  return h.standIn.messages(CHANNELS.approvals).filter((m) => !cards.has(m.ts) && /attention/i.test(`${m.text ?? ''} ${JSON.stringify(m.blocks ?? [])}`));
}

function replacements(userId: string) {
  return h.standIn.responseUrlPosts.filter((p) => p.userId === userId && (p.body.replace_original === true || p.body.replace_original === 'true'));
}

/** The updates the app made to a posted message (from the outbox, after the answer was recorded). */
function updatesOf(message: StoredMessage) {
  return h.standIn.callsTo('chat.update').filter((c) => c.args.ts === message.ts);
}

describe('the check-in question', () => {
  it('reaches the owner 30 days after activation, once, across repeated runs and a restart, with Yes and No buttons', async () => {
    await activeException();

    at('2026-12-24T12:00:00Z'); // 29 days after activation
    await h.runJobs();
    expect(questionPosts()).toHaveLength(0);
    expect(checkinRows()).toHaveLength(0);

    at('2026-12-25T12:00:00Z'); // 30 days
    await h.runJobs();
    await h.runJobs();
    expect(questionPosts()).toHaveLength(1);
    await h.restart();
    await h.runJobs();
    at('2026-12-27T12:00:00Z');
    await h.runJobs();
    expect(questionPosts()).toHaveLength(1);
    expect(checkinRows()).toHaveLength(1);

    const question = theOpenQuestion();
    expect(JSON.stringify(question.blocks)).toContain(QUESTION);
    expect(`${question.text} ${JSON.stringify(question.blocks)}`).toContain('EXC-0001');
    expect(buttons(question)).toEqual([ACTION_IDS.checkinYes, ACTION_IDS.checkinNo]);
    // The owner is asked; the requester (a different person) is not.
    expect(h.standIn.dmsTo(PEOPLE.requester).filter((m) => mentionsQuestion(m.text) || mentionsQuestion(JSON.stringify(m.blocks ?? [])))).toEqual([]);
    // Asking is not yet a reason to alert anybody.
    expect(attentionAlerts()).toEqual([]);
    expect(exception().attentionReason).toBeNull();
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('comes again 30 days after the previous question, with fresh buttons', async () => {
    await activeException({ expiresOn: '2027-02-20' });
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    await press(theOpenQuestion(), ACTION_IDS.checkinYes, PEOPLE.owner);
    expect(exception().lastCheckinOn).toBe('2026-12-25');
    expect(openQuestions()).toEqual([]);

    at('2027-01-23T12:00:00Z'); // 29 days after the first question
    await h.runJobs();
    expect(questionPosts()).toHaveLength(1);

    at('2027-01-24T12:00:00Z'); // 30 days after it
    await h.runJobs();
    await h.runJobs();
    expect(questionPosts()).toHaveLength(2);
    expect(checkinRows().map((c) => c.askedOn)).toEqual(['2026-12-25', '2027-01-24']);

    await press(theOpenQuestion(), ACTION_IDS.checkinYes, PEOPLE.owner);
    expect(exception().lastCheckinOn).toBe('2027-01-24');
    expect(checkinRows().map((c) => c.answer)).toEqual(['yes', 'yes']);
    expect(attentionAlerts()).toEqual([]);
  });

  it('stops once the exception is no longer active', async () => {
    await activeException(); // expires at the end of 2027-01-15
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    await press(theOpenQuestion(), ACTION_IDS.checkinYes, PEOPLE.owner);

    at('2027-01-24T12:00:00Z'); // 30 days later, but it expired on the 15th
    await h.runJobs();
    expect(exception().status).toBe('expired');
    expect(questionPosts()).toHaveLength(1);
    expect(checkinRows()).toHaveLength(1);
  });
});

describe('answering', () => {
  it('Yes from the owner records the check-in date, updates the question in place without its buttons and alerts nobody', async () => {
    await activeException();
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    const question = theOpenQuestion();
    const messagesBefore = h.standIn.messages(CHANNELS.approvals).length;

    await press(question, ACTION_IDS.checkinYes, PEOPLE.owner);

    expect(exception()).toMatchObject({ status: 'active', lastCheckinOn: '2026-12-25', attentionReason: null });
    expect(checkinRows()).toMatchObject([{ answer: 'yes', answeredBy: PEOPLE.owner }]);
    expect(answerEvents()).toMatchObject([{ exceptionId: 1, actorId: PEOPLE.owner }]);
    // The question in the DM is updated in place (it may share the DM with other notices): no buttons left to press twice.
    expect(replacements(PEOPLE.owner)).toEqual([]);
    const updated = updatesOf(question);
    expect(updated).toHaveLength(1);
    expect(String(updated[0]!.args.text)).toContain('EXC-0001: you answered Yes');
    expect(JSON.stringify(updated[0]!.args.blocks)).toContain('You answered *Yes*');
    const stored = h.standIn.dmsTo(PEOPLE.owner).find((m) => m.ts === question.ts)!;
    expect(stored.updates).toBe(1);
    expect(buttons(stored)).toEqual([]);
    expect(openQuestions()).toEqual([]);

    // No alert, now or once the grace period has passed.
    expect(h.standIn.messages(CHANNELS.approvals)).toHaveLength(messagesBefore);
    at('2027-01-05T12:00:00Z');
    await h.runJobs();
    expect(attentionAlerts()).toEqual([]);
    expect(exception().attentionReason).toBeNull();
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('No from the owner marks the exception as needing attention and alerts the approvals channel once', async () => {
    await activeException();
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    const question = theOpenQuestion();

    await press(question, ACTION_IDS.checkinNo, PEOPLE.owner);

    const record = exception();
    expect(record.status).toBe('active');
    expect(record.attentionReason).toEqual(expect.any(String));
    expect(record.attentionReason!.length).toBeGreaterThan(0);
    // The register's card in the approvals channel says so too.
    expect(JSON.stringify(cardFor(h, 'EXC-0001').blocks)).toContain('Needs attention');
    expect(record.lastCheckinOn).toBeNull();
    expect(checkinRows()).toMatchObject([{ answer: 'no', answeredBy: PEOPLE.owner }]);
    expect(answerEvents()).toMatchObject([{ exceptionId: 1, actorId: PEOPLE.owner }]);

    const alerts = attentionAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.threadTs).toBeUndefined();
    expect(`${alerts[0]!.text} ${JSON.stringify(alerts[0]!.blocks)}`).toContain('EXC-0001');
    expect(updatesOf(question)).toHaveLength(1);
    expect(JSON.stringify(updatesOf(question)[0]!.args.blocks)).toContain('You answered *No*');
    expect(buttons(h.standIn.dmsTo(PEOPLE.owner).find((m) => m.ts === question.ts)!)).toEqual([]);

    // The No was the answer: the grace period passing later does not alert a second time.
    at('2027-01-05T12:00:00Z');
    await h.runJobs();
    await h.restart();
    await h.runJobs();
    expect(attentionAlerts()).toHaveLength(1);
    expect(exception().attentionReason).toEqual(record.attentionReason);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('silence for more than 7 days alerts once and marks the exception; a later Yes clears the mark', async () => {
    await activeException();
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    const question = theOpenQuestion();

    at('2027-01-01T09:00:00Z'); // less than 7 days after the question
    await h.runJobs();
    expect(attentionAlerts()).toEqual([]);
    expect(exception().attentionReason).toBeNull();

    at('2027-01-02T12:00:00Z'); // more than 7 days after it
    await h.runJobs();
    await h.runJobs();
    expect(attentionAlerts()).toHaveLength(1);
    expect(`${attentionAlerts()[0]!.text} ${JSON.stringify(attentionAlerts()[0]!.blocks)}`).toContain('EXC-0001');
    const reason = exception().attentionReason;
    expect(reason).toEqual(expect.any(String));

    at('2027-01-04T12:00:00Z');
    await h.runJobs();
    await h.restart();
    await h.runJobs();
    expect(attentionAlerts()).toHaveLength(1);
    expect(exception().attentionReason).toBe(reason);
    expect(questionPosts()).toHaveLength(1);

    // The owner finally confirms: the register no longer flags it.
    await press(question, ACTION_IDS.checkinYes, PEOPLE.owner);
    expect(exception()).toMatchObject({ attentionReason: null, lastCheckinOn: '2027-01-04' });
    expect(attentionAlerts()).toHaveLength(1);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('names the approvers in the alert, and asks again 30 days after an unanswered question', async () => {
    await activeException({ expiresOn: '2027-02-20' });
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    at('2027-01-02T12:00:00Z');
    await h.runJobs();
    expect(JSON.stringify(attentionAlerts()[0]!.blocks)).toContain(`<@${PEOPLE.ciso}>`);
    at('2027-01-23T12:00:00Z'); // 29 days after the unanswered question
    await h.runJobs();
    expect(questionPosts()).toHaveLength(1);
    at('2027-01-24T12:00:00Z'); // 30 days after it
    await h.runJobs();
    await h.runJobs();
    expect(questionPosts()).toHaveLength(2);
    expect(checkinRows().map((c) => c.askedOn)).toEqual(['2026-12-25', '2027-01-24']);
    expect(attentionAlerts()).toHaveLength(1);
  });
});

describe('refusals', () => {
  it('someone other than the owner is refused privately and nothing is recorded', async () => {
    await activeException();
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    const question = theOpenQuestion();
    const approvalsBefore = h.standIn.messages(CHANNELS.approvals).length;

    await press(question, ACTION_IDS.checkinYes, PEOPLE.bystander);
    await press(question, ACTION_IDS.checkinNo, PEOPLE.requester);

    expect(ephemeralsTo(h, PEOPLE.bystander)).toHaveLength(1);
    expect(ephemeralsTo(h, PEOPLE.requester)).toHaveLength(1);
    expect(ephemeralsTo(h, PEOPLE.bystander)[0]).toMatch(/owner/i);
    expect(checkinRows()).toMatchObject([{ answer: null, answeredBy: null, answeredAt: null }]);
    expect(exception()).toMatchObject({ lastCheckinOn: null, attentionReason: null });
    expect(answerEvents()).toEqual([]);
    expect(h.standIn.messages(CHANNELS.approvals)).toHaveLength(approvalsBefore);
    // The owner's question keeps its buttons, and nobody's message was replaced.
    expect(replacements(PEOPLE.bystander)).toEqual([]);
    expect(replacements(PEOPLE.requester)).toEqual([]);
    expect(theOpenQuestion().updates).toBe(0);

    // The owner can still answer it.
    await press(question, ACTION_IDS.checkinYes, PEOPLE.owner);
    expect(exception().lastCheckinOn).toBe('2026-12-25');
  });

  it('a second click after answering is refused and changes nothing', async () => {
    await activeException();
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    const question = theOpenQuestion(); // the copy an open Slack client still shows
    await press(question, ACTION_IDS.checkinYes, PEOPLE.owner);
    const approvalsBefore = h.standIn.messages(CHANNELS.approvals).length;

    at('2026-12-26T12:00:00Z');
    await press(question, ACTION_IDS.checkinNo, PEOPLE.owner);

    expect(ephemeralsTo(h, PEOPLE.owner)).toHaveLength(1);
    expect(ephemeralsTo(h, PEOPLE.owner)[0]).toMatch(/answered/i);
    expect(checkinRows()).toMatchObject([{ answer: 'yes' }]);
    expect(exception()).toMatchObject({ lastCheckinOn: '2026-12-25', attentionReason: null });
    expect(answerEvents()).toHaveLength(1);
    expect(h.standIn.messages(CHANNELS.approvals)).toHaveLength(approvalsBefore);
    expect(updatesOf(question)).toHaveLength(1);
  });
});

describe('after the exception ends', () => {
  it('an answer to a question asked while it was active is refused and records nothing', async () => {
    await activeException();
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    const question = theOpenQuestion();
    const closed = await submitClose(h, PEOPLE.owner, 'MFA enforced for every HR user since this morning.');
    expect(closed.response?.json).toMatchObject({ response_action: 'update', view: { title: { text: 'Exception closed' } } });
    // The question left in the DM loses its buttons and says why.
    const stored = h.standIn.dmsTo(PEOPLE.owner).find((m) => m.ts === question.ts)!;
    expect(buttons(stored)).toEqual([]);
    expect(JSON.stringify(stored.blocks)).toContain('EXC-0001 was *closed*');
    await press(question, ACTION_IDS.checkinNo, PEOPLE.owner);
    expect(ephemeralsTo(h, PEOPLE.owner)).toEqual([expect.stringMatching(/no longer active/)]);
    expect(exception()).toMatchObject({ status: 'closed', attentionReason: null });
    expect(attentionAlerts()).toEqual([]);
  });
});

describe('only the latest question can be answered (issue 10)', () => {
  it('closes an unanswered question when the next is asked, and a Yes on the old one cannot clear a newer No', async () => {
    await activeException({ expiresOn: '2027-02-20' });
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    const first = structuredClone(theOpenQuestion());
    at('2027-01-24T12:00:00Z'); // unanswered, reported overdue meanwhile, and asked again 30 days on
    await h.runJobs();

    // The first question lost its buttons through chat.update, from the outbox; only the new one can be answered.
    const closed = h.standIn.dmsTo(PEOPLE.owner).find((m) => m.ts === first.ts)!;
    expect(buttons(closed)).toEqual([]);
    expect(closed.text).toContain('closed: a newer one was asked');
    expect(h.standIn.callsTo('chat.update').filter((c) => c.args.ts === first.ts)).toHaveLength(1);
    const second = theOpenQuestion();
    expect(second.ts).not.toBe(first.ts);

    await press(second, ACTION_IDS.checkinNo, PEOPLE.owner);
    const flagged = exception().attentionReason;
    expect(flagged).toMatch(/not in place or not working/);
    const rowsBefore = checkinRows();

    // A Yes on the old copy, still on screen somewhere, is refused and records nothing.
    await press(first, ACTION_IDS.checkinYes, PEOPLE.owner);
    expect(ephemeralsTo(h, PEOPLE.owner)).toEqual([expect.stringMatching(/asked on 2026-12-25\) was replaced by a newer one, asked on 2027-01-24; answer that one/)]);
    expect(checkinRows()).toEqual(rowsBefore);
    expect(exception()).toMatchObject({ attentionReason: flagged, lastCheckinOn: null });
    expect(answerEvents()).toHaveLength(1);
    expect(h.standIn.rejected()).toEqual([]);
  });
});

describe('messages stay true (issue 11)', () => {
  it('offers approvers Revoke on the needs-attention alert; once revoked, the alert and the question say so without buttons', async () => {
    await activeException();
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    const question = theOpenQuestion();
    await press(question, ACTION_IDS.checkinNo, PEOPLE.owner);
    const [alert] = attentionAlerts();
    expect(buttons(alert!)).toEqual([ACTION_IDS.revoke, ACTION_IDS.viewRecord]);
    expect(JSON.stringify(alert!.blocks)).toContain('expires Fri 15 Jan 2027 (in 21 days)');

    await clickButton(h, alert!, ACTION_IDS.revoke, PEOPLE.ciso);
    const opened = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string; callback_id: string };
    expect(opened.callback_id).toBe(CALLBACK_IDS.close);
    const submitted = await h.driver.viewSubmission({
      userId: PEOPLE.ciso,
      callbackId: CALLBACK_IDS.close,
      viewId: opened.id,
      privateMetadata: opened.private_metadata,
      values: { [CLOSING_NOTE_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'The VPN gateway no longer checks device certificates; the gap is open.' } } },
    });
    await h.settle();
    expect(exception().status).toBe('revoked');
    // The approver sees what happened and who was told.
    expect(submitted.json).toMatchObject({ response_action: 'update', view: { title: { text: 'Exception revoked' } } });
    expect(JSON.stringify((submitted.json as { view: unknown }).view)).toContain(`<@${PEOPLE.owner}> and <@${PEOPLE.requester}> are told by DM`);

    const alertNow = h.standIn.messages(CHANNELS.approvals).find((m) => m.ts === alert!.ts)!;
    expect(buttons(alertNow)).toEqual([]);
    expect(JSON.stringify(alertNow.blocks)).toContain('*Revoked*; nothing more to decide.');
    const questionNow = h.standIn.dmsTo(PEOPLE.owner).find((m) => m.ts === question.ts)!;
    expect(buttons(questionNow)).toEqual([]);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('the alert says so once the owner confirms the control after all, and Revoke goes', async () => {
    await activeException();
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    const question = theOpenQuestion();
    at('2027-01-02T12:00:00Z');
    await h.runJobs();
    const [alert] = attentionAlerts();
    expect(buttons(alert!)).toContain(ACTION_IDS.revoke);

    await press(question, ACTION_IDS.checkinYes, PEOPLE.owner);
    const alertNow = h.standIn.messages(CHANNELS.approvals).find((m) => m.ts === alert!.ts)!;
    expect(buttons(alertNow)).toEqual([]);
    expect(JSON.stringify(alertNow.blocks)).toContain('The owner has since confirmed the compensating control (Sat 2 Jan)');
  });

  it('asks about two exceptions of one owner in one DM, each question with its own live buttons', async () => {
    await activeException();
    await submitRequest(h, { title: 'Second gap of the same owner' });
    await assess(h, 'EXC-0002', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0002'), ACTION_IDS.approve, PEOPLE.ciso);
    at('2026-12-26T12:00:00Z');
    await h.runJobs();
    expect(checkinRows()).toHaveLength(2);
    const dm = theOpenQuestion();
    const said = JSON.stringify(dm.blocks);
    expect(said).not.toContain('a newer one was asked');
    const values = (dm.blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[]).flatMap((b) => b.elements ?? []).filter((e) => e.action_id === ACTION_IDS.checkinNo).map((e) => e.value);
    expect(values.sort()).toEqual(checkinRows().map((c) => String(c.id)).sort());
  });

  it('asks no check-in for an exception that expires within CHECKIN_GRACE_DAYS: the expiry reminders cover it', async () => {
    await activeException({ expiresOn: '2026-12-31' });
    at('2026-12-25T12:00:00Z'); // 30 days after activation, 6 days before the expiry
    await h.runJobs();
    expect(questionPosts()).toHaveLength(0);
    expect(checkinRows()).toEqual([]);
    // The owner gets the reminder, in one DM, and nothing else.
    const dms = h.standIn.dmsTo(PEOPLE.owner).filter((m) => /expires soon/.test(m.text ?? ''));
    expect(dms).toHaveLength(1);
    expect(buttons(dms[0]!)).toEqual([ACTION_IDS.renew, ACTION_IDS.close, ACTION_IDS.viewRecord]);
  });
});
