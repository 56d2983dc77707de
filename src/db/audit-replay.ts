/**
 * The register's tables are a projection of the audit trail: replaying an exception's events gives what its rows
 * must say. Pure: events in, state out, no SQL and no clock; beside the chain because the event kinds live in the
 * schema. `Record<AuditEventKind, …>` below makes a new kind fail to compile until it says what it changes.
 */
import { z } from 'zod';
import { calendarDateIn } from '../domain/calendar';
import { APPROVAL_ROUTES, DECISION_OUTCOMES, type ApprovalRoute, type DecisionOutcome, type ExceptionStatus } from '../domain/exception';
import { TRANSITIONS, type LifecycleAction } from '../domain/lifecycle';
import type { AmendmentStatus, AuditEventKind, RenewalStatus } from './schema';

export interface TrailEvent {
  id: number;
  kind: AuditEventKind;
  actorId: string;
  occurredAt: string;
  payload: unknown;
}

export interface AssessmentState {
  round: number;
  assessorId: string;
  likelihood: number;
  impact: number;
  score: number;
  rationale: string;
  route: ApprovalRoute;
  routeReasons: string;
  assessedAt: string;
}

export interface DecisionState {
  round: number;
  deciderId: string;
  outcome: DecisionOutcome;
  comment: string | null;
  decidedAt: string;
}

export interface RenewalState {
  round: number;
  status: RenewalStatus;
  requestedBy: string;
  progress: string;
  percentComplete: number;
  evidenceUrl: string | null;
  controlTestedOn: string;
  requestedExpiresOn: string;
  route: ApprovalRoute | null;
  newExpiresOn: string | null;
  createdAt: string;
  decidedAt: string | null;
}

export interface AmendmentState {
  round: number;
  status: AmendmentStatus;
  requestedBy: string;
  reason: string;
  scope: string;
  affectedSystems: string | null;
  compensatingControls: string;
  previousScope: string;
  previousAffectedSystems: string | null;
  previousCompensatingControls: string;
  route: ApprovalRoute | null;
  createdAt: string;
  decidedAt: string | null;
}

/** What the trail says about one exception; the register's rows are read into the same shape to be compared. */
export interface ExceptionState {
  status: ExceptionStatus;
  policyKey: string;
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
  createdAt: string;
  activatedAt: string | null;
  closedAt: string | null;
  closingNote: string | null;
  currentRound: number;
  renewalCount: number;
  lastCheckinOn: string | null;
  /** Whether the approvers were told to look at it: a control reported broken or a check-in left unanswered. */
  needsAttention: boolean;
  lastReviewedAt: string | null;
  lastReviewedBy: string | null;
  assessments: AssessmentState[];
  decisions: DecisionState[];
  renewals: RenewalState[];
  amendments: AmendmentState[];
  /** Replay only, no column: sent back for changes and not yet amended (the record reads it from the trail too). */
  sentBack?: boolean;
}

const text = z.string();
const optionalText = z.string().nullish().transform((value) => value ?? null);
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const round = z.number().int().min(0);

// Only what the replay reads; events carry more (tallies, reasons for the route), which stays in the trail.
const Requested = z.object({
  policyKey: text,
  title: text,
  scope: text,
  justification: text,
  compensatingControls: text,
  ownerId: text,
  expiresOn: date,
  affectedSystems: optionalText,
  externalRef: optionalText,
  structural: z.boolean(),
  structuralReason: optionalText,
});
const Assessed = z.object({
  round: round.default(0),
  likelihood: z.number().int(),
  impact: z.number().int(),
  score: z.number().int(),
  rationale: text,
  route: z.enum(APPROVAL_ROUTES),
  reasons: z.array(text).default([]),
});
const Vote = z.object({ round: round.default(0), outcome: z.enum(DECISION_OUTCOMES), comment: optionalText });
const Decided = z.object({ comment: optionalText, expiresOn: date.nullish() });
const Closed = z.object({ note: text });
const Withdrawn = z.object({ note: text });
const CheckinAnswered = z.object({ answer: z.enum(['yes', 'no']) });
const RenewalRequested = z.object({ round: round.min(1), progress: text, percentComplete: z.number().int(), evidenceUrl: optionalText, controlTestedOn: date, expiresOn: date });
const ChangesRequested = z.object({ round: z.literal(0), stage: z.enum(['assessment', 'decision']) });
const Amended = z.object({ round: z.literal(0), request: Requested });
const AmendmentRequested = z.object({ round: round.min(1), reason: text, scope: text, affectedSystems: optionalText, compensatingControls: text });
const AmendmentDecided = z.object({ round: round.min(1), comment: optionalText });
const RenewalDecided = z.object({ round: round.min(1), comment: optionalText, newExpiresOn: date.nullish() });

