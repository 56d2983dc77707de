import { and, eq } from 'drizzle-orm';
import type { Tx } from '../db/client';
import { exceptions } from '../db/schema';
import { DomainError } from '../domain/errors';
import type { ServiceContext } from './context';
import type { ExceptionRecord } from './exception-record';
import { queueNotifications } from './notifications';

/**
 * Opens the next round of an active exception, a renewal or a change of its terms, and asks the security team for
 * its assessment in the card's thread (never its owner or requester). Returns the round's number; the caller
 * records what the round asks for in the same transaction.
 */
export function openNextRound(ctx: ServiceContext, tx: Tx, record: ExceptionRecord, asked: 'renewal_requested' | 'amendment_requested', now: Date): number {
  const round = record.round + 1;
  const moved = tx
    .update(exceptions)
    // The earlier decision message keeps its outcome; the new round is decided in a message of its own.
    .set({ currentRound: round, approvalChannel: null, approvalTs: null, updatedAt: now.toISOString() })
    .where(and(eq(exceptions.id, record.id), eq(exceptions.currentRound, record.round), eq(exceptions.status, 'active')))
    .run();
  if (moved.changes === 0) throw new DomainError('conflict', `${record.ref} changed a moment ago; look at it again.`);
  queueNotifications(
    tx,
    [
      { kind: 'refresh_card', exceptionId: record.id, card: 'triage' },
      {
        kind: 'thread_reply',
        exceptionId: record.id,
        card: 'triage',
        message: asked,
        mentions: [...ctx.roles.securityTeam].filter((id) => id !== record.ownerId && id !== record.requesterId),
        workingDays: 0,
      },
    ],
    now,
  );
  return round;
}
