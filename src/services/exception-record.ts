import { and, asc, eq } from 'drizzle-orm';
import { assessments, decisions, exceptions, policies } from '../db/schema';
import type { Db, Tx } from '../db/client';
import { DomainError } from '../domain/errors';
import { formatExceptionRef, type ApprovalRoute, type DecisionOutcome, type ExceptionStatus } from '../domain/exception';

export type Reader = Db | Tx;

export interface SlackMessageRef {
  channel: string;
  ts: string;
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
  triageMessage: SlackMessageRef | null;
  approvalMessage: SlackMessageRef | null;
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
}

const messageRef = (channel: string | null, ts: string | null): SlackMessageRef | null => (channel && ts ? { channel, ts } : null);

export function loadExceptionRecord(db: Reader, id: number): ExceptionRecord | undefined {
  const row = db
    .select({ exception: exceptions, policyKey: policies.key, policyTitle: policies.title, policyMaxDays: policies.maxDays })
    .from(exceptions)
    .innerJoin(policies, eq(policies.id, exceptions.policyId))
    .where(eq(exceptions.id, id))
    .get();
  if (!row) return undefined;
  const e = row.exception;
  const round = e.currentRound;
  const assessment = db.select().from(assessments).where(and(eq(assessments.exceptionId, id), eq(assessments.round, round))).get();
  const votes = db
    .select()
    .from(decisions)
    .where(and(eq(decisions.exceptionId, id), eq(decisions.round, round)))
    .orderBy(asc(decisions.id))
    .all();
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
    triageMessage: messageRef(e.triageChannel, e.triageTs),
    approvalMessage: messageRef(e.approvalChannel, e.approvalTs),
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
  };
}

export function getExceptionRecord(db: Reader, id: number): ExceptionRecord {
  const record = loadExceptionRecord(db, id);
  if (!record) throw new DomainError('not_found', `${formatExceptionRef(id)} does not exist. Check the ID (it looks like EXC-0001) and try again.`);
  return record;
}
