import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { startApplication, type Application } from '../../src/application';
import { runCli } from '../../src/cli/main';
import { openRegister, type Register } from '../../src/db/client';
import { auditEvents, exceptions, followUps, JOB_NAMES, jobRuns, outbox, renewals } from '../../src/db/schema';
import { runJobs } from '../../src/jobs/run-jobs';
import { createLogger } from '../../src/logger';
import { createServiceContext } from '../../src/services/context';
import { ACTION_IDS } from '../../src/slack/ids';
import type { StoredMessage } from '../support/slack-stand-in';
import { CHANNELS, PEOPLE, startHarness, type Harness, type HarnessOptions } from './harness';
import { assess, clickButton, decisionCard, harnessEnv, submitRenewal, submitRequest, triageMessage, type RequestForm } from './flows';

const execFileAsync = promisify(execFile);

let h: Harness | undefined;
const extra: { close(): Promise<void> | void }[] = [];
async function start(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness(options);
  return h;
}
afterEach(async () => {
  for (const resource of extra.splice(0).reverse()) await resource.close();
  await h?.close();
  h = undefined;
});

/** The harness starts on Wednesday 2026-11-25 at 10:00 UTC. */
const at = (harness: Harness, iso: string) => {
  harness.clock.now = new Date(iso);
};
const mention = (id: string) => `<@${id}>`;
const STALL = /has waited \d+ working days/;
const ESCALATION = /waited more than 5 working days/;

/** Nudges posted in the thread of `parent`. */
const nudgesUnder = (harness: Harness, parent: StoredMessage) =>
  harness.standIn.messages(parent.channel).filter((m) => m.threadTs === parent.ts && STALL.test(m.text ?? ''));
/** Every nudge anywhere, top-level or threaded. */
const allNudges = (harness: Harness) => harness.standIn.messages().filter((m) => STALL.test(m.text ?? ''));
const escalations = (harness: Harness) => harness.standIn.messages(CHANNELS.committee).filter((m) => !m.threadTs && ESCALATION.test(m.text ?? ''));
const stallNotices = (harness: Harness, userId: string) => harness.standIn.dmsTo(userId).filter((m) => /is still waiting for/.test(m.text ?? ''));
const escalationsAnywhere = (harness: Harness) => harness.standIn.messages().filter((m) => ESCALATION.test(m.text ?? ''));
const status = (harness: Harness, id = 1) => harness.app.register.db.select().from(exceptions).where(eq(exceptions.id, id)).get()!.status;
const reminderDms = (harness: Harness, userId: string) => harness.standIn.dmsTo(userId).filter((m) => /expires? soon/.test(m.text ?? ''));
/** Reminders as they were posted: a reminder DM is redrawn once its exception moves on, so its text does not stay. */
const remindersPosted = (harness: Harness, userId: string) => {
  const channel = harness.standIn.dmsTo(userId)[0]?.channel;
  return harness.standIn.callsTo('chat.postMessage').filter((c) => c.args.channel === channel && /expires? soon/.test(String(c.args.text ?? '')));
};
const expiredDms = (harness: Harness, userId: string, ref: string) => harness.standIn.dmsTo(userId).filter((m) => m.text?.startsWith(`${ref} has expired`));
const expirySummaries = (harness: Harness) => harness.standIn.messages(CHANNELS.approvals).filter((m) => !m.threadTs && /^\d+ exceptions? expired/.test(m.text ?? ''));

/** An exception approved on the fast path (score 4) on 2026-11-25. */
async function activeException(harness: Harness, ref: string, form: RequestForm = {}, requester: string = PEOPLE.requester) {
  await submitRequest(harness, form, requester);
  await assess(harness, ref, 2, 2);
  await clickButton(harness, decisionCard(harness, ref), ACTION_IDS.approve, PEOPLE.ciso);
  expect(harness.app.register.db.select().from(exceptions).where(eq(exceptions.id, Number(ref.slice(4)))).get()!.status).toBe('active');
}

