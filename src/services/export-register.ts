import { and, asc, eq, gte, inArray, lt, type SQL } from 'drizzle-orm';
import { assessments, decisions, exceptions, policies, renewals } from '../db/schema';
import { addCalendarDays, type CalendarDate } from '../domain/calendar';
import { formatExceptionRef, type ExceptionStatus } from '../domain/exception';
import type { Reader } from './exception-record';

/** The columns an ISO 27001 (A.5.15, A.8.2) or SOC 2 (CC6) auditor asks for, one row per exception. */
export const EXPORT_COLUMNS = [
  'id',
  'status',
  'policy_key',
  'policy_title',
  'title',
  'scope',
  'affected_systems',
  'external_ref',
  'business_justification',
  'compensating_controls',
  'requester',
  'owner',
  'structural',
  'structural_reason',
  'risk_likelihood',
  'risk_impact',
  'risk_score',
  'risk_assessed_by',
  'risk_assessed_at',
  'decided_by',
  'decisions',
  'requested_at',
  'approved_at',
  'expires_on',
  'original_expires_on',
  'renewal_count',
  'renewals',
  'last_reviewed_at',
  'last_reviewed_by',
  'last_control_checkin',
  'needs_attention',
  'closed_at',
  'closing_note',
] as const;
export type ExportColumn = (typeof EXPORT_COLUMNS)[number];
export type ExportRow = Record<ExportColumn, string | number | boolean | null>;

export interface ExportFilter {
  statuses?: readonly ExceptionStatus[];
  /** Requested on or after this day (UTC). */
  from?: CalendarDate;
  /** Requested on or before this day (UTC). */
  to?: CalendarDate;
}

function groupBy<T extends { exceptionId: number }>(rows: T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const row of rows) groups.set(row.exceptionId, [...(groups.get(row.exceptionId) ?? []), row]);
  return groups;
}

/** The whole register as evidence: every decision (who, when), every renewal with its evidence, reviews and check-ins. */
export function exportRegister(db: Reader, filter: ExportFilter = {}): ExportRow[] {
  const conditions: SQL[] = [];
  if (filter.statuses?.length) conditions.push(inArray(exceptions.status, [...filter.statuses]));
  if (filter.from) conditions.push(gte(exceptions.createdAt, `${filter.from}T00:00:00.000Z`));
  if (filter.to) conditions.push(lt(exceptions.createdAt, `${addCalendarDays(filter.to, 1)}T00:00:00.000Z`));
  const rows = db
    .select({ exception: exceptions, policyKey: policies.key, policyTitle: policies.title })
    .from(exceptions)
    .innerJoin(policies, eq(policies.id, exceptions.policyId))
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(asc(exceptions.id))
    .all();
  const ids = rows.map((r) => r.exception.id);
  if (ids.length === 0) return [];
  const assessed = groupBy(db.select().from(assessments).where(inArray(assessments.exceptionId, ids)).orderBy(asc(assessments.round)).all());
  const decided = groupBy(db.select().from(decisions).where(inArray(decisions.exceptionId, ids)).orderBy(asc(decisions.id)).all());
  const renewed = groupBy(db.select().from(renewals).where(inArray(renewals.exceptionId, ids)).orderBy(asc(renewals.round)).all());

  return rows.map(({ exception: e, policyKey, policyTitle }) => {
    const assessment = (assessed.get(e.id) ?? []).at(-1);
    const votes = decided.get(e.id) ?? [];
    return {
      id: formatExceptionRef(e.id),
      status: e.status,
      policy_key: policyKey,
      policy_title: policyTitle,
      title: e.title,
      scope: e.scope,
      affected_systems: e.affectedSystems,
      external_ref: e.externalRef,
      business_justification: e.justification,
      compensating_controls: e.compensatingControls,
      requester: e.requesterId,
      owner: e.ownerId,
      structural: e.structural,
      structural_reason: e.structuralReason,
      risk_likelihood: assessment?.likelihood ?? null,
      risk_impact: assessment?.impact ?? null,
      risk_score: assessment?.score ?? null,
      risk_assessed_by: assessment?.assessorId ?? null,
      risk_assessed_at: assessment?.assessedAt ?? null,
      decided_by: e.route,
      decisions: votes.map((v) => `${v.round === 0 ? 'request' : `renewal ${v.round}`}: ${v.outcome} by ${v.deciderId} at ${v.decidedAt}${v.comment ? ` (${v.comment})` : ''}`).join('; '),
      requested_at: e.createdAt,
      approved_at: e.activatedAt,
      expires_on: e.expiresOn,
      original_expires_on: e.originalExpiresOn,
      renewal_count: e.renewalCount,
      renewals: (renewed.get(e.id) ?? [])
        .map(
          (r) =>
            `renewal ${r.round} (${r.status}) asked ${r.createdAt} by ${r.requestedBy}: ${r.percentComplete}% done, control tested ${r.controlTestedOn}, until ${r.newExpiresOn ?? r.requestedExpiresOn}${r.evidenceUrl ? `, evidence ${r.evidenceUrl}` : ''}; progress: ${r.progress}`,
        )
        .join(' | '),
      last_reviewed_at: e.lastReviewedAt,
      last_reviewed_by: e.lastReviewedBy,
      last_control_checkin: e.lastCheckinOn,
      needs_attention: e.attentionReason,
      closed_at: e.closedAt,
      closing_note: e.closingNote,
    };
  });
}

/** Spreadsheet programs run cells that start like a formula; an export is opened by auditors, so those are defused. */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = typeof value === 'string' && FORMULA_START.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180, with a header row of the column names. */
export function toCsv(rows: readonly ExportRow[]): string {
  return [EXPORT_COLUMNS.join(','), ...rows.map((row) => EXPORT_COLUMNS.map((column) => csvCell(row[column])).join(','))].join('\r\n') + '\r\n';
}
