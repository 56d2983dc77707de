import cron, { type ScheduledTask } from 'node-cron';
import type { StructuredLogger } from '../logger';
import type { ServiceContext } from '../services/context';
import { runJobs } from './run-jobs';

export interface Scheduler {
  stop(): Promise<void>;
}

/**
 * Runs the follow-up jobs on EXPIRY_CRON in the organisation's time zone, and once at start-up so whatever fell
 * due while the app was down happens now. `afterRun` hands the queued notifications to delivery.
 */
export function startScheduler(deps: { ctx: ServiceContext; expiryCron: string; timeZone: string; logger: StructuredLogger; afterRun: () => void }): Scheduler {
  const run = () => {
    runJobs(deps.ctx, deps.ctx.clock(), deps.logger);
    deps.afterRun();
  };
  const tasks: ScheduledTask[] = [cron.schedule(deps.expiryCron, run, { name: 'follow-ups', timezone: deps.timeZone, noOverlap: true })];
  run();
  return {
    async stop() {
      await Promise.all(tasks.map((task) => task.destroy()));
    },
  };
}