describe('stalled requests: a nudge after 2 working days, an escalation after 5, then a nudge again every 3', () => {
  it('nudges a request waiting for assessment once, in its triage thread, mentioning the security team only', async () => {
    const harness = await start();
    await submitRequest(harness); // Wednesday
    const triage = triageMessage(harness, 'EXC-0001');

    at(harness, '2026-11-27T17:00:00Z'); // Friday: 2 working days
    await harness.runJobs();
    at(harness, '2026-11-29T17:00:00Z'); // Sunday: still 2
    await harness.runJobs();
    expect(allNudges(harness)).toEqual([]);

    at(harness, '2026-11-30T09:00:00Z'); // Monday: 3
    const [, , stalled] = await harness.runJobs();
    expect(stalled).toMatchObject({ job: 'stalled_decisions', ran: true, result: 'nudged: EXC-0001; escalated: none' });
    await harness.runJobs();

    const nudges = nudgesUnder(harness, triage);
    expect(nudges).toHaveLength(1);
    expect(allNudges(harness)).toHaveLength(1);
    const said = JSON.stringify(nudges[0]!.blocks);
    expect(said).toContain(mention(PEOPLE.security));
    expect(said).toContain(mention(PEOPLE.security2));
    expect(said).toContain('risk assessment');
    for (const party of [PEOPLE.requester, PEOPLE.owner, PEOPLE.ciso]) expect(said).not.toContain(mention(party));

    await harness.restart();
    await harness.runJobs();
    at(harness, '2026-12-01T09:00:00Z');
    await harness.runJobs();
    await harness.restart();
    await harness.runJobs();

    expect(allNudges(harness)).toHaveLength(1);
    expect(escalationsAnywhere(harness)).toEqual([]);
    expect(harness.app.register.db.select({ kind: followUps.kind, key: followUps.key }).from(followUps).all()).toEqual([{ kind: 'stall_nudge', key: '0:assessment' }]);
    expect(harness.standIn.rejected()).toEqual([]);
  });

  it('never mentions a security-team member who asked for the exception themselves', async () => {
    const harness = await start();
    await submitRequest(harness, {}, PEOPLE.security2);
    at(harness, '2026-11-30T09:00:00Z');
    await harness.runJobs();
    const [nudge] = nudgesUnder(harness, triageMessage(harness, 'EXC-0001'));
    const said = JSON.stringify(nudge!.blocks);
    expect(said).toContain(mention(PEOPLE.security));
    expect(said).not.toContain(mention(PEOPLE.security2));
  });

  it('escalates once to the committee channel after more than 5 working days, across repeated runs and a restart', async () => {
    const harness = await start();
    await submitRequest(harness);
    at(harness, '2026-11-30T09:00:00Z'); // 3 working days: nudge
    await harness.runJobs();
    at(harness, '2026-12-02T17:00:00Z'); // Wednesday: 5 working days, not yet
    await harness.runJobs();
    expect(escalationsAnywhere(harness)).toEqual([]);

    at(harness, '2026-12-03T09:00:00Z'); // Thursday: 6
    const [, , stalled] = await harness.runJobs();
    expect(stalled!.result).toBe('nudged: none; escalated: EXC-0001');
    await harness.runJobs();
    await harness.restart();
    await harness.runJobs();
    at(harness, '2026-12-10T09:00:00Z');
    await harness.runJobs();

    const posted = escalations(harness);
    expect(posted).toHaveLength(1);
    expect(escalationsAnywhere(harness)).toHaveLength(1);
    expect(JSON.stringify(posted[0]!.blocks)).toContain('EXC-0001');
    expect(JSON.stringify(posted[0]!.blocks)).toContain('risk assessment');
    expect(JSON.stringify(posted[0]!.blocks)).toContain('Escalated to the steering committee');
    // The nudge, then (Thursday 10 Dec, 11 working days) the first nudge again after the escalation.
    expect(allNudges(harness)).toHaveLength(2);
    const events = harness.app.register.db.select().from(auditEvents).where(inArray(auditEvents.kind, ['exception.nudged', 'exception.escalated'])).all();
    expect(events.map((e) => e.kind)).toEqual(['exception.nudged', 'exception.escalated', 'exception.nudged']);
    expect(events.every((e) => e.actorId === 'scheduler')).toBe(true);
  });

  it('after a long downtime sends the escalation without a stale nudge, and no nudge afterwards', async () => {
    const harness = await start();
    await submitRequest(harness);
    at(harness, '2026-12-10T09:00:00Z'); // 11 working days later, nothing ran meanwhile
    await harness.runJobs();
    expect(escalations(harness)).toHaveLength(1);
    expect(allNudges(harness)).toEqual([]);

    at(harness, '2026-12-11T09:00:00Z');
    await harness.runJobs();
    await harness.restart();
    await harness.runJobs();
    expect(escalations(harness)).toHaveLength(1);
    expect(allNudges(harness)).toEqual([]);
  });

  it('catches up at start-up: the scheduler run on boot escalates what stalled while the app was down, once across restarts', async () => {
    const harness = await start();
    await submitRequest(harness);
    at(harness, '2026-12-10T09:00:00Z');
    await harness.restart({ schedule: true });
    await harness.settle();
    expect(escalations(harness)).toHaveLength(1);

    await harness.restart({ schedule: true });
    await harness.settle();
    expect(escalations(harness)).toHaveLength(1);
    expect(allNudges(harness)).toEqual([]);
  });

  it('lists several stalled requests in one escalation post', async () => {
    const harness = await start();
    await submitRequest(harness);
    await submitRequest(harness, { title: 'Second legacy system without MFA' });
    at(harness, '2026-12-10T09:00:00Z');
    await harness.runJobs();
    const posted = escalations(harness);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.text).toContain('EXC-0001');
    expect(posted[0]!.text).toContain('EXC-0002');
  });

  it('counts a decision from its assessment: nudges the approvers, not the security team, then escalates', async () => {
    const harness = await start();
    await submitRequest(harness); // Wednesday 2026-11-25
    const triage = triageMessage(harness, 'EXC-0001');
    at(harness, '2026-11-30T08:00:00Z'); // Monday: the assessment is 3 working days late
    await harness.runJobs();
    expect(nudgesUnder(harness, triage)).toHaveLength(1);

    at(harness, '2026-11-30T09:00:00Z');
    await assess(harness, 'EXC-0001', 2, 2); // fast path: the decision message sits in the triage thread
    at(harness, '2026-12-02T17:00:00Z'); // 2 working days waiting for a decision
    await harness.runJobs();
    expect(nudgesUnder(harness, triage)).toHaveLength(1);

    at(harness, '2026-12-03T09:00:00Z'); // 3
    await harness.runJobs();
    await harness.runJobs();
    const nudges = nudgesUnder(harness, triage);
    expect(nudges).toHaveLength(2);
    const said = JSON.stringify(nudges[1]!.blocks);
    expect(said).toContain('a decision');
    expect(said).toContain(mention(PEOPLE.ciso));
    expect(said).toContain(mention(PEOPLE.deputy));
    for (const other of [PEOPLE.security, PEOPLE.security2, PEOPLE.requester, PEOPLE.owner]) expect(said).not.toContain(mention(other));

    at(harness, '2026-12-08T09:00:00Z'); // Tuesday: 6 working days since Monday's assessment
    await harness.runJobs();
    await harness.runJobs();
    expect(escalations(harness)).toHaveLength(1);
    expect(JSON.stringify(escalations(harness)[0]!.blocks)).toContain('waiting for a decision');
    expect(nudgesUnder(harness, triage)).toHaveLength(2);
  });

  it('nudges a committee decision in its own thread, mentioning only the members who have not voted', async () => {
    const harness = await start();
    await submitRequest(harness);
    await assess(harness, 'EXC-0001', 4, 4);
    await clickButton(harness, decisionCard(harness, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);

    at(harness, '2026-11-30T09:00:00Z');
    await harness.runJobs();
    const card = decisionCard(harness, 'EXC-0001', CHANNELS.committee);
    const nudges = nudgesUnder(harness, card);
    expect(nudges).toHaveLength(1);
    expect(allNudges(harness)).toHaveLength(1);
    const said = JSON.stringify(nudges[0]!.blocks);
    expect(said).toContain(mention(PEOPLE.committee2));
    expect(said).toContain(mention(PEOPLE.committee3));
    expect(said).not.toContain(mention(PEOPLE.committee1));
    expect(said).not.toContain(mention(PEOPLE.ciso));
  });

  it('does not nudge a request once it is decided', async () => {
    const harness = await start();
    await activeException(harness, 'EXC-0001');
    at(harness, '2026-12-10T09:00:00Z');
    await harness.runJobs();
    expect(allNudges(harness)).toEqual([]);
    expect(escalationsAnywhere(harness)).toEqual([]);
  });

  it('nudges a renewal that waits for its assessment, counted from the renewal', async () => {
    const harness = await start();
    await activeException(harness, 'EXC-0001');
    at(harness, '2027-01-05T09:00:00Z'); // Tuesday
    const { response } = await submitRenewal(harness, PEOPLE.owner, {
      progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.',
      percentComplete: '60',
      evidenceUrl: 'https://tickets.example.com/CHG-4711',
      controlTestedOn: '2026-12-20',
      expiresOn: '2027-03-01',
    });
    expect(response?.status).toBe(200);
    expect(harness.app.register.db.select().from(renewals).get()).toMatchObject({ round: 1, status: 'requested' });
    const triage = triageMessage(harness, 'EXC-0001');

    at(harness, '2027-01-07T17:00:00Z'); // Thursday: 2 working days
    await harness.runJobs();
    expect(nudgesUnder(harness, triage)).toEqual([]);

    at(harness, '2027-01-08T09:00:00Z'); // Friday: 3
    await harness.runJobs();
    await harness.runJobs();
    const nudges = nudgesUnder(harness, triage);
    expect(nudges).toHaveLength(1);
    const said = JSON.stringify(nudges[0]!.blocks);
    expect(said).toContain('renewal 1');
    expect(said).toContain(mention(PEOPLE.security));
    expect(said).not.toContain(mention(PEOPLE.owner));
    expect(harness.app.register.db.select({ kind: followUps.kind, key: followUps.key }).from(followUps).where(eq(followUps.kind, 'stall_nudge')).all()).toEqual([
      { kind: 'stall_nudge', key: '1:assessment' },
    ]);
    // Whoever asked for the renewal hears that it stalls, not the original requester.
    expect(stallNotices(harness, PEOPLE.owner).map((m) => m.text)).toEqual(['EXC-0001 is still waiting for a risk assessment.']);
    expect(JSON.stringify(stallNotices(harness, PEOPLE.owner)[0]!.blocks)).toContain('Your renewal 1 of *EXC-0001*');
    expect(stallNotices(harness, PEOPLE.requester)).toEqual([]);
  });

  it('keeps nudging every 3 working days after the escalation until someone acts, then stops', async () => {
    const harness = await start();
    await submitRequest(harness); // Wednesday 25 Nov
    const triage = triageMessage(harness, 'EXC-0001');
    const again = () => nudgesUnder(harness, triage).filter((m) => JSON.stringify(m.blocks).includes('It was escalated to the steering committee'));
    for (const [day, expected] of [
      ['2026-11-30T09:00:00Z', 0], // 3 working days: the first nudge
      ['2026-12-03T09:00:00Z', 0], // 6: the escalation
      ['2026-12-07T09:00:00Z', 0], // 8
      ['2026-12-08T09:00:00Z', 1], // 9: nudged again
      ['2026-12-09T09:00:00Z', 1], // 10
      ['2026-12-10T09:00:00Z', 1], // 11
      ['2026-12-11T09:00:00Z', 2], // 12: and again
    ] as const) {
      at(harness, day);
      await harness.runJobs();
      await harness.runJobs();
      expect(again(), day).toHaveLength(expected);
    }
    const [latest] = again().slice(-1);
    const said = JSON.stringify(latest!.blocks);
    expect(said).toContain('has waited *12 working days* for a risk assessment');
    expect(said).toContain(mention(PEOPLE.security));
    expect(said).toContain('this reminder comes every 3 working days until someone does');
    expect(escalationsAnywhere(harness)).toHaveLength(1);
    expect(
      harness.app.register.db
        .select({ key: followUps.key })
        .from(followUps)
        .where(eq(followUps.kind, 'stall_nudge'))
        .all()
        .map((f) => f.key),
    ).toEqual(['0:assessment', '0:assessment:again:1', '0:assessment:again:2']);

    // Assessed (fast path) that Friday: the assessment stops being nudged, and the decision counts from now.
    at(harness, '2026-12-11T10:00:00Z');
    await assess(harness, 'EXC-0001', 2, 2);
    at(harness, '2026-12-15T09:00:00Z'); // Tuesday: 2 working days waiting for a decision
    await harness.runJobs();
    expect(again()).toHaveLength(2);
    expect(nudgesUnder(harness, triage)).toHaveLength(3);
  });

  it('escalates a stalled committee decision to the CISO and delegates in the approvals channel, never back to the committee', async () => {
    const harness = await start();
    await submitRequest(harness);
    await assess(harness, 'EXC-0001', 4, 4);
    await clickButton(harness, decisionCard(harness, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
    at(harness, '2026-12-03T09:00:00Z'); // 6 working days since the assessment
    const [, , stalled] = await harness.runJobs();
    expect(stalled!.result).toBe('nudged: none; escalated: EXC-0001');

    expect(escalations(harness)).toEqual([]);
    const posted = harness.standIn.messages(CHANNELS.approvals).filter((m) => !m.threadTs && ESCALATION.test(m.text ?? ''));
    expect(posted).toHaveLength(1);
    const said = JSON.stringify(posted[0]!.blocks);
    expect(said).toContain(`${mention(PEOPLE.ciso)} ${mention(PEOPLE.deputy)} *Escalated to the CISO:*`);
    expect(said).toContain('no committee chair is configured');
    expect(said).not.toContain('Escalated to the steering committee');
    expect(said).toContain(`still to vote: ${mention(PEOPLE.committee2)} ${mention(PEOPLE.committee3)}`);
    const [event] = harness.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, 'exception.escalated')).all();
    expect(JSON.parse(event!.payload)).toMatchObject({ escalatedTo: 'approvers', waitingFor: 'decision' });

    // Nudged again in the committee card's thread, naming who it was escalated to.
    at(harness, '2026-12-08T09:00:00Z');
    await harness.runJobs();
    const [nudgeAgain] = nudgesUnder(harness, decisionCard(harness, 'EXC-0001', CHANNELS.committee)).filter((m) => JSON.stringify(m.blocks).includes('It was escalated'));
    expect(JSON.stringify(nudgeAgain!.blocks)).toContain('It was escalated to the CISO and delegated approvers (no committee chair is configured)');
    expect(JSON.stringify(nudgeAgain!.blocks)).toContain(mention(PEOPLE.committee2));
    expect(harness.standIn.rejected()).toEqual([]);
  });

  it('tells the requester when the request stalls and when it is escalated: whom it waits on, since when, who was reminded', async () => {
    const harness = await start();
    await submitRequest(harness);
    at(harness, '2026-11-30T09:00:00Z');
    await harness.runJobs();
    const since = `since <!date^${Date.parse('2026-11-25T10:00:00Z') / 1000}^{date_short_pretty} {time}|2026-11-25 10:00 UTC>`;
    const [stalledNotice] = stallNotices(harness, PEOPLE.requester);
    const first = JSON.stringify(stalledNotice!.blocks);
    expect(first).toContain(`Your request *EXC-0001* · Legacy HR system without MFA is still waiting for a risk assessment by the security team ${since}.`);
    expect(first).toContain(`so we reminded the security team in <#${CHANNELS.approvals}> today`);
    expect(first).toContain(`"action_id":"${ACTION_IDS.viewRecord}"`);

    at(harness, '2026-12-03T09:00:00Z');
    await harness.runJobs();
    at(harness, '2026-12-08T09:00:00Z'); // nudged again: whoever asked is not told again
    await harness.runJobs();
    const notices = stallNotices(harness, PEOPLE.requester);
    expect(notices).toHaveLength(2);
    expect(JSON.stringify(notices[1]!.blocks)).toContain('so we escalated it to the steering committee');
    expect(stallNotices(harness, PEOPLE.owner)).toEqual([]);
  });

  it('drops a stall notice that reaches Slack after the request was assessed', async () => {
    const harness = await start();
    await submitRequest(harness);
    at(harness, '2026-11-30T09:00:00Z');
    harness.standIn.fail({ status: 500 });
    await harness.runJobs();
    harness.standIn.clearFailures();
    await assess(harness, 'EXC-0001', 2, 2);
    harness.clock.advance(10 * 60_000);
    await harness.settle();
    expect(stallNotices(harness, PEOPLE.requester)).toEqual([]);
    const row = harness.app.register.db.select().from(outbox).all().find((r) => r.payload.includes('"stall_notice"'));
    expect(row).toMatchObject({ state: 'delivered', lastError: 'the request no longer waits where the notice would say' });
  });
});

