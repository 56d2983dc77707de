import { addCalendarDays, daysBetween, type CalendarDate } from './calendar';

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

/** A decision nobody acts on is nudged after two working days and escalated to the committee after five. */
export function stallStage(workingDaysWaiting: number): StallStage | undefined {
  if (workingDaysWaiting > ESCALATE_AFTER_WORKING_DAYS) return 'stall_escalation';
  if (workingDaysWaiting > NUDGE_AFTER_WORKING_DAYS) return 'stall_nudge';
  return undefined;
}

/** The owner is asked every `everyDays` whether the compensating control still works, counted from the last time. */
export function checkinDue(lastAskedOn: CalendarDate | undefined, activatedOn: CalendarDate, today: CalendarDate, everyDays: number): boolean {
  return daysBetween(lastAskedOn ?? activatedOn, today) >= everyDays;
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
