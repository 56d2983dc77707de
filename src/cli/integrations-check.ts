import { and, asc, eq, notInArray } from 'drizzle-orm';
import type { Db } from '../db/client';
import { bindingOf, type Binding } from '../db/integrations';
import { exceptionBindings, exceptionIssues, exceptions } from '../db/schema';
import { formatExceptionRef, type ExceptionStatus } from '../domain/exception';
import { bypassIntent, looksLikeJiraKey } from '../domain/integrations';
import type { Connectors } from '../integrations/connectors';
import { IDENTITY_VENDORS, VENDOR_LABELS, isConnectorError, listAllMembers, type CheckFinding, type ConnectorCheck, type IdentityConnector, type IdentityVendor } from '../integrations/port';
import { visible } from './terminal-text';

/**
 * `exceptions integrations check`: each configured vendor's credentials, permissions and bound groups, then what the
 * app would change there for the register as it is now. Only reads, in the register and in the vendors.
 */

/** Some check failed: the lines above say which and what to fix; the command exits 1. */
export class IntegrationCheckFailed extends Error {}

interface Out {
  write(text: string): unknown;
}

interface BoundException {
  ref: string;
  status: ExceptionStatus;
  binding: Binding;
}

const people = (n: number) => `${n} ${n === 1 ? 'person' : 'people'}`;

function boundExceptions(db: Db, vendor: IdentityVendor): BoundException[] {
  return db
    .select({ exceptionId: exceptionBindings.exceptionId, status: exceptions.status })
    .from(exceptionBindings)
    .innerJoin(exceptions, eq(exceptions.id, exceptionBindings.exceptionId))
    .where(eq(exceptionBindings.vendor, vendor))
    .orderBy(asc(exceptionBindings.exceptionId))
    .all()
    .flatMap((row) => {
      const binding = bindingOf(db, row.exceptionId);
      return binding ? [{ ref: formatExceptionRef(row.exceptionId), status: row.status, binding }] : [];
    });
}

function printCheck(out: Out, label: string, check: ConnectorCheck, groupNames: Map<string, string>): void {
  out.write(`${label}\n`);
  for (const finding of check.findings) out.write(`  ${finding.ok ? 'ok  ' : 'FAIL'}  ${visible(renamed(finding, groupNames))}: ${visible(finding.detail)}\n`);
}

/** The connector names a group by its id; the register knows the name people chose it by. */
function renamed(finding: CheckFinding, groupNames: Map<string, string>): string {
  const group = /^Group (.+)$/.exec(finding.what)?.[1];
  const name = group === undefined ? undefined : groupNames.get(group);
  return name === undefined ? finding.what : `Group ${name} (${group})`;
}

/**
 * What the membership worker would do for each binding, against the group as the vendor lists it now: add the
 * people an active exception covers who are not in it, and remove those of an ended one who still are, unless
 * another active exception covers them in the same group.
 */
interface PlannedChange {
  ref: string;
  binding: Binding;
  change: 'add' | 'remove';
  people: Binding['people'];
}

export function membershipPlan(bound: readonly BoundException[], membersOf: ReadonlyMap<string, ReadonlySet<string>>): PlannedChange[] {
  const stillCovered = new Set(bound.filter((b) => bypassIntent(b.status) === 'apply').flatMap((b) => b.binding.people.map((p) => `${b.binding.groupId}\n${p.vendorUserId}`)));
  return bound.flatMap(({ ref, status, binding }): PlannedChange[] => {
    const members = membersOf.get(binding.groupId);
    if (!members) return [];
    const intent = bypassIntent(status);
    if (intent === 'apply') {
      const absent = binding.people.filter((p) => !members.has(p.vendorUserId));
      return absent.length > 0 ? [{ ref, binding, change: 'add', people: absent }] : [];
    }
    if (intent === 'remove') {
      const held = binding.people.filter((p) => members.has(p.vendorUserId) && !stillCovered.has(`${binding.groupId}\n${p.vendorUserId}`));
      return held.length > 0 ? [{ ref, binding, change: 'remove', people: held }] : [];
    }
    return [];
  });
}