describe('two app instances on one register', () => {
  it('never send a reminder twice when both run the jobs and deliver at the same time', async () => {
    const harness = await start();
    await activeException(harness, 'EXC-0001');
    await activeException(harness, 'EXC-0002', { owner: PEOPLE.bystander, title: 'Second legacy system without MFA' });
    at(harness, '2027-01-01T09:00:00Z'); // 14 days before both expire

    const second: Application = await startApplication(harness.config, {
      clock: () => harness.clock.now,
      logger: createLogger('error', () => undefined),
      deliveryIntervalMs: 20,
      schedule: false,
    });
    extra.push({ close: () => second.stop() });

    const first = runJobs(harness.app.services, harness.clock.now);
    const other = runJobs(second.services, harness.clock.now);
    expect(first.find((r) => r.job === 'reminders')!.result).toBe('reminded: EXC-0001, EXC-0002');
    expect(other.find((r) => r.job === 'reminders')!.result).toBe('reminded: none');
    await Promise.all([harness.app.idle(), second.idle(), harness.app.notifier.deliverDue(), second.notifier.deliverDue()]);
    await Promise.all([harness.app.idle(), second.idle()]);

    expect(reminderDms(harness, PEOPLE.owner)).toHaveLength(1);
    expect(reminderDms(harness, PEOPLE.bystander)).toHaveLength(1);
    expect(harness.app.register.db.select().from(followUps).where(eq(followUps.kind, 'expiry_reminder')).all()).toHaveLength(2);
  });

  it('never remind twice when two connections race the jobs in separate processes', async () => {
    const harness = await start();
    await activeException(harness, 'EXC-0001');
    const asOf = '2027-01-08T09:00:00Z'; // 7 days left
    const bin = fileURLToPath(new URL('../../bin/exceptions.js', import.meta.url));
    const env = { ...process.env, ...harnessEnv(harness) };
    const runs = await Promise.all([1, 2, 3].map(() => execFileAsync(process.execPath, [bin, 'jobs', 'run', '--at', asOf], { env })));

    const reminderLines = runs.map((r) => r.stdout.split('\n').find((line) => line.startsWith('reminders')) ?? '');
    expect(reminderLines.filter((line) => line.includes('reminded: EXC-0001'))).toHaveLength(1);
    expect(reminderLines.every((line) => /reminded: (EXC-0001|none)|skipped: another run holds the register/.test(line))).toBe(true);

    at(harness, asOf);
    await harness.settle();
    expect(reminderDms(harness, PEOPLE.owner)).toHaveLength(1);
    expect(harness.app.register.db.select({ key: followUps.key }).from(followUps).where(eq(followUps.kind, 'expiry_reminder')).all()).toEqual([{ key: '2027-01-15:7' }]);
  });

  it('lets one connection run the jobs at a time: while another holds the register, a run stands aside and the next does what is due, once', async () => {
    const harness = await start();
    await activeException(harness, 'EXC-0001');
    const other: Register = openRegister(harness.databasePath);
    extra.push(other);
    const otherCtx = createServiceContext(other.db, () => harness.clock.now, harness.config);
    at(harness, '2027-01-01T09:00:00Z');

    // Another process is in the middle of a run: it holds the write lock, and this run waits (here 50 ms) then stands aside.
    harness.app.register.sqlite.pragma('busy_timeout = 50');
    other.sqlite.exec('begin immediate');
    const reports = runJobs(harness.app.services, harness.clock.now);
    other.sqlite.exec('commit');
    harness.app.register.sqlite.pragma('busy_timeout = 2000');
    expect(reports.map((r) => r.job)).toEqual([...JOB_NAMES]);
    for (const report of reports) expect(report).toEqual({ job: report.job, ran: false, result: expect.stringMatching(/^skipped: another run holds the register/) });
    await harness.settle();
    expect(reminderDms(harness, PEOPLE.owner)).toEqual([]);

    expect((await harness.runJobs()).find((r) => r.job === 'reminders')!.result).toBe('reminded: EXC-0001');
    expect(runJobs(otherCtx, harness.clock.now).find((r) => r.job === 'reminders')!.result).toBe('reminded: none');
    await harness.settle();
    expect(reminderDms(harness, PEOPLE.owner)).toHaveLength(1);
  });
});

