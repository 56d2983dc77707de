import { and, asc, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { auditEvents, exceptions, metricSnapshots, type AuditEventKind } from '../../src/db/schema';
import { askForChanges } from '../../src/services/ask-for-changes';
import { assessRisk } from '../../src/services/assess-risk';
import { decideException } from '../../src/services/decide-exception';
import { requestException } from '../../src/services/request-exception';
import { withdrawRequest } from '../../src/services/withdraw-request';
import { ACTION_IDS, CALLBACK_IDS, CLOSING_NOTE_BLOCK_ID, FRESH_JUSTIFICATION_BLOCK_ID, INPUT_ACTION_ID, RENEWAL_BLOCK_IDS as R } from '../../src/slack/ids';
import type { StoredMessage } from '../support/slack-stand-in';
import { CHANNELS, PEOPLE, startHarness, type Harness, type HarnessOptions } from './harness';
import { assess, buttons, clickButton, decisionCard, ephemeralsTo, reject, renewalDecisionCard, submitRequest, VALID_FORM, type RequestForm } from './flows';

// Issue 3, "Quarterly review": on REVIEW_CRON (the first Monday of each quarter) the committee channel gets the
// review: counts by status, the exceptions open past their original expiry each with Re-approve (a committee member
// gives a fresh justification) and Close, and the rest of the active register in a compact list (several messages
// when it is long; never a message over Block Kit limits). Who reviewed what and when is recorded.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness(options);
  return h;
}

const at = (harness: Harness, iso: string) => {
  harness.clock.now = new Date(iso);
};

const text = (value: string) => ({ type: 'plain_text_input', value });
const content = (m: StoredMessage) => `${m.text ?? ''} ${JSON.stringify(m.blocks ?? [])}`;
const record = (harness: Harness, id: number) => harness.app.register.db.select().from(exceptions).where(eq(exceptions.id, id)).get()!;
const eventsOf = (harness: Harness, kind: AuditEventKind) => harness.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, kind)).all();

/** The review's opening post for `quarter` in the committee channel. */
function summaries(harness: Harness, quarter: string): StoredMessage[] {
  return harness.standIn.messages(CHANNELS.committee).filter((m) => /quarterly review/i.test(content(m)) && content(m).includes(quarter));
}

function allSummaries(harness: Harness): StoredMessage[] {
  return harness.standIn.messages(CHANNELS.committee).filter((m) => /quarterly review/i.test(content(m)));
}

/** The figure the summary gives for a status, e.g. "pending approval: *1*". */
function countFor(summary: StoredMessage, label: string): number | undefined {
  const plain = (summary.blocks as { text?: { text?: string } }[]).map((b) => b.text?.text ?? '').join('\n');
  const match = new RegExp(`${label}\\W*(\\d+)`, 'i').exec(plain);
  return match ? Number(match[1]) : undefined;
}

/** The review's messages in the committee channel: not the weekly metrics post, which also names exceptions. */
function reviewPosts(harness: Harness): StoredMessage[] {
  return harness.standIn.messages(CHANNELS.committee).filter((m) => !(m.text ?? '').startsWith('Exception register, week'));
}

function refsIn(message: StoredMessage): string[] {
  return JSON.stringify(message.blocks ?? []).match(/EXC-\d{4}/g) ?? [];
}

/** A button of `message` pressed as `userId`, sending the button's own value, the way Slack does. */
async function press(harness: Harness, message: StoredMessage, actionId: string, userId: string, blockId?: string) {
  const element = (message.blocks as { type: string; block_id?: string; elements?: { action_id?: string; value?: string }[] }[])
    .filter((b) => b.type === 'actions' && (blockId === undefined || b.block_id === blockId))
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === actionId);
  expect(element, `${actionId} button on the message`).toBeDefined();
  const response = await harness.driver.blockAction({
    userId,
    actionId,
    blockId,
    value: element!.value,
    message: { channel: message.channel, ts: message.ts, blocks: message.blocks, text: message.text },
  });
  expect(response.status).toBe(200);
  await harness.settle();
  return response;
}

