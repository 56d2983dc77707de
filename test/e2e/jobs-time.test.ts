import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { auditEvents, checkins, exceptions, jobRuns, metricSnapshots, reviews } from '../../src/db/schema';
import { ACTION_IDS } from '../../src/slack/ids';
import { runCapturing } from '../cli/run-cli';
import { CHANNELS, PEOPLE, startHarness, type Harness, type HarnessOptions } from './harness';
import { assess, clickButton, decisionCard, harnessEnv, submitRequest, type RequestForm } from './flows';

// Issue 10 §3, "Time cannot be skipped".

const execFileAsync = promisify(execFile);

let h: Harness | undefined;
async function start(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness(options);
  return h;
}
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const at = (harness: Harness, iso: string) => {
  harness.clock.now = new Date(iso);
};
const statusOf = (harness: Harness, id: number) => harness.app.register.db.select().from(exceptions).where(eq(exceptions.id, id)).get()!.status;
const askedFor = (harness: Harness) => harness.app.register.db.select({ exceptionId: checkins.exceptionId }).from(checkins).all().map((c) => c.exceptionId);
const snapshots = (harness: Harness) => harness.app.register.db.select({ week: metricSnapshots.week, active: metricSnapshots.active }).from(metricSnapshots).all();

/** An exception approved on the fast path on 2026-11-25 (the harness's start). */
async function activeException(harness: Harness, ref: string, form: RequestForm = {}) {
  await submitRequest(harness, form);
  await assess(harness, ref, 2, 2);
  await clickButton(harness, decisionCard(harness, ref), ACTION_IDS.approve, PEOPLE.ciso);
}

/** EXC-0001 ends on 2027-01-15, EXC-0002 on 2027-02-20; on Monday 2027-01-18 one is active, and the weekly post is due. */
async function twoExceptions(harness: Harness) {
  await activeException(harness, 'EXC-0001');
  await activeException(harness, 'EXC-0002', { title: 'Second legacy system without MFA', expiresOn: '2027-02-20' });
}
const MONDAY = '2027-01-18T09:00:00Z';

describe('a crash during the expiry sweep', () => {
  it('does not let the restart skip expiry: the catch-up expires what is due before check-ins and the weekly snapshot read the register', async () => {
    const harness = await start();
    await twoExceptions(harness);

    const script = fileURLToPath(new URL('./crash-mid-sweep.ts', import.meta.url));
    const crashed = await execFileAsync(process.execPath, ['--import', 'tsx', script, MONDAY], { env: { ...process.env, ...harnessEnv(harness) } }).then(
      () => 'exited',
      (error: { signal?: string }) => error.signal,
    );
    expect(crashed).toBe('SIGKILL');
    expect(statusOf(harness, 1)).toBe('active');

    // Restarted a minute later, well within the five minutes a crashed run's lease used to block expiry for.
    at(harness, '2027-01-18T09:01:00Z');
    await harness.restart({ schedule: true });
    await harness.settle();

    expect([statusOf(harness, 1), statusOf(harness, 2)]).toEqual(['expired', 'active']);
    expect(harness.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, 'exception.expired')).all()).toHaveLength(1);
    expect(askedFor(harness)).toEqual([2]);
    expect(snapshots(harness)).toEqual([{ week: '2027-W03', active: 1 }]);
  });
});