/** A trail that cannot be replayed: the event (null when there is none), and what about it does not fit the events before it. */
export class ReplayProblem extends Error {
  constructor(
    readonly eventId: number | null,
    message: string,
  ) {
    super(message);
  }
}

type Apply = (state: ExceptionState, event: TrailEvent, timeZone: string) => void;

function details<T>(schema: z.ZodType<T>, event: TrailEvent): T {
  const parsed = schema.safeParse(event.payload);
  if (!parsed.success) throw new ReplayProblem(event.id, `its details are not those of ${event.kind} (${parsed.error.issues[0]?.path.join('.') || 'payload'}: ${parsed.error.issues[0]?.message})`);
  return parsed.data;
}

function move(state: ExceptionState, event: TrailEvent, action: LifecycleAction): void {
  const to = TRANSITIONS[state.status][action];
  if (!to) throw new ReplayProblem(event.id, `${event.kind} cannot happen to an exception that is ${state.status.replace('_', ' ')}`);
  state.status = to;
}

function openRenewal(state: ExceptionState, event: TrailEvent, round: number, status: RenewalStatus): RenewalState {
  const renewal = state.renewals.find((r) => r.round === round);
  if (!renewal || renewal.status !== status || round !== state.currentRound) throw new ReplayProblem(event.id, `${event.kind} for renewal ${round}, which is not ${status.replace('_', ' ')}`);
  return renewal;
}

function openAmendment(state: ExceptionState, event: TrailEvent, round: number, status: AmendmentStatus): AmendmentState {
  const amendment = state.amendments.find((a) => a.round === round);
  if (!amendment || amendment.status !== status || round !== state.currentRound || state.status !== 'active') {
    throw new ReplayProblem(event.id, `${event.kind} for amendment round ${round}, which is not ${status.replace('_', ' ')} on an active exception`);
  }
  return amendment;
}

/** An exception that ends takes any change of its terms still waiting with it: there is nothing left to change. */
function withdrawOpenAmendments(state: ExceptionState, event: TrailEvent): void {
  for (const amendment of state.amendments) if (amendment.status === 'requested' || amendment.status === 'pending_approval') Object.assign(amendment, { status: 'withdrawn', decidedAt: event.occurredAt });
}

function decide(state: ExceptionState, event: TrailEvent, round: number, outcome: DecisionOutcome, comment: string | null): void {
  state.decisions.push({ round, deciderId: event.actorId, outcome, comment, decidedAt: event.occurredAt });
}

function assess(state: ExceptionState, event: TrailEvent): ReturnType<typeof Assessed.parse> {
  const assessed = details(Assessed, event);
  state.assessments.push({
    round: assessed.round,
    assessorId: event.actorId,
    likelihood: assessed.likelihood,
    impact: assessed.impact,
    score: assessed.score,
    rationale: assessed.rationale,
    route: assessed.route,
    routeReasons: assessed.reasons.join('\n'),
    assessedAt: event.occurredAt,
  });
  state.route = assessed.route;
  state.riskScore = assessed.score;
  return assessed;
}

const nothing: Apply = () => undefined;
const notAboutAnException: Apply = (_state, event) => {
  throw new ReplayProblem(event.id, `${event.kind} is about the register as a whole, yet it names this exception`);
};

