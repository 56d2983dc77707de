import { addCalendarDays, daysBetween, type CalendarDate } from './calendar';
import type { ApprovalRoute } from './exception';

/** An active exception expires at the end of its expiry day: from the next day on, in the organisation's time zone. */
export function hasExpired(expiresOn: CalendarDate, today: CalendarDate): boolean {
  return today > expiresOn;
}

/**
 * Which reminder is due, if any: the most urgent threshold already reached. After downtime that skips the
 * stale, less urgent ones; once a more urgent reminder went out, a less urgent one is never sent.
 */
export function dueReminder(expiresOn: CalendarDate, today: CalendarDate, reminderDays: readonly number[], alreadySent: readonly number[]): number | undefined {
  const daysLeft = daysBetween(today, expiresOn);
  if (daysLeft < 0) return undefined;
  const reached = reminderDays.filter((threshold) => daysLeft <= threshold);
  if (reached.length === 0) return undefined;
  const mostUrgent = Math.min(...reached);
  return alreadySent.some((sent) => sent <= mostUrgent) ? undefined : mostUrgent;
}

const WEEKEND = new Set([0, 6]);

/** Working days (Monday to Friday) that have passed since a date: the days after it, up to and including today. */
export function workingDaysSince(since: CalendarDate, today: CalendarDate): number {
  let count = 0;
  for (let day = addCalendarDays(since, 1); day <= today; day = addCalendarDays(day, 1)) {
    if (!WEEKEND.has(new Date(`${day}T00:00:00Z`).getUTCDay())) count++;
  }
  return count;
}

export const NUDGE_AFTER_WORKING_DAYS = 2;
export const ESCALATE_AFTER_WORKING_DAYS = 5;

export type StallStage = 'stall_nudge' | 'stall_escalation';

/** A decision nobody acts on is nudged after two working days and escalated after five. */
export function stallStage(workingDaysWaiting: number): StallStage | undefined {
  if (workingDaysWaiting > ESCALATE_AFTER_WORKING_DAYS) return 'stall_escalation';
  if (workingDaysWaiting > NUDGE_AFTER_WORKING_DAYS) return 'stall_nudge';
  return undefined;
}

/**
 * After the escalation, whoever can act is nudged again every this many working days until the request stops
 * waiting (decided, sent back, or closed with its renewal): twice a week keeps a stalled request in view without becoming a daily ping people mute.
 * A constant like the two thresholds above, so the whole stall rhythm reads in one place.
 */
export const NUDGE_AGAIN_EVERY_WORKING_DAYS = 3;

/**
 * Which nudge after the escalation is due: 1 for the first, 2 for the next, …; 0 before any is. They are counted
 * from the day the escalation was due, so the same day always names the same one, however often the job runs.
 */
export function repeatNudgeDue(workingDaysWaiting: number): number {
  if (workingDaysWaiting <= ESCALATE_AFTER_WORKING_DAYS) return 0;
  return Math.floor((workingDaysWaiting - ESCALATE_AFTER_WORKING_DAYS - 1) / NUDGE_AGAIN_EVERY_WORKING_DAYS);
}

export const ESCALATION_TARGETS = ['committee', 'approvers'] as const;
export type EscalationTarget = (typeof ESCALATION_TARGETS)[number];

/**
 * Who a stalled request is escalated to: the steering committee, except a decision the committee itself has not
 * made, which goes over its head to the CISO and delegates (APPROVER_IDS; there is no committee chair role).
 */
export function escalationTarget(stage: 'assessment' | 'decision', route: ApprovalRoute | null): EscalationTarget {
  return stage === 'decision' && route === 'committee' ? 'approvers' : 'committee';
}

/**
 * Which wait a stall's follow-ups belong to: a stage of a round and, once the request was amended, that version.
 * An amended request waits afresh from its amendment, so it is nudged and escalated again, under keys of its own.
 */
export function stallKey(round: number, stage: 'assessment' | 'decision', amendments: number): string {
  return amendments > 0 ? `${round}:${stage}:amended:${amendments}` : `${round}:${stage}`;
}

export type StallFollowUp = { kind: 'nudge' } | { kind: 'escalation'; covers: number } | { kind: 'nudge_again'; repeat: number };

/**
 * What to send now for a request waiting `workingDaysWaiting`, given what was sent: one follow-up at most. An
 * escalation stands in for the nudge if that was never sent (downtime), and for every nudge again due sooner than
 * `NUDGE_AGAIN_EVERY_WORKING_DAYS` after it (`covers`, the last of them), so none follows it the next day.
 */
export function stallFollowUpDue(workingDaysWaiting: number, sent: { nudged: boolean; escalated: boolean; lastRepeat: number }): StallFollowUp | undefined {
  const stage = stallStage(workingDaysWaiting);
  if (stage === 'stall_escalation' && !sent.escalated) return { kind: 'escalation', covers: repeatNudgeDue(workingDaysWaiting + NUDGE_AGAIN_EVERY_WORKING_DAYS - 1) };
  if (stage === 'stall_nudge' && !sent.nudged && !sent.escalated) return { kind: 'nudge' };
  const repeat = repeatNudgeDue(workingDaysWaiting);
  if (sent.escalated && repeat > sent.lastRepeat) return { kind: 'nudge_again', repeat };
  return undefined;
}

/** The owner is asked every `everyDays` whether the compensating control still works, counted from the last time. */
export function checkinDue(lastAskedOn: CalendarDate | undefined, activatedOn: CalendarDate, today: CalendarDate, everyDays: number): boolean {
  return daysBetween(lastAskedOn ?? activatedOn, today) >= everyDays;
}

/**
 * Not worth asking when the exception ends before an answer would be due: the owner gets the expiry reminders
 * instead, and a question that lapses unanswered would only alarm the approvers about an exception already over.
 */
export function checkinWorthAsking(expiresOn: CalendarDate | null, today: CalendarDate, graceDays: number): boolean {
  return expiresOn === null || daysBetween(today, expiresOn) > graceDays;
}

/** Silence counts as a "no" once the grace period has passed. */
export function checkinOverdue(askedOn: CalendarDate, today: CalendarDate, graceDays: number): boolean {
  return daysBetween(askedOn, today) > graceDays;
}

/** Quarters as the committee names them: 2027-Q1. */
export function quarterOf(date: CalendarDate): string {
  const [year, month] = date.split('-').map(Number) as [number, number];
  return `${year}-Q${Math.floor((month - 1) / 3) + 1}`;
}

export function firstDayOfQuarter(date: CalendarDate): CalendarDate {
  const [year, month] = date.split('-').map(Number) as [number, number];
  return `${year}-${String(Math.floor((month - 1) / 3) * 3 + 1).padStart(2, '0')}-01`;
}

/** The quarterly review is due from the first Monday of the quarter on, once per quarter. */
export function firstMondayOfQuarter(date: CalendarDate): CalendarDate {
  const first = firstDayOfQuarter(date);
  const weekday = new Date(`${first}T00:00:00Z`).getUTCDay();
  return addCalendarDays(first, (8 - weekday) % 7);
}

/** Open past its original expiry: renewed beyond the date first approved, which the review must re-approve or close. */
export function pastOriginalExpiry(originalExpiresOn: CalendarDate | null, today: CalendarDate): boolean {
  return originalExpiresOn !== null && today > originalExpiresOn;
}
