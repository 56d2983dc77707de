import { describe, expect, it } from 'vitest';
import {
  REQUEST_TEXT_LIMITS,
  defaultExpiry,
  validateRequest,
  type ExceptionRequestDraft,
  type RequestField,
  type RequestValidation,
} from '../../src/domain/request';

const TODAY = '2026-11-25';
const LIMITS = { maxExceptionDays: 90, structuralMaxDays: 365 };
/** TODAY + 90 and TODAY + 365, counted on a calendar: 5 days left in November, then 31 + 31 + 23. */
const MAX_DATE = '2027-02-23';
const STRUCTURAL_MAX_DATE = '2027-11-25';

const VALID: ExceptionRequestDraft = {
  policy: 'AC-2',
  title: 'Shared admin account on the payroll server',
  scope: 'The payroll server PAY-01 and its two administrators.',
  justification: 'The payroll vendor only supports one admin login until their upgrade ships in February; we migrate then.',
  compensatingControls: 'The password sits in the vault with check-out logging and is rotated after each use.',
  owner: 'U0OWNER',
  expiresOn: '2027-01-31',
};

const REASON = 'Replacing the mainframe takes two budget cycles; a 90-day clock would force a risky big-bang cutover.';

function validate(overrides: Partial<ExceptionRequestDraft>): RequestValidation {
  return validateRequest({ ...VALID, ...overrides }, TODAY, LIMITS);
}

function refusedFields(overrides: Partial<ExceptionRequestDraft>): RequestField[] {
  const result = validate(overrides);
  if (result.ok) throw new Error('expected the request to be refused');
  return Object.keys(result.errors) as RequestField[];
}

function accepted(overrides: Partial<ExceptionRequestDraft>) {
  const result = validate(overrides);
  if (!result.ok) throw new Error(`expected the request to be accepted, got ${JSON.stringify(result.errors)}`);
  return result.request;
}

const chars = (n: number) => 'x'.repeat(n);
const words = (n: number, width: number) => Array.from({ length: n }, () => chars(width)).join(' ');