const APPLY: Record<AuditEventKind, Apply> = {
  'exception.requested': (_state, event) => {
    throw new ReplayProblem(event.id, 'the exception is requested a second time');
  },
  'exception.assessed': (state, event) => {
    waitsForItsRequester(state, event);
    move(state, event, 'assess');
    assess(state, event);
  },
  'exception.vote_recorded': (state, event) => {
    const vote = details(Vote, event);
    if (state.status !== 'pending_approval' || vote.round !== 0) throw new ReplayProblem(event.id, `a vote on round ${vote.round} of an exception that is ${state.status.replace('_', ' ')}`);
    decide(state, event, vote.round, vote.outcome, vote.comment);
  },
  'exception.approved': (state, event) => {
    const decided = details(Decided, event);
    if (!decided.expiresOn) throw new ReplayProblem(event.id, 'the approval fixes no expiry date');
    move(state, event, 'approve');
    decide(state, event, 0, 'approve', decided.comment);
    Object.assign(state, { expiresOn: decided.expiresOn, originalExpiresOn: decided.expiresOn, activatedAt: event.occurredAt });
  },
  'exception.rejected': (state, event) => {
    waitsForItsRequester(state, event);
    const decided = details(Decided, event);
    move(state, event, 'reject');
    decide(state, event, 0, 'reject', decided.comment);
    state.closedAt = event.occurredAt;
  },
  'exception.expired': (state, event) => {
    move(state, event, 'expire');
    withdrawOpenAmendments(state, event);
  },
  'exception.closed': (state, event) => close(state, event, 'close'),
  'exception.withdrawn': withdraw,
  'exception.revoked': (state, event) => close(state, event, 'revoke'),
  'exception.reminded': nothing,
  'exception.nudged': nothing,
  'exception.escalated': nothing,
  'exception.checkin_asked': nothing,
  'exception.checkin_answered': (state, event, timeZone) => {
    if (details(CheckinAnswered, event).answer === 'yes') {
      state.lastCheckinOn = calendarDateIn(new Date(event.occurredAt), timeZone);
      state.needsAttention = false;
    } else state.needsAttention = true;
  },
  'exception.checkin_overdue': (state) => {
    state.needsAttention = true;
  },
  'exception.owner_accepted': answeredByOwner,
  'exception.owner_declined': answeredByOwner,
  'exception.reapproved': (state, event) => {
    state.lastReviewedAt = event.occurredAt;
    state.lastReviewedBy = event.actorId;
  },
  // Sent back at its decision, the request's assessment and votes are for the version sent back: they no longer count.
  'exception.changes_requested': (state, event) => {
    const { stage } = details(ChangesRequested, event);
    if (state.sentBack || state.currentRound !== 0 || stage !== (state.status === 'pending_approval' ? 'decision' : 'assessment')) {
      throw new ReplayProblem(event.id, `a request sent back at its ${stage} while it is ${state.sentBack ? 'already sent back' : state.status.replace('_', ' ')}`);
    }
    move(state, event, 'send_back');
    if (stage === 'decision') {
      state.assessments = state.assessments.filter((a) => a.round !== 0);
      state.decisions = state.decisions.filter((d) => d.round !== 0);
      Object.assign(state, { route: null, riskScore: null });
    }
    state.sentBack = true;
  },
  'exception.amended': (state, event) => {
    const { request } = details(Amended, event);
    if (!state.sentBack) throw new ReplayProblem(event.id, 'an amendment of a request that was not sent back for changes');
    if (event.actorId !== state.requesterId) throw new ReplayProblem(event.id, `an amendment by ${event.actorId}, who did not request it`);
    move(state, event, 'amend');
    const { expiresOn, ...terms } = request;
    Object.assign(state, { ...terms, requestedExpiresOn: expiresOn, structuralReason: request.structural ? request.structuralReason : null, sentBack: false });
  },
  // What the vendors were told is the vendors' state, not the register's: replaying it changes no field.
  'integration.applied': nothing,
  'integration.failed': nothing,
  'integration.drift_found': nothing,
  'renewal.requested': (state, event) => {
    const renewal = details(RenewalRequested, event);
    if (state.status !== 'active' || renewal.round !== state.currentRound + 1) throw new ReplayProblem(event.id, `renewal ${renewal.round} is asked for an exception that is ${state.status.replace('_', ' ')} in round ${state.currentRound}`);
    state.currentRound = renewal.round;
    state.renewals.push({
      round: renewal.round,
      status: 'requested',
      requestedBy: event.actorId,
      progress: renewal.progress,
      percentComplete: renewal.percentComplete,
      evidenceUrl: renewal.evidenceUrl,
      controlTestedOn: renewal.controlTestedOn,
      requestedExpiresOn: renewal.expiresOn,
      route: null,
      newExpiresOn: null,
      createdAt: event.occurredAt,
      decidedAt: null,
    });
  },
  'renewal.assessed': (state, event) => {
    const renewal = openRenewal(state, event, details(Assessed, event).round, 'requested');
    Object.assign(renewal, { status: 'pending_approval', route: assess(state, event).route });
  },
  'renewal.vote_recorded': (state, event) => {
    const vote = details(Vote, event);
    openRenewal(state, event, vote.round, 'pending_approval');
    decide(state, event, vote.round, vote.outcome, vote.comment);
  },
  'renewal.approved': (state, event) => {
    const decided = details(RenewalDecided, event);
    if (!decided.newExpiresOn) throw new ReplayProblem(event.id, 'the renewal fixes no new expiry date');
    const renewal = openRenewal(state, event, decided.round, 'pending_approval');
    move(state, event, 'renew');
    decide(state, event, decided.round, 'approve', decided.comment);
    Object.assign(renewal, { status: 'approved', newExpiresOn: decided.newExpiresOn, decidedAt: event.occurredAt });
    state.expiresOn = decided.newExpiresOn;
    state.renewalCount++;
  },
  'renewal.rejected': (state, event) => {
    const decided = details(RenewalDecided, event);
    const renewal = openRenewal(state, event, decided.round, 'pending_approval');
    decide(state, event, decided.round, 'reject', decided.comment);
    Object.assign(renewal, { status: 'rejected', decidedAt: event.occurredAt });
  },
  'amendment.requested': (state, event) => {
    const change = details(AmendmentRequested, event);
    if (state.status !== 'active' || change.round !== state.currentRound + 1) throw new ReplayProblem(event.id, `a change of terms in round ${change.round} of an exception that is ${state.status.replace('_', ' ')} in round ${state.currentRound}`);
    if (event.actorId !== state.ownerId && event.actorId !== state.requesterId) throw new ReplayProblem(event.id, `a change of terms asked by ${event.actorId}, who is neither its owner nor its requester`);
    state.currentRound = change.round;
    state.amendments.push({
      round: change.round,
      status: 'requested',
      requestedBy: event.actorId,
      reason: change.reason,
      scope: change.scope,
      affectedSystems: change.affectedSystems,
      compensatingControls: change.compensatingControls,
      previousScope: state.scope,
      previousAffectedSystems: state.affectedSystems,
      previousCompensatingControls: state.compensatingControls,
      route: null,
      createdAt: event.occurredAt,
      decidedAt: null,
    });
  },
  'amendment.assessed': (state, event) => {
    const amendment = openAmendment(state, event, details(Assessed, event).round, 'requested');
    Object.assign(amendment, { status: 'pending_approval', route: assess(state, event).route });
  },
  'amendment.vote_recorded': (state, event) => {
    const vote = details(Vote, event);
    openAmendment(state, event, vote.round, 'pending_approval');
    decide(state, event, vote.round, vote.outcome, vote.comment);
  },
  // Approved, the new terms are the exception's; its expiry stays where it was.
  'amendment.approved': (state, event) => {
    const decided = details(AmendmentDecided, event);
    const amendment = openAmendment(state, event, decided.round, 'pending_approval');
    decide(state, event, decided.round, 'approve', decided.comment);
    Object.assign(amendment, { status: 'approved', decidedAt: event.occurredAt });
    Object.assign(state, { scope: amendment.scope, affectedSystems: amendment.affectedSystems, compensatingControls: amendment.compensatingControls });
  },
  'amendment.rejected': (state, event) => {
    const decided = details(AmendmentDecided, event);
    const amendment = openAmendment(state, event, decided.round, 'pending_approval');
    decide(state, event, decided.round, 'reject', decided.comment);
    Object.assign(amendment, { status: 'rejected', decidedAt: event.occurredAt });
  },
  'policy.imported': notAboutAnException,
  'review.posted': notAboutAnException,
  'metrics.posted': notAboutAnException,
  'audit.sealed': notAboutAnException,
};

