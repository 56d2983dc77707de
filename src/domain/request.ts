import { z } from 'zod';
import { addCalendarDays, daysBetween, isCalendarDate, type CalendarDate } from './calendar';
import { SLACK_USER_ID } from './exception';
import { fieldErrorsFrom, type FieldErrors } from './field-errors';

export type { FieldErrors } from './field-errors';

export const REQUEST_FIELDS = [
  'policy',
  'title',
  'scope',
  'justification',
  'compensatingControls',
  'owner',
  'expiresOn',
  'affectedSystems',
  'externalRef',
  'structural',
  'structuralReason',
] as const;
export type RequestField = (typeof REQUEST_FIELDS)[number];

/** Upper bounds keep every field displayable in one Block Kit section (3,000 characters) with room for its label. */
export const REQUEST_TEXT_LIMITS = {
  title: { min: 5, max: 150 },
  scope: { min: 10, max: 1000 },
  justification: { min: 40, max: 2000, minWords: 6 },
  compensatingControls: { min: 20, max: 2000 },
  affectedSystems: { max: 500 },
  externalRef: { max: 200 },
  structuralReason: { min: 40, max: 1000 },
} as const;

// NUL and other control characters break Slack rendering and terminal output; line breaks and tabs are fine.
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

function requiredText(label: string, min: number, max: number, hint: string) {
  return z
    .string({ error: `${label} is required. ${hint}` })
    .trim()
    .min(1, { error: `${label} is required. ${hint}` })
    .min(min, { error: `${label} must be at least ${min} characters. ${hint}` })
    .max(max, { error: `${label} must be at most ${max} characters; link to a document for the details.` })
    .refine((value) => !CONTROL_CHARACTERS.test(value), { error: `${label} contains control characters; paste it as plain text.` });
}

function optionalText(label: string, max: number) {
  return z
    .string()
    .trim()
    .max(max, { error: `${label} must be at most ${max} characters.` })
    .refine((value) => !CONTROL_CHARACTERS.test(value), { error: `${label} contains control characters; paste it as plain text.` })
    .optional()
    .transform((value) => (value ? value : undefined));
}

const limits = REQUEST_TEXT_LIMITS;

export const ExceptionRequestText = z.object({
  policy: z
    .string({ error: 'Choose the policy you need an exception from.' })
    .trim()
    .min(1, { error: 'Choose the policy you need an exception from.' }),
  title: requiredText('Title', limits.title.min, limits.title.max, 'Name the exception in a few words.'),
  scope: requiredText('Scope', limits.scope.min, limits.scope.max, 'Say which systems, people or data the exception covers.'),
  justification: requiredText(
    'Business justification',
    limits.justification.min,
    limits.justification.max,
    'Explain why the policy cannot be met and what the plan is; "because it\'s urgent" is not a justification.',
  ).refine((value) => value.split(/\s+/).filter(Boolean).length >= limits.justification.minWords, {
    error: `Business justification needs at least ${limits.justification.minWords} words: explain why the policy cannot be met and what the plan is.`,
  }),
  compensatingControls: requiredText(
    'Compensating control',
    limits.compensatingControls.min,
    limits.compensatingControls.max,
    'No compensating control, no exception: describe what reduces the risk meanwhile.',
  ),
  owner: z
    .string({ error: 'Choose the owner who is accountable for this exception.' })
    .regex(SLACK_USER_ID, { error: 'Choose the owner who is accountable for this exception.' }),
  expiresOn: z
    .string({ error: 'Choose an expiry date.' })
    .refine(isCalendarDate, { error: 'Choose an expiry date from the date picker.' }),
  affectedSystems: optionalText('Affected systems', limits.affectedSystems.max),
  externalRef: optionalText('External reference', limits.externalRef.max),
  structural: z.boolean().default(false),
  structuralReason: optionalText('Structural reason', limits.structuralReason.max),
});
/** What a person typed, field by field; anything may be missing until it is validated. */
export type ExceptionRequestDraft = { [K in Exclude<RequestField, 'structural'>]?: string } & { structural?: boolean };

export interface DurationLimits {
  maxExceptionDays: number;
  structuralMaxDays: number;
}

export interface ExceptionRequest {
  policyKey: string;
  title: string;
  scope: string;
  justification: string;
  compensatingControls: string;
  ownerId: string;
  expiresOn: CalendarDate;
  durationDays: number;
  affectedSystems?: string;
  externalRef?: string;
  structural: boolean;
  structuralReason?: string;
}

