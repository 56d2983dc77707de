import { describe, expect, it } from 'vitest';
import { addCalendarDays, daysBetween } from '../../src/domain/calendar';
import { CONTROL_TEST_MAX_AGE_DAYS, renewalRoute, validateRenewal, type RenewalDraft, type RenewalField, type RenewalValidation } from '../../src/domain/renewal';
import { durationCeiling, type DurationCeiling } from '../../src/domain/request';

const TODAY = '2027-01-05';
const LIMITS = { maxExceptionDays: 90, structuralMaxDays: 365 };
const CEILING = durationCeiling(false, LIMITS);
/** TODAY + 90: 26 days left in January, then 28 + 31 + 5. */
const MAX_DATE = '2027-04-05';
/** TODAY − 90: 5 days back to 31 December, then 31 + 30 + 24. */
const NINETY_DAYS_AGO = '2026-10-07';
const NINETY_ONE_DAYS_AGO = '2026-10-06';

const VALID: RenewalDraft = {
  progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.',
  percentComplete: '60',
  evidenceUrl: 'https://tickets.example.com/CHG-4711',
  controlTestedOn: '2026-12-20',
  expiresOn: '2027-03-01',
};

function validate(overrides: Partial<Record<RenewalField, string | undefined>>, previousPercent?: number, ceiling: DurationCeiling = CEILING): RenewalValidation {
  return validateRenewal({ ...VALID, ...overrides }, TODAY, ceiling, previousPercent);
}

function errorsOf(result: RenewalValidation): Partial<Record<RenewalField, string>> {
  if (result.ok) throw new Error('expected the renewal to be refused');
  return result.errors;
}

