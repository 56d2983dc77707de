import { eq } from 'drizzle-orm';
import type { Db } from './client';
import { jobRuns, type JobName } from './schema';

export interface JobRun {
  startedAt: Date;
  finishedAt: Date;
  asOf: Date;
}

/**
 * A run that did its work as of `asOf`. Written in the run's own transaction, so it is there exactly when the work is.
 * lease_until is cleared for registers where an earlier version left a crashed run's lease: nothing reads it now.
 */
export function recordJobDone(db: Db, job: JobName, run: JobRun, result: string): void {
  const done = { leaseUntil: null, lastStartedAt: run.startedAt.toISOString(), lastFinishedAt: run.finishedAt.toISOString(), lastAsOf: run.asOf.toISOString(), lastResult: result, lastError: null };
  db.insert(jobRuns).values({ job, ...done }).onConflictDoUpdate({ target: jobRuns.job, set: done }).run();
}

/** A run that did nothing, and why. last_as_of keeps the time the job last did its work as of, which later runs wait for. */
export function recordJobNotDone(db: Db, job: JobName, run: Omit<JobRun, 'asOf'>, outcome: { result: string } | { error: string }): void {
  const attempt = {
    lastStartedAt: run.startedAt.toISOString(),
    lastFinishedAt: run.finishedAt.toISOString(),
    lastResult: 'result' in outcome ? outcome.result : null,
    lastError: 'error' in outcome ? outcome.error : null,
  };
  db.insert(jobRuns).values({ job, ...attempt }).onConflictDoUpdate({ target: jobRuns.job, set: attempt }).run();
}

/** The time `job` last did its work as of, if it ever did. */
export function jobDoneAsOf(db: Db, job: JobName): Date | undefined {
  const at = db.select({ asOf: jobRuns.lastAsOf }).from(jobRuns).where(eq(jobRuns.job, job)).get()?.asOf;
  return at ? new Date(at) : undefined;
}

/** The latest time any job did its work as of: the register reflects at least that time. */
export function latestRunAsOf(db: Db): Date | undefined {
  const times = db.select({ asOf: jobRuns.lastAsOf }).from(jobRuns).all().flatMap((r) => (r.asOf ? [Date.parse(r.asOf)] : []));
  return times.length > 0 ? new Date(Math.max(...times)) : undefined;
}

export function jobHistory(db: Db): (typeof jobRuns.$inferSelect)[] {
  return db.select().from(jobRuns).all();
}
