import type { ExceptionStatus } from './exception';

/**
 * What the register wants the identity provider to do about an exception's bypass: have it (apply), not have it
 * (remove), or nothing yet (a request not decided has never been applied, so there is nothing to take away).
 */
export const BYPASS_INTENTS = ['apply', 'remove', 'none'] as const;
export type BypassIntent = (typeof BYPASS_INTENTS)[number];

const INTENT_BY_STATUS: Record<ExceptionStatus, BypassIntent> = {
  requested: 'none',
  pending_approval: 'none',
  active: 'apply',
  // Rejected is never applied by the register, but removing is harmless and catches a person added by hand meanwhile.
  rejected: 'remove',
  expired: 'remove',
  closed: 'remove',
  revoked: 'remove',
};

export function bypassIntent(status: ExceptionStatus): BypassIntent {
  return INTENT_BY_STATUS[status];
}

/** One exception's claim on a bypass group: these people, in this group, while the exception is in this state. */
export interface BypassCover {
  exceptionId: number;
  status: ExceptionStatus;
  groupId: string;
  /** The vendor's ids for the people the exception covers. */
  people: readonly string[];
  /** When the exception last changed state (ISO instant): its change may still be on its way to the vendor. */
  changedAt: string;
}

export interface GroupDrift {
  groupId: string;
  /** In the group without an active exception covering them: added by hand, or left behind. */
  uncovered: string[];
  /** Active exceptions whose people are not in the group. */
  missing: { exceptionId: number; people: string[] }[];
}

/** How long a change is given to reach the vendor before reconciliation calls the difference drift. */
export const DEFAULT_SETTLE_MS = 60 * 60_000;

/**
 * The reconciliation diff for one group. A change younger than `settleMs` is still being applied (or retried
 * through an outage, which reports itself), so neither side of it counts as drift yet.
 */
export function findDrift(input: { groupId: string; covers: readonly BypassCover[]; members: readonly string[]; now: Date; settleMs?: number }): GroupDrift {
  const settleMs = input.settleMs ?? DEFAULT_SETTLE_MS;
  const settled = (cover: BypassCover) => input.now.getTime() - Date.parse(cover.changedAt) >= settleMs;
  const covers = input.covers.filter((cover) => cover.groupId === input.groupId);
  const active = covers.filter((cover) => bypassIntent(cover.status) === 'apply');
  const covered = new Set(active.flatMap((cover) => cover.people));
  const leaving = new Set(covers.filter((cover) => bypassIntent(cover.status) === 'remove' && !settled(cover)).flatMap((cover) => cover.people));
  const members = new Set(input.members);

  const uncovered = [...members].filter((person) => !covered.has(person) && !leaving.has(person)).sort();
  const missing = active
    .filter(settled)
    .map((cover) => ({ exceptionId: cover.exceptionId, people: [...new Set(cover.people)].filter((person) => !members.has(person)).sort() }))
    .filter((gap) => gap.people.length > 0)
    .sort((a, b) => a.exceptionId - b.exceptionId);
  return { groupId: input.groupId, uncovered, missing };
}

export type DriftFinding =
  | { kind: 'uncovered'; vendor: string; groupId: string; person: string }
  | { kind: 'missing'; vendor: string; groupId: string; person: string; exceptionId: number };

export function driftFindings(vendor: string, drift: GroupDrift): DriftFinding[] {
  return [
    ...drift.uncovered.map((person): DriftFinding => ({ kind: 'uncovered', vendor, groupId: drift.groupId, person })),
    ...drift.missing.flatMap((gap) => gap.people.map((person): DriftFinding => ({ kind: 'missing', vendor, groupId: drift.groupId, person, exceptionId: gap.exceptionId }))),
  ];
}

/** Names a finding the same way on every run, so each is posted to the approvals channel once. */
export function findingKey(finding: DriftFinding): string {
  return finding.kind === 'uncovered' ? `uncovered:${finding.vendor}:${finding.groupId}:${finding.person}` : `missing:${finding.vendor}:${finding.groupId}:${finding.person}:EXC-${finding.exceptionId}`;
}

/**
 * Against what was already posted: the findings to post now, and the keys that no longer hold (forgotten, so the
 * same drift coming back is posted again).
 */
export function compareFindings(current: readonly DriftFinding[], posted: readonly string[]): { toPost: DriftFinding[]; resolved: string[] } {
  const now = new Map(current.map((finding) => [findingKey(finding), finding]));
  const before = new Set(posted);
  return {
    toPost: [...now].filter(([key]) => !before.has(key)).map(([, finding]) => finding),
    resolved: posted.filter((key) => !now.has(key)),
  };
}

const MAX_RETRY_DELAY_MS = 10 * 60_000;

/**
 * When to try a vendor call again after `attempts` failures: doubling from one second up to ten minutes, and never
 * sooner than the vendor asked (`Retry-After`, `X-Rate-Limit-Reset`), however long that is.
 */
export function retryDelayMs(attempts: number, vendorAskedMs?: number): number {
  const backoff = Math.min(1000 * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_MS);
  return Math.max(backoff, vendorAskedMs ?? 0);
}

export const MEMBERSHIP_CHANGES = ['add', 'remove'] as const;
export type MembershipChange = (typeof MEMBERSHIP_CHANGES)[number];

/** The audit event's sentence: "removed 3 people from Okta group MFA-exempt for EXC-0042". */
export function membershipSentence(input: { change: MembershipChange; count: number; vendorLabel: string; groupName: string; exceptionRef: string; failed?: string }): string {
  const people = `${input.count} ${input.count === 1 ? 'person' : 'people'}`;
  const moved = input.change === 'add' ? `${people} to` : `${people} from`;
  const target = `${input.vendorLabel} group ${input.groupName} for ${input.exceptionRef}`;
  if (input.failed !== undefined) return `could not ${input.change} ${moved} ${target}: ${input.failed}`;
  return `${input.change === 'add' ? 'added' : 'removed'} ${moved} ${target}`;
}

/** Whether a free-text external reference is shaped like a Jira issue key (SEC-142), and so is checked in Jira. */
export function looksLikeJiraKey(reference: string): boolean {
  return /^[A-Z][A-Z0-9_]{1,9}-[1-9]\d*$/.test(reference.trim());
}
