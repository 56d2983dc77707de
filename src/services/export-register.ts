import { and, gt, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { integrationStatus, type IntegrationStatus } from '../db/integrations';
import { assessments, auditEvents, decisions, driftFindings, exceptionBindings, exceptionIssues, exceptions, integrationTasks, policies, reconciliationRuns, renewals, amendments } from '../db/schema';
import { AMENDABLE_FIELD_LABELS, termChangesOf, type ProposedTerms } from '../domain/amendment';
import { addCalendarDays, calendarDateIn, type CalendarDate } from '../domain/calendar';
import { formatExceptionRef, type ExceptionStatus } from '../domain/exception';
import { bypassIntent } from '../domain/integrations';
import type { Reader } from './exception-record';

/** The columns an ISO 27001 (A.5.15, A.8.2) or SOC 2 (CC6) auditor asks for, one row per exception. */
export const EXPORT_COLUMNS = [
  'id',
  'status',
  /** Whom an open request or renewal waits on now; a request sent back for changes waits for its requester, not for a decision. */
  'waiting_for',
  'policy_key',
  'policy_title',
  'title',
  'scope',
  'affected_systems',
  'external_ref',
  /** Where the register applies it: the identity provider's bypass group and its people, the change-management issue. */
  'applied_in',
  /** Whether each vendor holds what the register says, and a person the last reconciliation found missing from the group. */
  'in_sync',
  /** The last reconciliation that read its bypass group's vendor through, for an exception that names one. */
  'last_reconciled_at',
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
  /** Each change of its terms asked for since approval: both versions of each field it changed, and what became of it. */
  'term_changes',
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
  /** Requested on or after this day in `timeZone`. */
  from?: CalendarDate;
  /** Requested on or before this day in `timeZone`. */
  to?: CalendarDate;
  /** The organisation's TZ, whose days `from` and `to` are. */
  timeZone?: string;
}

function groupBy<T extends { exceptionId: number }>(rows: T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const row of rows) {
    const group = groups.get(row.exceptionId);
    if (group) group.push(row);
    else groups.set(row.exceptionId, [row]);
  }
  return groups;
}

/** Exceptions read per query: small pages die young in the garbage collector, so memory stays flat however large the register. */
const PAGE_SIZE = 200;

/** The columns the export reads, in the shape SQLite returns them: read as plain rows, since an export reads them all. */
interface ExceptionColumns {
  id: number;
  status: ExceptionStatus;
  policyKey: string;
  policyTitle: string;
  title: string;
  scope: string;
  affectedSystems: string | null;
  externalRef: string | null;
  justification: string;
  compensatingControls: string;
  requesterId: string;
  ownerId: string;
  structural: number;
  structuralReason: string | null;
  route: string | null;
  createdAt: string;
  activatedAt: string | null;
  expiresOn: string | null;
  originalExpiresOn: string | null;
  renewalCount: number;
  lastReviewedAt: string | null;
  lastReviewedBy: string | null;
  lastCheckinOn: string | null;
  attentionReason: string | null;
  closedAt: string | null;
  closingNote: string | null;
  currentRound: number;
  /** 1 when the request's latest word on changes is a send-back not yet amended. */
  sentBack: number;
}

/**
 * The whole register as evidence: every decision (who, when), every renewal with its evidence, reviews and
 * check-ins. Rows come page by page in ID order, so a register of any size streams in bounded memory; plain SQL
 * rows rather than mapped entities, because mapping 100,000 rows costs more than reading them.
 */
