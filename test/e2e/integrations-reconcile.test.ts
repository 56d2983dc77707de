import { describe, expect, it } from 'vitest';
import { desc } from 'drizzle-orm';
import { runCli } from '../../src/cli/main';
import { driftFindings, reconciliationRuns } from '../../src/db/schema';
import { runReconciliation } from '../../src/services/run-reconciliation';
import { ACTION_IDS, CALLBACK_IDS } from '../../src/slack/ids';
import { blockTextLength, MESSAGE_BLOCK_TEXT_LIMIT, validateBlocks } from '../support/block-kit-rules';
import type { StoredMessage } from '../support/slack-stand-in';
import { CHANNELS, HEALTHZ_DETAILS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, clickButton, decisionCard, harnessEnv, openRequestModal, requestValues, VALID_FORM } from './flows';
import { addEmailedPeople, bypassValues, vendorStage } from './vendors';

/**
 * Issue 12, drift: the daily reconciliation reads every bypass group the register names and posts what differs to
 * the approvals channel, each finding once. The exceptions are requested and approved through the real app; the
 * groups' members are then set in the stand-in by hand, as an Okta admin would.
 */

let h: Harness | undefined;
const { okta, entra, start: startVendors } = vendorStage(() => h);

const HOUR = 60 * 60_000;

async function start(vendor: 'okta' | 'entra', extraEnv: Record<string, string> = {}, options: { schedule?: boolean } = {}): Promise<Harness> {
  const vendors = await startVendors({ [vendor]: true });
  h = await startHarness({ env: { ...extraEnv, ...vendors.env }, schedule: options.schedule });
  addEmailedPeople(h, [PEOPLE.requester, PEOPLE.committee1]);
  return h;
}

