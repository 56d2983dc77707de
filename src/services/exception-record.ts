import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { amendments as amendmentRows, assessments, auditEvents, decisions, exceptionBindings, exceptionIssues, exceptions, integrationTasks, policies, renewals, type AmendmentStatus, type RenewalStatus } from '../db/schema';
import { integrationStatus, type IntegrationStatus } from '../db/integrations';
import type { Db, Tx } from '../db/client';
import { hiddenFrom, maySee, maySeeEverything, ownerConfirmationOf, type OwnerConfirmation } from '../domain/authority';
import { DomainError } from '../domain/errors';
import { formatExceptionRef, type ApprovalRoute, type DecisionOutcome, type ExceptionStatus } from '../domain/exception';
import type { Roles } from '../domain/roles';
import type { CurrentRound, OpenStage } from '../domain/shown-for';
import type { AmendableField } from '../domain/amendment';
import type { AmendmentState, RenewalState } from '../db/audit-replay';

export type Reader = Db | Tx;

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/**
 * A renewal as the cards show it: what the trail records of it, less the route (the record carries that once).
 * `number` counts renewals only (1 for the first): rounds also count changes of terms.
 */
export type RenewalRecord = Omit<RenewalState, 'route'> & { number: number };

/** A change of an active exception's terms: the new terms beside the ones it stays on until the change is approved. */
export type AmendmentRecord = Omit<AmendmentState, 'route'>;

/** What is waiting on people right now: an assessment or a decision, of the first request or of a renewal. */
export interface OpenDecision {
  stage: 'assessment' | 'decision';
  round: number;
  /** When the current stage began, for nudges. */
  since: string;
}

/** A request sent back for changes and not amended since: it waits for its requester, not for the security team or a decider. */
export interface SentBack {
  /** The audit event that sent it back: an amendment answers this one, not a later one. */
  eventId: number;
  byId: string;
  at: string;
  /** What it waited for when it was sent back. */
  stage: OpenStage;
  changes: string;
}

export interface ExceptionRecord {
  id: number;
  ref: string;
  status: ExceptionStatus;
  policy: { key: string; title: string; maxDays: number | null };
  title: string;
  scope: string;
  justification: string;
  compensatingControls: string;
  affectedSystems: string | null;
  externalRef: string | null;
  requesterId: string;
  ownerId: string;
  /** From the owner's latest Accept or Decline in the trail: no column holds it. */
  ownerConfirmation: OwnerConfirmation;
  structural: boolean;
  structuralReason: string | null;
  requestedExpiresOn: string;
  expiresOn: string | null;
  originalExpiresOn: string | null;
  route: ApprovalRoute | null;
  riskScore: number | null;
  originPermalink: string | null;
  createdAt: string;
  updatedAt: string;
  activatedAt: string | null;
  closingNote: string | null;
  renewalCount: number;
  lastCheckinOn: string | null;
  attentionReason: string | null;
  lastReviewedAt: string | null;
  lastReviewedBy: string | null;
  triageMessage: SlackMessageRef | null;
  approvalMessage: SlackMessageRef | null;
  /** The exception's top-level message in the committee channel, if it ever had one. */
  committeeThreadTs: string | null;
  /** Each renewal is assessed and decided afresh; decisions belong to the round of the latest assessment. */
  round: number;
  assessment: {
    assessorId: string;
    likelihood: number;
    impact: number;
    score: number;
    rationale: string;
    routeReasons: string[];
    assessedAt: string;
  } | null;
  decisions: { deciderId: string; outcome: DecisionOutcome; comment: string | null; decidedAt: string }[];
  /** The route of the first decision: a renewal is never decided on a lighter one. */
  originalRoute: ApprovalRoute | null;
  /** Every renewal so far, oldest first; the last one is the current round's when a renewal is open. */
  renewals: RenewalRecord[];
  /** The renewal being assessed or decided now, if any. */
  renewal: RenewalRecord | null;
  /** Every change of its terms asked for since it was approved, oldest first; rounds are numbered with the renewals. */
  amendments: AmendmentRecord[];
  /** The change of terms of the current round, open or just decided, if the current round is one. */
  amendment: AmendmentRecord | null;
  open: OpenDecision | null;
  /** From the trail (no column holds it): sent back for changes and not amended since. */
  sentBack: SentBack | null;
  /** The latest amendment: its assessment and decision started again then. */
  amended: { at: string; fields: AmendableField[] } | null;
  /** Where it is applied (a bypass group, a Jira issue) and whether each vendor has caught up; empty when it names none. */
  integration: IntegrationStatus;
}

