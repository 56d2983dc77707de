import { describe, expect, it } from 'vitest';
import { addCalendarDays, calendarDateIn, daysBetween, isCalendarDate, isTimeZone } from '../../src/domain/calendar';

describe('calendarDateIn: an expiry is a day in the organisation\'s time zone', () => {
  it.each([
    // 05:00 UTC on 25 November is 21:00 on the 24th in Los Angeles (UTC-8) and 18:00 on the 25th in Auckland (UTC+13).
    ['2026-11-25T05:00:00Z', 'America/Los_Angeles', '2026-11-24'],
    ['2026-11-25T05:00:00Z', 'UTC', '2026-11-25'],
    ['2026-11-25T05:00:00Z', 'Pacific/Auckland', '2026-11-25'],
    // 12:00 UTC is already 01:00 on the 26th in Auckland, still the 25th elsewhere.
    ['2026-11-25T12:00:00Z', 'America/Los_Angeles', '2026-11-25'],
    ['2026-11-25T12:00:00Z', 'UTC', '2026-11-25'],
    ['2026-11-25T12:00:00Z', 'Pacific/Auckland', '2026-11-26'],
    // Pago Pago (UTC-11) and Kiritimati (UTC+14) are 25 hours apart: one instant, three dates.
    ['2026-11-25T10:30:00Z', 'Pacific/Pago_Pago', '2026-11-24'],
    ['2026-11-25T10:30:00Z', 'UTC', '2026-11-25'],
    ['2026-11-25T10:30:00Z', 'Pacific/Kiritimati', '2026-11-26'],
    // Midnight exactly belongs to the new day.
    ['2026-11-25T00:00:00Z', 'UTC', '2026-11-25'],
    ['2026-11-24T23:59:59.999Z', 'UTC', '2026-11-24'],
    // Summer time: Los Angeles is UTC-7 in July, so 06:59 UTC is still the day before.
    ['2026-07-01T06:59:00Z', 'America/Los_Angeles', '2026-06-30'],
    ['2026-07-01T07:00:00Z', 'America/Los_Angeles', '2026-07-01'],
    // New Year in Auckland arrives while the rest of the world is still in the old year.
    ['2026-12-31T11:00:00Z', 'Pacific/Auckland', '2027-01-01'],
    ['2026-12-31T11:00:00Z', 'America/Los_Angeles', '2026-12-31'],
  ])('%s in %s is %s', (instant, timeZone, date) => {
    expect(calendarDateIn(new Date(instant), timeZone)).toBe(date);
  });

  it('one instant, 2026-11-25T06:00Z: yesterday in Los Angeles, today in UTC, and a day ahead of Los Angeles in Auckland', () => {
    const instant = new Date('2026-11-25T06:00:00Z');
    const la = calendarDateIn(instant, 'America/Los_Angeles');
    const utc = calendarDateIn(instant, 'UTC');
    const auckland = calendarDateIn(instant, 'Pacific/Auckland');
    expect([la, utc, auckland]).toEqual(['2026-11-24', '2026-11-25', '2026-11-25']);
    expect(daysBetween(la, auckland)).toBe(1);
  });
});

describe('addCalendarDays: months, years and leap days', () => {
  it.each([
    ['2026-11-25', 1, '2026-11-26'],
    ['2026-11-30', 1, '2026-12-01'],
    ['2026-12-31', 1, '2027-01-01'],
    ['2026-11-25', 90, '2027-02-23'],
    ['2026-11-25', 365, '2027-11-25'],
    ['2027-11-25', 365, '2028-11-24'],
    ['2026-02-28', 1, '2026-03-01'],
    ['2028-02-28', 1, '2028-02-29'],
    ['2028-02-29', 1, '2028-03-01'],
    ['2100-02-28', 1, '2100-03-01'],
    ['2000-02-28', 1, '2000-02-29'],
    ['2026-03-01', -1, '2026-02-28'],
    ['2028-03-01', -1, '2028-02-29'],
    ['2027-01-01', -1, '2026-12-31'],
    ['2026-11-25', 0, '2026-11-25'],
    // Daylight-saving changes do not stretch or shrink a calendar day.
    ['2026-03-07', 1, '2026-03-08'],
    ['2026-10-31', 2, '2026-11-02'],
  ])('%s + %i days = %s', (date, days, expected) => {
    expect(addCalendarDays(date, days)).toBe(expected);
  });
});

describe('daysBetween', () => {
  it.each([
    ['2026-11-25', '2026-11-25', 0],
    ['2026-11-25', '2026-11-26', 1],
    ['2026-11-26', '2026-11-25', -1],
    ['2026-11-25', '2027-02-23', 90],
    ['2026-02-01', '2026-03-01', 28],
    ['2028-02-01', '2028-03-01', 29],
    ['2028-01-01', '2029-01-01', 366],
    ['2027-01-01', '2028-01-01', 365],
    ['2026-03-01', '2026-04-01', 31],
  ])('from %s to %s is %i days', (from, to, days) => {
    expect(daysBetween(from, to)).toBe(days);
  });

  it.each([1, 28, 90, 365, 366, 1000])('is the inverse of addCalendarDays for %i days', (days) => {
    expect(daysBetween('2026-11-25', addCalendarDays('2026-11-25', days))).toBe(days);
  });
});

describe('isCalendarDate', () => {
  it.each([
    ['2026-11-25', true],
    ['2028-02-29', true],
    ['2000-02-29', true],
    ['2026-02-29', false],
    ['2100-02-29', false],
    ['2026-04-31', false],
    ['2026-13-01', false],
    ['2026-00-10', false],
    ['2026-11-00', false],
    ['2026-1-05', false],
    ['26-11-25', false],
    ['2026-11-25T00:00:00Z', false],
    [' 2026-11-25', false],
    ['', false],
  ])('%j → %s', (value, ok) => {
    expect(isCalendarDate(value)).toBe(ok);
  });
});

describe('isTimeZone', () => {
  it.each([
    ['UTC', true],
    ['Europe/Berlin', true],
    ['America/Los_Angeles', true],
    ['Pacific/Auckland', true],
    ['Mars/Olympus_Mons', false],
    ['Europe/Nowhere', false],
    ['', false],
  ])('%j → %s', (value, ok) => {
    expect(isTimeZone(value)).toBe(ok);
  });
});