export function* exportRegister(db: Reader, filter: ExportFilter = {}): Generator<ExportRow> {
  const conditions: SQL[] = [];
  if (filter.statuses?.length) conditions.push(inArray(exceptions.status, [...filter.statuses]));
  // A day in TZ starts up to 14 hours either side of midnight UTC: a day of slack in SQL, then each request's own day decides.
  if (filter.from) conditions.push(gte(exceptions.createdAt, `${addCalendarDays(filter.from, -1)}T00:00:00.000Z`));
  if (filter.to) conditions.push(lt(exceptions.createdAt, `${addCalendarDays(filter.to, 2)}T00:00:00.000Z`));
  const timeZone = filter.timeZone ?? 'UTC';
  const requestedWithin = (createdAt: string) => {
    const day = calendarDateIn(new Date(createdAt), timeZone);
    return (!filter.from || day >= filter.from) && (!filter.to || day <= filter.to);
  };
  const reconciled = new Map(
    db.all<{ vendor: string; at: string }>(sql`select vendor, max(finished_at) as at from ${reconciliationRuns} where error is null and finished_at is not null group by vendor`).map((run) => [run.vendor, run.at]),
  );
  for (let after = 0; ; ) {
    const page = db.all<ExceptionColumns>(sql`
      select exceptions.id, exceptions.status, policies.key as policyKey, policies.title as policyTitle, exceptions.title, scope,
        affected_systems as affectedSystems, external_ref as externalRef, justification, compensating_controls as compensatingControls,
        requester_id as requesterId, owner_id as ownerId, structural, structural_reason as structuralReason, route,
        exceptions.created_at as createdAt, activated_at as activatedAt, expires_on as expiresOn, original_expires_on as originalExpiresOn,
        renewal_count as renewalCount, last_reviewed_at as lastReviewedAt, last_reviewed_by as lastReviewedBy,
        last_checkin_on as lastCheckinOn, attention_reason as attentionReason, closed_at as closedAt, closing_note as closingNote,
        current_round as currentRound,
        case when ${exceptions.status} = 'requested' then coalesce((
          select ${auditEvents.kind} = 'exception.changes_requested' from ${auditEvents}
          where ${auditEvents.exceptionId} = ${exceptions.id} and ${auditEvents.kind} in ('exception.changes_requested', 'exception.amended')
          order by ${auditEvents.id} desc limit 1), 0) else 0 end as sentBack
      from ${exceptions} join ${policies} on ${policies.id} = ${exceptions.policyId}
      where ${and(gt(exceptions.id, after), ...conditions)}
      order by ${exceptions.id} limit ${PAGE_SIZE}`);
    if (page.length === 0) return;
    after = page.at(-1)!.id;
    const rows = filter.from || filter.to ? page.filter((row) => requestedWithin(row.createdAt)) : page;
    if (rows.length === 0) continue;
    // A page of consecutive numbers (the whole register) is one index range; under a filter, where its first and
    // last may lie far apart, it is its own list of IDs.
    const first = rows[0]!.id;
    const last = rows.at(-1)!.id;
    const ofPage =
      last - first + 1 === rows.length
        ? sql`exception_id between ${first} and ${last}`
        : sql`exception_id in (${sql.join(
            rows.map((r) => sql`${r.id}`),
            sql`, `,
          )})`;
    const assessed = groupBy(
      db.all<{ exceptionId: number; likelihood: number; impact: number; score: number; assessorId: string; assessedAt: string }>(sql`
        select exception_id as exceptionId, likelihood, impact, score, assessor_id as assessorId, assessed_at as assessedAt
        from ${assessments} where ${ofPage} order by exception_id, round`),
    );
    const decided = groupBy(
      db.all<{ exceptionId: number; round: number; outcome: string; deciderId: string; decidedAt: string; comment: string | null }>(sql`
        select exception_id as exceptionId, round, outcome, decider_id as deciderId, decided_at as decidedAt, comment
        from ${decisions} where ${ofPage} order by exception_id, id`),
    );
    const renewed = groupBy(
      db.all<{ exceptionId: number; round: number; status: string; createdAt: string; requestedBy: string; percentComplete: number; controlTestedOn: string; newExpiresOn: string | null; requestedExpiresOn: string; evidenceUrl: string | null; progress: string }>(sql`
        select exception_id as exceptionId, round, status, created_at as createdAt, requested_by as requestedBy, percent_complete as percentComplete,
          control_tested_on as controlTestedOn, new_expires_on as newExpiresOn, requested_expires_on as requestedExpiresOn, evidence_url as evidenceUrl, progress
        from ${renewals} where ${ofPage} order by exception_id, round`),
    );
    const changed = groupBy(
      db.all<{ exceptionId: number; round: number; status: string; createdAt: string; requestedBy: string; reason: string } & ProposedTerms>(sql`
        select exception_id as exceptionId, round, status, created_at as createdAt, requested_by as requestedBy, reason, scope, affected_systems as affectedSystems,
          compensating_controls as compensatingControls, previous_scope as previousScope, previous_affected_systems as previousAffectedSystems, previous_compensating_controls as previousCompensatingControls
        from ${amendments} where ${ofPage} order by exception_id, round`),
    );
    // Most exceptions name no vendor: only those that do are read in full.
    const integrated = new Set(
      db
        .all<{ exceptionId: number }>(
          sql`select exception_id as exceptionId from ${exceptionBindings} where ${ofPage}
            union select exception_id from ${exceptionIssues} where ${ofPage}
            union select exception_id from ${integrationTasks} where state = 'pending' and ${ofPage}`,
        )
        .map((row) => row.exceptionId),
    );
    const missing = groupBy(db.all<{ exceptionId: number; person: string }>(sql`select exception_id as exceptionId, coalesce(person_email, person) as person from ${driftFindings} where kind = 'missing' and ${ofPage} order by exception_id, person`));
    for (const e of rows) {
      const assessment = (assessed.get(e.id) ?? []).at(-1);
      const integration = integrated.has(e.id) ? integrationStatus(db, e.id, e.status) : undefined;
      const renewalNumber = new Map((renewed.get(e.id) ?? []).map((r, index) => [r.round, index + 1]));
      const open = (r: { round: number; status: string }) => r.round === e.currentRound && (r.status === 'requested' || r.status === 'pending_approval');
      const renewal = (renewed.get(e.id) ?? []).find(open);
      const change = (changed.get(e.id) ?? []).find(open);
      // Rounds count renewals and changes of terms together; each is named as people know it.
      const roundName = (round: number) => (round === 0 ? 'request' : renewalNumber.has(round) ? `renewal ${renewalNumber.get(round)}` : 'change of terms');
      const votes = decided.get(e.id) ?? [];
      yield {
        id: formatExceptionRef(e.id),
        status: e.status,
        waiting_for: waitingFor(e, renewal ? { name: roundName(renewal.round), status: renewal.status } : change && e.status === 'active' ? { name: 'change of terms', status: change.status } : undefined),
        policy_key: e.policyKey,
        policy_title: e.policyTitle,
        title: e.title,
        scope: e.scope,
        affected_systems: e.affectedSystems,
        external_ref: e.externalRef,
        applied_in: integration ? appliedIn(integration) : null,
        in_sync: integration ? inSync(e.status, integration, (missing.get(e.id) ?? []).map((m) => m.person)) : null,
        last_reconciled_at: integration?.bypass ? (reconciled.get(integration.bypass.vendor) ?? null) : null,
        business_justification: e.justification,
        compensating_controls: e.compensatingControls,
        requester: e.requesterId,
        owner: e.ownerId,
        structural: e.structural === 1,
        structural_reason: e.structuralReason,
        risk_likelihood: assessment?.likelihood ?? null,
        risk_impact: assessment?.impact ?? null,
        risk_score: assessment?.score ?? null,
        risk_assessed_by: assessment?.assessorId ?? null,
        risk_assessed_at: assessment?.assessedAt ?? null,
        decided_by: e.route,
        decisions: votes.map((v) => `${roundName(v.round)}: ${v.outcome} by ${v.deciderId} at ${v.decidedAt}${v.comment ? ` (${v.comment})` : ''}`).join('; '),
        requested_at: e.createdAt,
        approved_at: e.activatedAt,
        expires_on: e.expiresOn,
        original_expires_on: e.originalExpiresOn,
        renewal_count: e.renewalCount,
        renewals: (renewed.get(e.id) ?? [])
          .map(
            (r) =>
              `${roundName(r.round)} (${r.status}) asked ${r.createdAt} by ${r.requestedBy}: ${r.percentComplete}% done, control tested ${r.controlTestedOn}, until ${r.newExpiresOn ?? r.requestedExpiresOn}${r.evidenceUrl ? `, evidence ${r.evidenceUrl}` : ''}; progress: ${r.progress}`,
          )
          .join(' | '),
        term_changes: (changed.get(e.id) ?? [])
          .map(
            (c) =>
              `change of terms (${c.status}) asked ${c.createdAt} by ${c.requestedBy}: ${termChangesOf(c)
                .map((f) => `${AMENDABLE_FIELD_LABELS[f.field].toLowerCase()} from "${f.from ?? ''}" to "${f.to ?? ''}"`)
                .join(', ')}; why: ${c.reason}`,
          )
          .join(' | '),
        last_reviewed_at: e.lastReviewedAt,
        last_reviewed_by: e.lastReviewedBy,
        last_control_checkin: e.lastCheckinOn,
        needs_attention: e.attentionReason,
        closed_at: e.closedAt,
        closing_note: e.closingNote,
      };
    }
  }
}

