import { describe, expect, it } from 'vitest';
import { RISK_BANDS, RISK_SCALE, riskBand, routeApproval, validateAssessment, type AssessmentField } from '../../src/domain/risk';

const RATIONALE = 'Internet-facing, but only reachable through the VPN and the data is public.';

function refusedFields(input: Record<string, unknown>): AssessmentField[] {
  const result = validateAssessment({ likelihood: 2, impact: 3, rationale: RATIONALE, ...input });
  if (result.ok) throw new Error('expected the assessment to be refused');
  return Object.keys(result.errors) as AssessmentField[];
}

describe('validateAssessment (SPEC §1: likelihood 1–5 × impact 1–5, with a rationale)', () => {
  const grid = RISK_SCALE.flatMap((likelihood) => RISK_SCALE.map((impact) => [likelihood, impact, likelihood * impact] as const));

  it.each(grid)('likelihood %i × impact %i scores %i', (likelihood, impact, score) => {
    const result = validateAssessment({ likelihood, impact, rationale: RATIONALE });
    expect(result).toEqual({ ok: true, assessment: { likelihood, impact, rationale: RATIONALE, score } });
  });

  it('scores range over 1..25', () => {
    const scores = grid.map(([, , score]) => score);
    expect(Math.min(...scores)).toBe(1);
    expect(Math.max(...scores)).toBe(25);
  });

  it.each(['likelihood', 'impact'] as const)('%s arriving as the text of a Slack option is read as a number', (field) => {
    const result = validateAssessment({ likelihood: 4, impact: 4, rationale: RATIONALE, [field]: '5' });
    expect(result.ok && result.assessment.score).toBe(20);
  });

  describe.each(['likelihood', 'impact'] as const)('%s', (field) => {
    it.each([
      ['0', 0],
      ['6', 6],
      ['-1', -1],
      ['2.5', 2.5],
      ['a word', 'high'],
      ['empty text', ''],
      ['missing', undefined],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
    ])('%s is refused', (_label, value) => {
      expect(refusedFields({ [field]: value })).toEqual([field]);
    });
  });

  it.each([
    ['missing', undefined],
    ['too short', 'too risky'],
    ['only spaces', ' '.repeat(40)],
    ['too long', 'x'.repeat(2001)],
  ])('rationale %s is refused', (_label, rationale) => {
    expect(refusedFields({ rationale })).toEqual(['rationale']);
  });

  it('trims the rationale', () => {
    const result = validateAssessment({ likelihood: 1, impact: 1, rationale: `  ${RATIONALE}\n` });
    expect(result.ok && result.assessment.rationale).toBe(RATIONALE);
  });

  it('reports every bad field at once', () => {
    expect(refusedFields({ likelihood: 0, impact: 9, rationale: '' }).sort()).toEqual(['impact', 'likelihood', 'rationale']);
  });
});

describe('riskBand', () => {
  const scores = Array.from({ length: 25 }, (_, i) => i + 1);

  it.each([12, 8, 16])('never falls as the score rises (threshold %i)', (threshold) => {
    const ranks = scores.map((score) => RISK_BANDS.indexOf(riskBand(score, threshold)));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });

  it.each([
    [1, 12, 'low'],
    [25, 12, 'critical'],
    [6, 12, 'medium'],
    [5, 12, 'low'],
    [8, 8, 'high'],
    [4, 8, 'medium'],
    [15, 16, 'medium'],
  ] as const)('score %i with threshold %i is %s', (score, threshold, band) => {
    expect(riskBand(score, threshold)).toBe(band);
  });

  it('reaches every band somewhere on the 1..25 scale', () => {
    expect(new Set(scores.map((score) => riskBand(score, 12)))).toEqual(new Set(RISK_BANDS));
  });

  it.each([12, 9, 15])('the committee threshold %i starts the high band, so no fast-path score is called high', (threshold) => {
    expect(RISK_BANDS.indexOf(riskBand(threshold - 1, threshold))).toBeLessThan(RISK_BANDS.indexOf('high'));
    expect(riskBand(threshold, threshold)).toBe('high');
  });
});

describe('routeApproval (SPEC §1: fast path below the threshold; committee at or above it, structural, or too long)', () => {
  const POLICY = { committeeRiskThreshold: 12, maxExceptionDays: 90 };

  it.each([
    [1, false, 30, 'fast_path', 0],
    [11, false, 90, 'fast_path', 0],
    [12, false, 30, 'committee', 1],
    [25, false, 30, 'committee', 1],
    [4, true, 30, 'committee', 1],
    [4, false, 91, 'committee', 1],
    [12, true, 30, 'committee', 2],
    [16, true, 365, 'committee', 3],
  ] as const)('score %i, structural %s, %i days → %s with %i reasons', (score, structural, durationDays, route, reasonCount) => {
    const routing = routeApproval({ score, structural, durationDays }, POLICY);
    expect(routing.route).toBe(route);
    expect(routing.reasons).toHaveLength(reasonCount);
  });

  it.each([
    [{ committeeRiskThreshold: 9, maxExceptionDays: 90 }, 9, 'committee'],
    [{ committeeRiskThreshold: 9, maxExceptionDays: 90 }, 8, 'fast_path'],
    [{ committeeRiskThreshold: 20, maxExceptionDays: 90 }, 16, 'fast_path'],
    [{ committeeRiskThreshold: 12, maxExceptionDays: 30 }, 4, 'committee'],
  ] as const)('follows the configured rules %j: score %i with 60 days → %s', (policy, score, route) => {
    expect(routeApproval({ score, structural: false, durationDays: 60 }, policy).route).toBe(route);
  });

  it('says why the committee decides', () => {
    const { reasons } = routeApproval({ score: 15, structural: false, durationDays: 30 }, POLICY);
    expect(reasons.join(' ')).toContain('15');
    expect(reasons.join(' ')).toContain('12');
  });
});

describe('assessment rationale as plain text', () => {
  it('refuses control characters, as every other text field does', () => {
    const result = validateAssessment({ likelihood: 2, impact: 3, rationale: 'Reachable only from the VPN\u0000 and logged weekly' });
    expect(result).toEqual({ ok: false, errors: { rationale: 'Rationale contains control characters; paste it as plain text.' } });
  });
});