async function identityChanges(vendor: IdentityVendor, connector: IdentityConnector, bound: BoundException[], out: Out): Promise<{ lines: string[]; failed: number }> {
  const label = VENDOR_LABELS[vendor];
  const membersOf = new Map<string, Set<string>>();
  // The vendor's own address for a person the request named by id only.
  const listedEmails = new Map<string, string>();
  const nameOf = (person: Binding['people'][number]) => visible(person.email ?? listedEmails.get(person.vendorUserId) ?? person.displayName ?? person.vendorUserId);
  const lines: string[] = [];
  let failed = 0;
  for (const groupId of new Set(bound.filter((b) => bypassIntent(b.status) !== 'none').map((b) => b.binding.groupId))) {
    try {
      const listed = await listAllMembers(connector, groupId);
      for (const person of listed) if (person.email) listedEmails.set(person.id, person.email);
      membersOf.set(groupId, new Set(listed.map((person) => person.id)));
    } catch (error) {
      if (!isConnectorError(error)) throw error;
      const name = bound.find((b) => b.binding.groupId === groupId)!.binding.groupName;
      out.write(`  FAIL  Read the members of ${label} group ${visible(name)}: ${visible(error.message)}\n`);
      failed++;
    }
  }
  for (const plan of membershipPlan(bound, membersOf)) {
    const moved = plan.change === 'add' ? `add ${people(plan.people.length)} to` : `remove ${people(plan.people.length)} from`;
    lines.push(`would ${moved} ${label} group ${visible(plan.binding.groupName)} for ${plan.ref}: ${plan.people.map(nameOf).join(', ')}`);
  }
  return { lines, failed };
}

/** Approved exceptions with no issue linked yet: on approval the app creates one, or comments on the one referenced. */
function issueChanges(db: Db, projectKey: string): string[] {
  const linked = db.select({ exceptionId: exceptionIssues.exceptionId }).from(exceptionIssues);
  return db
    .select({ id: exceptions.id, externalRef: exceptions.externalRef })
    .from(exceptions)
    .where(and(eq(exceptions.status, 'active'), notInArray(exceptions.id, linked)))
    .orderBy(asc(exceptions.id))
    .all()
    .map((row) => {
      const ref = formatExceptionRef(row.id);
      const reference = row.externalRef?.trim();
      return reference && looksLikeJiraKey(reference)
        ? `would comment on Jira issue ${visible(reference)} and link it to ${ref}`
        : `would create a Jira issue in project ${visible(projectKey)} for ${ref}`;
    });
}

export async function checkIntegrations(db: () => Db, connectors: Connectors, settings: { jiraProjectKey?: string }, out: Out): Promise<void> {
  const identity = IDENTITY_VENDORS.flatMap((vendor) => {
    const connector = connectors.identity[vendor];
    return connector ? [{ vendor, connector }] : [];
  });
  if (identity.length === 0 && !connectors.change) {
    out.write('No integration is configured: set OKTA_ORG_URL and OKTA_API_TOKEN, the ENTRA_ variables, or the JIRA_ variables to connect one.\n');
    return;
  }
  let failed = 0;
  const changes: string[] = [];
  for (const { vendor, connector } of identity) {
    const bound = boundExceptions(db(), vendor);
    const groupNames = new Map(bound.map((b) => [b.binding.groupId, b.binding.groupName]));
    const check = await connector.check([...groupNames.keys()].sort());
    printCheck(out, VENDOR_LABELS[vendor], check, groupNames);
    failed += check.findings.filter((finding) => !finding.ok).length;
    // Without credentials nothing can be read; a group that cannot be found has nothing to compare.
    if (check.findings[0]?.ok !== true) {
      changes.push(`cannot tell what would change in ${VENDOR_LABELS[vendor]} until its check passes`);
      continue;
    }
    const planned = await identityChanges(vendor, connector, bound, out);
    failed += planned.failed;
    changes.push(...planned.lines);
  }
  if (connectors.change) {
    const check = await connectors.change.check();
    printCheck(out, VENDOR_LABELS[connectors.change.vendor], check, new Map());
    failed += check.findings.filter((finding) => !finding.ok).length;
    if (check.ok) changes.push(...issueChanges(db(), settings.jiraProjectKey ?? ''));
    else changes.push(`cannot tell what would change in ${VENDOR_LABELS[connectors.change.vendor]} until its check passes`);
  }
  out.write('\nWhat the app would change for the register as it is now (nothing was changed):\n');
  out.write(changes.length > 0 ? changes.map((line) => `  ${line}\n`).join('') : '  nothing: every vendor holds what the register says\n');
  if (failed > 0) throw new IntegrationCheckFailed(`${failed} ${failed === 1 ? 'check' : 'checks'} failed: fix what each FAIL line says, then run "exceptions integrations check" again.`);
}
