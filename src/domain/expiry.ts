import { addCalendarDays, daysBetween, type CalendarDate } from './calendar';
import { DomainError } from './errors';

/**
 * The expiry is fixed when the exception becomes active: the requested date, but never more than the allowed
 * duration counted from the day of approval (a slow approval must not stretch the clock).
 */
export function fixExpiry(requestedExpiresOn: CalendarDate, today: CalendarDate, maxDays: number): CalendarDate {
  if (daysBetween(today, requestedExpiresOn) <= 0) {
    throw new DomainError(
      'expiry_passed',
      `The requested expiry date ${requestedExpiresOn} has already passed. Reject this request and ask for a new one with a later date.`,
    );
  }
  const latest = addCalendarDays(today, maxDays);
  return requestedExpiresOn < latest ? requestedExpiresOn : latest;
}
