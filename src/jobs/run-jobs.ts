import { LogLevel } from '@slack/bolt';
import { jobDoneAsOf, latestRunAsOf, recordJobDone, recordJobNotDone } from '../db/job-runs';
import { JOB_NAMES, type JobName } from '../db/schema';
import { DomainError } from '../domain/errors';
import type { StructuredLogger } from '../logger';
import type { ServiceContext } from '../services/context';
import { checkControls } from '../services/check-controls';
import { expireDue } from '../services/expire-due';
import { nudgeStalled } from '../services/nudge-stalled';
import { postQuarterlyReview } from '../services/quarterly-review';
import { sendReminders } from '../services/send-reminders';
import { postWeeklyMetrics } from '../services/weekly-metrics';

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

/** They read who is active as of a time: before that time's expiry sweep they would count, remind and ask about exceptions already over. */
const AFTER_EXPIRY: ReadonlySet<JobName> = new Set(['reminders', 'control_checkins', 'quarterly_review', 'weekly_metrics']);

/**
 * Stored for good and labelled with their week or quarter, yet they picture the register as it is when taken: as of
 * another time they would be wrong for that week, or stand in for its real post.
 */
const TAKEN_ONLY_NOW: ReadonlySet<JobName> = new Set(['quarterly_review', 'weekly_metrics']);

/** How far from the clock a time may be and still be now: a command line run takes a moment between parsing and running. */
const NOW_WITHIN_MS = 60_000;

export interface JobReport {
  job: JobName;
  /** False when it did nothing, and `result` says why: another run held the register, it waits for expiry, or it is taken only now. */
  ran: boolean;
  result?: string;
  error?: string;
}

const isBusy = (error: unknown) => String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY');

function whyNotNow(ctx: ServiceContext, job: JobName, asOf: Date, earlier: readonly JobReport[]): string | undefined {
  if (TAKEN_ONLY_NOW.has(job) && Math.abs(asOf.getTime() - ctx.clock().getTime()) > NOW_WITHIN_MS) {
    return `not run: it pictures the register as it is now, so it is taken only as of now, never as of ${asOf.toISOString()}`;
  }
  if (!AFTER_EXPIRY.has(job) || (jobDoneAsOf(ctx.db, 'expiry_sweep')?.getTime() ?? -Infinity) >= asOf.getTime()) return undefined;
  const sweep = earlier.find((report) => report.job === 'expiry_sweep');
  const because = sweep?.error ? `it failed: ${sweep.error}` : (sweep?.result ?? 'it did not run');
  return `waiting: expiry has not run as of ${asOf.toISOString()} (${because})`;
}

/**
 * One write transaction (BEGIN IMMEDIATE) from start to record: runs of a job never overlap, not even across processes
 * on one register, and one that dies holds nothing, since SQLite's lock goes with its process. A lease row would
 * outlive a crash and make the restart skip the job.
 */
function runJob(ctx: ServiceContext, job: JobName, asOf: Date, earlier: readonly JobReport[], logger?: StructuredLogger): JobReport {
  const fields = { job, asOf: asOf.toISOString() };
  const startedAt = ctx.clock();
  try {
    const report = ctx.db.transaction(
      (): JobReport => {
        const notNow = whyNotNow(ctx, job, asOf, earlier);
        if (notNow) {
          recordJobNotDone(ctx.db, job, { startedAt, finishedAt: ctx.clock() }, { result: notNow });
          return { job, ran: false, result: notNow };
        }
        const result = JOBS[job](ctx, asOf);
        recordJobDone(ctx.db, job, { startedAt, finishedAt: ctx.clock(), asOf }, result);
        return { job, ran: true, result };
      },
      { behavior: 'immediate' },
    );
    logger?.event(report.ran ? LogLevel.INFO : LogLevel.WARN, report.ran ? 'job finished' : 'job did not run', { ...fields, result: report.result });
    return report;
  } catch (error) {
    if (isBusy(error)) {
      const result = 'skipped: another run holds the register; whatever is due is done by it or the next run';
      logger?.event(LogLevel.INFO, 'job did not run', { ...fields, result });
      return { job, ran: false, result };
    }
    logger?.event(LogLevel.ERROR, 'job failed', { ...fields, error });
    const message = error instanceof Error ? error.message : String(error);
    try {
      recordJobNotDone(ctx.db, job, { startedAt, finishedAt: ctx.clock() }, { error: message });
    } catch (unrecorded) {
      // The register itself cannot be written: the report (and the scheduler's health) carries the failure instead.
      logger?.event(LogLevel.ERROR, 'job failure not recorded in the register', { ...fields, error: unrecorded });
    }
    return { job, ran: true, error: message };
  }
}

/** The one entry point for the scheduler, start-up catch-up and `exceptions jobs run --at`. Expiry goes first. */
export function runJobs(ctx: ServiceContext, asOf: Date, logger?: StructuredLogger): JobReport[] {
  const reports: JobReport[] = [];
  for (const job of JOB_NAMES) reports.push(runJob(ctx, job, asOf, reports, logger));
  return reports;
}

/**
 * Refuses a time the register has moved past: exceptions have expired and reminders been recorded as of later, so
 * nothing judged as of then would be true, and a week's or quarter's post would be stored under the wrong period.
 */
export function refuseTimeBeforeLastRun(ctx: ServiceContext, asOf: Date): void {
  const last = latestRunAsOf(ctx.db);
  if (last && asOf.getTime() < last.getTime()) {
    throw new DomainError(
      'conflict',
      `The jobs have already run as of ${last.toISOString()}, later than ${asOf.toISOString()}; nothing was run. Run them as of now (without --at) or as of a later time.`,
    );
  }
}