describe('validateRenewal', () => {
  it('the fixed dates are what the comments say', () => {
    expect(daysBetween(TODAY, MAX_DATE)).toBe(90);
    expect(daysBetween(NINETY_DAYS_AGO, TODAY)).toBe(CONTROL_TEST_MAX_AGE_DAYS);
    expect(daysBetween(NINETY_ONE_DAYS_AGO, TODAY)).toBe(91);
  });

  it('accepts a complete renewal and parses the percentage as a number', () => {
    const result = validate({});
    expect(result).toEqual({
      ok: true,
      renewal: {
        progress: VALID.progress,
        percentComplete: 60,
        evidenceUrl: 'https://tickets.example.com/CHG-4711',
        controlTestedOn: '2026-12-20',
        expiresOn: '2027-03-01',
      },
    });
  });

  it('treats the evidence link as optional: missing or empty is accepted', () => {
    for (const evidenceUrl of [undefined, '', '   ']) {
      const result = validate({ evidenceUrl });
      expect(result.ok, JSON.stringify(evidenceUrl)).toBe(true);
      if (result.ok) expect(result.renewal.evidenceUrl).toBeUndefined();
    }
  });

  describe('remediation progress', () => {
    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['only spaces', '      '],
      ['39 characters', 'x'.repeat(39)],
      ['39 characters padded with spaces to 60', `${'x'.repeat(39)}${' '.repeat(21)}`],
      ['over 2000 characters', 'x'.repeat(2001)],
    ])('is refused when %s', (_label, progress) => {
      const errors = errorsOf(validate({ progress }));
      expect(Object.keys(errors)).toEqual(['progress']);
      expect(errors.progress).toMatch(/progress/i);
    });

    it('is accepted at exactly 40 and 2000 characters', () => {
      expect(validate({ progress: 'x'.repeat(40) }).ok).toBe(true);
      expect(validate({ progress: 'x'.repeat(2000) }).ok).toBe(true);
    });
  });

  describe('percent complete', () => {
    it.each([
      ['1', 1],
      ['99', 99],
      ['100', 100],
      [' 45 ', 45],
    ])('accepts %j as %i', (percentComplete, parsed) => {
      const result = validate({ percentComplete });
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.renewal.percentComplete).toBe(parsed);
    });

    it.each([['101'], ['1000'], ['-1'], ['50.5'], ['abc'], ['fifty'], ['50%'], ['1e2'], [''], [undefined]])('refuses %j', (percentComplete) => {
      const errors = errorsOf(validate({ percentComplete }));
      expect(Object.keys(errors)).toEqual(['percentComplete']);
      expect(errors.percentComplete).toMatch(/0 to 100/);
    });
  });

  describe('evidence link', () => {
    it.each([
      ['http, not https', 'http://tickets.example.com/CHG-4711'],
      ['ftp', 'ftp://files.example.com/report.pdf'],
      ['no scheme', 'tickets.example.com/CHG-4711'],
      ['a javascript: link', 'javascript:alert(1)'],
      ['a Slack link forgery', 'https://example.com|click me'],
      ['an embedded mention', 'https://example.com/<!channel>'],
      ['a space inside', 'https://example.com/a b'],
      ['over 500 characters', `https://example.com/${'a'.repeat(490)}`],
    ])('refuses %s', (_label, evidenceUrl) => {
      const errors = errorsOf(validate({ evidenceUrl }));
      expect(Object.keys(errors)).toEqual(['evidenceUrl']);
    });

    it('says an https:// address is needed', () => {
      expect(errorsOf(validate({ evidenceUrl: 'http://example.com' })).evidenceUrl).toMatch(/https:\/\//);
    });
  });

  describe('date the compensating control was last tested', () => {
    it.each([
      ['today', TODAY],
      ['yesterday', '2027-01-04'],
      ['exactly 90 days ago', NINETY_DAYS_AGO],
    ])('accepts %s', (_label, controlTestedOn) => {
      expect(validate({ controlTestedOn }).ok).toBe(true);
    });

    it.each([
      ['91 days ago', NINETY_ONE_DAYS_AGO, /more than 90 days ago/],
      ['a year ago', '2026-01-05', /more than 90 days ago/],
      ['tomorrow', '2027-01-06', /future/],
      ['next month', '2027-02-05', /future/],
    ])('refuses %s', (_label, controlTestedOn, message) => {
      const errors = errorsOf(validate({ controlTestedOn }));
      expect(Object.keys(errors)).toEqual(['controlTestedOn']);
      expect(errors.controlTestedOn).toMatch(message);
    });

    it('names the oldest acceptable date when the test is too old', () => {
      expect(errorsOf(validate({ controlTestedOn: NINETY_ONE_DAYS_AGO })).controlTestedOn).toContain(NINETY_DAYS_AGO);
    });

    it.each([['missing', undefined], ['not a date', 'last week'], ['an impossible date', '2026-02-30'], ['a US-style date', '12/20/2026']])('refuses a date that is %s', (_label, controlTestedOn) => {
      expect(Object.keys(errorsOf(validate({ controlTestedOn })))).toEqual(['controlTestedOn']);
    });
  });

  describe('no progress, no renewal', () => {
    it.each([
      [60, '60'],
      [60, '59'],
      [60, '0'],
      [0, '0'],
      [99, '99'],
    ])('after a renewal at %i%%, %s%% is refused', (previous, percentComplete) => {
      const errors = errorsOf(validate({ percentComplete }, previous));
      expect(Object.keys(errors)).toEqual(['percentComplete']);
      expect(errors.percentComplete).toMatch(/^No progress, no renewal/);
      expect(errors.percentComplete).toContain(`${previous}%`);
    });

    it.each([
      [60, '61'],
      [0, '1'],
      [99, '100'],
    ])('after a renewal at %i%%, %s%% is accepted', (previous, percentComplete) => {
      expect(validate({ percentComplete }, previous).ok).toBe(true);
    });

    it('the first renewal may report any progress above 0%; 0% is no progress, so no renewal', () => {
      expect(validate({ percentComplete: '1' }, undefined).ok).toBe(true);
      const zero = validate({ percentComplete: '0' }, undefined);
      expect(zero.ok ? undefined : zero.errors.percentComplete).toMatch(/^No progress, no renewal/);
    });
  });

  describe('new expiry date', () => {
    it('accepts tomorrow and exactly the ceiling', () => {
      expect(validate({ expiresOn: '2027-01-06' }).ok).toBe(true);
      expect(validate({ expiresOn: MAX_DATE }).ok).toBe(true);
    });

    it.each([
      ['today', TODAY],
      ['yesterday', '2027-01-04'],
    ])('refuses %s: it must be in the future', (_label, expiresOn) => {
      expect(errorsOf(validate({ expiresOn })).expiresOn).toMatch(/future/);
    });

    it("refuses a day over the organisation's ceiling with the ceiling's reason and last allowed date", () => {
      const errors = errorsOf(validate({ expiresOn: '2027-04-06' }));
      expect(Object.keys(errors)).toEqual(['expiresOn']);
      expect(errors.expiresOn).toContain('An exception can last at most 90 days');
      expect(errors.expiresOn).toContain(MAX_DATE);
    });

    it("refuses a date over a policy's own shorter limit and names the policy", () => {
      const ceiling = durationCeiling(false, LIMITS, { key: 'PATCH-03', maxDays: 30 });
      expect(validate({ expiresOn: addCalendarDays(TODAY, 30) }, undefined, ceiling).ok).toBe(true);
      const errors = errorsOf(validate({ expiresOn: addCalendarDays(TODAY, 31) }, undefined, ceiling));
      expect(errors.expiresOn).toContain('The PATCH-03 policy allows exceptions of at most 30 days');
      expect(errors.expiresOn).toContain('2027-02-04');
    });

    it('allows a structural exception up to its own ceiling', () => {
      const ceiling = durationCeiling(true, LIMITS);
      expect(validate({ expiresOn: addCalendarDays(TODAY, 365) }, undefined, ceiling).ok).toBe(true);
      expect(errorsOf(validate({ expiresOn: addCalendarDays(TODAY, 366) }, undefined, ceiling)).expiresOn).toContain('A structural exception can last at most 365 days');
    });

    it.each([['missing', undefined], ['not a date', 'in March'], ['an impossible date', '2027-02-29']])('refuses a date that is %s', (_label, expiresOn) => {
      expect(Object.keys(errorsOf(validate({ expiresOn })))).toEqual(['expiresOn']);
    });
  });

  it('reports every rule a well-formed renewal breaks at once, each on its own field', () => {
    const errors = errorsOf(validate({ percentComplete: '50', controlTestedOn: NINETY_ONE_DAYS_AGO, expiresOn: '2027-06-01' }, 50));
    expect(Object.keys(errors).sort()).toEqual(['controlTestedOn', 'expiresOn', 'percentComplete']);
  });
});

