import { afterEach, describe, expect, it } from 'vitest';
import { startScheduler, type Scheduler } from '../../src/jobs/scheduler';
import { createLogger } from '../../src/logger';
import { openTestRegister, type TestRegister } from '../services/fixtures';

let fixture: TestRegister;
let scheduler: Scheduler;
afterEach(async () => {
  await scheduler.stop();
  fixture.close();
});

const MINUTE = 60_000;

function start(expiry: string): Scheduler {
  fixture = openTestRegister();
  return startScheduler({
    ctx: fixture.ctx,
    schedules: { expiry, review: '0 9 1 1 *', metrics: '0 9 * * 1' },
    timeZone: 'UTC',
    logger: createLogger('error', () => undefined),
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
