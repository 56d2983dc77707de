export const DOMAIN_ERROR_CODES = [
  'invalid_transition',
  'not_found',
  'not_authorised',
  'separation_of_duties',
  'already_decided',
  'already_voted',
  'conflict',
  'invalid_request',
  'invalid_assessment',
  'expiry_passed',
  /** The audit trail is sealed with AUDIT_HMAC_KEY and this process has no key, or another one. */
  'audit_key',
  /** `audit verify` found the trail, the register or an anchor not as they should be. */
  'audit_broken',
  /** The anchors to check against could not be read back from Slack. */
  'anchors_unavailable',
  'stale',
  /** The named owner declined to own the exception: it is not approved with them as owner. */
  'owner_declined',
] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

/** A refusal the person who caused it can act on: the message says why and what to do instead. */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