describe('renewalRoute: never a lighter path than the original, and from the second renewal on the committee', () => {
  it.each<[string, 'fast_path' | 'committee', 'fast_path' | 'committee' | null, number, 'fast_path' | 'committee']>([
    ['first renewal of a fast-path exception, assessed low', 'fast_path', 'fast_path', 1, 'fast_path'],
    ['first renewal of a fast-path exception, assessed high', 'committee', 'fast_path', 1, 'committee'],
    ['first renewal of a committee exception, assessed low', 'fast_path', 'committee', 1, 'committee'],
    ['first renewal of a committee exception, assessed high', 'committee', 'committee', 1, 'committee'],
    ['second renewal of a fast-path exception, assessed low', 'fast_path', 'fast_path', 2, 'committee'],
    ['third renewal of a fast-path exception, assessed low', 'fast_path', 'fast_path', 3, 'committee'],
    ['first renewal without a recorded original route', 'fast_path', null, 1, 'fast_path'],
  ])('%s → %s', (_label, assessed, original, renewalNumber, expected) => {
    expect(renewalRoute(assessed, original, renewalNumber).route).toBe(expected);
  });

  it('says why a renewal goes to the committee', () => {
    expect(renewalRoute('fast_path', 'committee', 1).reasons).toEqual([expect.stringContaining('original exception was decided by the committee')]);
    expect(renewalRoute('fast_path', 'fast_path', 2).reasons).toEqual([expect.stringContaining('renewal number 2')]);
    expect(renewalRoute('fast_path', 'committee', 3).reasons).toHaveLength(2);
    expect(renewalRoute('fast_path', 'fast_path', 1).reasons).toEqual([]);
  });
});
