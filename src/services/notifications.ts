import { outbox } from '../db/schema';
import type { Tx } from '../db/client';

export const CARDS = ['triage', 'approval'] as const;
export type Card = (typeof CARDS)[number];

export const DIRECT_MESSAGES = ['receipt', 'owner_named', 'approved', 'rejected'] as const;
export type DirectMessage = (typeof DIRECT_MESSAGES)[number];

/** What Slack should be told. Rendered at delivery time from the register, so a retried update shows the latest state. */
export type Notification =
  | { kind: 'post_card'; exceptionId: number; card: Card; channel: string }
  | { kind: 'refresh_card'; exceptionId: number; card: Card }
  | { kind: 'direct_message'; exceptionId: number; recipientId: string; message: DirectMessage };

/** Queued in the caller's transaction: the notification exists exactly when the state change does. */
export function queueNotifications(tx: Tx, notifications: readonly Notification[], now: Date): void {
  if (notifications.length === 0) return;
  const at = now.toISOString();
  tx.insert(outbox)
    .values(notifications.map((n) => ({ exceptionId: n.exceptionId, kind: n.kind, payload: JSON.stringify(n), nextAttemptAt: at, createdAt: at })))
    .run();
}