/** The modal the last views.open showed, or undefined when `action` opened none. */
async function modalOpenedBy(harness: Harness, action: () => Promise<unknown>) {
  const before = harness.standIn.callsTo('views.open').length;
  await action();
  if (harness.standIn.callsTo('views.open').length === before) return undefined;
  return harness.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; callback_id: string; private_metadata: string; blocks: { block_id?: string }[] };
}

/** Request, fast-path assessment and approval through Slack: the exception is active from the harness clock. */
async function approved(harness: Harness, ref: string, form: RequestForm = {}) {
  await submitRequest(harness, form);
  await assess(harness, ref, 2, 2);
  await clickButton(harness, decisionCard(harness, ref), ACTION_IDS.approve, PEOPLE.ciso);
}

describe('when the review is posted', () => {
  it('posts on or after the first Monday of the quarter, not before, once however often the job runs, again next quarter', async () => {
    const harness = await start(); // 2026-11-25
    await approved(harness, 'EXC-0001'); // active until 2027-01-15

    at(harness, '2027-01-03T12:00:00Z'); // Sunday: 2027-Q1 has begun, its first Monday has not
    await harness.runJobs();
    await harness.runJobs();
    expect(summaries(harness, '2027-Q1')).toEqual([]);
    expect(allSummaries(harness)).toEqual([]);

    at(harness, '2027-01-04T09:30:00Z'); // the first Monday of 2027-Q1
    await harness.runJobs();
    await harness.runJobs();
    expect(summaries(harness, '2027-Q1')).toHaveLength(1);
    await harness.restart();
    await harness.runJobs();
    at(harness, '2027-02-15T09:30:00Z');
    await harness.runJobs();
    at(harness, '2027-03-31T23:00:00Z');
    await harness.runJobs();
    expect(summaries(harness, '2027-Q1')).toHaveLength(1);
    expect(allSummaries(harness)).toHaveLength(1);
    // The one active exception is in the register part of that review.
    expect(reviewPosts(harness).flatMap(refsIn)).toEqual(['EXC-0001']);

    at(harness, '2027-04-04T12:00:00Z'); // Sunday before the first Monday of 2027-Q2
    await harness.runJobs();
    expect(summaries(harness, '2027-Q2')).toEqual([]);

    at(harness, '2027-04-05T09:30:00Z');
    await harness.runJobs();
    await harness.runJobs();
    await harness.restart();
    await harness.runJobs();
    expect(summaries(harness, '2027-Q2')).toHaveLength(1);
    expect(allSummaries(harness)).toHaveLength(2);
    expect(harness.standIn.rejected()).toEqual([]);
  });

  it('does not post a review for a quarter whose first Monday came before the register had any exception', async () => {
    const harness = await start(); // 2026-11-25: the first Monday of 2026-Q4 (2026-10-05) is long past
    await approved(harness, 'EXC-0001');
    await harness.runJobs();
    at(harness, '2026-12-28T09:30:00Z');
    await harness.runJobs();
    expect(allSummaries(harness)).toEqual([]);
    at(harness, '2027-01-04T09:30:00Z');
    await harness.runJobs();
    expect(summaries(harness, '2027-Q1')).toHaveLength(1);
  });

  it("counts the first Monday and REVIEW_CRON's hour (09:00 by default) in the configured time zone (TZ)", async () => {
    const harness = await start({ env: { TZ: 'America/New_York' } });
    await approved(harness, 'EXC-0001');
    at(harness, '2027-01-04T03:00:00Z'); // Sunday 22:00 in New York
    await harness.runJobs();
    expect(allSummaries(harness)).toEqual([]);
    at(harness, '2027-01-04T06:00:00Z'); // Monday 01:00 in New York: the hourly run must not post at night
    await harness.runJobs();
    expect(allSummaries(harness)).toEqual([]);
    at(harness, '2027-01-04T14:00:00Z'); // Monday 09:00 in New York
    await harness.runJobs();
    expect(summaries(harness, '2027-Q1')).toHaveLength(1);
  });

  it("takes the hour from a custom REVIEW_CRON", async () => {
    const harness = await start({ env: { REVIEW_CRON: '30 14 1-7 1,4,7,10 1' } });
    await approved(harness, 'EXC-0001');
    at(harness, '2027-01-04T13:59:00Z');
    await harness.runJobs();
    expect(allSummaries(harness)).toEqual([]);
    at(harness, '2027-01-04T14:40:00Z');
    await harness.runJobs();
    expect(summaries(harness, '2027-Q1')).toHaveLength(1);
  });

  it('catches up at start-up when the app was down on the first Monday', async () => {
    const harness = await start();
    await approved(harness, 'EXC-0001');
    at(harness, '2027-01-06T08:00:00Z'); // Wednesday after the first Monday
    await harness.restart({ schedule: true });
    await harness.settle();
    await harness.standIn.waitFor(() => summaries(harness, '2027-Q1').length > 0, 5_000);
    await harness.settle();
    expect(summaries(harness, '2027-Q1')).toHaveLength(1);
    await harness.runJobs();
    expect(summaries(harness, '2027-Q1')).toHaveLength(1);
  });

  it('counts what happened in the quarter just ended, not since the register began, and what is open now in words', async () => {
    const harness = await start(); // 2026-11-25
    await approved(harness, 'EXC-0001'); // stays active
    await approved(harness, 'EXC-0002', { expiresOn: '2026-12-20' }); // expires before the review
    await submitRequest(harness);
    await assess(harness, 'EXC-0003', 2, 2);
    await reject(harness, decisionCard(harness, 'EXC-0003'), PEOPLE.ciso, 'The vendor offers an MFA plug-in; install it instead.');
    await submitRequest(harness);
    await assess(harness, 'EXC-0004', 2, 2); // waits for a decision
    await submitRequest(harness); // EXC-0005 waits for an assessment
    await submitRequest(harness); // EXC-0006 is withdrawn: rejected in status (SPEC §1), counted as withdrawn, not as rejected
    expect(withdrawRequest(harness.app.services, { exceptionId: 6, actorId: PEOPLE.requester, reason: 'No longer needed.' })).toMatchObject({ ok: true });
    await submitRequest(harness); // EXC-0007 is sent back: it waits for its requester, not for an assessment
    expect(askForChanges(harness.app.services, { exceptionId: 7, actorId: PEOPLE.security, changes: 'Name the systems it covers.' })).toMatchObject({ ok: true });
    expect(harness.app.register.db.select({ status: exceptions.status }).from(exceptions).orderBy(asc(exceptions.id)).all().map((e) => e.status)).toEqual([
      'active',
      'active',
      'rejected',
      'pending_approval',
      'requested',
      'rejected',
      'requested',
    ]);

    at(harness, '2027-01-04T09:30:00Z');
    await harness.runJobs();
    const [summary] = summaries(harness, '2027-Q1');
    expect(summary).toBeDefined();
    const during = (summary!.blocks as { text?: { text?: string } }[])[1]!.text!.text!;
    expect(during).toBe(
      '*During 2026-Q4* (Thu 1 Oct – Thu 31 Dec 2026): requested: *7* · approved: *2* · rejected: *1* · renewed: *0* · re-approved in review: *0* · expired: *0* · closed as fixed: *0* · withdrawn by the requester: *1* · revoked: *0*',
    );
    // EXC-0002's last day was Sun 20 Dec, but the register recorded it expired when the sweep next ran, in 2027-Q1.
    expect(JSON.stringify(summary!.blocks)).toContain('*Now:* active: *1* · waiting for an assessment: *1* · waiting for a decision: *1* · sent back for changes: *1*');
    expect(harness.standIn.rejected()).toEqual([]);

    // The next quarter's review counts only that quarter: nothing was requested in 2027-Q1.
    at(harness, '2027-04-05T09:30:00Z');
    await harness.runJobs();
    const [next] = summaries(harness, '2027-Q2');
    expect(JSON.stringify(next!.blocks)).toContain('*During 2027-Q1* (Fri 1 Jan – Wed 31 Mar 2027): requested: *0* · approved: *0* · rejected: *0* · renewed: *0* · re-approved in review: *0* · expired: *1*');
  });
});

