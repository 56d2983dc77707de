import { and, asc, eq, gt, inArray, isNotNull, notInArray } from 'drizzle-orm';
import { verifyAuditChain, type ChainVerdict } from '../db/audit-chain';
import { compareWithTrail, replayException, ReplayProblem, type Discrepancy, type ExceptionState, type TrailEvent } from '../db/audit-replay';
import { amendments, assessments, auditEvents, decisions, exceptions, policies, renewals } from '../db/schema';
import type { Db } from '../db/client';
import type { SourcedAnchor } from '../domain/audit-anchor';
import { formatExceptionRef } from '../domain/exception';

/** One exception whose rows are not what its audit trail says, or whose trail cannot be replayed. */
export interface ExceptionFinding {
  ref: string;
  /** Why the trail could not be replayed, naming the event; the rows were then not compared. */
  unreplayable?: { eventId: number | null; problem: string };
  discrepancies: Discrepancy[];
}

export interface RegisterVerification {
  chain: ChainVerdict;
  exceptions: number;
  findings: ExceptionFinding[];
}

/** Exceptions replayed per round trip: SQLite limits how many values one statement binds. */
const PAGE = 500;

/** The register's rows for some exceptions, in the shape a replay gives, to be compared field by field. */
function registerStates(db: Db, ids: number[]): Map<number, ExceptionState> {
  const states = new Map<number, ExceptionState>();
  const rows = db.select({ e: exceptions, policyKey: policies.key }).from(exceptions).leftJoin(policies, eq(policies.id, exceptions.policyId)).where(inArray(exceptions.id, ids)).all();
  for (const { e, policyKey } of rows) {
    states.set(e.id, {
      status: e.status,
      policyKey: policyKey ?? `policy ${e.policyId}, which is not in the catalogue`,
      title: e.title,
      scope: e.scope,
      justification: e.justification,
      compensatingControls: e.compensatingControls,
      affectedSystems: e.affectedSystems,
      externalRef: e.externalRef,
      requesterId: e.requesterId,
      ownerId: e.ownerId,
      structural: e.structural,
      structuralReason: e.structuralReason,
      requestedExpiresOn: e.requestedExpiresOn,
      expiresOn: e.expiresOn,
      originalExpiresOn: e.originalExpiresOn,
      route: e.route,
      riskScore: e.riskScore,
      createdAt: e.createdAt,
      activatedAt: e.activatedAt,
      closedAt: e.closedAt,
      closingNote: e.closingNote,
      currentRound: e.currentRound,
      renewalCount: e.renewalCount,
      lastCheckinOn: e.lastCheckinOn,
      needsAttention: e.attentionReason !== null,
      lastReviewedAt: e.lastReviewedAt,
      lastReviewedBy: e.lastReviewedBy,
      assessments: [],
      decisions: [],
      renewals: [],
      amendments: [],
    });
  }
  for (const { id: _id, exceptionId, ...a } of db.select().from(assessments).where(inArray(assessments.exceptionId, ids)).orderBy(asc(assessments.round)).all()) states.get(exceptionId)?.assessments.push(a);
  for (const { id: _id, exceptionId, ...d } of db.select().from(decisions).where(inArray(decisions.exceptionId, ids)).orderBy(asc(decisions.id)).all()) states.get(exceptionId)?.decisions.push(d);
  for (const { id: _id, exceptionId, submissionKey: _key, ...r } of db.select().from(renewals).where(inArray(renewals.exceptionId, ids)).orderBy(asc(renewals.round)).all()) {
    states.get(exceptionId)?.renewals.push(r);
  }
  for (const { id: _id, exceptionId, submissionKey: _key, ...a } of db.select().from(amendments).where(inArray(amendments.exceptionId, ids)).orderBy(asc(amendments.round)).all()) {
    states.get(exceptionId)?.amendments.push(a);
  }
  return states;
}

function trailsOf(db: Db, ids: number[]): Map<number, TrailEvent[]> {
  const trails = new Map<number, TrailEvent[]>(ids.map((id) => [id, []]));
  const events = db
    .select({ id: auditEvents.id, exceptionId: auditEvents.exceptionId, kind: auditEvents.kind, actorId: auditEvents.actorId, occurredAt: auditEvents.occurredAt, payload: auditEvents.payload })
    .from(auditEvents)
    .where(inArray(auditEvents.exceptionId, ids))
    .orderBy(asc(auditEvents.exceptionId), asc(auditEvents.id))
    .all();
  for (const { exceptionId, payload, ...event } of events) trails.get(exceptionId!)?.push({ ...event, payload: parsed(payload) });
  return trails;
}

function parsed(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

function findingFor(ref: string, register: ExceptionState, trail: TrailEvent[], timeZone: string): ExceptionFinding | undefined {
  try {
    const discrepancies = compareWithTrail(register, replayException(trail, timeZone));
    return discrepancies.length > 0 ? { ref, discrepancies } : undefined;
  } catch (error) {
    if (!(error instanceof ReplayProblem)) throw error;
    return { ref, unreplayable: { eventId: error.eventId, problem: error.message }, discrepancies: [] };
  }
}

/**
 * The audit trail is the source of truth: checks its chain (with the key, every seal too) and its head against the
 * anchors kept outside the register, then replays every exception's events and compares the result with its rows.
 * `timeZone` is TZ, the zone the app counts days in.
 */
export function verifyRegister(db: Db, options: { key?: string; timeZone: string; anchors?: readonly SourcedAnchor[] }): RegisterVerification {
  const chain = verifyAuditChain(db, options.key, options.anchors);
  const findings: ExceptionFinding[] = [];
  let replayed = 0;
  for (let after = 0; ; ) {
    const ids = db.select({ id: exceptions.id }).from(exceptions).where(gt(exceptions.id, after)).orderBy(asc(exceptions.id)).limit(PAGE).all().map((row) => row.id);
    if (ids.length === 0) break;
    const [states, trails] = [registerStates(db, ids), trailsOf(db, ids)];
    for (const id of ids) {
      const finding = findingFor(formatExceptionRef(id), states.get(id)!, trails.get(id) ?? [], options.timeZone);
      if (finding) findings.push(finding);
    }
    replayed += ids.length;
    after = ids.at(-1)!;
  }
  // Events naming an exception the register no longer has: its row was deleted.
  const orphans = db
    .selectDistinct({ id: auditEvents.exceptionId })
    .from(auditEvents)
    .where(and(isNotNull(auditEvents.exceptionId), notInArray(auditEvents.exceptionId, db.select({ id: exceptions.id }).from(exceptions))))
    .orderBy(asc(auditEvents.exceptionId))
    .all();
  for (const { id } of orphans) {
    const first = db.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.exceptionId, id!)).orderBy(asc(auditEvents.id)).limit(1).get();
    findings.push({ ref: formatExceptionRef(id!), unreplayable: { eventId: first?.id ?? null, problem: 'the audit trail records it, but the register has no such exception' }, discrepancies: [] });
  }
  return { chain, exceptions: replayed + orphans.length, findings: findings.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0)) };
}
