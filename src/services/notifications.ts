import { outbox } from '../db/schema';
import type { Tx } from '../db/client';
import type { AuditAnchor } from '../domain/audit-anchor';
import type { EscalationTarget } from '../domain/follow-ups';
import type { Metrics } from '../domain/metrics';
import type { QuarterFigures } from './quarterly-review';
import type { DriftReportItem } from './run-reconciliation';
import type { ChangeFacts } from '../integrations/apply-changes';
import type { ConnectorErrorCode } from '../integrations/port';

export const CARDS = ['triage', 'approval'] as const;
export type Card = (typeof CARDS)[number];

export const DIRECT_MESSAGES = ['receipt', 'owner_named', 'owner_declined', 'approved', 'rejected', 'expired', 'closed', 'revoked', 'renewal_approved', 'renewal_rejected', 'amendment_approved', 'amendment_rejected'] as const;
export type DirectMessage = (typeof DIRECT_MESSAGES)[number];

/**
 * Where a request stands, told without asking (issue 11): to its requester, sent back for changes, and assessed and
 * routed to its deciders; to the owner it named, withdrawn by its requester.
 */
export const STANDING_MESSAGES = ['changes_requested', 'assessed', 'withdrawn'] as const;
export type StandingMessage = (typeof STANDING_MESSAGES)[number];

export interface ReminderItem {
  exceptionId: number;
  daysLeft: number;
  /** The expiry the reminder was about: if it has moved (renewed) or passed by delivery, the item is dropped. */
  expiresOn: string;
}

/**
 * What Slack should be told. Rendered at delivery time from the register, so a retried update shows the latest state.
 * `run`, on a notice to one person, is the job run's as-of time: one run's expiries, reminders and check-in questions
 * to one person go out as one DM.
 */
export type Notification =
  | { kind: 'post_card'; exceptionId: number; card: Card; channel: string }
  | { kind: 'refresh_card'; exceptionId: number; card: Card }
  /** App Home of the people concerned with an exception, published again once it has moved: queued with every card change. */
  | { kind: 'refresh_card'; exceptionId: number; card: 'home' }
  /** `expiredOn`, for an expiry notice: the day that ended, which a renewal approved before delivery moves on. */
  | { kind: 'direct_message'; exceptionId: number; recipientId: string; message: DirectMessage | StandingMessage; expiredOn?: string; run?: string }
  /** A nudge in the thread of the card where someone has to act; `stall_nudge_again` once it has been escalated. */
  | { kind: 'thread_reply'; exceptionId: number; card: Card; message: 'stall_nudge' | 'stall_nudge_again' | 'renewal_requested' | 'amendment_requested'; mentions: string[]; workingDays: number }
  /** Whoever the request waited on, told in that card's thread that its requester withdrew it. */
  | { kind: 'thread_reply'; exceptionId: number; card: Card; message: 'request_withdrawn'; mentions: string[] }
  /** Tells whoever asked that their request stalls: whom it waits on and since when, and who was nudged. Dropped if the round moved on. */
  | { kind: 'direct_message'; exceptionId: number; recipientId: string; message: 'stall_notice'; round: number; stage: 'assessment' | 'decision'; escalated: boolean; workingDays: number }
  /** One DM per owner per run, however many of their exceptions need a reminder. */
  | { kind: 'reminder_digest'; recipientId: string; items: ReminderItem[]; run?: string }
  | { kind: 'expiry_digest'; recipientId: string; exceptionIds: number[]; expiredOn?: Record<number, string>; run?: string }
  /** A pointer to the formal process, in the thread of an informal ask in a watched channel. */
  | { kind: 'informal_pointer'; channel: string; threadTs: string; askId: number; askedBy: string }
  /** "Is the compensating control still in place and working?", with Yes and No; the earlier questions it replaces lose their buttons. */
  | { kind: 'checkin_question'; exceptionId: number; recipientId: string; checkinId: number; supersedes?: number[]; run?: string }
  | { kind: 'channel_post'; channel: string; message: 'expiry_summary'; exceptionIds: number[]; expiredOn?: Record<number, string> }
  | { kind: 'channel_post'; channel: string; message: 'checkin_alert'; exceptionIds: number[]; reason: 'answered_no' | 'no_answer' }
  /** `to`: who it is escalated to; a committee decision goes to the CISO and delegates (APPROVER_IDS), never back to the committee. */
  | { kind: 'channel_post'; channel: string; message: 'stall_escalation'; exceptionIds: number[]; workingDays: number; to?: EscalationTarget }
  /** A change a vendor has not taken (`failing`, posted once per task), or has taken after all (`done`, only after a `failing` one). */
  | { kind: 'channel_post'; channel: string; message: 'integration_alert'; exceptionIds: number[]; outcome: 'failing'; facts: ChangeFacts; error: string; code: ConnectorErrorCode; nextAttemptAt: string; retryEveryMs?: number }
  | { kind: 'channel_post'; channel: string; message: 'integration_alert'; exceptionIds: number[]; outcome: 'done'; facts: ChangeFacts; sentence: string }
  /** What one reconciliation run found that was not posted before; `total` counts those past the ones listed. */
  | { kind: 'channel_post'; channel: string; message: 'drift_report'; findings: DriftReportItem[]; total: number }
  /** `anchor`: the audit chain's head when the post was made, for `audit verify` to check against later. */
  | { kind: 'channel_post'; channel: string; message: 'weekly_metrics'; metrics: Metrics; anchor?: AuditAnchor }
  /** `reviewed`: the quarter just ended; missing from reviews queued before it was kept. */
  | { kind: 'channel_post'; channel: string; message: 'review_summary'; quarter: string; counts: Record<string, number>; overdue: number; reviewed?: QuarterFigures }
  | { kind: 'channel_post'; channel: string; message: 'review_overdue' | 'review_register'; quarter: string; exceptionIds: number[] };

/** Rows per INSERT: SQLite caps the values one statement may bind, and a catch-up run can queue thousands. */
const ROWS_PER_INSERT = 500;

/**
 * A change that touches an exception's cards changes someone's App Home lists too: one refresh of the homes concerned
 * per exception, after its cards (the same ordering key), so nobody's tab still offers a button for what has moved.
 */
function withHomeRefresh(notifications: readonly Notification[]): Notification[] {
  const moved = new Set(notifications.flatMap((n) => ((n.kind === 'post_card' || n.kind === 'refresh_card') && n.card !== 'home' ? [n.exceptionId] : [])));
  const already = new Set(notifications.flatMap((n) => (n.kind === 'refresh_card' && n.card === 'home' ? [n.exceptionId] : [])));
  return [...notifications, ...[...moved].filter((id) => !already.has(id)).map((exceptionId) => ({ kind: 'refresh_card' as const, exceptionId, card: 'home' as const }))];
}

/** Queued in the caller's transaction: the notification exists exactly when the state change does. */
export function queueNotifications(tx: Tx, queued: readonly Notification[], now: Date): void {
  const notifications = withHomeRefresh(queued);
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