type OpenRound = { kind: 'renewal' | 'amendment'; status: RenewalStatus | AmendmentStatus; createdAt: string };

/**
 * `createdAt`: when the request as it stands was made, its latest amendment's time if it was amended. A renewal can
 * still be decided once its exception expired (it brings it back); a change of terms only while it is active.
 */
function openDecisionOf(status: ExceptionStatus, round: number, createdAt: string, later: OpenRound | null, assessedAt: string | undefined): OpenDecision | null {
  if (round === 0) {
    if (status === 'requested') return { stage: 'assessment', round, since: createdAt };
    if (status === 'pending_approval' && assessedAt) return { stage: 'decision', round, since: assessedAt };
    return null;
  }
  if (status !== 'active' && (status !== 'expired' || later?.kind !== 'renewal')) return null;
  if (later?.status === 'requested') return { stage: 'assessment', round, since: later.createdAt };
  if (later?.status === 'pending_approval' && assessedAt) return { stage: 'decision', round, since: assessedAt };
  return null;
}

const messageRef = (channel: string | null, ts: string | null): SlackMessageRef | null => (channel && ts ? { channel, ts } : null);

/** The record's queries, built once per connection: building a drizzle query costs more than running it here. */
function recordQueries(db: Reader) {
  const id = sql.placeholder('id');
  const round = sql.placeholder('round');
  return {
    exception: db
      .select({
        exception: exceptions,
        policyKey: policies.key,
        policyTitle: policies.title,
        policyMaxDays: policies.maxDays,
        // Most exceptions name no vendor: one column here spares them the integration reads.
        integrated: sql<number>`exists (select 1 from ${exceptionBindings} where ${exceptionBindings.exceptionId} = ${exceptions.id}) or exists (select 1 from ${exceptionIssues} where ${exceptionIssues.exceptionId} = ${exceptions.id}) or exists (select 1 from ${integrationTasks} where ${integrationTasks.exceptionId} = ${exceptions.id})`,
      })
      .from(exceptions)
      .innerJoin(policies, eq(policies.id, exceptions.policyId))
      .where(eq(exceptions.id, id))
      .prepare(),
    assessment: db
      .select()
      .from(assessments)
      .where(and(eq(assessments.exceptionId, id), eq(assessments.round, round)))
      .prepare(),
    originalRoute: db
      .select({ route: assessments.route })
      .from(assessments)
      .where(and(eq(assessments.exceptionId, id), eq(assessments.round, 0)))
      .prepare(),
    votes: db
      .select()
      .from(decisions)
      .where(and(eq(decisions.exceptionId, id), eq(decisions.round, round)))
      .orderBy(asc(decisions.id))
      .prepare(),
    renewals: db.select().from(renewals).where(eq(renewals.exceptionId, id)).orderBy(asc(renewals.round)).prepare(),
    amendments: db.select().from(amendmentRows).where(eq(amendmentRows.exceptionId, id)).orderBy(asc(amendmentRows.round)).prepare(),
    ownerAnswer: db
      .select({ kind: auditEvents.kind })
      .from(auditEvents)
      .where(and(eq(auditEvents.exceptionId, id), eq(auditEvents.actorId, sql.placeholder('ownerId')), inArray(auditEvents.kind, ['exception.owner_accepted', 'exception.owner_declined'])))
      .orderBy(desc(auditEvents.id))
      .limit(1)
      .prepare(),
    amendmentEvents: db
      .select({ id: auditEvents.id, kind: auditEvents.kind, actorId: auditEvents.actorId, occurredAt: auditEvents.occurredAt, payload: auditEvents.payload })
      .from(auditEvents)
      .where(and(eq(auditEvents.exceptionId, id), inArray(auditEvents.kind, AMENDMENT_KINDS)))
      .orderBy(asc(auditEvents.id))
      .prepare(),
  };
}

const AMENDMENT_KINDS = ['exception.changes_requested', 'exception.amended'] as const;

interface AmendmentEvent {
  id: number;
  kind: string;
  actorId: string;
  occurredAt: string;
  payload: string;
}