/** Requested with the group and its people in the modal, assessed low, approved by the CISO; then past the settling hour. */
async function approvedWithBypass(group: string, people: string[]): Promise<void> {
  const viewId = await openRequestModal(h!);
  const values = { ...requestValues(VALID_FORM), ...bypassValues({ group, people }) };
  const response = await h!.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values });
  expect(response.json).toBeUndefined();
  await h!.settle();
  await assess(h!, 'EXC-0001', 2, 2);
  await clickButton(h!, decisionCard(h!, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
  await h!.settle();
  // A change younger than an hour may still be on its way to the vendor, so reconciliation does not call it drift.
  h!.clock.advance(2 * HOUR);
}

async function reconcile() {
  const result = await runReconciliation(h!.app.services, h!.clock.now);
  await h!.settle();
  return result;
}

const driftReports = (): StoredMessage[] => h!.standIn.messages(CHANNELS.approvals).filter((m) => m.text?.startsWith('The daily reconciliation found'));
const reportText = (message: StoredMessage) => JSON.stringify(message.blocks);

function expectWithinLimits(message: StoredMessage): void {
  expect(validateBlocks(message.blocks!, 'message')).toEqual([]);
  expect(blockTextLength(message.blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, harnessEnv(h!), { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } });
  return { code, out, err };
}

/** EXC-0001 covers Ana in Okta's MFA-exempt; an admin has put Bo in the group too. */
async function anaApprovedAndBoAddedByHand(): Promise<{ groupId: string; ana: string; bo: string }> {
  const groupId = okta().addGroup({ name: 'MFA-exempt' });
  const ana = okta().addUser({ email: 'ana@acme.com' });
  const bo = okta().addUser({ email: 'bo@acme.com' });
  await approvedWithBypass(`okta:${groupId}`, [PEOPLE.requester]);
  okta().group(groupId)!.members.add(ana);
  okta().group(groupId)!.members.add(bo);
  return { groupId, ana, bo };
}

describe('the daily reconciliation against Okta', () => {
  it('posts a hand-added member once; a second run does not post again; removed and added back, it is posted again', async () => {
    await start('okta');
    const groupId = okta().addGroup({ name: 'MFA-exempt' });
    const ana = okta().addUser({ email: 'ana@acme.com', firstName: 'Ana', lastName: 'Lima' });
    const bo = okta().addUser({ email: 'bo@acme.com', firstName: 'Bo', lastName: 'Berg' });
    await approvedWithBypass(`okta:${groupId}`, [PEOPLE.requester]);
    const members = okta().group(groupId)!.members;
    members.add(ana);
    members.add(bo); // by hand, in the Okta admin console

    const first = await reconcile();
    expect(first.vendors).toEqual([{ vendor: 'okta', groups: 1, members: 2, findings: 1, newFindings: 1, resolved: 0 }]);
    expect(driftReports()).toHaveLength(1);
    const report = driftReports()[0]!;
    expectWithinLimits(report);
    expect(report.text).toBe('The daily reconciliation found 1 difference between the register and Okta.');
    expect(reportText(report)).toContain(
      'Okta group *MFA-exempt*: bo@acme.com is in the group without an exception covering them (added by hand, or left behind). Remove them in Okta, or request an exception that covers them.',
    );
    expect(reportText(report)).not.toContain('ana@acme.com');
    const stored = h!.app.register.db.select().from(driftFindings).all();
    expect(stored).toEqual([expect.objectContaining({ kind: 'uncovered', person: bo, personEmail: 'bo@acme.com', exceptionId: null, postedAt: h!.clock.now.toISOString() })]);

    h!.clock.advance(24 * HOUR);
    expect((await reconcile()).posted).toBe(0);
    expect(driftReports()).toHaveLength(1);

    members.delete(bo);
    h!.clock.advance(24 * HOUR);
    expect((await reconcile()).vendors[0]).toMatchObject({ findings: 0, resolved: 1 });
    expect(h!.app.register.db.select().from(driftFindings).all()).toEqual([]);
    expect(driftReports()).toHaveLength(1);

    members.add(bo);
    h!.clock.advance(24 * HOUR);
    expect((await reconcile()).posted).toBe(1);
    expect(driftReports()).toHaveLength(2);
    expect(reportText(driftReports()[1]!)).toContain('bo@acme.com is in the group without an exception covering them');
  });

  it("finds an active exception's person missing from the group, and the export says so beside where it is applied", async () => {
    await start('okta');
    const groupId = okta().addGroup({ name: 'MFA-exempt' });
    const ana = okta().addUser({ email: 'ana@acme.com' });
    okta().addUser({ email: 'kim@acme.com' });
    await approvedWithBypass(`okta:${groupId}`, [PEOPLE.requester, PEOPLE.committee1]);
    const members = okta().group(groupId)!.members;
    members.clear();
    members.add(ana); // kim was taken out by hand

    await reconcile();
    const report = driftReports()[0]!;
    expectWithinLimits(report);
    expect(reportText(report)).toContain('*EXC-0001* covers kim@acme.com, who is not in Okta group *MFA-exempt*: add them, or amend the exception.');
    expect(h!.app.register.db.select().from(driftFindings).all()).toEqual([expect.objectContaining({ kind: 'missing', exceptionId: 1, personEmail: 'kim@acme.com' })]);

    const exported = await cli(['export', '--format', 'json']);
    expect(exported.code).toBe(0);
    const [row] = JSON.parse(exported.out) as Record<string, unknown>[];
    expect(row!.applied_in).toBe(`Okta group MFA-exempt (${groupId}): ana@acme.com, kim@acme.com`);
    expect(row!.in_sync).toMatch(/^NOT in sync: .*Okta: the last reconciliation found kim@acme\.com not in the group$/);
    expect(row!.last_reconciled_at).toBe(h!.clock.now.toISOString());
    const csv = await cli(['export', '--format', 'csv']);
    expect(csv.out.split('\r\n')[0]).toContain('external_ref,applied_in,in_sync,last_reconciled_at,');
  });

  it("records a vendor failure as the run's error, keeps the earlier findings, posts nothing, and /healthz shows the last run", async () => {
    await start('okta');
    const { bo } = await anaApprovedAndBoAddedByHand();
    await reconcile();
    const healthy = (await (await fetch(`http://127.0.0.1:${h!.app.port}/healthz`, { headers: HEALTHZ_DETAILS })).json()) as { integrations: unknown };
    expect(healthy.integrations).toEqual({
      reconciliations: [{ vendor: 'okta', at: h!.clock.now.toISOString(), groups: 1, members: 2, findings: 1, error: null }],
      tasks: expect.objectContaining({ failing: 0 }),
    });

    h!.clock.advance(24 * HOUR);
    okta().fail(1, 503);
    const failed = await reconcile();
    const error = 'Could not read the members of the Okta group: Okta answered HTTP 503. The register will try again. Okta said: "Service is in read only mode".';
    expect(failed.vendors).toEqual([expect.objectContaining({ vendor: 'okta', error })]);
    expect(failed.posted).toBe(0);
    expect(h!.app.register.db.select().from(driftFindings).all()).toEqual([expect.objectContaining({ person: bo, kind: 'uncovered' })]);
    const last = h!.app.register.db.select().from(reconciliationRuns).orderBy(desc(reconciliationRuns.id)).get()!;
    expect(last).toMatchObject({ vendor: 'okta', findings: 0, error });
    expect(driftReports()).toHaveLength(1);

    const health = (await (await fetch(`http://127.0.0.1:${h!.app.port}/healthz`, { headers: HEALTHZ_DETAILS })).json()) as { integrations: { reconciliations: unknown[] } };
    expect(health.integrations.reconciliations).toEqual([{ vendor: 'okta', at: h!.clock.now.toISOString(), groups: 1, members: 0, findings: 0, error }]);
    // Without the token nobody learns which vendor or what failed.
    const open = JSON.stringify(await (await fetch(`http://127.0.0.1:${h!.app.port}/healthz`)).json());
    expect(open).not.toContain('reconciliations');
    expect(open).not.toContain('503');
  });

  it('says "and N others" and "and N more" past what one message can hold, within Block Kit limits', async () => {
    await start('okta');
    const groupId = okta().addGroup({ name: 'MFA-exempt' });
    const ana = okta().addUser({ email: 'ana@acme.com' });
    await approvedWithBypass(`okta:${groupId}`, [PEOPLE.requester]);
    okta().group(groupId)!.members.add(ana);
    okta().fillGroup(groupId, 300);
    await reconcile();
    const [report] = driftReports();
    expectWithinLimits(report!);
    expect(report!.blocks!.length).toBeLessThanOrEqual(50);
    expect(report!.text).toBe('The daily reconciliation found 300 differences between the register and Okta.');
    // One sentence per group: ten people named, the rest of the post's hundred counted, and the others past the post.
    expect(reportText(report!)).toMatch(/Okta group \*MFA-exempt\*: (member\d+@example\.com, ){9}member\d+@example\.com and 90 others are in the group without an exception covering them/);
    expect(reportText(report!)).toContain('…and 200 more');
    expect(h!.app.register.db.select().from(driftFindings).all().every((finding) => finding.postedAt !== null)).toBe(true);
    expect(h!.standIn.rejected()).toEqual([]);
  });

  it('runs by itself on RECONCILE_CRON in the running app and posts what it found', async () => {
    await start('okta', { RECONCILE_CRON: '* * * * * *' }, { schedule: true });
    await anaApprovedAndBoAddedByHand();
    await h!.standIn.waitFor(() => driftReports().some((m) => reportText(m).includes('bo@acme.com is in the group')), 5000);
    expect(h!.app.register.db.select().from(reconciliationRuns).all().length).toBeGreaterThan(0);
  });
});

describe('the daily reconciliation against Microsoft Entra ID', () => {
  it('finds a hand-added member of an Entra ID group and posts it, naming Entra ID', async () => {
    await start('entra');
    const groupId = entra().addGroup({ displayName: 'MFA-exempt-contractors' });
    const ana = entra().addUser({ mail: 'ana@acme.com', displayName: 'Ana Lima' });
    const lee = entra().addUser({ mail: 'lee@acme.com', displayName: 'Lee Park' });
    await approvedWithBypass(`entra:${groupId}`, [PEOPLE.requester]);
    entra().group(groupId)!.members.add(ana);
    entra().group(groupId)!.members.add(lee);
    await reconcile();
    const [report] = driftReports();
    expectWithinLimits(report!);
    expect(report!.text).toBe('The daily reconciliation found 1 difference between the register and Microsoft Entra ID.');
    expect(reportText(report!)).toContain('Microsoft Entra ID group *MFA-exempt-contractors*: lee@acme.com is in the group without an exception covering them');
  });
});
