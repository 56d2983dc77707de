import cron, { type ScheduledTask } from 'node-cron';
import type { StructuredLogger } from '../logger';
import type { ServiceContext } from '../services/context';
import { runJobs } from './run-jobs';

export interface Scheduler {
  stop(): Promise<void>;
}

/**
 * Runs the jobs on EXPIRY_CRON and REVIEW_CRON in the organisation's time zone, and once at start-up so whatever fell
 * due while the app was down happens now. `afterRun` hands the queued notifications to delivery.
 */
export function startScheduler(deps: { ctx: ServiceContext; schedules: { expiry: string; review: string; metrics: string }; timeZone: string; logger: StructuredLogger; afterRun: () => void }): Scheduler {
  const run = () => {
    runJobs(deps.ctx, deps.ctx.clock(), deps.logger);
    deps.afterRun();
  };
  // Each job decides for itself what is due, so every schedule runs all of them; the review posts once a quarter.
  const tasks: ScheduledTask[] = [
    cron.schedule(deps.schedules.expiry, run, { name: 'follow-ups', timezone: deps.timeZone, noOverlap: true }),
    cron.schedule(deps.schedules.review, run, { name: 'quarterly-review', timezone: deps.timeZone, noOverlap: true }),
    cron.schedule(deps.schedules.metrics, run, { name: 'weekly-metrics', timezone: deps.timeZone, noOverlap: true }),
  ];
  run();
  return {
    async stop() {
      await Promise.all(tasks.map((task) => task.destroy()));
    },
  };
}
