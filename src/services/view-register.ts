import { inArray, sql } from 'drizzle-orm';
import { auditTrail, type AuditEntry } from '../db/audit-chain';
import { exceptions } from '../db/schema';
import { mayRevoke, maySeeEverything } from '../domain/authority';
import { DomainError } from '../domain/errors';
import type { ExceptionStatus } from '../domain/exception';
import type { ServiceContext } from './context';
import { addCalendarDays, calendarDateIn } from '../domain/calendar';
import { getRecordFor, listWaiting, type ExceptionRecord } from './exception-record';
import { csvLines, exportRegister } from './export-register';
import { listExceptions, type ExceptionSummary } from './list-exceptions';

/** How many lines a list in Slack shows; the rest is one export away. */
export const LIST_LIMIT = 40;

/** What needs attention first, in the order `/exception list all` shows it. */
export const LIST_GROUPS = ['waiting', 'sent_back', 'expiring_soon', 'needs_attention', 'active'] as const;
export type ListGroup = (typeof LIST_GROUPS)[number];

/** "Expiring soon" means within this many days, as on the weekly post and App Home. */
export const EXPIRING_SOON_DAYS = 14;

export interface RegisterGroup {
  group: ListGroup;
  rows: ExceptionSummary[];
  /** How many the group holds in all; `rows` may show fewer. */
  total: number;
}

export interface RegisterListing {
  rows: ExceptionSummary[];
  /** True when there were more than LIST_LIMIT. */
  more: boolean;
  scope: 'mine' | 'all';
  status?: ExceptionStatus;
  /** `/exception list all` with no status: the open register by what needs attention, and how many ended ones it leaves out. */
  groups?: RegisterGroup[];
  ended?: Partial<Record<ExceptionStatus, number>>;
  /** Which of the listed exceptions wait on a renewal's assessment or decision. */
  renewing?: number[];
  /** Which of those are a change of terms rather than a renewal. */
  changingTerms?: number[];
  today: string;
}

function groupOf(row: ExceptionSummary, renewing: ReadonlySet<number>, soon: string): ListGroup | undefined {
  // Sent back, a request waits for its requester, not for the security team or a decider.
  if (row.sentBack) return 'sent_back';
  if (row.status === 'requested' || row.status === 'pending_approval' || renewing.has(row.id)) return 'waiting';
  if (row.status !== 'active') return undefined;
  if (row.expiresOn !== null && row.expiresOn <= soon) return 'expiring_soon';
  return row.attentionReason ? 'needs_attention' : 'active';
}

/** The open register grouped by what needs attention: each group shows its share of LIST_LIMIT, oldest wait and soonest expiry first. */
function groupedRegister(ctx: ServiceContext, today: string): Pick<RegisterListing, 'groups' | 'ended' | 'rows' | 'more' | 'renewing' | 'changingTerms'> {
  const open = listExceptions(ctx.db, { statuses: ['requested', 'pending_approval', 'active', 'expired'], limit: Number.MAX_SAFE_INTEGER });
  const waiting = listWaiting(ctx.db);
  const renewing = new Set(waiting.flatMap((item) => (item.open.round > 0 ? [item.id] : [])));
  const changing = new Set(waiting.flatMap((item) => (item.kind === 'amendment' ? [item.id] : [])));
  const soon = addCalendarDays(today, EXPIRING_SOON_DAYS);
  const byGroup = new Map<ListGroup, ExceptionSummary[]>(LIST_GROUPS.map((g) => [g, []]));
  const ended: Partial<Record<ExceptionStatus, number>> = {};
  for (const row of open) {
    const group = groupOf(row, renewing, soon);
    if (group) byGroup.get(group)!.push(row);
    else ended[row.status] = (ended[row.status] ?? 0) + 1;
  }
  for (const { status, n } of ctx.db.select({ status: exceptions.status, n: sql<number>`count(*)` }).from(exceptions).where(inArray(exceptions.status, ['rejected', 'closed', 'revoked'])).groupBy(exceptions.status).all()) {
    ended[status] = n;
  }
  byGroup.get('waiting')!.reverse();
  byGroup.get('expiring_soon')!.sort((a, b) => (a.expiresOn! < b.expiresOn! ? -1 : 1));
  const share = Math.floor(LIST_LIMIT / LIST_GROUPS.length);
  const groups = LIST_GROUPS.map((group) => ({ group, rows: byGroup.get(group)!.slice(0, share), total: byGroup.get(group)!.length })).filter((g) => g.total > 0);
  const rows = groups.flatMap((g) => g.rows);
  return { groups, ended, rows, more: groups.some((g) => g.total > g.rows.length), renewing: rows.flatMap((r) => (renewing.has(r.id) ? [r.id] : [])), changingTerms: rows.flatMap((r) => (changing.has(r.id) ? [r.id] : [])) };
}

/** Anyone lists their own exceptions; the whole register is for those who run the process and for auditors. */
export function listFor(ctx: ServiceContext, actorId: string, request: { all: boolean; status?: ExceptionStatus }): RegisterListing {
  if (request.all && !maySeeEverything(actorId, ctx.roles)) {
    throw new DomainError('not_authorised', 'The whole register is for the security team, approvers, the committee and auditors. `/exception list` shows the exceptions you requested or own.');
  }
  const today = calendarDateIn(ctx.clock(), ctx.timeZone);
  const scope = request.all ? 'all' : 'mine';
  if (request.all && !request.status) return { scope, today, ...groupedRegister(ctx, today) };
  const rows = listExceptions(ctx.db, { statuses: request.status ? [request.status] : undefined, involving: request.all ? undefined : actorId, limit: LIST_LIMIT + 1 });
  return { rows: rows.slice(0, LIST_LIMIT), more: rows.length > LIST_LIMIT, scope, status: request.status, today };
}

export interface RecordView {
  record: ExceptionRecord;
  history: AuditEntry[];
  canRevoke: boolean;
  /** The reader is its owner or requester, and it is active with no renewal open. */
  canRenew: boolean;
  /** The reader is its owner or requester, and it is active. */
  canClose: boolean;
  today: string;
}

/** The full record with its history, for the people who may see it; auditors read, never act. */
export function showFor(ctx: ServiceContext, actorId: string, exceptionId: number): RecordView {
  const record = getRecordFor(ctx.db, exceptionId, actorId, ctx.roles);
  const accountable = actorId === record.ownerId || actorId === record.requesterId;
  const active = record.status === 'active';
  return {
    record,
    history: auditTrail(ctx.db, exceptionId),
    canRevoke: active && mayRevoke(actorId, record, ctx.roles),
    canRenew: active && accountable && record.open === null,
    canClose: active && accountable,
    today: calendarDateIn(ctx.clock(), ctx.timeZone),
  };
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
