import { z } from 'zod';
import type { ApprovalRoute } from './exception';
import { plainText } from './closing';
import { fieldErrorsFrom, type FieldErrors } from './field-errors';

export const RISK_SCALE = [1, 2, 3, 4, 5] as const;
export const LIKELIHOOD_LABELS = ['Rare', 'Unlikely', 'Possible', 'Likely', 'Almost certain'] as const;
export const IMPACT_LABELS = ['Negligible', 'Minor', 'Moderate', 'Major', 'Severe'] as const;

const rating = (label: string) =>
  z.coerce
    .number({ error: `Choose a ${label} from 1 to 5.` })
    .int({ error: `Choose a ${label} from 1 to 5.` })
    .min(1, { error: `Choose a ${label} from 1 to 5.` })
    .max(5, { error: `Choose a ${label} from 1 to 5.` });

export const RiskAssessmentInput = z.object({
  likelihood: rating('likelihood'),
  impact: rating('impact'),
  rationale: plainText('Rationale', 20, 2000, 'Say why you chose these ratings.'),
});
export type RiskAssessmentInput = z.output<typeof RiskAssessmentInput>;
export type AssessmentField = keyof RiskAssessmentInput;

export interface RiskAssessment extends RiskAssessmentInput {
  score: number;
}

export type AssessmentValidation = { ok: true; assessment: RiskAssessment } | { ok: false; errors: FieldErrors<AssessmentField> };

export function validateAssessment(input: unknown): AssessmentValidation {
  const parsed = RiskAssessmentInput.safeParse(input);
  if (!parsed.success) return { ok: false, errors: fieldErrorsFrom<AssessmentField>(parsed.error.issues) };
  return { ok: true, assessment: { ...parsed.data, score: parsed.data.likelihood * parsed.data.impact } };
}

export const RISK_BANDS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskBand = (typeof RISK_BANDS)[number];

/** Bands follow the committee threshold, so a card never calls a fast-path exception "high". */
export function riskBand(score: number, committeeRiskThreshold: number): RiskBand {
  if (score >= committeeRiskThreshold) return score >= 20 ? 'critical' : 'high';
  if (score >= Math.ceil(committeeRiskThreshold / 2)) return 'medium';
  return 'low';
}

export interface RoutingPolicy {
  committeeRiskThreshold: number;
  maxExceptionDays: number;
}

export interface Routing {
  route: ApprovalRoute;
  /** Why the committee decides; empty on the fast path. */
  reasons: string[];
}

/** SPEC §1: high risk, a structural case or a long duration goes to the steering committee; the rest takes the fast path. */
export function routeApproval(
  subject: { score: number; structural: boolean; durationDays: number },
  policy: RoutingPolicy,
): Routing {
  const reasons: string[] = [];
  if (subject.score >= policy.committeeRiskThreshold) {
    reasons.push(`risk score ${subject.score} is at or above the committee threshold of ${policy.committeeRiskThreshold}`);
  }
  if (subject.structural) reasons.push('it is marked structural');
  if (subject.durationDays > policy.maxExceptionDays) {
    reasons.push(`it asks for ${subject.durationDays} days, more than the ${policy.maxExceptionDays}-day maximum`);
  }
  return { route: reasons.length > 0 ? 'committee' : 'fast_path', reasons };
}