/** Sent back, a request waits for its requester: nobody assesses or decides it until it is amended. */
function waitsForItsRequester(state: ExceptionState, event: TrailEvent): void {
  if (state.sentBack) throw new ReplayProblem(event.id, `${event.kind} while the request was sent back for changes and not yet amended`);
}

/** No row holds the owner's answer (the record reads it from the trail); only the owner can give it. */
function answeredByOwner(state: ExceptionState, event: TrailEvent): void {
  if (event.actorId !== state.ownerId) throw new ReplayProblem(event.id, `${event.kind} by ${event.actorId}, who is not its owner`);
}

/** Closing or revoking withdraws a renewal still waiting, as close-exception does. */
function close(state: ExceptionState, event: TrailEvent, action: 'close' | 'revoke'): void {
  const closed = details(Closed, event);
  move(state, event, action);
  Object.assign(state, { closedAt: event.occurredAt, closingNote: closed.note });
  for (const renewal of state.renewals) if (renewal.status === 'requested' || renewal.status === 'pending_approval') Object.assign(renewal, { status: 'withdrawn', decidedAt: event.occurredAt });
  withdrawOpenAmendments(state, event);
}

/** Only its requester withdraws a request, before its assessment; one sent back stops waiting for them. */
function withdraw(state: ExceptionState, event: TrailEvent): void {
  if (event.actorId !== state.requesterId) throw new ReplayProblem(event.id, `${event.kind} by ${event.actorId}, who is not its requester`);
  if (!TRANSITIONS[state.status].withdraw) throw new ReplayProblem(event.id, `a withdrawal of an exception that is ${state.status.replace('_', ' ')}: only a request not yet assessed is withdrawn`);
  move(state, event, 'withdraw');
  Object.assign(state, { closedAt: event.occurredAt, closingNote: details(Withdrawn, event).note, sentBack: false });
}