/** Where the trail leaves a request's amendments: sent back and waiting for its requester, and its latest amendment. */
function amendmentStateOf(events: readonly AmendmentEvent[]): Pick<ExceptionRecord, 'sentBack' | 'amended'> {
  const last = events.at(-1);
  const amendment = events.filter((e) => e.kind === 'exception.amended').at(-1);
  const sentBack =
    last?.kind === 'exception.changes_requested'
      ? (({ stage, changes }: { stage: OpenStage; changes: string }) => ({ eventId: last.id, byId: last.actorId, at: last.occurredAt, stage, changes }))(JSON.parse(last.payload))
      : null;
  const amended = amendment ? { at: amendment.occurredAt, fields: (JSON.parse(amendment.payload) as { changes: { field: AmendableField }[] }).changes.map((c) => c.field) } : null;
  return { sentBack, amended };
}

const preparedFor = new WeakMap<object, ReturnType<typeof recordQueries>>();

/**
 * A prepared query runs on the connection it was prepared on, inside or outside a transaction alike, so the cache
 * is per SQLite connection, which a database handle and its transactions share.
 */
function queriesFor(db: Reader): ReturnType<typeof recordQueries> {
  const connection = (db as unknown as { session: { client: object } }).session.client;
  let queries = preparedFor.get(connection);
  if (!queries) preparedFor.set(connection, (queries = recordQueries(db)));
  return queries;
}

export function loadExceptionRecord(db: Reader, id: number): ExceptionRecord | undefined {
  const queries = queriesFor(db);
  const row = queries.exception.get({ id });
  if (!row) return undefined;
  const e = row.exception;
  const round = e.currentRound;
  const assessment = queries.assessment.get({ id, round });
  const votes = queries.votes.all({ id, round });
  const history: RenewalRecord[] = queries.renewals
    .all({ id })
    .map((r, index) => ({
      number: index + 1,
      round: r.round,
      status: r.status,
      requestedBy: r.requestedBy,
      progress: r.progress,
      percentComplete: r.percentComplete,
      evidenceUrl: r.evidenceUrl,
      controlTestedOn: r.controlTestedOn,
      requestedExpiresOn: r.requestedExpiresOn,
      newExpiresOn: r.newExpiresOn,
      createdAt: r.createdAt,
      decidedAt: r.decidedAt,
    }));
  const renewal = round > 0 ? (history.find((r) => r.round === round) ?? null) : null;
  const termChanges: AmendmentRecord[] = queries.amendments.all({ id }).map(({ id: _id, exceptionId: _exceptionId, submissionKey: _key, route: _route, ...a }) => a);
  const amendment = round > 0 ? (termChanges.find((a) => a.round === round) ?? null) : null;
  const openRound: OpenRound | null = renewal ? { kind: 'renewal', ...renewal } : amendment ? { kind: 'amendment', ...amendment } : null;
  const original = round > 0 ? queries.originalRoute.get({ id }) : assessment;
  const ownerAnswer = queries.ownerAnswer.get({ id, ownerId: e.ownerId })?.kind;
  const { sentBack: lastSentBack, amended } = amendmentStateOf(queries.amendmentEvents.all({ id }));
  // Withdrawn while sent back, it waits for nobody: only a request still `requested` waits for its requester.
  const sentBack = e.status === 'requested' ? lastSentBack : null;
  return {
    id: e.id,
    ref: formatExceptionRef(e.id),
    status: e.status,
    policy: { key: row.policyKey, title: row.policyTitle, maxDays: row.policyMaxDays },
    title: e.title,
    scope: e.scope,
    justification: e.justification,
    compensatingControls: e.compensatingControls,
    affectedSystems: e.affectedSystems,
    externalRef: e.externalRef,
    requesterId: e.requesterId,
    ownerId: e.ownerId,
    ownerConfirmation: ownerConfirmationOf(e, ownerAnswer === 'exception.owner_declined' ? 'declined' : ownerAnswer ? 'accepted' : null),
    structural: e.structural,
    structuralReason: e.structuralReason,
    requestedExpiresOn: e.requestedExpiresOn,
    expiresOn: e.expiresOn,
    originalExpiresOn: e.originalExpiresOn,
    route: e.route,
    riskScore: e.riskScore,
    originPermalink: e.originPermalink,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    activatedAt: e.activatedAt,
    closingNote: e.closingNote,
    renewalCount: e.renewalCount,
    lastCheckinOn: e.lastCheckinOn,
    attentionReason: e.attentionReason,
    lastReviewedAt: e.lastReviewedAt,
    lastReviewedBy: e.lastReviewedBy,
    triageMessage: messageRef(e.triageChannel, e.triageTs),
    approvalMessage: messageRef(e.approvalChannel, e.approvalTs),
    committeeThreadTs: e.committeeTs,
    round,
    assessment: assessment
      ? {
          assessorId: assessment.assessorId,
          likelihood: assessment.likelihood,
          impact: assessment.impact,
          score: assessment.score,
          rationale: assessment.rationale,
          routeReasons: assessment.routeReasons ? assessment.routeReasons.split('\n') : [],
          assessedAt: assessment.assessedAt,
        }
      : null,
    decisions: votes.map((v) => ({ deciderId: v.deciderId, outcome: v.outcome, comment: v.comment, decidedAt: v.decidedAt })),
    originalRoute: original?.route ?? null,
    renewals: history,
    renewal,
    amendments: termChanges,
    amendment,
    open: sentBack ? null : openDecisionOf(e.status, round, amended?.at ?? e.createdAt, openRound, assessment?.assessedAt),
    sentBack,
    amended,
    integration: row.integrated ? integrationStatus(db, e.id, e.status) : {},
  };
}

