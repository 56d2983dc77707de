/**
 * The identity-provider integrations at scale, against the Okta and Entra stand-ins on this machine: applying and
 * then removing 1,000 exceptions' bypass memberships, and reading a 10,000-member bypass group and finding its drift.
 * The stand-ins answer from memory on 127.0.0.1, so these figures are the register's own cost per vendor call (HTTP,
 * JSON, the register's bookkeeping); a real vendor adds its network time and its rate limits on top.
 */
import { createConnectors } from '../src/integrations/connectors';
import { listAllMembers, type IdentityConnector, type IdentityVendor } from '../src/integrations/port';
import { findDrift, type BypassCover } from '../src/domain/integrations';
import { saveBinding } from '../src/db/integrations';
import { reconcileIdentity } from '../src/integrations/reconcile';
import { decideException } from '../src/services/decide-exception';
import { APPROVERS, LOW_RISK, NOW, assess, fileRequest, openTestRegister } from '../test/services/fixtures';
import { startEntraStandIn, type EntraStandIn } from '../test/support/entra-stand-in';
import { startOktaStandIn, type OktaStandIn } from '../test/support/okta-stand-in';

export const EXCEPTIONS = 1000;
export const GROUP_MEMBERS = 10_000;
/** Members of the large group that no exception covers (added by hand), and covered people missing from it. */
const UNCOVERED = 10;
const MISSING = 10;
const PEOPLE_PER_COVER = 2;

export interface IntegrationRow {
  vendor: IdentityVendor;
  /** What was measured, in the security team's words. */
  measure: string;
  /** `connector`: the vendor calls alone; `worker`: through the register's own worker or reconciliation. */
  through: 'connector' | 'worker';
  items: number;
  ms: number;
  /** Calls the stand-in answered (Entra's token requests not included). */
  calls: number;
  callsPerSecond: number;
}

interface Vendor {
  vendor: IdentityVendor;
  connector: IdentityConnector;
  addGroup(name: string): string;
  addPerson(index: number): string;
  fillGroup(groupId: string, count: number): string[];
  members(groupId: string): number;
  calls(): number;
}

function oktaVendor(standIn: OktaStandIn, connector: IdentityConnector): Vendor {
  return {
    vendor: 'okta',
    connector,
    addGroup: (name) => standIn.addGroup({ name }),
    addPerson: (index) => standIn.addUser({ email: `bench-${index}@example.com` }),
    fillGroup: (groupId, count) => standIn.fillGroup(groupId, count),
    members: (groupId) => standIn.group(groupId)!.members.size,
    calls: () => standIn.calls.length,
  };
}

function entraVendor(standIn: EntraStandIn, connector: IdentityConnector): Vendor {
  return {
    vendor: 'entra',
    connector,
    addGroup: (displayName) => standIn.addGroup({ displayName }),
    addPerson: (index) => standIn.addUser({ mail: `bench-${index}@example.com` }),
    fillGroup: (groupId, count) => standIn.fillGroup(groupId, count),
    members: (groupId) => standIn.group(groupId)!.members.size,
    calls: () => standIn.calls.length,
  };
}

async function timed<T>(vendor: Vendor, work: () => Promise<T>): Promise<{ result: T; ms: number; calls: number }> {
  const callsBefore = vendor.calls();
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  return { result, ms, calls: vendor.calls() - callsBefore };
}

function row(vendor: Vendor, measure: string, through: IntegrationRow['through'], items: number, run: { ms: number; calls: number }): IntegrationRow {
  return { vendor: vendor.vendor, measure, through, items, ms: Math.round(run.ms), calls: run.calls, callsPerSecond: Math.round(run.calls / (run.ms / 1000)) };
}

function expect(condition: boolean, what: string): void {
  // A figure for work that did not happen would be worse than no figure.
  if (!condition) throw new Error(`bench/integrations: ${what}`);
}

/** One person per exception, one call each: what the vendor is asked when 1,000 exceptions are approved, then end. */
async function membershipsThroughConnector(vendor: Vendor): Promise<IntegrationRow[]> {
  const groupId = vendor.addGroup('MFA-exempt (bench, connector)');
  const people = Array.from({ length: EXCEPTIONS }, (_, i) => vendor.addPerson(i));
  const apply = await timed(vendor, async () => {
    for (const person of people) await vendor.connector.addMember(groupId, person);
  });
  expect(vendor.members(groupId) === EXCEPTIONS, `${vendor.vendor}: ${vendor.members(groupId)} members after applying, not ${EXCEPTIONS}`);
  const remove = await timed(vendor, async () => {
    for (const person of people) await vendor.connector.removeMember(groupId, person);
  });
  expect(vendor.members(groupId) === 0, `${vendor.vendor}: ${vendor.members(groupId)} members left after removing`);
  return [row(vendor, `apply ${EXCEPTIONS.toLocaleString('en')} exceptions`, 'connector', EXCEPTIONS, apply), row(vendor, `remove ${EXCEPTIONS.toLocaleString('en')} exceptions`, 'connector', EXCEPTIONS, remove)];
}

/**
 * The covers reconciliation compares a 10,000-member group with: two people per active exception, all settled, with
 * UNCOVERED members nobody covers and MISSING covered people who are not in the group.
 */
function coversFor(groupId: string, members: readonly string[], outsiders: readonly string[], changedAt: string): BypassCover[] {
  const covered = [...members.slice(UNCOVERED), ...outsiders];
  const covers: BypassCover[] = [];
  for (let i = 0; i < covered.length; i += PEOPLE_PER_COVER) covers.push({ exceptionId: covers.length + 1, status: 'active', groupId, people: covered.slice(i, i + PEOPLE_PER_COVER), changedAt });
  return covers;
}

