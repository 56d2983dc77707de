import { sql } from 'drizzle-orm';
import type { Db } from './db/client';
import { jobHistory } from './db/job-runs';
import { outboxBacklog } from './db/outbox';
import { lastReconciliations } from './db/integrations';
import { integrationTasks, JOB_NAMES } from './db/schema';
import type { Scheduler } from './jobs/scheduler';
import type { SocketModeHealth } from './slack/socket-mode-receiver';

export interface HealthReport {
  /** False only when the register cannot be read: the one thing that makes the app useless (HTTP 503). */
  ok: boolean;
  database: string;
  outbox?: ReturnType<typeof outboxBacklog>;
  /** The last run of each job, from the register, so it covers runs by any process and by `exceptions jobs run`. */
  jobs?: Record<string, { lastStartedAt: string | null; lastFinishedAt: string | null; lastAsOf: string | null; lastResult: string | null; lastError: string | null }>;
  scheduler?: ReturnType<Scheduler['state']> | { running: false };
  /** In Socket Mode: whether Slack can reach the app at all, since when, and the last failure to connect. */
  socketMode?: SocketModeHealth;
  /** The last reconciliation of each identity provider, and the vendor changes not taken yet (`failing`: tried and refused or unreachable). */
  integrations?: {
    reconciliations: { vendor: string; at: string; groups: number; members: number; findings: number; error: string | null }[];
    tasks: { pending: number; oldestPendingSince: string | null; failing: number };
  };
}

/** What GET /healthz answers: enough for a monitor to alert on a lost database, a growing outbox or a stuck scheduler. */
export function healthReport(db: Db, scheduler: Scheduler | undefined, now: Date, socketMode?: SocketModeHealth): HealthReport {
  try {
    db.get(sql`select 1`);
    const runs = new Map(jobHistory(db).map((run) => [run.job, run]));
    const jobs = Object.fromEntries(
      JOB_NAMES.map((job) => {
        const run = runs.get(job);
        return [
          job,
          {
            lastStartedAt: run?.lastStartedAt ?? null,
            lastFinishedAt: run?.lastFinishedAt ?? null,
            lastAsOf: run?.lastAsOf ?? null,
            lastResult: run?.lastResult ?? null,
            lastError: run?.lastError ?? null,
          },
        ];
      }),
    );
    return { ok: true, database: 'ok', outbox: outboxBacklog(db), jobs, scheduler: scheduler?.state(now) ?? { running: false }, integrations: integrationHealth(db), ...(socketMode ? { socketMode } : {}) };
  } catch (error) {
    return { ok: false, database: error instanceof Error ? error.message : String(error), ...(socketMode ? { socketMode } : {}) };
  }
}

function integrationHealth(db: Db): NonNullable<HealthReport['integrations']> {
  const reconciliations = lastReconciliations(db).map((run) => ({ vendor: run.vendor, at: run.finishedAt ?? run.startedAt, groups: run.groupsChecked, members: run.membersChecked, findings: run.findings, error: run.error }));
  const backlog = db
    .select({ pending: sql<number>`count(*)`, oldest: sql<string | null>`min(${integrationTasks.createdAt})`, failing: sql<number>`coalesce(sum(${integrationTasks.attempts} > 0), 0)` })
    .from(integrationTasks)
    .where(sql`${integrationTasks.state} = 'pending'`)
    .get();
  return { reconciliations, tasks: { pending: backlog?.pending ?? 0, oldestPendingSince: backlog?.oldest ?? null, failing: backlog?.failing ?? 0 } };
}

/** What anyone who can reach the port sees: up or not, and counts. Nothing that names an exception, a person or a file. */
export interface PublicHealthReport {
  ok: boolean;
  database: 'ok' | 'unavailable';
  outbox?: { pending: number; dead: number };
  /** How many jobs failed on their last run; which, and why, is in the details. */
  jobsFailing?: number;
  /** `failures`: how many jobs (or whole runs) failed in the scheduler's last run, even those the register could not record. */
  scheduler?: { running: boolean; overdue?: boolean; failures?: number };
  socketMode?: { connected: boolean };
  details: string;
}

export function publicHealthReport(report: HealthReport): PublicHealthReport {
  const scheduler = report.scheduler && ('overdue' in report.scheduler ? { running: true, overdue: report.scheduler.overdue, failures: report.scheduler.failures.length } : { running: false });
  return {
    ok: report.ok,
    database: report.ok ? 'ok' : 'unavailable',
    ...(report.outbox ? { outbox: { pending: report.outbox.pending, dead: report.outbox.dead } } : {}),
    ...(report.jobs ? { jobsFailing: Object.values(report.jobs).filter((job) => job.lastError !== null).length } : {}),
    ...(scheduler ? { scheduler } : {}),
    ...(report.socketMode ? { socketMode: { connected: report.socketMode.connected } } : {}),
    details: 'send Authorization: Bearer <HEALTHZ_TOKEN> for the details',
  };
}
