import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { ExceptionStatus } from '../domain/exception';
import { bypassIntent } from '../domain/integrations';
import { VENDOR_LABELS, type ChangeVendor, type IdentityVendor, type Vendor } from '../integrations/port';
import type { Db, Tx } from './client';
import { exceptionBindingPeople, exceptionBindings, exceptionIssues, exceptions, integrationTasks, reconciliationRuns } from './schema';

/**
 * The register's side of the integrations, read the same way by cards, `show`, the export, the weekly post and
 * /healthz: which bypass group an exception carries and whether the vendor has caught up with the register.
 */

type Reader = Pick<Db, 'select'> | Pick<Tx, 'select'>;

export interface BoundPerson {
  slackUserId: string | null;
  vendorUserId: string;
  email: string | null;
  displayName: string | null;
}

/** What a person picks in the request modal: a group in one identity provider and the people it should cover. */
export interface BypassChoice {
  vendor: IdentityVendor;
  groupId: string;
  groupName: string;
  people: BoundPerson[];
}

export interface Binding extends BypassChoice {
  id: number;
  exceptionId: number;
  appliedState: 'none' | 'applied' | 'removed';
  appliedAt: string | null;
  removedAt: string | null;
}

/** Stores (or, on an amendment, replaces) the bypass an exception carries; in the caller's transaction. */
export function saveBinding(tx: Tx, exceptionId: number, choice: BypassChoice, now: Date): void {
  const existing = tx.select({ id: exceptionBindings.id }).from(exceptionBindings).where(eq(exceptionBindings.exceptionId, exceptionId)).get();
  let bindingId: number;
  if (existing) {
    bindingId = existing.id;
    tx.update(exceptionBindings).set({ vendor: choice.vendor, groupId: choice.groupId, groupName: choice.groupName }).where(eq(exceptionBindings.id, bindingId)).run();
    tx.delete(exceptionBindingPeople).where(eq(exceptionBindingPeople.bindingId, bindingId)).run();
  } else {
    bindingId = tx.insert(exceptionBindings).values({ exceptionId, vendor: choice.vendor, groupId: choice.groupId, groupName: choice.groupName, createdAt: now.toISOString() }).returning({ id: exceptionBindings.id }).get().id;
  }
  const people = [...new Map(choice.people.map((person) => [person.vendorUserId, person])).values()];
  if (people.length > 0) tx.insert(exceptionBindingPeople).values(people.map((person) => ({ bindingId, ...person }))).run();
}

/** An amended request that no longer names a bypass: only before approval, when nothing was applied in the vendor. */
export function dropUnappliedBinding(tx: Tx, exceptionId: number): void {
  const existing = tx.select({ id: exceptionBindings.id, appliedState: exceptionBindings.appliedState }).from(exceptionBindings).where(eq(exceptionBindings.exceptionId, exceptionId)).get();
  if (!existing || existing.appliedState !== 'none') return;
  tx.delete(exceptionBindingPeople).where(eq(exceptionBindingPeople.bindingId, existing.id)).run();
  tx.delete(exceptionBindings).where(eq(exceptionBindings.id, existing.id)).run();
}

export function bindingOf(db: Reader, exceptionId: number): Binding | undefined {
  const row = db.select().from(exceptionBindings).where(eq(exceptionBindings.exceptionId, exceptionId)).get();
  if (!row) return undefined;
  const people = db
    .select({ slackUserId: exceptionBindingPeople.slackUserId, vendorUserId: exceptionBindingPeople.vendorUserId, email: exceptionBindingPeople.email, displayName: exceptionBindingPeople.displayName })
    .from(exceptionBindingPeople)
    .where(eq(exceptionBindingPeople.bindingId, row.id))
    .orderBy(asc(exceptionBindingPeople.id))
    .all();
  return { id: row.id, exceptionId, vendor: row.vendor, groupId: row.groupId, groupName: row.groupName, appliedState: row.appliedState, appliedAt: row.appliedAt, removedAt: row.removedAt, people };
}

export interface LinkedIssue {
  vendor: ChangeVendor;
  key: string;
  url: string;
  createdByApp: boolean;
}

export function issueOf(db: Reader, exceptionId: number): LinkedIssue | undefined {
  const row = db.select().from(exceptionIssues).where(eq(exceptionIssues.exceptionId, exceptionId)).get();
  return row && { vendor: row.vendor, key: row.issueKey, url: row.url, createdByApp: row.createdByApp };
}

/** A change the vendor has not taken yet, and why, when it has failed at least once. */
export interface PendingChange {
  since: string;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  /** `refused`: the vendor said no (a permission, a token); `unavailable` or `rate_limited`: it will come right by itself. */
  lastErrorCode: string | null;
}

export type BypassState = 'not_applied' | 'applying' | 'applied' | 'removing' | 'removed';

