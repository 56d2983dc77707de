import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors';
import { fixExpiry } from '../../src/domain/expiry';

describe('fixExpiry (SPEC §1: the expiry is fixed at approval, never beyond the maximum)', () => {
  it.each([
    ['a date well inside the maximum is kept', '2027-01-15', '2026-11-25', 90, '2027-01-15'],
    ['tomorrow is kept', '2026-11-26', '2026-11-25', 90, '2026-11-26'],
    ['exactly today + 90 is kept', '2027-02-23', '2026-11-25', 90, '2027-02-23'],
    ['one day beyond the maximum is capped', '2027-02-24', '2026-11-25', 90, '2027-02-23'],
    ['a year away is capped at today + 90', '2027-11-25', '2026-11-25', 90, '2027-02-23'],
    ['a structural year is kept under the structural maximum', '2027-11-25', '2026-11-25', 365, '2027-11-25'],
    ['a structural date beyond 365 days is capped', '2028-01-01', '2026-11-25', 365, '2027-11-25'],
    ['a slow approval keeps the requested date when it still fits', '2027-02-23', '2026-12-20', 90, '2027-02-23'],
    ['a shorter configured maximum caps from the approval day', '2027-02-23', '2026-12-20', 30, '2027-01-19'],
    ['a cap across a leap day', '2028-12-31', '2028-02-01', 30, '2028-03-02'],
  ])('%s: requested %s, approved %s, max %i days → %s', (_label, requested, today, maxDays, expected) => {
    expect(fixExpiry(requested, today, maxDays)).toBe(expected);
  });

  it.each([
    ['the requested date is today', '2026-11-25', '2026-11-25'],
    ['the requested date passed while waiting for approval', '2026-11-26', '2026-12-01'],
    ['the requested date is a year ago', '2025-11-25', '2026-11-25'],
  ])('refuses with expiry_passed when %s', (_label, requested, today) => {
    let caught: unknown;
    try {
      fixExpiry(requested, today, 90);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect((caught as DomainError).code).toBe('expiry_passed');
    expect((caught as DomainError).message).toContain(requested);
  });
});