/** "Okta group MFA-exempt (00g…): ana@acme.com, kim@acme.com; Jira SEC-142 https://…". */
function appliedIn(integration: IntegrationStatus): string | null {
  const places: string[] = [];
  const { bypass, issue } = integration;
  if (bypass) {
    const people = bypass.people.map((p) => p.email ?? p.displayName ?? p.vendorUserId);
    places.push(`${bypass.vendorLabel} group ${bypass.groupName} (${bypass.groupId}): ${people.length > 0 ? people.join(', ') : 'nobody'}`);
  }
  if (issue) places.push(`${issue.vendorLabel} ${issue.key} ${issue.url}`);
  else if (integration.issuePending) places.push('Jira issue not created yet');
  return places.length > 0 ? places.join('; ') : null;
}

/** "in sync", or what a vendor has not taken yet and why, in the words `exceptions show` uses. */
function inSync(status: ExceptionStatus, integration: IntegrationStatus, missingPeople: string[]): string {
  const gaps: string[] = [];
  const { bypass, issue } = integration;
  const pendingWords = (pending: NonNullable<IntegrationStatus['issuePending']>) =>
    pending.attempts === 0 ? `on its way since ${pending.since}` : `failing since ${pending.since} (${pending.attempts} attempts)${pending.lastError ? `: ${pending.lastError}` : ''}`;
  if (bypass?.pending) gaps.push(`${bypass.vendorLabel}: ${bypass.state === 'removing' ? 'being removed' : 'being applied'}, ${pendingWords(bypass.pending)}`);
  else if (bypass && !bypass.inSync) gaps.push(bypassIntent(status) === 'remove' ? `${bypass.vendorLabel}: ended in the register, still applied` : `${bypass.vendorLabel}: not applied yet`);
  if (missingPeople.length > 0 && bypass) gaps.push(`${bypass.vendorLabel}: the last reconciliation found ${missingPeople.join(', ')} not in the group`);
  if (issue?.pending) gaps.push(`${issue.vendorLabel}: ${pendingWords(issue.pending)}`);
  if (integration.issuePending) gaps.push(`Jira: ${pendingWords(integration.issuePending)}`);
  return gaps.length > 0 ? `NOT in sync: ${gaps.join('; ')}` : 'in sync';
}

/** In the words the cards use; empty when nothing waits on anyone. */
function waitingFor(e: Pick<ExceptionColumns, 'status' | 'sentBack'>, round: { name: string; status: string } | undefined): string {
  if (e.status === 'requested') return e.sentBack ? 'requester (sent back for changes)' : 'risk assessment';
  if (e.status === 'pending_approval') return 'decision';
  if (round && (e.status === 'active' || e.status === 'expired')) return `${round.name} ${round.status === 'requested' ? 'risk assessment' : 'decision'}`;
  return '';
}

/** Spreadsheet programs run cells that start like a formula; an export is opened by auditors, so those are defused. */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = typeof value === 'string' && FORMULA_START.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180, a header row of the column names and then one line per row, each ending in CRLF. */
export function* csvLines(rows: Iterable<ExportRow>): Generator<string> {
  yield `${EXPORT_COLUMNS.join(',')}\r\n`;
  for (const row of rows) yield `${EXPORT_COLUMNS.map((column) => csvCell(row[column])).join(',')}\r\n`;
}