export interface BypassStatus {
  vendor: IdentityVendor;
  vendorLabel: string;
  groupId: string;
  groupName: string;
  people: BoundPerson[];
  state: BypassState;
  /** Whether the vendor holds what the register says it should. */
  inSync: boolean;
  pending?: PendingChange;
}

export interface IssueStatus extends LinkedIssue {
  vendorLabel: string;
  inSync: boolean;
  pending?: PendingChange;
}

export interface IntegrationStatus {
  bypass?: BypassStatus;
  issue?: IssueStatus;
  /** Jira work planned but no issue linked yet (the first call is still to succeed). */
  issuePending?: PendingChange;
}

function oldestPending(db: Reader, exceptionId: number, vendors: readonly Vendor[]): PendingChange | undefined {
  const row = db
    .select()
    .from(integrationTasks)
    .where(and(eq(integrationTasks.exceptionId, exceptionId), inArray(integrationTasks.vendor, [...vendors]), eq(integrationTasks.state, 'pending')))
    .orderBy(asc(integrationTasks.id))
    .limit(1)
    .get();
  return row && { since: row.createdAt, attempts: row.attempts, nextAttemptAt: row.nextAttemptAt, lastError: row.lastError, lastErrorCode: row.lastErrorCode };
}

/** Where an exception is applied and whether each vendor is in sync with the register; empty when it names none. */
export function integrationStatus(db: Reader, exceptionId: number, status: ExceptionStatus): IntegrationStatus {
  const result: IntegrationStatus = {};
  const binding = bindingOf(db, exceptionId);
  if (binding) {
    const pending = oldestPending(db, exceptionId, [binding.vendor]);
    const intent = bypassIntent(status);
    const state: BypassState = pending ? (intent === 'apply' ? 'applying' : 'removing') : binding.appliedState === 'applied' ? 'applied' : binding.appliedState === 'removed' ? 'removed' : 'not_applied';
    const inSync = !pending && (intent === 'apply' ? binding.appliedState === 'applied' : intent === 'remove' ? binding.appliedState !== 'applied' : true);
    result.bypass = { vendor: binding.vendor, vendorLabel: VENDOR_LABELS[binding.vendor], groupId: binding.groupId, groupName: binding.groupName, people: binding.people, state, inSync, pending };
  }
  const issue = issueOf(db, exceptionId);
  if (issue) {
    const pending = oldestPending(db, exceptionId, [issue.vendor]);
    result.issue = { ...issue, vendorLabel: VENDOR_LABELS[issue.vendor], inSync: !pending, pending };
  } else {
    const pending = oldestPending(db, exceptionId, ['jira']);
    if (pending) result.issuePending = pending;
  }
  return result;
}

/** Exceptions the register has ended whose bypass a vendor still holds: "expired in the register, still applied in Okta". */
export function stillApplied(db: Reader): { exceptionId: number; status: ExceptionStatus; vendor: IdentityVendor; vendorLabel: string; groupName: string; people: number }[] {
  const rows = db
    .select({ exceptionId: exceptionBindings.exceptionId, status: exceptions.status, vendor: exceptionBindings.vendor, groupName: exceptionBindings.groupName, bindingId: exceptionBindings.id })
    .from(exceptionBindings)
    .innerJoin(exceptions, eq(exceptions.id, exceptionBindings.exceptionId))
    .where(eq(exceptionBindings.appliedState, 'applied'))
    .orderBy(asc(exceptionBindings.exceptionId))
    .all()
    .filter((row) => bypassIntent(row.status) === 'remove');
  return rows.map((row) => ({
    exceptionId: row.exceptionId,
    status: row.status,
    vendor: row.vendor,
    vendorLabel: VENDOR_LABELS[row.vendor],
    groupName: row.groupName,
    people: db.select({ id: exceptionBindingPeople.id }).from(exceptionBindingPeople).where(eq(exceptionBindingPeople.bindingId, row.bindingId)).all().length,
  }));
}

export interface ReconciliationSummary {
  vendor: IdentityVendor;
  vendorLabel: string;
  startedAt: string;
  finishedAt: string | null;
  groupsChecked: number;
  membersChecked: number;
  findings: number;
  error: string | null;
}

/** The last reconciliation of each identity provider that has had one. */
export function lastReconciliations(db: Reader): ReconciliationSummary[] {
  const rows = db.select().from(reconciliationRuns).orderBy(desc(reconciliationRuns.id)).all();
  const seen = new Set<IdentityVendor>();
  const last: ReconciliationSummary[] = [];
  for (const row of rows) {
    if (seen.has(row.vendor)) continue;
    seen.add(row.vendor);
    last.push({ vendor: row.vendor, vendorLabel: VENDOR_LABELS[row.vendor], startedAt: row.startedAt, finishedAt: row.finishedAt, groupsChecked: row.groupsChecked, membersChecked: row.membersChecked, findings: row.findings, error: row.error });
  }
  return last.sort((a, b) => a.vendor.localeCompare(b.vendor));
}
