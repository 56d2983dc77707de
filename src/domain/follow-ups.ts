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
