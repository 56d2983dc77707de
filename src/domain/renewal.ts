import { z } from 'zod';
import { addCalendarDays, daysBetween, isCalendarDate, type CalendarDate } from './calendar';
import { DomainError } from './errors';
import type { ApprovalRoute } from './exception';
import { fieldErrorsFrom, type FieldErrors } from './field-errors';
import { CONTROL_CHARACTERS, expiryProblem, type DurationCeiling } from './request';

export const RENEWAL_FIELDS = ['progress', 'percentComplete', 'evidenceUrl', 'controlTestedOn', 'expiresOn'] as const;
export type RenewalField = (typeof RENEWAL_FIELDS)[number];
export type RenewalDraft = Partial<Record<RenewalField, string>>;

/** The compensating control must have been tested within this many days for a renewal to be considered. */
export const CONTROL_TEST_MAX_AGE_DAYS = 90;
export const PROGRESS_MIN_LENGTH = 40;

const RenewalText = z.object({
  progress: z
    .string({ error: 'Describe the remediation progress so far: renewal needs evidence, not a promise.' })
    .trim()
    .min(PROGRESS_MIN_LENGTH, { error: `Describe the remediation progress in at least ${PROGRESS_MIN_LENGTH} characters: what is done, what is left, and when.` })
    .max(2000, { error: 'Remediation progress must be at most 2000 characters; link to a document for the details.' })
    .refine((value) => !CONTROL_CHARACTERS.test(value), { error: 'Remediation progress contains control characters; paste it as plain text.' }),
  percentComplete: z
    .string({ error: 'Say how far remediation is, from 0 to 100 percent.' })
    .trim()
    .regex(/^\d{1,3}$/, { error: 'Say how far remediation is, as a whole number from 0 to 100.' })
    .transform(Number)
    .refine((n) => n <= 100, { error: 'Say how far remediation is, as a whole number from 0 to 100.' }),
  evidenceUrl: z
    .string()
    .trim()
    .max(500, { error: 'The evidence link must be at most 500 characters.' })
    .refine((url) => url === '' || /^https:\/\/[^\s<>|]+$/.test(url), { error: 'The evidence link must be an https:// address (a ticket, a document, a test report).' })
    .optional()
    .transform((url) => url || undefined),
  controlTestedOn: z
    .string({ error: 'Give the date the compensating control was last tested.' })
    .refine(isCalendarDate, { error: 'Pick the date the compensating control was last tested.' }),
  expiresOn: z.string({ error: 'Choose the new expiry date.' }).refine(isCalendarDate, { error: 'Choose the new expiry date from the date picker.' }),
});

export interface RenewalRequest {
  progress: string;
  percentComplete: number;
  evidenceUrl?: string;
  controlTestedOn: CalendarDate;
  expiresOn: CalendarDate;
}

export type RenewalValidation = { ok: true; renewal: RenewalRequest } | { ok: false; errors: FieldErrors<RenewalField> };

/**
 * Renewal is harder than the first request: evidence of progress, a control tested within the last 90 days, more
 * done than at the last renewal, and a new expiry within the same limits as a request, counted from today.
 */
export function validateRenewal(input: RenewalDraft, today: CalendarDate, ceiling: DurationCeiling, previousPercent: number | undefined): RenewalValidation {
  const parsed = RenewalText.safeParse(input);
  if (!parsed.success) return { ok: false, errors: fieldErrorsFrom<RenewalField>(parsed.error.issues) };
  const errors: FieldErrors<RenewalField> = {};
  const renewal = parsed.data;
  const testedDaysAgo = daysBetween(renewal.controlTestedOn, today);
  if (testedDaysAgo < 0) errors.controlTestedOn = 'The control test date cannot be in the future.';
  else if (testedDaysAgo > CONTROL_TEST_MAX_AGE_DAYS) {
    errors.controlTestedOn = `The compensating control was last tested more than ${CONTROL_TEST_MAX_AGE_DAYS} days ago (before ${addCalendarDays(today, -CONTROL_TEST_MAX_AGE_DAYS)}). Test it again, then ask for the renewal.`;
  }
  if (previousPercent !== undefined && renewal.percentComplete <= previousPercent) {
    errors.percentComplete = `No progress, no renewal: an earlier renewal reported ${previousPercent}% complete, and this one must report more.`;
  } else if (renewal.percentComplete === 0) {
    errors.percentComplete = 'No progress, no renewal: report how much of the remediation is done; 0% cannot be renewed.';
  }
  const expiry = expiryProblem(renewal.expiresOn, today, ceiling);
  if (expiry) errors.expiresOn = expiry;
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, renewal };
}

/** A renewal is never decided on a lighter path than the original decision, and from the second on by the committee. */
export function renewalRoute(assessed: ApprovalRoute, originalRoute: ApprovalRoute | null, renewalNumber: number): { route: ApprovalRoute; reasons: string[] } {
  const reasons: string[] = [];
  if (originalRoute === 'committee') reasons.push('the original exception was decided by the committee');
  if (renewalNumber >= 2) reasons.push(`it is renewal number ${renewalNumber}`);
  return { route: reasons.length > 0 ? 'committee' : assessed, reasons };
}

/** One round at a time: a renewal or a change of terms waiting (`open`) is decided before another is asked for. */
export function assertNoOpenRenewal(open: 'renewal' | 'change of terms' | undefined, ref: string): void {
  if (open !== undefined) {
    throw new DomainError('conflict', `${ref} already has a ${open === 'renewal' ? 'renewal' : 'change of its terms'} waiting for assessment or a decision. Wait for it to be decided first.`);
  }
}
