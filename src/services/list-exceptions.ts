import { and, desc, eq, inArray, or, sql, type SQL } from 'drizzle-orm';
import { auditEvents, exceptions, policies } from '../db/schema';
import { formatExceptionRef, type ExceptionStatus } from '../domain/exception';
import type { Reader } from './exception-record';

export interface ExceptionSummary {
  id: number;
  ref: string;
  status: ExceptionStatus;
  policyKey: string;
  title: string;
  ownerId: string;
  requesterId: string;
  expiresOn: string | null;
  requestedExpiresOn: string;
  riskScore: number | null;
  /** Why the exception needs the security team's attention (a failed or unanswered check-in), if it does. */
  attentionReason: string | null;
  createdAt: string;
  /** Sent back to its requester for changes and not yet amended: it waits on nobody in the security team. */
  sentBack: boolean;
}

/** The last word on a request's changes is "changes requested": it waits for its requester to amend it. */
const SENT_BACK = sql<number>`case when ${exceptions.status} = 'requested' then coalesce((
  select ${auditEvents.kind} = 'exception.changes_requested' from ${auditEvents}
  where ${auditEvents.exceptionId} = ${exceptions.id} and ${auditEvents.kind} in ('exception.changes_requested', 'exception.amended')
  order by ${auditEvents.id} desc limit 1), 0) else 0 end`;

export interface ListFilter {
  statuses?: readonly ExceptionStatus[];
  /** Only the exceptions this person requested or owns. */
  involving?: string;
  limit?: number;
}

export function listExceptions(db: Reader, filter: ListFilter = {}): ExceptionSummary[] {
  const conditions: SQL[] = [];
  if (filter.statuses?.length) conditions.push(inArray(exceptions.status, [...filter.statuses]));
  if (filter.involving) conditions.push(or(eq(exceptions.requesterId, filter.involving), eq(exceptions.ownerId, filter.involving)) as SQL);
  const where = conditions.length > 0 ? and(...conditions) : undefined;
  return db
    .select({
      id: exceptions.id,
      status: exceptions.status,
      policyKey: policies.key,
      title: exceptions.title,
      ownerId: exceptions.ownerId,
      requesterId: exceptions.requesterId,
      expiresOn: exceptions.expiresOn,
      requestedExpiresOn: exceptions.requestedExpiresOn,
      riskScore: exceptions.riskScore,
      attentionReason: exceptions.attentionReason,
      createdAt: exceptions.createdAt,
      sentBack: SENT_BACK,
    })
    .from(exceptions)
    .innerJoin(policies, eq(policies.id, exceptions.policyId))
    .where(where)
    .orderBy(desc(exceptions.id))
    .limit(filter.limit ?? 1000)
    .all()
    .map((row) => ({ ...row, sentBack: Boolean(row.sentBack), ref: formatExceptionRef(row.id) }));
}