/** Where the record stands, in the terms a button or form is checked against (see domain/shown-for). */
export function currentRoundOf(record: ExceptionRecord): CurrentRound {
  const stage = record.open?.stage ?? null;
  return {
    round: record.round,
    stage,
    // A change of terms keeps the expiry the exception has.
    expiresOn: record.renewal?.requestedExpiresOn ?? (record.amendment ? record.expiresOn : null) ?? record.requestedExpiresOn,
    card: stage === 'assessment' ? record.triageMessage : stage === 'decision' ? record.approvalMessage : null,
    roundNames: Object.fromEntries([...record.renewals.map((r) => [r.round, `renewal ${r.number}`]), ...record.amendments.map((a) => [a.round, 'the change of terms'])]),
  };
}

function notFound(id: number): DomainError {
  return new DomainError('not_found', `${formatExceptionRef(id)} does not exist. Check the ID (it looks like EXC-0001) and try again.`);
}

export function getExceptionRecord(db: Reader, id: number): ExceptionRecord {
  const record = loadExceptionRecord(db, id);
  if (!record) throw notFound(id);
  return record;
}

/** The record as someone acting on it or asking about it may have it: to whoever may not see it, it does not exist. */
export function getRecordFor(db: Reader, id: number, actorId: string, roles: Roles): ExceptionRecord {
  const record = loadExceptionRecord(db, id);
  if (record && maySee(actorId, record, roles)) return record;
  if (!record && maySeeEverything(actorId, roles)) throw notFound(id);
  throw hiddenFrom(formatExceptionRef(id));
}

/** An exception something waits on now, with just what the lists, nudges and metrics need to know about it. */
export interface WaitingItem {
  id: number;
  requesterId: string;
  ownerId: string;
  route: ApprovalRoute | null;
  open: OpenDecision;
  /** Who has already decided in the current round. */
  deciders: string[];
  /** Who assessed the current round, if it has been: they never decide it. */
  assessorId: string | null;
  /** What waits: the first request, a renewal, or a change of its terms. */
  kind: 'request' | 'renewal' | 'amendment';
  /** Who asked for what waits: the requester, or whoever asked for the renewal or the change. */
  askedBy: string;
}

/** IN lists are kept short: SQLite limits how many values one statement may bind. */
export const ID_CHUNK = 500;

/**
 * Everything waiting for an assessment or a decision, of a first request or of a renewal, oldest first: a
 * handful of queries however large the register, since only open requests and open renewals are read.
 */