describe('the review chart', () => {
  it("carries the quarter's weekly chart in the summary post, from the weekly snapshots, a week without a post as a gap", async () => {
    const harness = await start(); // 2026-11-25
    await approved(harness, 'EXC-0001');
    const ages = (n: number) => JSON.stringify({ ages: { '0–90': n, '91–180': 0, '181–365': 0, 'over 365': 0 } });
    // 2026-Q4's weeks begin Mon 5 Oct (2026-W41) and end with Mon 28 Dec (2026-W53); W50 had no post.
    const weeks = ['2026-W41', '2026-W42', '2026-W43', '2026-W44', '2026-W45', '2026-W46', '2026-W47', '2026-W48', '2026-W49', '2026-W51', '2026-W52', '2026-W53'];
    harness.app.register.db.insert(metricSnapshots).values(weeks.map((week, i) => ({ week, active: i < 7 ? 0 : 1, overOneEighty: 0, figures: ages(i < 7 ? 0 : 1), takenAt: '2026-10-05T09:00:00.000Z' }))).run();

    at(harness, '2027-01-04T09:30:00Z');
    await harness.runJobs();
    const [summary] = summaries(harness, '2027-Q1');
    const images = (summary!.blocks as { type: string; slack_file?: { id: string }; title?: { text: string }; alt_text?: string }[]).filter((b) => b.type === 'image');
    const uploads = harness.standIn.uploads.filter((u) => u.filename.startsWith('exception-review-'));
    expect(uploads.map((u) => [u.filename, u.channelId])).toEqual([
      ['exception-review-2026-Q4-active.png', undefined],
      ['exception-review-2026-Q4-ages.png', undefined],
    ]);
    expect(images.map((b) => b.slack_file?.id)).toEqual(uploads.map((u) => u.id));
    expect(images[0]!.title!.text).toBe('Active exceptions each week of 2026-Q4');
    expect(images[0]!.alt_text).toContain('13 weeks: Mon 5 Oct 0');
    expect(images[0]!.alt_text).toContain('Mon 30 Nov 1, Mon 7 Dec no post, Mon 14 Dec 1');
    expect(harness.standIn.rejected()).toEqual([]);
  });
});