describe('a Slack outage during an expiry sweep', () => {
  it('stores the sweep, then delivers every DM, card update and the one summary exactly once', async () => {
    const harness = await start();
    await activeException(harness, 'EXC-0001');
    await activeException(harness, 'EXC-0002', { owner: PEOPLE.bystander, title: 'Second legacy system without MFA' }, PEOPLE.bystander);
    const cards = () => [triageMessage(harness, 'EXC-0001'), decisionCard(harness, 'EXC-0001'), triageMessage(harness, 'EXC-0002'), decisionCard(harness, 'EXC-0002')];
    const updatesBefore = cards().map((c) => c.updates);
    const postsBefore = harness.standIn.callsTo('chat.postMessage').length;

    at(harness, '2027-01-16T09:00:00Z');
    harness.standIn.fail({ status: 500 });
    const [sweep] = await harness.runJobs();

    expect(sweep).toMatchObject({ job: 'expiry_sweep', ran: true, result: 'expired: EXC-0001, EXC-0002' });
    expect([status(harness, 1), status(harness, 2)]).toEqual(['expired', 'expired']);
    expect(harness.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, 'exception.expired')).all()).toHaveLength(2);
    expect(harness.standIn.calls.some((c) => c.httpStatus === 500)).toBe(true);
    expect(harness.standIn.callsTo('chat.postMessage')).toHaveLength(postsBefore);
    expect(cards().map((c) => c.updates)).toEqual(updatesBefore);
    const pending = harness.app.register.db.select().from(outbox).where(eq(outbox.state, 'pending')).orderBy(asc(outbox.id)).all();
    // Two card updates each (and App Home of those concerned), DMs to owner and requester of EXC-0001 and the one person behind EXC-0002, one summary.
    expect(pending.filter((r) => r.kind === 'refresh_card' && !r.payload.includes('"card":"home"'))).toHaveLength(4);
    expect(pending.filter((r) => r.payload.includes('"card":"home"'))).toHaveLength(2);
    expect(pending.filter((r) => r.kind === 'direct_message')).toHaveLength(3);
    const summaryRows = pending.filter((r) => r.kind === 'channel_post' && (JSON.parse(r.payload) as { message: string }).message === 'expiry_summary');
    expect(summaryRows).toHaveLength(1);
    expect(JSON.parse(summaryRows[0]!.payload)).toMatchObject({ channel: CHANNELS.approvals, exceptionIds: [1, 2] });

    // Slack is still down a minute later: still nothing lost, still nothing sent.
    harness.clock.advance(60_000);
    await harness.settle();
    expect(harness.standIn.callsTo('chat.postMessage')).toHaveLength(postsBefore);

    harness.standIn.clearFailures();
    harness.clock.advance(10 * 60_000);
    await harness.settle();

    expect(expiredDms(harness, PEOPLE.owner, 'EXC-0001')).toHaveLength(1);
    expect(expiredDms(harness, PEOPLE.requester, 'EXC-0001')).toHaveLength(1);
    expect(expiredDms(harness, PEOPLE.bystander, 'EXC-0002')).toHaveLength(1);
    const summaries = expirySummaries(harness);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.text).toContain('EXC-0001');
    expect(summaries[0]!.text).toContain('EXC-0002');
    expect(cards().map((c) => c.updates)).toEqual(updatesBefore.map((n) => n + 1));
    for (const card of cards()) expect(JSON.stringify(card.blocks)).toContain('Expired');
    expect(harness.app.register.db.select().from(outbox).where(eq(outbox.state, 'pending')).all()).toEqual([]);

    // Later runs, a restart and more time deliver nothing twice.
    await harness.runJobs();
    await harness.restart();
    harness.clock.advance(60 * 60_000);
    await harness.settle();
    await harness.runJobs();
    expect(expiredDms(harness, PEOPLE.owner, 'EXC-0001')).toHaveLength(1);
    expect(expiredDms(harness, PEOPLE.requester, 'EXC-0001')).toHaveLength(1);
    expect(expiredDms(harness, PEOPLE.bystander, 'EXC-0002')).toHaveLength(1);
    expect(expirySummaries(harness)).toHaveLength(1);
    expect(cards().map((c) => c.updates)).toEqual(updatesBefore.map((n) => n + 1));
  });
});

