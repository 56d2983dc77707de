import { outbox } from '../db/schema';
import type { Tx } from '../db/client';
import type { AuditAnchor } from '../domain/audit-anchor';
import type { Metrics } from '../domain/metrics';

export const CARDS = ['triage', 'approval'] as const;
export type Card = (typeof CARDS)[number];

export const DIRECT_MESSAGES = ['receipt', 'owner_named', 'owner_declined', 'approved', 'rejected', 'expired', 'closed', 'revoked', 'renewal_approved', 'renewal_rejected'] as const;
export type DirectMessage = (typeof DIRECT_MESSAGES)[number];

export interface ReminderItem {
  exceptionId: number;
  daysLeft: number;
  /** The expiry the reminder was about: if it has moved (renewed) or passed by delivery, the item is dropped. */
  expiresOn: string;
}

/** What Slack should be told. Rendered at delivery time from the register, so a retried update shows the latest state. */
export type Notification =
  | { kind: 'post_card'; exceptionId: number; card: Card; channel: string }
  | { kind: 'refresh_card'; exceptionId: number; card: Card }
  /** `expiredOn`, for an expiry notice: the day that ended, which a renewal approved before delivery moves on. */
  | { kind: 'direct_message'; exceptionId: number; recipientId: string; message: DirectMessage; expiredOn?: string }
  /** A nudge in the thread of the card where someone has to act. */
  | { kind: 'thread_reply'; exceptionId: number; card: Card; message: 'stall_nudge' | 'renewal_requested'; mentions: string[]; workingDays: number }
  /** One DM per owner per run, however many of their exceptions need a reminder. */
  | { kind: 'reminder_digest'; recipientId: string; items: ReminderItem[] }
  | { kind: 'expiry_digest'; recipientId: string; exceptionIds: number[]; expiredOn?: Record<number, string> }
  /** A pointer to the formal process, in the thread of an informal ask in a watched channel. */
  | { kind: 'informal_pointer'; channel: string; threadTs: string; askId: number; askedBy: string }
  /** "Is the compensating control still in place and working?", with Yes and No; the earlier questions it replaces lose their buttons. */
  | { kind: 'checkin_question'; exceptionId: number; recipientId: string; checkinId: number; supersedes?: number[] }
  | { kind: 'channel_post'; channel: string; message: 'expiry_summary'; exceptionIds: number[]; expiredOn?: Record<number, string> }
  | { kind: 'channel_post'; channel: string; message: 'checkin_alert'; exceptionIds: number[]; reason: 'answered_no' | 'no_answer' }
  | { kind: 'channel_post'; channel: string; message: 'stall_escalation'; exceptionIds: number[]; workingDays: number }
  /** `anchor`: the audit chain's head when the post was made, for `audit verify` to check against later. */
  | { kind: 'channel_post'; channel: string; message: 'weekly_metrics'; metrics: Metrics; anchor?: AuditAnchor }
  | { kind: 'channel_post'; channel: string; message: 'review_summary'; quarter: string; counts: Record<string, number>; overdue: number }
  | { kind: 'channel_post'; channel: string; message: 'review_overdue' | 'review_register'; quarter: string; exceptionIds: number[] };

/** Rows per INSERT: SQLite caps the values one statement may bind, and a catch-up run can queue thousands. */
const ROWS_PER_INSERT = 500;

/** Queued in the caller's transaction: the notification exists exactly when the state change does. */
export function queueNotifications(tx: Tx, notifications: readonly Notification[], now: Date): void {
  const at = now.toISOString();
  for (let from = 0; from < notifications.length; from += ROWS_PER_INSERT) {
    tx.insert(outbox)
      .values(
        notifications.slice(from, from + ROWS_PER_INSERT).map((n) => ({
          exceptionId: 'exceptionId' in n ? n.exceptionId : null,
          kind: n.kind,
          payload: JSON.stringify(n),
          nextAttemptAt: at,
          createdAt: at,
        })),
      )
      .run();
  }
}