describe('exceptions open past their original expiry', () => {
  const RENEWAL = {
    progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.',
    percentComplete: '60',
    evidenceUrl: 'https://tickets.example.com/CHG-4711',
    controlTestedOn: '2026-11-20',
    expiresOn: '2027-02-20',
  };
  const FRESH = 'The payroll replacement slipped to March; the VPN-only access and weekly log review still hold.';

  /**
   * EXC-0001 first approved until 2026-12-15 and renewed to 2027-02-20 (so open past its original expiry at the
   * 2027-Q1 review); EXC-0002 active, never renewed. The review runs on 2027-01-04.
   */
  async function reviewWithRenewedException(owner: string = PEOPLE.owner) {
    const harness = await start({ now: new Date('2026-10-01T10:00:00Z') });
    await approved(harness, 'EXC-0001', { expiresOn: '2026-12-15', owner });

    at(harness, '2026-12-01T10:00:00Z');
    const renewal = await modalOpenedBy(harness, () => harness.driver.slashCommand({ userId: owner, text: 'renew EXC-0001' }).then(() => harness.settle()));
    expect(renewal?.callback_id).toBe(CALLBACK_IDS.renewal);
    const submitted = await harness.driver.viewSubmission({
      userId: owner,
      callbackId: CALLBACK_IDS.renewal,
      viewId: renewal!.id,
      privateMetadata: renewal!.private_metadata,
      values: {
        [R.progress]: { [INPUT_ACTION_ID]: text(RENEWAL.progress) },
        [R.percentComplete]: { [INPUT_ACTION_ID]: { type: 'number_input', value: RENEWAL.percentComplete } },
        [R.evidenceUrl]: { [INPUT_ACTION_ID]: text(RENEWAL.evidenceUrl) },
        [R.controlTestedOn]: { [INPUT_ACTION_ID]: { type: 'datepicker', selected_date: RENEWAL.controlTestedOn } },
        [R.expiresOn]: { [INPUT_ACTION_ID]: { type: 'datepicker', selected_date: RENEWAL.expiresOn } },
      },
    });
    expect(submitted.status).toBe(200);
    await harness.settle();
    await assess(harness, 'EXC-0001', 2, 2);
    await clickButton(harness, renewalDecisionCard(harness, 'EXC-0001', 1), ACTION_IDS.approve, PEOPLE.deputy);
    expect(record(harness, 1)).toMatchObject({ status: 'active', originalExpiresOn: '2026-12-15', expiresOn: '2027-02-20', renewalCount: 1 });

    await approved(harness, 'EXC-0002', { policy: 'PATCH-03', title: 'Build server on an unpatched kernel', expiresOn: '2027-02-25' });
    expect(record(harness, 2)).toMatchObject({ status: 'active', originalExpiresOn: '2027-02-25', renewalCount: 0 });

    at(harness, '2027-01-04T09:30:00Z');
    const before = reviewPosts(harness).length;
    await harness.runJobs();
    const review = reviewPosts(harness).slice(before);
    const withButtons = review.filter((m) => buttons(m).length > 0);
    expect(withButtons, 'one message with the exceptions to re-approve or close').toHaveLength(1);
    return { harness, review, overdue: withButtons[0]! };
  }

  it('are listed with Re-approve and Close; the rest of the active register is listed without them, each exception once', async () => {
    const { harness, review, overdue } = await reviewWithRenewedException();

    expect(summaries(harness, '2027-Q1')).toHaveLength(1);
    expect(review[0]!.ts).toBe(summaries(harness, '2027-Q1')[0]!.ts);
    expect(countFor(review[0]!, 'active')).toBe(2);

    expect(refsIn(overdue)).toEqual(['EXC-0001']);
    expect(buttons(overdue)).toEqual([ACTION_IDS.reapprove, ACTION_IDS.close]);
    expect(JSON.stringify(overdue.blocks)).toMatch(/"action_id":"reapprove_exception"[^\]]*"value":"1"|"value":"1"[^\]]*"action_id":"reapprove_exception"/);

    const register = review.filter((m) => m !== overdue && m !== review[0]);
    expect(register.length).toBeGreaterThanOrEqual(1);
    expect(register.flatMap(refsIn)).toEqual(['EXC-0002']);
    expect(register.flatMap(buttons)).toEqual([]);
    expect(harness.standIn.rejected()).toEqual([]);
  });

  it('Re-approve by a committee member opens a modal; a too-short justification is refused in place; a proper one is recorded', async () => {
    const { harness, overdue } = await reviewWithRenewedException();
    at(harness, '2027-01-04T10:15:00Z');

    const modal = await modalOpenedBy(harness, () => press(harness, overdue, ACTION_IDS.reapprove, PEOPLE.committee1));
    expect(modal?.callback_id).toBe(CALLBACK_IDS.reapproval);
    expect(modal!.blocks.map((b) => b.block_id)).toContain(FRESH_JUSTIFICATION_BLOCK_ID);
    const submit = (justification: string) =>
      harness.driver.viewSubmission({
        userId: PEOPLE.committee1,
        callbackId: CALLBACK_IDS.reapproval,
        viewId: modal!.id,
        privateMetadata: modal!.private_metadata,
        values: { [FRESH_JUSTIFICATION_BLOCK_ID]: { [INPUT_ACTION_ID]: text(justification) } },
      });

    const tooShort = await submit('Still needed.');
    expect(tooShort.status).toBe(200);
    expect(tooShort.json?.response_action).toBe('errors');
    expect(Object.keys(tooShort.json?.errors ?? {})).toEqual([FRESH_JUSTIFICATION_BLOCK_ID]);
    await harness.settle();
    expect(record(harness, 1)).toMatchObject({ lastReviewedAt: null, lastReviewedBy: null });
    expect(eventsOf(harness, 'exception.reapproved')).toEqual([]);

    const accepted = await submit(FRESH);
    expect(accepted.status).toBe(200);
    expect(accepted.json?.response_action).toBeUndefined();
    await harness.settle();
    expect(record(harness, 1)).toMatchObject({
      status: 'active',
      expiresOn: '2027-02-20',
      lastReviewedAt: '2027-01-04T10:15:00.000Z',
      lastReviewedBy: PEOPLE.committee1,
    });
    // The record gives the review's time in each reader's own time zone, not the day in UTC unlabelled.
    const shown = await harness.driver.slashCommand({ userId: PEOPLE.committee1, text: 'show EXC-0001' });
    expect(JSON.stringify(shown.json)).toContain(`<!date^${Date.parse('2027-01-04T10:15:00Z') / 1000}^`);
    expect(JSON.stringify(shown.json)).toContain(`<@${PEOPLE.committee1}> re-approved it`);
    const events = eventsOf(harness, 'exception.reapproved');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ exceptionId: 1, actorId: PEOPLE.committee1 });
    expect(events[0]!.payload).toContain('The payroll replacement slipped to March');
    // Only the exception re-approved is marked reviewed.
    expect(record(harness, 2)).toMatchObject({ lastReviewedAt: null, lastReviewedBy: null });
    expect(harness.standIn.rejected()).toEqual([]);
  });

  it("shows each item's risk, renewals and latest progress, and once it is re-approved, its buttons go and the post says who", async () => {
    const { harness, overdue } = await reviewWithRenewedException();
    const item = JSON.stringify(overdue.blocks);
    expect(item).toContain(`Risk 4 (low) · owner <@${PEOPLE.owner}> · renewed 1× · originally until Tue 15 Dec 2026, now until Sat 20 Feb (in 47 days)`);
    expect(item).toContain('Latest progress (60% done, control tested Fri 20 Nov 2026): SSO connector deployed to staging');
    expect(overdue.blocks).toContainEqual(expect.objectContaining({ accessory: expect.objectContaining({ action_id: ACTION_IDS.viewRecord, value: '1' }) }));

    at(harness, '2027-01-04T10:15:00Z');
    const modal = await modalOpenedBy(harness, () => press(harness, overdue, ACTION_IDS.reapprove, PEOPLE.committee1));
    await harness.driver.viewSubmission({
      userId: PEOPLE.committee1,
      callbackId: CALLBACK_IDS.reapproval,
      viewId: modal!.id,
      privateMetadata: modal!.private_metadata,
      values: { [FRESH_JUSTIFICATION_BLOCK_ID]: { [INPUT_ACTION_ID]: text(FRESH) } },
    });
    await harness.settle();
    const now = harness.standIn.messages(CHANNELS.committee).find((m) => m.ts === overdue.ts)!;
    expect(buttons(now)).toEqual([]);
    expect(JSON.stringify(now.blocks)).toContain(`:white_check_mark: Re-approved by <@${PEOPLE.committee1}> on <!date^${Date.parse('2027-01-04T10:15:00Z') / 1000}^{date_short}|2027-01-04 UTC>.`);
    expect(harness.standIn.rejected()).toEqual([]);
  });

  it('Re-approve by anyone outside the committee is refused privately, and a forged submission records nothing', async () => {
    const { harness, overdue } = await reviewWithRenewedException();

    for (const outsider of [PEOPLE.ciso, PEOPLE.owner, PEOPLE.bystander]) {
      const modal = await modalOpenedBy(harness, () => press(harness, overdue, ACTION_IDS.reapprove, outsider));
      expect(modal, `no modal for ${outsider}`).toBeUndefined();
      expect(ephemeralsTo(harness, outsider), `private refusal for ${outsider}`).toHaveLength(1);
    }
    expect(ephemeralsTo(harness, PEOPLE.ciso)[0]).toMatch(/committee/i);

    // Whoever submits the modal is checked again, not only whoever opened it.
    const forged = await harness.driver.viewSubmission({
      userId: PEOPLE.bystander,
      callbackId: CALLBACK_IDS.reapproval,
      privateMetadata: '1',
      values: { [FRESH_JUSTIFICATION_BLOCK_ID]: { [INPUT_ACTION_ID]: text(FRESH) } },
    });
    expect(forged.json?.response_action).toBe('errors');
    expect(String(forged.json?.errors?.[FRESH_JUSTIFICATION_BLOCK_ID])).toMatch(/committee/i);
    await harness.settle();

    expect(record(harness, 1)).toMatchObject({ status: 'active', lastReviewedAt: null, lastReviewedBy: null });
    expect(eventsOf(harness, 'exception.reapproved')).toEqual([]);
  });

  it('a committee member who owns the exception may not re-approve it', async () => {
    const { harness, overdue } = await reviewWithRenewedException(PEOPLE.committee3);
    expect(await modalOpenedBy(harness, () => press(harness, overdue, ACTION_IDS.reapprove, PEOPLE.committee3))).toBeUndefined();
    expect(ephemeralsTo(harness, PEOPLE.committee3)).toHaveLength(1);
    const forged = await harness.driver.viewSubmission({
      userId: PEOPLE.committee3,
      callbackId: CALLBACK_IDS.reapproval,
      privateMetadata: '1',
      values: { [FRESH_JUSTIFICATION_BLOCK_ID]: { [INPUT_ACTION_ID]: text(FRESH) } },
    });
    expect(forged.json?.response_action).toBe('errors');
    expect(String(forged.json?.errors?.[FRESH_JUSTIFICATION_BLOCK_ID])).toMatch(/own/i);
    await harness.settle();
    expect(record(harness, 1)).toMatchObject({ lastReviewedAt: null, lastReviewedBy: null });
    expect(eventsOf(harness, 'exception.reapproved')).toEqual([]);
  });

  it("Close by a committee member opens the close modal and ends the exception although it is not theirs, recorded as a revocation", async () => {
    const { harness, overdue } = await reviewWithRenewedException();

    // Someone neither accountable for it nor on the committee cannot.
    expect(await modalOpenedBy(harness, () => press(harness, overdue, ACTION_IDS.close, PEOPLE.bystander))).toBeUndefined();
    expect(ephemeralsTo(harness, PEOPLE.bystander)).toHaveLength(1);
    expect(record(harness, 1).status).toBe('active');

    at(harness, '2027-01-04T11:00:00Z');
    const modal = await modalOpenedBy(harness, () => press(harness, overdue, ACTION_IDS.close, PEOPLE.committee2));
    expect(modal?.callback_id).toBe(CALLBACK_IDS.close);
    const closed = await harness.driver.viewSubmission({
      userId: PEOPLE.committee2,
      callbackId: CALLBACK_IDS.close,
      viewId: modal!.id,
      privateMetadata: modal!.private_metadata,
      values: { [CLOSING_NOTE_BLOCK_ID]: { [INPUT_ACTION_ID]: text('Closed in the 2027-Q1 review: the committee will not extend it again.') } },
    });
    expect(closed.status).toBe(200);
    expect(closed.json?.response_action).not.toBe('errors');
    await harness.settle();

    expect(record(harness, 1)).toMatchObject({ status: 'revoked', closedAt: '2027-01-04T11:00:00.000Z' });
    expect(record(harness, 1).ownerId).not.toBe(PEOPLE.committee2);
    const events = harness.app.register.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.exceptionId, 1), eq(auditEvents.kind, 'exception.revoked')))
      .all();
    expect(events).toMatchObject([{ actorId: PEOPLE.committee2 }]);
    expect(record(harness, 2).status).toBe('active');
    // The review item says so, with nothing left to press.
    const now = harness.standIn.messages(CHANNELS.committee).find((m) => m.ts === overdue.ts)!;
    expect(buttons(now)).toEqual([]);
    expect(JSON.stringify(now.blocks)).toContain('Revoked on <!date^');
    expect(harness.standIn.rejected()).toEqual([]);
  });
});