async function reconcileThroughConnector(vendor: Vendor, now: Date): Promise<IntegrationRow[]> {
  const groupId = vendor.addGroup('VPN-legacy-exempt (bench)');
  const members = vendor.fillGroup(groupId, GROUP_MEMBERS);
  const outsiders = Array.from({ length: MISSING }, (_, i) => vendor.addPerson(EXCEPTIONS + i));
  const covers = coversFor(groupId, members, outsiders, new Date(now.getTime() - 2 * 86_400_000).toISOString());
  const read = await timed(vendor, () => listAllMembers(vendor.connector, groupId));
  expect(read.result.length === GROUP_MEMBERS, `${vendor.vendor}: read ${read.result.length} members, not ${GROUP_MEMBERS}`);
  const started = performance.now();
  const drift = findDrift({ groupId, covers, members: read.result.map((person) => person.id), now });
  const diffMs = performance.now() - started;
  const missing = drift.missing.reduce((sum, gap) => sum + gap.people.length, 0);
  expect(drift.uncovered.length === UNCOVERED && missing === MISSING, `${vendor.vendor}: drift ${drift.uncovered.length} uncovered and ${missing} missing, not ${UNCOVERED} and ${MISSING}`);
  return [
    row(vendor, `read a ${GROUP_MEMBERS.toLocaleString('en')}-member group`, 'connector', GROUP_MEMBERS, read),
    row(vendor, `find its drift (${covers.length.toLocaleString('en')} exceptions)`, 'connector', GROUP_MEMBERS, { ms: diffMs, calls: 0 }),
  ];
}

/** People per exception in the register reconciled: 1,000 exceptions cover the 10,000-member group. */
const PEOPLE_PER_EXCEPTION = 10;

/** The app's daily reconciliation (src/integrations/reconcile.ts) on a real register file of 1,000 approved exceptions. */
async function reconcileThroughRegister(vendor: Vendor): Promise<IntegrationRow> {
  const groupId = vendor.addGroup('Legacy-VPN-exempt (bench, register)');
  const members = vendor.fillGroup(groupId, GROUP_MEMBERS);
  const outsiders = Array.from({ length: MISSING }, (_, i) => vendor.addPerson(2 * EXCEPTIONS + i));
  const covered = [...members.slice(UNCOVERED), ...outsiders];
  const t = openTestRegister();
  try {
    for (let i = 0; i < covered.length; i += PEOPLE_PER_EXCEPTION) {
      const id = fileRequest(t.ctx, { expiresOn: '2027-01-31' }, `U0BENCH${String(i).padStart(5, '0')}`);
      const people = covered.slice(i, i + PEOPLE_PER_EXCEPTION).map((vendorUserId) => ({ slackUserId: null, vendorUserId, email: null, displayName: null }));
      t.ctx.db.transaction((tx) => saveBinding(tx, id, { vendor: vendor.vendor, groupId, groupName: 'Legacy-VPN-exempt', people }, NOW));
      assess(t.ctx, id, LOW_RISK);
      decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
    }
    // Two days on, every approval has settled: what differs now is drift.
    const later = new Date(NOW.getTime() + 2 * 86_400_000);
    const ctx = t.with({ clock: () => later, connectors: { identity: { [vendor.vendor]: vendor.connector } } });
    const run = await timed(vendor, () => reconcileIdentity(ctx, later));
    const result = run.result[0];
    expect(result?.members === GROUP_MEMBERS && result.findings === UNCOVERED + MISSING && !result.error, `${vendor.vendor}: reconciliation gave ${JSON.stringify(result)}`);
    return row(vendor, `reconcile it (${(covered.length / PEOPLE_PER_EXCEPTION).toLocaleString('en')} exceptions)`, 'worker', GROUP_MEMBERS, run);
  } finally {
    t.close();
  }
}

export async function measureIntegrations(): Promise<IntegrationRow[]> {
  const [okta, entra] = await Promise.all([startOktaStandIn(), startEntraStandIn()]);
  const now = new Date();
  try {
    const connectors = createConnectors(
      {
        okta: { orgUrl: okta.url, apiToken: okta.apiToken },
        entra: { tenantId: entra.tenantId, clientId: entra.app.clientId, clientSecret: entra.app.clientSecret, loginUrl: entra.url, graphUrl: entra.url },
      },
      { clock: () => new Date() },
    );
    const vendors = [oktaVendor(okta, connectors.identity.okta!), entraVendor(entra, connectors.identity.entra!)];
    const rows: IntegrationRow[] = [];
    for (const vendor of vendors) {
      process.stderr.write(`integrations: ${vendor.vendor}…\n`);
      rows.push(...(await membershipsThroughConnector(vendor)), ...(await reconcileThroughConnector(vendor, now)), await reconcileThroughRegister(vendor));
    }
    return rows;
  } finally {
    await Promise.all([okta.close(), entra.close()]);
  }
}

export function printIntegrations(rows: readonly IntegrationRow[]): void {
  console.log('\nIdentity-provider integrations against the stand-ins on this machine (one call at a time)');
  console.log(`${'vendor'.padEnd(8)}${'measure'.padEnd(40)}${'through'.padEnd(11)}${'ms'.padStart(8)}${'calls'.padStart(8)}${'calls/s'.padStart(9)}${'ms/call'.padStart(9)}`);
  for (const r of rows) {
    console.log(`${r.vendor.padEnd(8)}${r.measure.padEnd(40)}${r.through.padEnd(11)}${String(r.ms).padStart(8)}${String(r.calls).padStart(8)}${String(r.calls ? r.callsPerSecond : '').padStart(9)}${(r.calls ? (r.ms / r.calls).toFixed(2) : '').padStart(9)}`);
  }
}