export function listWaiting(db: Reader): WaitingItem[] {
  const columns = {
    id: exceptions.id,
    status: exceptions.status,
    round: exceptions.currentRound,
    createdAt: exceptions.createdAt,
    requesterId: exceptions.requesterId,
    ownerId: exceptions.ownerId,
    route: exceptions.route,
  };
  const requests = db
    .select({ ...columns, roundStatus: sql<RenewalStatus | null>`null`, roundCreatedAt: sql<string | null>`null`, roundRequestedBy: sql<string | null>`null` })
    .from(exceptions)
    .where(and(inArray(exceptions.status, ['requested', 'pending_approval']), eq(exceptions.currentRound, 0)))
    .all();
  const renewing = db
    .select({ ...columns, roundStatus: renewals.status, roundCreatedAt: renewals.createdAt, roundRequestedBy: renewals.requestedBy })
    .from(renewals)
    .innerJoin(exceptions, and(eq(exceptions.id, renewals.exceptionId), eq(exceptions.currentRound, renewals.round)))
    .where(and(inArray(renewals.status, ['requested', 'pending_approval']), inArray(exceptions.status, ['active', 'expired'])))
    .all();
  const changing = db
    .select({ ...columns, roundStatus: amendmentRows.status, roundCreatedAt: amendmentRows.createdAt, roundRequestedBy: amendmentRows.requestedBy })
    .from(amendmentRows)
    .innerJoin(exceptions, and(eq(exceptions.id, amendmentRows.exceptionId), eq(exceptions.currentRound, amendmentRows.round)))
    .where(and(inArray(amendmentRows.status, ['requested', 'pending_approval']), eq(exceptions.status, 'active')))
    .all()
    .map((c) => ({ ...c, kind: 'amendment' as const }));
  const candidates = [...requests.map((c) => ({ ...c, kind: 'request' as const })), ...renewing.map((c) => ({ ...c, kind: 'renewal' as const })), ...changing];
  const assessedAt = new Map<number, string>();
  const assessedBy = new Map<number, string>();
  const decided = new Map<number, string[]>();
  const amendments = new Map<number, AmendmentEvent[]>();
  for (let from = 0; from < candidates.length; from += ID_CHUNK) {
    const chunk = candidates.slice(from, from + ID_CHUNK);
    const roundOf = new Map(chunk.map((c) => [c.id, c.round]));
    const ids = [...roundOf.keys()];
    for (const a of db
      .select({ exceptionId: assessments.exceptionId, round: assessments.round, assessedAt: assessments.assessedAt, assessorId: assessments.assessorId })
      .from(assessments)
      .where(inArray(assessments.exceptionId, ids))
      .all()) {
      if (roundOf.get(a.exceptionId) !== a.round) continue;
      assessedAt.set(a.exceptionId, a.assessedAt);
      assessedBy.set(a.exceptionId, a.assessorId);
    }
    for (const d of db.select({ exceptionId: decisions.exceptionId, round: decisions.round, deciderId: decisions.deciderId }).from(decisions).where(inArray(decisions.exceptionId, ids)).orderBy(asc(decisions.id)).all()) {
      if (roundOf.get(d.exceptionId) === d.round) decided.set(d.exceptionId, [...(decided.get(d.exceptionId) ?? []), d.deciderId]);
    }
    const requestIds = chunk.filter((c) => c.round === 0 && c.status === 'requested').map((c) => c.id);
    if (requestIds.length > 0) {
      for (const { exceptionId, ...event } of db
        .select({ exceptionId: auditEvents.exceptionId, id: auditEvents.id, kind: auditEvents.kind, actorId: auditEvents.actorId, occurredAt: auditEvents.occurredAt, payload: auditEvents.payload })
        .from(auditEvents)
        .where(and(inArray(auditEvents.exceptionId, requestIds), inArray(auditEvents.kind, AMENDMENT_KINDS)))
        .orderBy(asc(auditEvents.id))
        .all()) {
        amendments.set(exceptionId!, [...(amendments.get(exceptionId!) ?? []), event]);
      }
    }
  }
  return candidates
    .flatMap((c) => {
      const later = c.kind !== 'request' && c.roundStatus && c.roundCreatedAt ? { kind: c.kind, status: c.roundStatus, createdAt: c.roundCreatedAt } : null;
      const { sentBack, amended } = amendmentStateOf(amendments.get(c.id) ?? []);
      const open = sentBack ? null : openDecisionOf(c.status, c.round, amended?.at ?? c.createdAt, later, assessedAt.get(c.id));
      return open ? [{ id: c.id, kind: c.kind, requesterId: c.requesterId, ownerId: c.ownerId, route: c.route, open, deciders: decided.get(c.id) ?? [], assessorId: assessedBy.get(c.id) ?? null, askedBy: c.roundRequestedBy ?? c.requesterId }] : [];
    })
    .sort((a, b) => (a.open.since < b.open.since ? -1 : a.open.since > b.open.since ? 1 : a.id - b.id));
}
