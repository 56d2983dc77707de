import { asc, eq, inArray } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { driftFindings as driftFindingRows, exceptionBindingPeople, exceptionBindings, exceptions, reconciliationRuns } from '../db/schema';
import { formatExceptionRef } from '../domain/exception';
import { compareFindings, driftFindings, findDrift, findingKey, type BypassCover, type DriftFinding } from '../domain/integrations';
import { SCHEDULER_ACTOR, type ServiceContext } from '../services/context';
import { IDENTITY_VENDORS, VENDOR_LABELS, listAllMembers, type IdentityVendor } from './port';

export interface VendorReconciliation {
  vendor: IdentityVendor;
  groups: number;
  members: number;
  findings: number;
  newFindings: number;
  resolved: number;
  error?: string;
}

/**
 * The daily reconciliation: for each configured identity provider, every bypass group the register names is listed
 * and compared with the exceptions that cover it. Vendor calls come first, outside any transaction; a vendor that
 * fails keeps its previous findings, since nothing new is known about it.
 */
export async function reconcileIdentity(ctx: ServiceContext, now: Date): Promise<VendorReconciliation[]> {
  const results: VendorReconciliation[] = [];
  for (const vendor of IDENTITY_VENDORS) {
    const connector = ctx.connectors.identity[vendor];
    if (!connector) continue;
    const startedAt = ctx.clock().toISOString();
    const { covers, groupNames, emails } = coversOf(ctx, vendor);
    const groupIds = [...new Set(covers.map((cover) => cover.groupId))].sort();
    const findings: DriftFinding[] = [];
    let members = 0;
    try {
      for (const groupId of groupIds) {
        const listed = await listAllMembers(connector, groupId);
        members += listed.length;
        for (const person of listed) if (person.email) emails.set(person.id, person.email);
        findings.push(...driftFindings(vendor, findDrift({ groupId, covers, members: listed.map((person) => person.id), now })));
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.db.insert(reconciliationRuns).values({ vendor, startedAt, finishedAt: ctx.clock().toISOString(), groupsChecked: groupIds.length, membersChecked: members, findings: 0, error: message }).run();
      results.push({ vendor, groups: groupIds.length, members, findings: 0, newFindings: 0, resolved: 0, error: message });
      continue;
    }
    results.push(recordFindings(ctx, vendor, { startedAt, groupIds, members, findings, emails, groupNames }));
  }
  return results;
}

/**
 * Every binding of this vendor as a claim on its group, with the group's name as the register knows it and the
 * email of each person it covers: a person missing from a group is not in the vendor's listing to read it from.
 */
function coversOf(ctx: ServiceContext, vendor: IdentityVendor): { covers: BypassCover[]; groupNames: Map<string, string>; emails: Map<string, string> } {
  const bindings = ctx.db
    .select({ id: exceptionBindings.id, exceptionId: exceptionBindings.exceptionId, groupId: exceptionBindings.groupId, groupName: exceptionBindings.groupName, status: exceptions.status, updatedAt: exceptions.updatedAt })
    .from(exceptionBindings)
    .innerJoin(exceptions, eq(exceptions.id, exceptionBindings.exceptionId))
    .where(eq(exceptionBindings.vendor, vendor))
    .orderBy(asc(exceptionBindings.id))
    .all();
  const groupNames = new Map<string, string>();
  const emails = new Map<string, string>();
  if (bindings.length === 0) return { covers: [], groupNames, emails };
  // The newest binding's name wins: a group renamed in the vendor is named as it was last chosen.
  for (const binding of bindings) groupNames.set(binding.groupId, binding.groupName);
  const people = ctx.db
    .select({ bindingId: exceptionBindingPeople.bindingId, vendorUserId: exceptionBindingPeople.vendorUserId, email: exceptionBindingPeople.email })
    .from(exceptionBindingPeople)
    .where(
      inArray(
        exceptionBindingPeople.bindingId,
        bindings.map((binding) => binding.id),
      ),
    )
    .all();
  const covered = new Map<number, string[]>();
  for (const person of people) {
    if (person.email) emails.set(person.vendorUserId, person.email);
    const list = covered.get(person.bindingId);
    if (list) list.push(person.vendorUserId);
    else covered.set(person.bindingId, [person.vendorUserId]);
  }
  const covers = bindings.map((binding) => ({
    exceptionId: binding.exceptionId,
    status: binding.status,
    groupId: binding.groupId,
    people: covered.get(binding.id) ?? [],
    changedAt: binding.updatedAt,
  }));
  return { covers, groupNames, emails };
}

function recordFindings(
  ctx: ServiceContext,
  vendor: IdentityVendor,
  run: { startedAt: string; groupIds: string[]; members: number; findings: DriftFinding[]; emails: Map<string, string>; groupNames: Map<string, string> },
): VendorReconciliation {
  return ctx.db.transaction(
    (tx) => {
      const at = ctx.clock().toISOString();
      const posted = tx.select({ key: driftFindingRows.key }).from(driftFindingRows).where(eq(driftFindingRows.vendor, vendor)).all();
      const { toPost, resolved } = compareFindings(
        run.findings,
        posted.map((row) => row.key),
      );
      if (resolved.length > 0) tx.delete(driftFindingRows).where(inArray(driftFindingRows.key, resolved)).run();
      for (const finding of toPost) {
        const personEmail = run.emails.get(finding.person) ?? null;
        const exceptionId = finding.kind === 'missing' ? finding.exceptionId : null;
        tx.insert(driftFindingRows)
          .values({ key: findingKey(finding), vendor, groupId: finding.groupId, kind: finding.kind, person: finding.person, personEmail, exceptionId, firstSeenAt: at })
          .run();
        appendAuditEvent(tx, {
          exceptionId,
          actorId: SCHEDULER_ACTOR,
          kind: 'integration.drift_found',
          payload: { vendor, groupId: finding.groupId, finding: finding.kind, person: finding.person, personEmail, groupName: run.groupNames.get(finding.groupId) ?? finding.groupId, sentence: driftSentence(vendor, run.groupNames.get(finding.groupId) ?? finding.groupId, finding, personEmail) },
          occurredAt: at,
        });
      }
      tx.insert(reconciliationRuns)
        .values({ vendor, startedAt: run.startedAt, finishedAt: at, groupsChecked: run.groupIds.length, membersChecked: run.members, findings: run.findings.length, error: null })
        .run();
      return { vendor, groups: run.groupIds.length, members: run.members, findings: run.findings.length, newFindings: toPost.length, resolved: resolved.length };
    },
    { behavior: 'immediate' },
  );
}

function driftSentence(vendor: IdentityVendor, groupName: string, finding: DriftFinding, email: string | null): string {
  const who = email ?? finding.person;
  const group = `${VENDOR_LABELS[vendor]} group ${groupName}`;
  return finding.kind === 'uncovered'
    ? `found ${who} in ${group} without an exception covering them`
    : `found ${who}, covered by ${formatExceptionRef(finding.exceptionId)}, not in ${group}`;
}
