import { afterEach, describe, expect, it, vi } from 'vitest';
import { JOB_NAMES } from '../../src/db/schema';
import { healthReport } from '../../src/health';
import { startScheduler, type Scheduler } from '../../src/jobs/scheduler';
import { createLogger } from '../../src/logger';
import { openTestRegister, type TestRegister } from '../services/fixtures';

let fixture: TestRegister;
let scheduler: Scheduler;
afterEach(async () => {
  await scheduler.stop();
  fixture.close();
  vi.restoreAllMocks();
});

const MINUTE = 60_000;

function start(expiry: string, log: (line: string) => void = () => undefined): Scheduler {
  fixture = openTestRegister();
  return startScheduler({
    ctx: fixture.ctx,
    schedules: { expiry, review: '0 9 1 1 *', metrics: '0 9 * * 1' },
    timeZone: 'UTC',
    logger: createLogger('info', log),
    afterRun: () => undefined,
  });
}

describe("the scheduler's health", () => {
  it('is overdue only when the run the schedule promised is a quarter of an hour late', () => {
    scheduler = start('0 * * * *');
    const promised = Date.parse(scheduler.state(new Date()).nextRunAt!);
    expect(scheduler.state(new Date()).lastRunAt).not.toBeNull();
    expect(scheduler.state(new Date(promised + 14 * MINUTE)).overdue).toBe(false);
    expect(scheduler.state(new Date(promised + 16 * MINUTE)).overdue).toBe(true);
  });

  it('raises no alarm over a weekend on a weekdays-only schedule: the next promised run is Monday', () => {
    scheduler = start('0 9 * * 1-5');
    const promised = new Date(scheduler.state(new Date()).nextRunAt!);
    expect(promised.getUTCHours()).toBe(9);
    expect([1, 2, 3, 4, 5]).toContain(promised.getUTCDay());
    // Any moment up to the promised run (a whole weekend, if it falls between) is not overdue.
    expect(scheduler.state(new Date(promised.getTime() - 60 * MINUTE)).overdue).toBe(false);
    expect(scheduler.state(new Date(promised.getTime() + 20 * MINUTE)).overdue).toBe(true);
  });
});

describe('a scheduled run that fails', () => {
  it('is logged as one JSON line per job, not by node-cron on the console, and /healthz names it even when the register cannot record it', async () => {
    const consoleSpies = [vi.spyOn(globalThis.console, 'error'), vi.spyOn(globalThis.console, 'warn'), vi.spyOn(globalThis.console, 'info')];
    const lines: string[] = [];
    scheduler = start('* * * * * *', (line) => lines.push(line)); // every second
    expect(healthReport(fixture.ctx.db, scheduler, new Date()).scheduler).toMatchObject({ failures: [] });
    // From now on every start of a run fails, as on a full disk: job_runs cannot be written.
    for (const when of ['insert', 'update']) fixture.register.sqlite.exec(`create temp trigger job_runs_full_${when} before ${when} on job_runs begin select raise(abort, 'database or disk is full'); end`);

    const failed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.message === 'job failed');
    await vi.waitFor(() => expect(failed().map((entry) => entry.job)).toEqual([...JOB_NAMES]), { timeout: 3000, interval: 50 });

    expect(lines.every((line) => !line.includes('\n'))).toBe(true);
    expect(failed()[0]).toMatchObject({ level: 'error', error: { message: 'database or disk is full' } });
    for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
    expect(healthReport(fixture.ctx.db, scheduler, new Date()).scheduler).toMatchObject({ failures: JOB_NAMES.map((job) => ({ job, error: 'database or disk is full' })) });
  });
});
