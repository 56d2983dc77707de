import { addCalendarDays, daysBetween, type CalendarDate } from './calendar';
import { DomainError } from './errors';

/**
 * The expiry is fixed when the exception becomes active: the requested date, refused if it has already passed,
 * and cut to the allowed duration from today if the limits were lowered while the request waited.
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