export type RequestValidation =
  | { ok: true; request: ExceptionRequest }
  | { ok: false; errors: FieldErrors<RequestField> };

/** A policy from the catalogue as far as duration goes: its own ceiling, if it has one. */
export interface PolicyLimit {
  key: string;
  maxDays: number | null;
}

export interface DurationCeiling {
  days: number;
  /** Which limit applied, in words the requester can act on. */
  because: string;
}

/** The longest an exception may run, counted from today: the organisation's limit, or the policy's own if shorter. */
export function durationCeiling(structural: boolean, limits: DurationLimits, policy?: PolicyLimit): DurationCeiling {
  const organisation = structural ? limits.structuralMaxDays : limits.maxExceptionDays;
  if (policy?.maxDays && policy.maxDays < organisation) {
    return { days: policy.maxDays, because: `The ${policy.key} policy allows exceptions of at most ${policy.maxDays} days` };
  }
  return structural
    ? { days: organisation, because: `A structural exception can last at most ${organisation} days` }
    : { days: organisation, because: `An exception can last at most ${organisation} days` };
}

export function allowedDays(structural: boolean, limits: DurationLimits, policy?: PolicyLimit): number {
  return durationCeiling(structural, limits, policy).days;
}

/** The expiry field's verdict on a date, shared by requests and renewals. */
export function expiryProblem(expiresOn: CalendarDate, today: CalendarDate, ceiling: DurationCeiling, hint = ''): string | undefined {
  const days = daysBetween(today, expiresOn);
  if (days <= 0) return 'The expiry date must be in the future.';
  if (days > ceiling.days) return `${ceiling.because} (until ${addCalendarDays(today, ceiling.days)}).${hint}`;
  return undefined;
}

export function defaultExpiry(today: CalendarDate, limits: DurationLimits): CalendarDate {
  return addCalendarDays(today, limits.maxExceptionDays);
}

/** SPEC §2, checked the same way in the modal and in the service: every field, and the duration against today. */
export function validateRequest(input: ExceptionRequestDraft, today: CalendarDate, durationLimits: DurationLimits, policy?: PolicyLimit): RequestValidation {
  const parsed = ExceptionRequestText.safeParse(input);
  const errors: FieldErrors<RequestField> = parsed.success ? {} : fieldErrorsFrom(parsed.error.issues);
  const structural = input.structural === true;
  const structuralReason = input.structuralReason?.trim() ?? '';
  if (structural && structuralReason.length < limits.structuralReason.min && !errors.structuralReason) {
    errors.structuralReason = `A structural exception needs a written reason of at least ${limits.structuralReason.min} characters: why would a shorter clock force an unsafe workaround?`;
  }

  let durationDays = 0;
  if (!errors.expiresOn && typeof input.expiresOn === 'string') {
    durationDays = daysBetween(today, input.expiresOn);
    const ceiling = durationCeiling(structural, durationLimits, policy);
    const hint = structural || ceiling.days < durationLimits.maxExceptionDays ? '' : ' If a shorter clock would force an unsafe workaround, mark it structural and say why.';
    const problem = expiryProblem(input.expiresOn, today, ceiling, hint);
    if (problem) errors.expiresOn = problem;
  }

  if (!parsed.success || Object.keys(errors).length > 0) return { ok: false, errors };
  const data = parsed.data;
  return {
    ok: true,
    request: {
      policyKey: data.policy,
      title: data.title,
      scope: data.scope,
      justification: data.justification,
      compensatingControls: data.compensatingControls,
      ownerId: data.owner,
      expiresOn: data.expiresOn,
      durationDays,
      affectedSystems: data.affectedSystems,
      externalRef: data.externalRef,
      structural: data.structural,
      structuralReason: data.structural ? data.structuralReason : undefined,
    },
  };
}

/** What Slack says about the person named as owner; only a real, active person can be accountable. */
export interface OwnerAccount {
  isBot: boolean;
  deleted: boolean;
  /** Slack answered that no such user exists in the workspace. */
  unknown?: boolean;
}

export function ownerProblem(account: OwnerAccount | undefined): string | undefined {
  if (account?.unknown) return 'Slack does not know that person in this workspace. Choose the owner from the list.';
  if (account?.isBot) return 'Choose a person as owner, not an app or bot: the owner is accountable for the exception.';
  if (account?.deleted) return 'That account is deactivated. Choose an active person as owner.';
  return undefined;
}
