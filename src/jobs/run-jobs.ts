import { LogLevel } from '@slack/bolt';
import { claimJob, finishJob } from '../db/job-runs';
import { JOB_NAMES, type JobName } from '../db/schema';
import type { StructuredLogger } from '../logger';
import type { ServiceContext } from '../services/context';
import { checkControls } from '../services/check-controls';
import { expireDue } from '../services/expire-due';
import { nudgeStalled } from '../services/nudge-stalled';
import { postQuarterlyReview } from '../services/quarterly-review';
import { sendReminders } from '../services/send-reminders';
import { postWeeklyMetrics } from '../services/weekly-metrics';

/** A crashed run's lease lapses after this long; a healthy run takes milliseconds. */
const LEASE_MS = 5 * 60_000;

const list = (refs: string[]) => (refs.length > 0 ? refs.join(', ') : 'none');

/** Every job does "everything due as of now and not yet done", so a late or repeated run catches up and never repeats. */
const JOBS: Record<JobName, (ctx: ServiceContext, now: Date) => string> = {
  expiry_sweep: (ctx, now) => `expired: ${list(expireDue(ctx, now))}`,
  reminders: (ctx, now) => `reminded: ${list(sendReminders(ctx, now))}`,
  stalled_decisions: (ctx, now) => {
    const { nudged, escalated } = nudgeStalled(ctx, now);
    return `nudged: ${list(nudged)}; escalated: ${list(escalated)}`;
  },
  control_checkins: (ctx, now) => {
    const { asked, overdue } = checkControls(ctx, now);
    return `asked: ${list(asked)}; unanswered: ${list(overdue)}`;
  },
  quarterly_review: (ctx, now) => postQuarterlyReview(ctx, now) ?? 'not due',
  weekly_metrics: (ctx, now) => postWeeklyMetrics(ctx, now) ?? 'not due',
};

export interface JobReport {
  job: JobName;
  /** False when another run held the lease, so this one stood aside. */
  ran: boolean;
  result?: string;
  error?: string;
}

/** The one entry point for the scheduler, start-up catch-up and `exceptions jobs run --at`. Expiry goes first. */
export function runJobs(ctx: ServiceContext, asOf: Date, logger?: StructuredLogger): JobReport[] {
  return JOB_NAMES.map((job) => {
    if (!claimJob(ctx.db, job, ctx.clock(), LEASE_MS)) return { job, ran: false };
    try {
      const result = JOBS[job](ctx, asOf);
      finishJob(ctx.db, job, ctx.clock(), { asOf, result });
      logger?.event(LogLevel.INFO, 'job finished', { job, asOf: asOf.toISOString(), result });
      return { job, ran: true, result };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      finishJob(ctx.db, job, ctx.clock(), { asOf, error: message });
      logger?.event(LogLevel.ERROR, 'job failed', { job, asOf: asOf.toISOString(), error });
      return { job, ran: true, error: message };
    }
  });
}
