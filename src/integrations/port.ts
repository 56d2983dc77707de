/**
 * The one small interface every vendor connector implements. The register speaks to an identity provider (where a
 * bypass group carries the exemption) and to a change-management tool (where an issue tracks the remediation) only
 * through these shapes, so a fourth vendor is one new file and its stand-in.
 */

export const IDENTITY_VENDORS = ['okta', 'entra'] as const;
export type IdentityVendor = (typeof IDENTITY_VENDORS)[number];

export const CHANGE_VENDORS = ['jira'] as const;
export type ChangeVendor = (typeof CHANGE_VENDORS)[number];

export type Vendor = IdentityVendor | ChangeVendor;

/** How the security team names each vendor in cards, audit events and `exceptions integrations check`. */
export const VENDOR_LABELS: Record<Vendor, string> = {
  okta: 'Okta',
  entra: 'Microsoft Entra ID',
  jira: 'Jira',
};

/** A group in the identity provider whose members are exempted from a control (for example "MFA-exempt"). */
export interface BypassGroup {
  id: string;
  name: string;
  description?: string;
}

/** A person as the identity provider knows them; `id` is what membership calls take. */
export interface IdentityPerson {
  id: string;
  email?: string;
  name?: string;
}

/** One page of a group's members; `next` is opaque and only this connector can follow it. */
export interface MemberPage {
  members: IdentityPerson[];
  next?: string;
}

/** One line of `exceptions integrations check`: what was verified and, when it failed, what to fix. */
export interface CheckFinding {
  what: string;
  ok: boolean;
  detail: string;
}

export interface ConnectorCheck {
  vendor: Vendor;
  ok: boolean;
  findings: CheckFinding[];
}

export interface IdentityConnector {
  readonly kind: 'identity';
  readonly vendor: IdentityVendor;
  /** For the request modal's group picker (an `external_select`): groups whose name starts with `query`. */
  searchGroups(query: string): Promise<BypassGroup[]>;
  /** The group itself, or undefined when the vendor does not know it. */
  findGroup(groupId: string): Promise<BypassGroup | undefined>;
  /** Maps a Slack profile's email to the vendor's person; undefined when nobody has that address. */
  findUserByEmail(email: string): Promise<IdentityPerson | undefined>;
  /** One page of a group's direct members, for reconciliation; pass the previous page's `next` to go on. */
  groupMembers(groupId: string, next?: string): Promise<MemberPage>;
  /** Idempotent: a person already in the group is success. */
  addMember(groupId: string, userId: string): Promise<void>;
  /** Idempotent: a person already out of the group (or no longer in the directory) is success. */
  removeMember(groupId: string, userId: string): Promise<void>;
  /** Credentials and permissions, and that each named group exists and can have its members changed; changes nothing. */
  check(groupIds?: readonly string[]): Promise<ConnectorCheck>;
}

/** What the change-management issue that tracks an exception's remediation says when it is created. */
export interface RemediationIssue {
  /** `EXC-0042`: the issue is labelled with it, so the register can find its issue again. */
  exceptionRef: string;
  summary: string;
  policy: string;
  scope: string;
  compensatingControl: string;
  owner: string;
  /** Calendar day, `YYYY-MM-DD`. */
  expiresOn: string;
  /** Where the record can be read, when the register has an address. */
  recordUrl?: string;
}

export interface TrackedIssue {
  key: string;
  summary: string;
  status: string;
  url: string;
}

export const TRANSITION_OUTCOMES = ['transitioned', 'already_there', 'no_matching_transition'] as const;
export type TransitionOutcome = (typeof TRANSITION_OUTCOMES)[number];

export interface ChangeConnector {
  readonly kind: 'change';
  readonly vendor: ChangeVendor;
  /** The issue, or undefined when it does not exist or this account may not see it (the vendor does not say which). */
  findIssue(key: string): Promise<TrackedIssue | undefined>;
  /** Idempotent per exception: an issue already labelled with `exceptionRef` in the project is returned, not duplicated. */
  createIssue(issue: RemediationIssue): Promise<TrackedIssue>;
  comment(key: string, text: string): Promise<void>;
  /** Moves the issue to the status named, only where its workflow offers a transition there. */
  transition(key: string, toStatus: string): Promise<TransitionOutcome>;
  check(): Promise<ConnectorCheck>;
}

export type Connector = IdentityConnector | ChangeConnector;

export const CONNECTOR_ERROR_CODES = [
  /** The vendor said no: do not retry; the message says what to fix. */
  'refused',
  /** The vendor asked us to wait `retryAfterMs` before the next call. */
  'rate_limited',
  /** 5xx, a timeout or no network: retry with backoff. */
  'unavailable',
] as const;
export type ConnectorErrorCode = (typeof CONNECTOR_ERROR_CODES)[number];

export const REFUSAL_REASONS = ['credentials', 'permission', 'not_found', 'invalid'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/**
 * A vendor call that did not succeed. The message is the security team's sentence plus the vendor's own words, and
 * never carries a token or secret: it ends up in audit events, cards and logs.
 */
export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode;
  readonly vendor: Vendor;
  readonly reason?: RefusalReason;
  readonly retryAfterMs?: number;
  readonly httpStatus?: number;

  constructor(init: { code: ConnectorErrorCode; vendor: Vendor; message: string; reason?: RefusalReason; retryAfterMs?: number; httpStatus?: number }) {
    super(init.message);
    this.name = 'ConnectorError';
    this.code = init.code;
    this.vendor = init.vendor;
    this.reason = init.reason;
    this.retryAfterMs = init.retryAfterMs;
    this.httpStatus = init.httpStatus;
  }

  /** Whether trying the same call again later can succeed. */
  get retryable(): boolean {
    return this.code !== 'refused';
  }
}

export function isConnectorError(error: unknown): error is ConnectorError {
  return error instanceof ConnectorError;
}

/**
 * What `check()` gathers: each step's finding, a vendor's refusal as a failed finding (so one missing permission
 * does not hide the others), and anything else thrown on.
 */
export function checkFindings(): { findings: CheckFinding[]; attempt: (what: string, step: () => Promise<string>) => Promise<boolean> } {
  const findings: CheckFinding[] = [];
  return {
    findings,
    async attempt(what, step) {
      try {
        findings.push({ what, ok: true, detail: await step() });
        return true;
      } catch (error) {
        if (!isConnectorError(error)) throw error;
        findings.push({ what, ok: false, detail: error.message });
        return false;
      }
    },
  };
}

/** Every member of a group, page after page: what reconciliation compares with the register. */
export async function listAllMembers(connector: IdentityConnector, groupId: string): Promise<IdentityPerson[]> {
  const members: IdentityPerson[] = [];
  let next: string | undefined;
  do {
    const page = await connector.groupMembers(groupId, next);
    members.push(...page.members);
    next = page.next;
  } while (next);
  return members;
}
