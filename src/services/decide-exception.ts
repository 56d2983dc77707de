import { and, eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { amendments, decisions, exceptions, renewals } from '../db/schema';
import type { Tx } from '../db/client';
import { assertDecidedOnThisVersion, sentBackRefusal } from '../domain/amendment';
import { assertMayDecide, assertOwnerHasNotDeclined } from '../domain/authority';
import { calendarDateIn } from '../domain/calendar';
import { RejectionReason, tallyVotes, type Tally } from '../domain/decision';
import { DomainError } from '../domain/errors';
import { fixExpiry } from '../domain/expiry';
import { allowedDays } from '../domain/request';
import { nextStatus, transitionRefused } from '../domain/lifecycle';
import type { ApprovalRoute, DecisionOutcome } from '../domain/exception';
import { assertShownFor, type ShownFor } from '../domain/shown-for';
import type { ServiceContext } from './context';
import { currentRoundOf, getRecordFor, type ExceptionRecord } from './exception-record';
import { queueNotifications, type DirectMessage, type Notification } from './notifications';

function parseRejectionReason(comment: string | undefined): string {
  const parsed = RejectionReason.safeParse(comment);
  if (!parsed.success) throw new DomainError('invalid_request', parsed.error.issues[0]?.message ?? 'Give the reason for rejecting.');
  return parsed.data;
}

/**
 * Checked before the rejection modal opens and again when the decision is recorded. `shown` is what the button or
 * form was shown for; Slack always passes it, in-process callers act on the record as it is.
 */
export function authorizeDecision(ctx: ServiceContext, exceptionId: number, actorId: string, outcome: DecisionOutcome, shown?: ShownFor): ExceptionRecord {
  const record = getRecordFor(ctx.db, exceptionId, actorId, ctx.roles);
  assertDecidable(ctx, record, actorId, outcome, shown);
  return record;
}

/** Only an assessed request or renewal is decided, as it was shown, and by whom its route names; returns that route. */
function assertDecidable(ctx: ServiceContext, record: ExceptionRecord, actorId: string, outcome: DecisionOutcome, shown: ShownFor | undefined): ApprovalRoute {
  if (shown) assertShownFor(shown, currentRoundOf(record), 'decision');
  if (record.open?.stage !== 'decision' || !record.route) {
    if (record.sentBack) throw sentBackRefusal(record.ref, record.requesterId, 'decided');
    if (record.round === 0) throw transitionRefused(record.status, outcome);
    const verb = outcome === 'approve' ? 'approved' : 'rejected';
    if (record.amendment) {
      const where = record.status === 'active' ? record.amendment.status.replace('_', ' ') : `withdrawn: ${record.ref} is ${record.status.replace('_', ' ')}`;
      throw new DomainError('invalid_transition', `The change of terms of ${record.ref} is ${where}, so it cannot be ${verb} now.`);
    }
    throw new DomainError('invalid_transition', `The renewal of ${record.ref} is ${record.renewal?.status.replace('_', ' ') ?? 'not open'}, so it cannot be ${verb} now.`);
  }
  assertDecidedOnThisVersion(record.amended !== null && record.round === 0, shown?.pressedOn, record.approvalMessage);
  assertMayDecide(actorId, { ...record, assessorId: record.assessment?.assessorId }, record.route, ctx.roles);
  if (outcome === 'approve' && record.round === 0) assertOwnerHasNotDeclined(record.ref, record.ownerId, record.ownerConfirmation);
  const earlier = record.decisions.find((d) => d.deciderId === actorId);
  if (earlier) {
    throw new DomainError(
      'already_voted',
      `You already ${earlier.outcome === 'approve' ? 'approved' : 'rejected'} ${record.ref} (${earlier.decidedAt.slice(0, 16).replace('T', ' ')} UTC). Each person decides once.`,
    );
  }
  return record.route;
}

function decisionMessages(record: ExceptionRecord, message: DirectMessage): Notification[] {
  return [...new Set([record.requesterId, record.ownerId])].map((recipientId) => ({ kind: 'direct_message' as const, exceptionId: record.id, recipientId, message }));
}

/**
 * An approved renewal moves the expiry (counted from today, never stretched) and, if the exception expired while
 * the renewal waited, reactivates it; the original expiry date stays on the record. A rejection changes nothing else.
 */
function concludeRenewal(
  ctx: ServiceContext,
  tx: Tx,
  record: ExceptionRecord,
  outcome: 'approved' | 'rejected',
  vote: { deciderId: string; comment: string | null; tally: Tally; now: Date },
): Notification[] {
  const at = vote.now.toISOString();
  const renewal = record.renewal as NonNullable<ExceptionRecord['renewal']>;
  let newExpiresOn: string | null = null;
  if (outcome === 'approved') {
    newExpiresOn = fixExpiry(renewal.requestedExpiresOn, calendarDateIn(vote.now, ctx.timeZone), allowedDays(record.structural, ctx.rules, record.policy));
    const moved = tx
      .update(exceptions)
      .set({ status: nextStatus(record.status, 'renew'), expiresOn: newExpiresOn, renewalCount: record.renewalCount + 1, updatedAt: at })
      .where(and(eq(exceptions.id, record.id), eq(exceptions.status, record.status)))
      .run();
    if (moved.changes === 0) throw new DomainError('conflict', `${record.ref} changed a moment ago; look at it again.`);
  }
  const concluded = tx
    .update(renewals)
    .set({ status: outcome, decidedAt: at, newExpiresOn })
    .where(and(eq(renewals.exceptionId, record.id), eq(renewals.round, record.round), eq(renewals.status, 'pending_approval')))
    .run();
  if (concluded.changes === 0) throw new DomainError('conflict', `The renewal of ${record.ref} was decided by someone else a moment ago.`);
  appendAuditEvent(tx, {
    exceptionId: record.id,
    actorId: vote.deciderId,
    kind: outcome === 'approved' ? 'renewal.approved' : 'renewal.rejected',
    payload: { round: record.round, comment: vote.comment, tally: vote.tally, newExpiresOn, reactivated: outcome === 'approved' && record.status === 'expired' },
    occurredAt: at,
  });
  return [{ kind: 'refresh_card', exceptionId: record.id, card: 'triage' }, ...decisionMessages(record, outcome === 'approved' ? 'renewal_approved' : 'renewal_rejected')];
}

/**
 * An approved change of terms makes the new scope, affected systems and compensating control the exception's; its
 * expiry and status stay. A rejection leaves it on the terms it had.
 */
function concludeAmendment(tx: Tx, record: ExceptionRecord, outcome: 'approved' | 'rejected', vote: { deciderId: string; comment: string | null; tally: Tally; now: Date }): Notification[] {
  const at = vote.now.toISOString();
  const amendment = record.amendment as NonNullable<ExceptionRecord['amendment']>;
  if (outcome === 'approved') {
    const moved = tx
      .update(exceptions)
      .set({ scope: amendment.scope, affectedSystems: amendment.affectedSystems, compensatingControls: amendment.compensatingControls, updatedAt: at })
      .where(and(eq(exceptions.id, record.id), eq(exceptions.status, 'active'), eq(exceptions.currentRound, record.round)))
      .run();
    if (moved.changes === 0) throw new DomainError('conflict', `${record.ref} changed a moment ago; look at it again.`);
  }
  const concluded = tx
    .update(amendments)
    .set({ status: outcome, decidedAt: at })
    .where(and(eq(amendments.exceptionId, record.id), eq(amendments.round, record.round), eq(amendments.status, 'pending_approval')))
    .run();
  if (concluded.changes === 0) throw new DomainError('conflict', `The change of terms of ${record.ref} was decided by someone else a moment ago.`);
  appendAuditEvent(tx, {
    exceptionId: record.id,
    actorId: vote.deciderId,
    kind: outcome === 'approved' ? 'amendment.approved' : 'amendment.rejected',
    payload: { round: record.round, comment: vote.comment, tally: vote.tally },
    occurredAt: at,
  });
  const told = [...new Set([amendment.requestedBy, record.ownerId, record.requesterId])];
  return [
    { kind: 'refresh_card', exceptionId: record.id, card: 'triage' },
    ...told.map((recipientId) => ({ kind: 'direct_message' as const, exceptionId: record.id, recipientId, message: outcome === 'approved' ? ('amendment_approved' as const) : ('amendment_rejected' as const) })),
  ];
}

export interface DecideCommand {
  exceptionId: number;
  deciderId: string;
  outcome: DecisionOutcome;
  comment?: string;
  /** What the button or form was shown for. */
  shown?: ShownFor;
}

export interface DecideResult {
  ref: string;
  outcome: Tally['outcome'];
  tally: Tally;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error as { code: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export function decideException(ctx: ServiceContext, command: DecideCommand): DecideResult {
  const now = ctx.clock();
  const at = now.toISOString();

  try {
    return ctx.db.transaction(
      (tx) => {
        const record = getRecordFor(tx, command.exceptionId, command.deciderId, ctx.roles);
        const route = assertDecidable(ctx, record, command.deciderId, command.outcome, command.shown);
        const comment = command.outcome === 'reject' ? parseRejectionReason(command.comment) : command.comment?.trim() || null;
        tx.insert(decisions)
          .values({ exceptionId: record.id, round: record.round, deciderId: command.deciderId, outcome: command.outcome, comment, decidedAt: at })
          .run();
        const tally = tallyVotes([...record.decisions, { deciderId: command.deciderId, outcome: command.outcome }], route, ctx.rules.committeeQuorum);
        const notifications: Notification[] = [{ kind: 'refresh_card', exceptionId: record.id, card: 'approval' }];

        if (tally.outcome === 'pending') {
          appendAuditEvent(tx, {
            exceptionId: record.id,
            actorId: command.deciderId,
            kind: record.renewal ? 'renewal.vote_recorded' : record.amendment ? 'amendment.vote_recorded' : 'exception.vote_recorded',
            payload: { round: record.round, outcome: command.outcome, comment, tally },
            occurredAt: at,
          });
        } else if (record.amendment) {
          notifications.push(...concludeAmendment(tx, record, tally.outcome, { deciderId: command.deciderId, comment, tally, now }));
        } else if (record.renewal) {
          notifications.push(...concludeRenewal(ctx, tx, record, tally.outcome, { deciderId: command.deciderId, comment, tally, now }));
        } else {
          const action = tally.outcome === 'approved' ? 'approve' : 'reject';
          const status = nextStatus(record.status, action);
          const expiresOn =
            action === 'approve' ? fixExpiry(record.requestedExpiresOn, calendarDateIn(now, ctx.timeZone), allowedDays(record.structural, ctx.rules, record.policy)) : null;
          const moved = tx
            .update(exceptions)
            .set({
              status,
              updatedAt: at,
              ...(expiresOn ? { expiresOn, originalExpiresOn: expiresOn, activatedAt: at } : { closedAt: at }),
            })
            .where(and(eq(exceptions.id, record.id), eq(exceptions.status, record.status)))
            .run();
          if (moved.changes === 0) throw new DomainError('conflict', `${record.ref} was decided by someone else a moment ago.`);
          appendAuditEvent(tx, {
            exceptionId: record.id,
            actorId: command.deciderId,
            kind: action === 'approve' ? 'exception.approved' : 'exception.rejected',
            payload: { outcome: command.outcome, comment, tally, expiresOn },
            occurredAt: at,
          });
          notifications.push(
            { kind: 'refresh_card', exceptionId: record.id, card: 'triage' },
            ...decisionMessages(record, action === 'approve' ? 'approved' : 'rejected'),
          );
        }
        queueNotifications(tx, notifications, now);
        return { ref: record.ref, outcome: tally.outcome, tally };
      },
      { behavior: 'immediate' },
    );
  } catch (error) {
    // A second process recorded this person's decision between our read and our insert.
    if (isUniqueViolation(error)) throw new DomainError('already_voted', 'Your decision on this exception is already recorded. Each person decides once.');
    throw error;
  }
}