describe('validateRequest (SPEC §2)', () => {
  it('accepts a complete request and reports its duration in days from today', () => {
    const request = accepted({});
    expect(request).toMatchObject({
      policyKey: 'AC-2',
      title: VALID.title,
      ownerId: 'U0OWNER',
      expiresOn: '2027-01-31',
      durationDays: 67,
      structural: false,
    });
  });

  describe('required fields', () => {
    it.each(['policy', 'title', 'scope', 'justification', 'compensatingControls', 'owner', 'expiresOn'] as const)(
      'refuses the request when %s is missing, naming only that field',
      (field) => {
        const input: ExceptionRequestDraft = { ...VALID };
        delete input[field];
        const result = validateRequest(input, TODAY, LIMITS);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(Object.keys(result.errors)).toEqual([field]);
      },
    );

    it.each(['policy', 'title', 'scope', 'justification', 'compensatingControls'] as const)('refuses %s that is only whitespace', (field) => {
      expect(refusedFields({ [field]: '   \n\t ' })).toEqual([field]);
    });
  });

  describe('text lengths fit Block Kit and refuse one-word answers', () => {
    const L = REQUEST_TEXT_LIMITS;
    it.each([
      ['title', L.title.min - 1, false],
      ['title', L.title.min, true],
      ['title', L.title.max, true],
      ['title', L.title.max + 1, false],
      ['scope', L.scope.min - 1, false],
      ['scope', L.scope.min, true],
      ['scope', L.scope.max, true],
      ['scope', L.scope.max + 1, false],
      ['compensatingControls', L.compensatingControls.min - 1, false],
      ['compensatingControls', L.compensatingControls.min, true],
      ['compensatingControls', L.compensatingControls.max, true],
      ['compensatingControls', L.compensatingControls.max + 1, false],
      ['affectedSystems', L.affectedSystems.max, true],
      ['affectedSystems', L.affectedSystems.max + 1, false],
      ['externalRef', L.externalRef.max, true],
      ['externalRef', L.externalRef.max + 1, false],
    ] as const)('%s of %i characters: accepted = %s', (field, length, ok) => {
      const result = validate({ [field]: chars(length) });
      expect(result.ok).toBe(ok);
      if (!result.ok) expect(Object.keys(result.errors)).toEqual([field]);
    });

    it('the limits are sensible for Slack: every text fits one 3,000-character section', () => {
      for (const limit of Object.values(L)) expect(limit.max).toBeLessThanOrEqual(3000);
    });

    it('counts length after trimming surrounding whitespace', () => {
      expect(refusedFields({ title: `   ${chars(REQUEST_TEXT_LIMITS.title.min - 1)}   ` })).toEqual(['title']);
      expect(accepted({ title: `  ${chars(REQUEST_TEXT_LIMITS.title.max)}  ` }).title).toBe(chars(REQUEST_TEXT_LIMITS.title.max));
    });

    it('states the limit in the refusal', () => {
      const result = validate({ title: chars(REQUEST_TEXT_LIMITS.title.max + 1) });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.title).toContain(String(REQUEST_TEXT_LIMITS.title.max));
    });
  });

  describe('business justification', () => {
    const { min, max, minWords } = REQUEST_TEXT_LIMITS.justification;
    it.each([
      ['"because it\'s urgent"', "because it's urgent", false],
      ['"Because it\'s urgent!!!" padded to the minimum length', `Because it's urgent${'!'.repeat(min)}`, false],
      ['one long word', chars(min + 10), false],
      [`${minWords - 1} long words`, words(minWords - 1, 10), false],
      [`${minWords} words but too short`, words(minWords, 2), false],
      [`${minWords} words and long enough`, words(minWords, 8), true],
      ['at the maximum length', `${words(minWords, 8)} ${chars(max - words(minWords, 8).length - 1)}`, true],
      ['one character over the maximum', `${words(minWords, 8)} ${chars(max - words(minWords, 8).length)}`, false],
    ])('%s: accepted = %s', (_label, justification, ok) => {
      const result = validate({ justification });
      expect(result.ok).toBe(ok);
      if (!result.ok) expect(Object.keys(result.errors)).toEqual(['justification']);
    });
  });

  describe('control characters are refused, line breaks and tabs are not', () => {
    it.each([
      ['title', 'Shared\u0000admin account'],
      ['scope', 'The payroll server\u0000 and its admins'],
      ['justification', `${VALID.justification}\u0007`],
      ['compensatingControls', `${VALID.compensatingControls}\u001B[31m`],
      ['affectedSystems', 'PAY-01\u007F'],
      ['externalRef', 'CHG-1234\u0000'],
    ] as const)('%s with a control character is refused', (field, value) => {
      expect(refusedFields({ [field]: value })).toEqual([field]);
    });

    it('keeps line breaks and tabs in long text', () => {
      expect(accepted({ scope: 'PAY-01\nPAY-02\tand their admins' }).scope).toBe('PAY-01\nPAY-02\tand their admins');
    });
  });

  describe('owner is a Slack user ID', () => {
    it.each([
      ['U0OWNER', true],
      ['W012ABCDEF', true],
      ['u0owner', false],
      ['C0CHANNEL', false],
      ['<@U0OWNER>', false],
      ['U0', false],
      ['', false],
    ])('%j: accepted = %s', (owner, ok) => {
      const result = validate({ owner });
      expect(result.ok).toBe(ok);
      if (!result.ok) expect(Object.keys(result.errors)).toEqual(['owner']);
    });
  });

  describe('expiry date: in the future and within the maximum (today 2026-11-25, max 90 days)', () => {
    it.each([
      ['yesterday', '2026-11-24', false],
      ['today', TODAY, false],
      ['tomorrow', '2026-11-26', true],
      ['exactly 90 days', MAX_DATE, true],
      ['91 days', '2027-02-24', false],
      ['a year', STRUCTURAL_MAX_DATE, false],
      ['not a date', 'next friday', false],
      ['an impossible date', '2027-02-30', false],
    ])('%s (%s): accepted = %s', (_label, expiresOn, ok) => {
      const result = validate({ expiresOn });
      expect(result.ok).toBe(ok);
      if (!result.ok) expect(Object.keys(result.errors)).toEqual(['expiresOn']);
    });

    it('reports the duration counted from today', () => {
      expect(accepted({ expiresOn: '2026-11-26' }).durationDays).toBe(1);
      expect(accepted({ expiresOn: MAX_DATE }).durationDays).toBe(90);
    });

    it('defaults to today + the maximum', () => {
      expect(defaultExpiry(TODAY, LIMITS)).toBe(MAX_DATE);
    });

    it('uses the configured maximum, not a constant', () => {
      const result = validateRequest({ ...VALID, expiresOn: '2026-12-26' }, TODAY, { maxExceptionDays: 30, structuralMaxDays: 365 });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.expiresOn).toContain('30');
    });
  });

  describe('structural exceptions: a written reason buys the longer limit', () => {
    const { min, max } = REQUEST_TEXT_LIMITS.structuralReason;
    it.each([
      ['no reason', { structural: true }, ['structuralReason']],
      ['a reason one character short', { structural: true, structuralReason: chars(min - 1) }, ['structuralReason']],
      ['a reason of only spaces', { structural: true, structuralReason: ' '.repeat(min + 5) }, ['structuralReason']],
      ['a reason at the minimum', { structural: true, structuralReason: chars(min) }, []],
      ['a reason at the maximum', { structural: true, structuralReason: chars(max) }, []],
      ['a reason one character over', { structural: true, structuralReason: chars(max + 1) }, ['structuralReason']],
      ['91 days with a reason', { structural: true, structuralReason: REASON, expiresOn: '2027-02-24' }, []],
      ['365 days with a reason', { structural: true, structuralReason: REASON, expiresOn: STRUCTURAL_MAX_DATE }, []],
      ['366 days with a reason', { structural: true, structuralReason: REASON, expiresOn: '2027-11-26' }, ['expiresOn']],
      ['91 days without the structural flag', { structuralReason: REASON, expiresOn: '2027-02-24' }, ['expiresOn']],
      ['today with a reason', { structural: true, structuralReason: REASON, expiresOn: TODAY }, ['expiresOn']],
    ] as const)('%s: refused fields %j', (_label, overrides, fields) => {
      const result = validate(overrides);
      expect(result.ok ? [] : Object.keys(result.errors)).toEqual(fields);
    });

    it('keeps the reason and the full duration of an accepted structural request', () => {
      const request = accepted({ structural: true, structuralReason: `  ${REASON}  `, expiresOn: STRUCTURAL_MAX_DATE });
      expect(request).toMatchObject({ structural: true, structuralReason: REASON, durationDays: 365 });
    });

    it('drops a reason given without the structural flag', () => {
      const request = accepted({ structuralReason: REASON });
      expect(request.structural).toBe(false);
      expect(request.structuralReason).toBeUndefined();
    });
  });

  describe('optional fields', () => {
    it.each([
      ['absent', undefined, undefined],
      ['empty', '', undefined],
      ['only spaces', '   ', undefined],
      ['padded', '  PAY-01, PAY-02  ', 'PAY-01, PAY-02'],
    ])('affected systems and external reference %s → %j', (_label, value, expected) => {
      const request = accepted({ affectedSystems: value, externalRef: value });
      expect(request.affectedSystems).toBe(expected);
      expect(request.externalRef).toBe(expected);
    });

    it('trims every required text field', () => {
      const request = accepted({ policy: ' AC-2 ', title: `  ${VALID.title}\n`, scope: `\t${VALID.scope}` });
      expect(request).toMatchObject({ policyKey: 'AC-2', title: VALID.title, scope: VALID.scope });
    });
  });

  it('reports every invalid field at once', () => {
    expect(refusedFields({ title: 'VPN', justification: "because it's urgent", owner: 'bob', expiresOn: TODAY }).sort()).toEqual(
      ['expiresOn', 'justification', 'owner', 'title'],
    );
  });
});
