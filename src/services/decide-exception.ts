import { and, eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { decisions, exceptions } from '../db/schema';
import { assertMayDecide } from '../domain/authority';
import { calendarDateIn } from '../domain/calendar';
import { RejectionReason, tallyVotes, type Tally } from '../domain/decision';
import { DomainError } from '../domain/errors';
import { fixExpiry } from '../domain/expiry';
import { allowedDays } from '../domain/request';
import { nextStatus, transitionRefused } from '../domain/lifecycle';
import type { ApprovalRoute, DecisionOutcome } from '../domain/exception';
import type { ServiceContext } from './context';
import { getExceptionRecord, type ExceptionRecord } from './exception-record';
import { queueNotifications, type Notification } from './notifications';

function parseRejectionReason(comment: string | undefined): string {
  const parsed = RejectionReason.safeParse(comment);
  if (!parsed.success) throw new DomainError('invalid_request', parsed.error.issues[0]?.message ?? 'Give the reason for rejecting.');
  return parsed.data;
}

/** Checked before the rejection modal opens and again when the decision is recorded. */
export function authorizeDecision(ctx: ServiceContext, exceptionId: number, actorId: string, outcome: DecisionOutcome): ExceptionRecord {
  const record = getExceptionRecord(ctx.db, exceptionId);
  assertDecidable(ctx, record, actorId, outcome);
  return record;
}

/** Only an assessed exception is decided, and by whom its route names; returns that route. */
function assertDecidable(ctx: ServiceContext, record: ExceptionRecord, actorId: string, outcome: DecisionOutcome): ApprovalRoute {
  if (record.status !== 'pending_approval' || !record.route) throw transitionRefused(record.status, outcome);
  assertMayDecide(actorId, record, record.route, ctx.roles);
  const earlier = record.decisions.find((d) => d.deciderId === actorId);
  if (earlier) {
    throw new DomainError(
      'already_voted',
      `You already ${earlier.outcome === 'approve' ? 'approved' : 'rejected'} ${record.ref} (${earlier.decidedAt.slice(0, 16).replace('T', ' ')} UTC). Each person decides once.`,
    );
  }
  return record.route;
}

export interface DecideCommand {
  exceptionId: number;
  deciderId: string;
  outcome: DecisionOutcome;
  comment?: string;
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
        const record = getExceptionRecord(tx, command.exceptionId);
        const route = assertDecidable(ctx, record, command.deciderId, command.outcome);
        const comment = command.outcome === 'reject' ? parseRejectionReason(command.comment) : command.comment?.trim() || null;
        tx.insert(decisions)
          .values({ exceptionId: record.id, round: record.round, deciderId: command.deciderId, outcome: command.outcome, comment, decidedAt: at })
          .run();
        const tally = tallyVotes([...record.decisions, { deciderId: command.deciderId, outcome: command.outcome }], route, ctx.rules.committeeQuorum);
        const notifications: Notification[] = [{ kind: 'refresh_card', exceptionId: record.id, card: 'approval' }];

        if (tally.outcome === 'pending') {
          appendAuditEvent(tx, { exceptionId: record.id, actorId: command.deciderId, kind: 'exception.vote_recorded', payload: { outcome: command.outcome, comment, tally }, occurredAt: at });
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
          const recipients = [...new Set([record.requesterId, record.ownerId])];
          notifications.push(
            { kind: 'refresh_card', exceptionId: record.id, card: 'triage' },
            ...recipients.map((recipientId) => ({
              kind: 'direct_message' as const,
              exceptionId: record.id,
              recipientId,
              message: action === 'approve' ? ('approved' as const) : ('rejected' as const),
            })),
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
