import { LogLevel } from '@slack/bolt';
import cron, { type ScheduledTask } from 'node-cron';
import type { StructuredLogger } from '../logger';
import type { ServiceContext } from '../services/context';
import { runReconciliation } from '../services/run-reconciliation';
import { runJobs } from './run-jobs';

/** A scheduled run this late means the scheduler is stuck (a healthy run takes well under a minute). */
const OVERDUE_AFTER_MS = 15 * 60_000;

export interface SchedulerState {
  /** When the follow-ups schedule (EXPIRY_CRON) runs next. */
  nextRunAt: string | null;
  /** When the scheduler last ran the jobs, in this process. */
  lastRunAt: string | null;
  /** True when a run was due and has not happened: a monitor should alert. */
  overdue: boolean;
  /** What failed in the scheduler's last run, in this process: also what the register could not record. */
  failures: { job?: string; error: string }[];
}

export interface Scheduler {
  state(now: Date): SchedulerState;
  stop(): Promise<void>;
}

/**
 * Runs the jobs on EXPIRY_CRON, REVIEW_CRON and METRICS_CRON in the organisation's time zone, and once at start-up so whatever fell
 * due while the app was down happens now; the reconciliation on RECONCILE_CRON, when an identity provider is configured.
 * `afterRun` hands the queued notifications to delivery.
 */
export function startScheduler(deps: {
  ctx: ServiceContext;
  schedules: { expiry: string; review: string; metrics: string; reconcile?: string };
  timeZone: string;
  logger: StructuredLogger;
  afterRun: () => void;
}): Scheduler {
  let lastRunAt: Date | null = null;
  // When the follow-ups schedule should next have run; known once it is set up, renewed at each run.
  let expectedBy: Date | null = null;
  let failures: SchedulerState['failures'] = [];
  // Nothing may escape to node-cron, which would print it to the console as coloured text and keep it from /healthz.
  const run = () => {
    lastRunAt = new Date();
    const failed: SchedulerState['failures'] = [];
    try {
      for (const report of runJobs(deps.ctx, deps.ctx.clock(), deps.logger)) if (report.error !== undefined) failed.push({ job: report.job, error: report.error });
      deps.afterRun();
    } catch (error) {
      deps.logger.event(LogLevel.ERROR, 'scheduled run failed', { error });
      failed.push({ error: error instanceof Error ? error.message : String(error) });
    }
    failures = failed;
    expectedBy = followUps.getNextRun();
  };
  // What node-cron says itself (a run missed while the process was busy, one that would overlap) goes to our log too.
  const said = (level: LogLevel) => (message: string | Error, error?: Error) => {
    const cause = error ?? (message instanceof Error ? message : undefined);
    deps.logger.event(level, message instanceof Error ? message.message : message, { source: 'node-cron', ...(cause ? { error: cause } : {}) });
  };
  const logger = { info: said(LogLevel.INFO), warn: said(LogLevel.WARN), error: said(LogLevel.ERROR), debug: said(LogLevel.DEBUG) };
  const options = { timezone: deps.timeZone, noOverlap: true, logger };
  // Each job decides for itself what is due, so every schedule runs all of them; the review posts once a quarter.
  const tasks: ScheduledTask[] = [
    cron.schedule(deps.schedules.expiry, run, { name: 'follow-ups', ...options }),
    cron.schedule(deps.schedules.review, run, { name: 'quarterly-review', ...options }),
    cron.schedule(deps.schedules.metrics, run, { name: 'weekly-metrics', ...options }),
  ];
  const followUps = tasks[0]!;
  // Vendor calls take time, so the daily reconciliation has its own task, never overlapping itself, and no start-up run.
  let reconciling: Promise<void> | undefined;
  const reconcile = () => {
    reconciling ??= runReconciliation(deps.ctx, deps.ctx.clock())
      .then(({ vendors }) => {
        for (const vendor of vendors) if (vendor.error !== undefined) deps.logger.event(LogLevel.WARN, 'reconciliation could not read a vendor; its earlier findings are kept', { vendor: vendor.vendor, error: vendor.error });
        deps.afterRun();
      })
      .catch((error: unknown) => deps.logger.event(LogLevel.ERROR, 'scheduled reconciliation failed', { error }))
      .finally(() => {
        reconciling = undefined;
      });
    return reconciling;
  };
  if (deps.schedules.reconcile && Object.keys(deps.ctx.connectors.identity).length > 0) tasks.push(cron.schedule(deps.schedules.reconcile, reconcile, { name: 'reconciliation', ...options }));
  run();
  return {
    state(now) {
      // Overdue when the run the schedule promised is OVERDUE_AFTER_MS late: however irregular the schedule, and
      // without a false alarm over a weekend on a weekdays-only one.
      const overdue = expectedBy === null || now.getTime() > expectedBy.getTime() + OVERDUE_AFTER_MS;
      return { nextRunAt: followUps.getNextRun()?.toISOString() ?? null, lastRunAt: lastRunAt?.toISOString() ?? null, overdue, failures };
    },
    async stop() {
      await Promise.all(tasks.map((task) => task.destroy()));
      // The register closes after this: a reconciliation under way finishes its writes first.
      await reconciling;
    },
  };
}
