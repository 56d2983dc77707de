import { eq, sql } from 'drizzle-orm';
import type { Db } from './client';
import { jobRuns, type JobName } from './schema';

/**
 * Takes the job's lease if nobody holds it: runs never overlap, not even across two processes on one register.
 * A lease left by a crashed run lapses on its own.
 */
export function claimJob(db: Db, job: JobName, now: Date, leaseMs: number): boolean {
  const at = now.toISOString();
  const until = new Date(now.getTime() + leaseMs).toISOString();
  const claimed = db
    .insert(jobRuns)
    .values({ job, leaseUntil: until, lastStartedAt: at })
    .onConflictDoUpdate({
      target: jobRuns.job,
      set: { leaseUntil: until, lastStartedAt: at },
      setWhere: sql`${jobRuns.leaseUntil} is null or ${jobRuns.leaseUntil} <= ${at}`,
    })
    .run();
  return claimed.changes > 0;
}

export function finishJob(db: Db, job: JobName, finishedAt: Date, outcome: { asOf: Date; result?: string; error?: string }): void {
  db.update(jobRuns)
    .set({ leaseUntil: null, lastFinishedAt: finishedAt.toISOString(), lastAsOf: outcome.asOf.toISOString(), lastResult: outcome.result ?? null, lastError: outcome.error ?? null })
    .where(eq(jobRuns.job, job))
    .run();
}

export function jobHistory(db: Db): (typeof jobRuns.$inferSelect)[] {
  return db.select().from(jobRuns).all();
}