describe('a long register', () => {
  it('is posted as several messages, each within Block Kit limits, listing every active exception exactly once', { timeout: 120_000 }, async () => {
    const harness = await start();
    at(harness, '2027-01-01T10:00:00Z');
    const ctx = harness.app.services;
    const policies = ['MFA-01', 'NET-02', 'PATCH-03'];
    const TOTAL = 250;
    for (let i = 1; i <= TOTAL; i++) {
      // Every third title is as long as a title may be and made of the characters that grow most when escaped for mrkdwn.
      const title = i % 3 === 0 ? `Gap ${i} ${'<&>'.repeat(60)}`.slice(0, 150) : `Legacy system number ${i}`;
      const requested = requestException(ctx, {
        requesterId: PEOPLE.requester,
        input: { ...VALID_FORM, policy: policies[i % 3]!, title, expiresOn: '2027-03-15' },
      });
      expect(requested.ok, `request ${i}`).toBe(true);
      const exceptionId = requested.ok ? requested.exceptionId : 0;
      const assessed = assessRisk(ctx, { exceptionId, assessorId: PEOPLE.security, input: { likelihood: 2, impact: 2, rationale: 'Internal only, forty users, VPN access.' } });
      expect(assessed.ok, `assessment ${i}`).toBe(true);
      expect(decideException(ctx, { exceptionId, deciderId: PEOPLE.ciso, outcome: 'approve' }).outcome, `decision ${i}`).toBe('approved');
    }
    await harness.settle();
    expect(harness.app.register.db.select({ status: exceptions.status }).from(exceptions).all().filter((e) => e.status === 'active')).toHaveLength(TOTAL);

    at(harness, '2027-01-04T09:30:00Z');
    const before = reviewPosts(harness).length;
    await harness.runJobs();
    const review = reviewPosts(harness).slice(before);
    expect(summaries(harness, '2027-Q1')).toHaveLength(1);
    expect(countFor(summaries(harness, '2027-Q1')[0]!, 'active')).toBe(TOTAL);

    const listing = review.filter((m) => refsIn(m).length > 0);
    expect(listing.length).toBeGreaterThanOrEqual(2);
    for (const message of review) expect((message.blocks ?? []).length).toBeLessThanOrEqual(50);
    expect(harness.standIn.rejected()).toEqual([]);

    const seen = listing.flatMap(refsIn);
    const expected = Array.from({ length: TOTAL }, (_, i) => `EXC-${String(i + 1).padStart(4, '0')}`);
    expect([...seen].sort()).toEqual(expected);

    // All of them expire in one sweep: one summary, within Slack's limits, naming every one of them.
    at(harness, '2027-03-16T09:00:00Z');
    const beforeSweep = harness.standIn.messages(CHANNELS.approvals).length;
    await harness.runJobs();
    const summary = harness.standIn.messages(CHANNELS.approvals).slice(beforeSweep).filter((m) => !m.threadTs && /expired/.test(m.text ?? ''));
    expect(summary).toHaveLength(1);
    expect(harness.standIn.rejected()).toEqual([]);
    const named = new Set(JSON.stringify(summary[0]!.blocks).match(/EXC-\d{4}/g));
    expect([...named].sort()).toEqual(expected);
  });
});