/** The state one exception's events, oldest first, leave it in; `timeZone` is TZ, the zone the app counts days in. */
export function replayException(events: readonly TrailEvent[], timeZone: string): ExceptionState {
  const [first, ...rest] = events;
  if (!first) throw new ReplayProblem(null, 'the audit trail has no event for it: its history was removed, or it was written into the register directly');
  if (first.kind !== 'exception.requested') throw new ReplayProblem(first.id, `its history starts with ${first.kind}, not with its request`);
  const request = details(Requested, first);
  const state: ExceptionState = {
    status: 'requested',
    ...request,
    structuralReason: request.structural ? request.structuralReason : null,
    requesterId: first.actorId,
    requestedExpiresOn: request.expiresOn,
    expiresOn: null,
    originalExpiresOn: null,
    route: null,
    riskScore: null,
    createdAt: first.occurredAt,
    activatedAt: null,
    closedAt: null,
    closingNote: null,
    currentRound: 0,
    renewalCount: 0,
    lastCheckinOn: null,
    needsAttention: false,
    lastReviewedAt: null,
    lastReviewedBy: null,
    assessments: [],
    decisions: [],
    renewals: [],
    amendments: [],
  };
  for (const event of rest) APPLY[event.kind](state, event, timeZone);
  return state;
}