describe('exceptions jobs run [--at ISO]', () => {
  async function cli(harness: Harness, args: string[], env: Record<string, string> = harnessEnv(harness)) {
    let out = '';
    let err = '';
    const code = await runCli(args, env, { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } });
    return { code, out, err };
  }

  it('runs every job as of the given time, prints a line per job, and the app delivers what it queued', async () => {
    const harness = await start();
    await activeException(harness, 'EXC-0001');

    const early = await cli(harness, ['jobs', 'run', '--at', '2027-01-01T09:00:00Z']);
    expect(early.code).toBe(0);
    expect(early.err).toBe('');
    const [note, ...lines] = early.out.trim().split('\n');
    expect(note).toBe('Running as of 2027-01-01T09:00:00.000Z, which is in the future: what falls due by then is done now.');
    expect(lines).toHaveLength(JOB_NAMES.length);
    expect(lines.map((line) => line.split(/\s+/)[0])).toEqual([...JOB_NAMES]);
    expect(lines.find((line) => line.startsWith('expiry_sweep'))).toMatch(/expired: none$/);
    expect(lines.find((line) => line.startsWith('reminders'))).toMatch(/reminded: EXC-0001$/);
    expect(status(harness)).toBe('active');
    expect(harness.app.register.db.select({ key: followUps.key }).from(followUps).all()).toEqual([{ key: '2027-01-15:14' }]);

    at(harness, '2027-01-01T09:00:00Z');
    await harness.settle();
    expect(reminderDms(harness, PEOPLE.owner)).toHaveLength(1);

    const late = await cli(harness, ['jobs', 'run', '--at', '2027-01-16T00:30:00Z']);
    expect(late.code).toBe(0);
    expect(late.out.split('\n').find((line) => line.startsWith('expiry_sweep'))).toMatch(/expired: EXC-0001$/);
    expect(status(harness)).toBe('expired');
    const expired = harness.app.register.db.select().from(auditEvents).where(and(eq(auditEvents.kind, 'exception.expired'), eq(auditEvents.exceptionId, 1))).all();
    // The audit trail records when it really happened; the day it was judged as of is in the event itself.
    expect(expired).toEqual([expect.objectContaining({ actorId: 'scheduler' })]);
    expect(new Date(expired[0]!.occurredAt).getTime()).toBeLessThanOrEqual(Date.now());
    expect(JSON.parse(expired[0]!.payload)).toEqual({ expiresOn: '2027-01-15', today: '2027-01-16' });

    at(harness, '2027-01-16T00:30:00Z');
    await harness.settle();
    expect(expiredDms(harness, PEOPLE.owner, 'EXC-0001')).toHaveLength(1);
    expect(expirySummaries(harness)).toHaveLength(1);
    // As of the expiry day itself nothing was due any more: the 7- and 1-day reminders were never sent late.
    expect(remindersPosted(harness, PEOPLE.owner)).toHaveLength(1);

    const again = await cli(harness, ['jobs', 'run', '--at', '2027-01-16T00:30:00Z']);
    expect(again.out.split('\n').find((line) => line.startsWith('expiry_sweep'))).toMatch(/expired: none$/);
  });

  it.each([['tomorrow'], ['2027-13-01T00:00:00Z'], ['2027-02-30T00:00:00Z'], ['2027-01-16 00:30'], ['']])('refuses --at %j with exit code 2 and changes nothing', async (value) => {
    const harness = await start();
    await activeException(harness, 'EXC-0001');
    const result = await cli(harness, ['jobs', 'run', '--at', value]);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.err).toContain('ISO 8601');
    expect(status(harness)).toBe('active');
    expect(harness.app.register.db.select().from(jobRuns).all()).toEqual([]);
  });

  it('refuses --at without a value, an unknown flag, and a run without the app configuration', async () => {
    const harness = await start();
    expect((await cli(harness, ['jobs', 'run', '--at'])).code).toBe(2);
    expect((await cli(harness, ['jobs', 'run', '--when', '2027-01-01T00:00:00Z'])).code).toBe(2);
    expect((await cli(harness, ['jobs', 'start'])).code).toBe(2);
    const unconfigured = await cli(harness, ['jobs', 'run'], { DATABASE_PATH: harness.databasePath });
    expect(unconfigured.code).toBe(2);
    expect(unconfigured.err).toContain("jobs run needs the app's configuration");
    expect(harness.app.register.db.select().from(jobRuns).all()).toEqual([]);
  });
});