describe('jobs that read the register as of a time', () => {
  it('wait for the expiry sweep of that time, say so, and run once it has', async () => {
    const harness = await start();
    await twoExceptions(harness);
    at(harness, MONDAY);
    // The register refuses every expiry, as a full disk or a failing trigger would.
    harness.app.register.sqlite.exec("create temp trigger refuse_expiry before update of status on exceptions when new.status = 'expired' begin select raise(abort, 'disk I/O error'); end");

    const reports = await harness.runJobs();
    const byJob = Object.fromEntries(reports.map((r) => [r.job, r]));
    expect(byJob.expiry_sweep).toMatchObject({ ran: true, error: 'disk I/O error' });
    for (const job of ['reminders', 'control_checkins', 'quarterly_review', 'weekly_metrics'] as const) {
      expect(byJob[job]).toEqual({ job, ran: false, result: `waiting: expiry has not run as of ${MONDAY.replace('Z', '.000Z')} (it failed: disk I/O error)` });
    }
    expect(byJob.stalled_decisions).toMatchObject({ ran: true, result: 'nudged: none; escalated: none' });
    expect(askedFor(harness)).toEqual([]);
    expect(snapshots(harness)).toEqual([]);

    harness.app.register.sqlite.exec('drop trigger refuse_expiry');
    harness.clock.advance(60 * 60_000);
    const next = await harness.runJobs();
    expect(next.every((r) => r.ran && r.error === undefined)).toBe(true);
    expect([statusOf(harness, 1), statusOf(harness, 2)]).toEqual(['expired', 'active']);
    expect(askedFor(harness)).toEqual([2]);
    expect(snapshots(harness)).toEqual([{ week: '2027-W03', active: 1 }]);
  });
});

describe('exceptions jobs run --at', () => {
  const jobsRun = (harness: Harness, at: string) => runCapturing(['jobs', 'run', '--at', at], harnessEnv(harness));
  const lineOf = (out: string, job: string) => out.split('\n').find((line) => line.startsWith(job));
  const weeklyPosts = (harness: Harness) => harness.standIn.messages(CHANNELS.committee).filter((m) => (m.text ?? '').startsWith('Exception register, week'));

  it('refuses a time before the last run, 1970 included, in one line, and stores no snapshot and posts nothing', async () => {
    const harness = await start();
    await twoExceptions(harness);
    at(harness, '2026-11-30T09:05:00Z'); // Monday: the week's report goes out
    await harness.runJobs();
    expect(snapshots(harness)).toEqual([{ week: '2026-W49', active: 2 }]);
    const runsBefore = harness.app.register.db.select().from(jobRuns).all();
    const postsBefore = harness.standIn.callsTo('chat.postMessage').length;

    for (const time of ['1970-01-01T00:00:00Z', '2026-11-23T09:00:00Z', '2026-11-30T09:04:59Z']) {
      const refused = await jobsRun(harness, time);
      expect(refused.code).toBe(1);
      expect(refused.out).toBe('');
      expect(refused.err).toBe(
        `The jobs have already run as of 2026-11-30T09:05:00.000Z, later than ${new Date(time).toISOString()}; nothing was run. Run them as of now (without --at) or as of a later time.\n`,
      );
    }
    await harness.settle();
    expect(snapshots(harness)).toEqual([{ week: '2026-W49', active: 2 }]);
    expect(harness.app.register.db.select().from(jobRuns).all()).toEqual(runsBefore);
    expect(harness.standIn.callsTo('chat.postMessage')).toHaveLength(postsBefore);
  });

  it("takes no weekly snapshot or quarterly review far in the future, so that week's real ones still go out when it comes", async () => {
    const harness = await start();
    await twoExceptions(harness);
    const ahead = await jobsRun(harness, '2030-01-07T09:00:00Z'); // a Monday, the first of 2030's first quarter
    expect(ahead.code).toBe(0);
    const notNow = 'not run: it pictures the register as it is now, so it is taken only as of now, never as of 2030-01-07T09:00:00.000Z';
    expect(lineOf(ahead.out, 'weekly_metrics')).toBe(`weekly_metrics     ${notNow}`);
    expect(lineOf(ahead.out, 'quarterly_review')).toBe(`quarterly_review   ${notNow}`);
    expect(snapshots(harness)).toEqual([]);
    expect(harness.app.register.db.select().from(reviews).all()).toEqual([]);

    at(harness, '2030-01-07T09:00:00Z');
    const reports = await harness.runJobs();
    expect(reports.find((r) => r.job === 'weekly_metrics')).toMatchObject({ ran: true, result: '2030-W02: 0 active' });
    expect(reports.find((r) => r.job === 'quarterly_review')).toMatchObject({ ran: true, result: expect.stringMatching(/^2030-Q1: /) });
    expect(weeklyPosts(harness).map((m) => m.text)).toEqual([expect.stringMatching(/^Exception register, week 2030-W02 \(from Mon 7 Jan\): First report: 0 active exceptions/)]);
  });
});