/** One way the register differs from what its trail says: the field, as the register has it and as the trail does. */
export interface Discrepancy {
  field: string;
  register: string;
  trail: string;
}

const ABSENT = 'nothing';

const COLUMNS: Record<Exclude<keyof ExceptionState, 'assessments' | 'decisions' | 'renewals' | 'amendments' | 'sentBack'>, string> = {
  status: 'status',
  policyKey: 'policy',
  title: 'title',
  scope: 'scope',
  justification: 'justification',
  compensatingControls: 'compensating_controls',
  affectedSystems: 'affected_systems',
  externalRef: 'external_ref',
  requesterId: 'requester_id',
  ownerId: 'owner_id',
  structural: 'structural',
  structuralReason: 'structural_reason',
  requestedExpiresOn: 'requested_expires_on',
  expiresOn: 'expires_on',
  originalExpiresOn: 'original_expires_on',
  route: 'route',
  riskScore: 'risk_score',
  createdAt: 'created_at',
  activatedAt: 'activated_at',
  closedAt: 'closed_at',
  closingNote: 'closing_note',
  currentRound: 'current_round',
  renewalCount: 'renewal_count',
  lastCheckinOn: 'last_checkin_on',
  needsAttention: 'attention_reason (set or not)',
  lastReviewedAt: 'last_reviewed_at',
  lastReviewedBy: 'last_reviewed_by',
};

// What a row of each table is compared on, in this order; the fields that name the row are in its key instead.
const ASSESSMENT_FIELDS: (keyof AssessmentState)[] = ['assessorId', 'likelihood', 'impact', 'score', 'rationale', 'route', 'routeReasons', 'assessedAt'];
const DECISION_FIELDS: (keyof DecisionState)[] = ['outcome', 'comment', 'decidedAt'];
const RENEWAL_FIELDS: (keyof RenewalState)[] = ['status', 'requestedBy', 'progress', 'percentComplete', 'evidenceUrl', 'controlTestedOn', 'requestedExpiresOn', 'route', 'newExpiresOn', 'createdAt', 'decidedAt'];

const AMENDMENT_FIELDS: (keyof AmendmentState)[] = [
  'status',
  'requestedBy',
  'reason',
  'scope',
  'affectedSystems',
  'compensatingControls',
  'previousScope',
  'previousAffectedSystems',
  'previousCompensatingControls',
  'route',
  'createdAt',
  'decidedAt',
];

/** Every field as text, the rows of the other tables one entry each, so that two states compare key by key. */
function flatten(state: ExceptionState): Map<string, string> {
  const fields = new Map<string, string>();
  for (const [key, column] of Object.entries(COLUMNS)) fields.set(column, JSON.stringify(state[key as keyof typeof COLUMNS]));
  for (const a of state.assessments) fields.set(`assessment of round ${a.round}`, JSON.stringify(a, ASSESSMENT_FIELDS));
  for (const d of state.decisions) fields.set(`decision of round ${d.round} by ${d.deciderId}`, JSON.stringify(d, DECISION_FIELDS));
  for (const r of state.renewals) fields.set(`renewal ${r.round}`, JSON.stringify(r, RENEWAL_FIELDS));
  for (const a of state.amendments) fields.set(`amendment of round ${a.round}`, JSON.stringify(a, AMENDMENT_FIELDS));
  return fields;
}

/** Every field where the register's rows differ from its trail, in the register's order. */
export function compareWithTrail(register: ExceptionState, trail: ExceptionState): Discrepancy[] {
  const [rows, replayed] = [flatten(register), flatten(trail)];
  return [...new Set([...rows.keys(), ...replayed.keys()])]
    .filter((field) => rows.get(field) !== replayed.get(field))
    .map((field) => ({ field, register: rows.get(field) ?? ABSENT, trail: replayed.get(field) ?? ABSENT }));
}
