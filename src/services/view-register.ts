import { auditTrail, type AuditEntry } from '../db/audit-chain';
import { mayRevoke, maySeeEverything } from '../domain/authority';
import { DomainError } from '../domain/errors';
import type { ExceptionStatus } from '../domain/exception';
import type { ServiceContext } from './context';
import { getRecordFor, type ExceptionRecord } from './exception-record';
import { csvLines, exportRegister } from './export-register';
import { listExceptions, type ExceptionSummary } from './list-exceptions';

/** How many lines a list in Slack shows; the rest is one export away. */
export const LIST_LIMIT = 40;

export interface RegisterListing {
  rows: ExceptionSummary[];
  /** True when there were more than LIST_LIMIT. */
  more: boolean;
  scope: 'mine' | 'all';
}

/** Anyone lists their own exceptions; the whole register is for those who run the process and for auditors. */
export function listFor(ctx: ServiceContext, actorId: string, request: { all: boolean; status?: ExceptionStatus }): RegisterListing {
  if (request.all && !maySeeEverything(actorId, ctx.roles)) {
    throw new DomainError('not_authorised', 'The whole register is for the security team, approvers, the committee and auditors. `/exception list` shows the exceptions you requested or own.');
  }
  const rows = listExceptions(ctx.db, { statuses: request.status ? [request.status] : undefined, involving: request.all ? undefined : actorId, limit: LIST_LIMIT + 1 });
  return { rows: rows.slice(0, LIST_LIMIT), more: rows.length > LIST_LIMIT, scope: request.all ? 'all' : 'mine' };
}

export interface RecordView {
  record: ExceptionRecord;
  history: AuditEntry[];
  canRevoke: boolean;
}

/** The full record with its history, for the people who may see it; auditors read, never act. */
export function showFor(ctx: ServiceContext, actorId: string, exceptionId: number): RecordView {
  const record = getRecordFor(ctx.db, exceptionId, actorId, ctx.roles);
  return { record, history: auditTrail(ctx.db, exceptionId), canRevoke: record.status === 'active' && mayRevoke(actorId, record, ctx.roles) };
}

/** Only an auditor or the security team takes the whole register away; checked before anything is built. */
export function authorizeExport(ctx: ServiceContext, actorId: string): void {
  if (!ctx.roles.auditors.has(actorId) && !ctx.roles.securityTeam.has(actorId)) {
    throw new DomainError('not_authorised', 'The export is for auditors and the security team. `/exception list` shows the exceptions you requested or own.');
  }
}

/** The register as a CSV file. */
/** Rows built between two yields to the event loop. */
const ROWS_PER_TURN = 500;

/**
 * The register as a CSV file. A large register takes a second or two, so the work yields to the event loop
 * every few hundred rows: acknowledgements of other people's clicks meanwhile are not held up.
 */
export async function buildExport(ctx: ServiceContext, today: string): Promise<{ filename: string; csv: string; rows: number }> {
  const lines: string[] = [];
  // The first line is the header, not a row.
  let rows = -1;
  for (const line of csvLines(exportRegister(ctx.db))) {
    lines.push(line);
    if (++rows % ROWS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return { filename: `exception-register-${today}.csv`, csv: lines.join(''), rows };
}
