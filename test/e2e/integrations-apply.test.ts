import { describe, expect, it } from 'vitest';
import { auditEvents, exceptionIssues, exceptions, integrationCursor, integrationTasks } from '../../src/db/schema';
import { bindingOf } from '../../src/db/integrations';
import { ACTION_IDS, CALLBACK_IDS } from '../../src/slack/ids';
import { validateBlocks } from '../support/block-kit-rules';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, cardFor, clickButton, decisionCard, openRequestModal, renewalDecisionCard, requestValues, submitClose, submitRenewal, VALID_FORM, type RequestForm } from './flows';
import { addEmailedPeople, bypassValues, vendorStage } from './vendors';

/**
 * Issue 12, the applying side: an approved exception's people are put in its bypass group, and taken out again at
 * expiry, close and revocation; Jira gets an issue, comments and its move to Done. Driven from the audit trail,
 * through outages and rate limits and restarts, with every attempt in the trail and a failure told plainly once.
 */

let h: Harness | undefined;
const { okta, entra, jira, start: startVendors } = vendorStage(() => h);

async function start(which: { okta?: boolean; entra?: boolean; jira?: boolean } = { okta: true }) {
  const vendors = await startVendors(which);
  h = await startHarness({ env: vendors.env });
  addEmailedPeople(h, [PEOPLE.requester, PEOPLE.security]);
  return h;
}

/** A fresh request modal (openRequestModal would hand back an earlier one, which Slack would take as a resubmission). */
async function openNewRequestModal(): Promise<string> {
  const before = h!.standIn.views.length;
  expect((await h!.driver.slashCommand({ userId: PEOPLE.requester, text: 'request' })).status).toBe(200);
  await h!.standIn.waitFor(() => h!.standIn.views.length > before);
  return h!.standIn.views.at(-1)!.id;
}

/** Requests with the bypass (when given), assesses and approves: EXC-n active until 2027-01-15. */
async function approved(ref: string, form: RequestForm = {}, bypass?: { group: string; people: string[] }) {
  const viewId = await openNewRequestModal();
  const values = { ...requestValues({ ...VALID_FORM, ...form }), ...(bypass ? bypassValues(bypass) : {}) };
  const response = await h!.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values });
  expect(response.json).toBeUndefined();
  await h!.settle();
  await assess(h!, ref, 2, 2);
  await clickButton(h!, decisionCard(h!, ref), ACTION_IDS.approve, PEOPLE.ciso);
}

/** An Okta group with Ana and Sam in the directory. */
function oktaDirectory() {
  const groupId = okta().addGroup({ name: 'MFA-exempt' });
  const ana = okta().addUser({ email: 'ana@acme.com', firstName: 'Ana', lastName: 'Lima' });
  const sam = okta().addUser({ email: 'sam@acme.com', firstName: 'Sam', lastName: 'Reyes' });
  return { groupId, ana, sam };
}

const members = (groupId: string) => [...okta().group(groupId)!.members].sort();
const integrationEvents = () =>
  h!.app.register.db
    .select()
    .from(auditEvents)
    .all()
    .filter((e) => e.kind.startsWith('integration.'))
    .map((e) => ({ kind: e.kind, exceptionId: e.exceptionId, ...(JSON.parse(e.payload) as { sentence: string; attempt: number; code?: string; vendor: string; people?: number; taskKind: string }) }));
const sentences = () => integrationEvents().map((e) => e.sentence);
const tasks = () => h!.app.register.db.select().from(integrationTasks).all();
const at = (iso: string) => {
  h!.clock.now = new Date(iso);
};
const alerts = () => h!.standIn.messages(CHANNELS.approvals).filter((m) => /did not take|Now done in/.test(m.text ?? ''));
const membershipCalls = () => okta().calls.filter((c) => c.path.includes('/users/') && c.path.includes('/groups/'));

describe('a bypass group in Okta', () => {
  it('gets the people on approval and loses them at expiry, each attempt an audit event with its sentence', async () => {
    await start();
    const { groupId, ana, sam } = oktaDirectory();
    await approved('EXC-0001', {}, { group: `okta:${groupId}`, people: [PEOPLE.requester, PEOPLE.security] });
    expect(members(groupId)).toEqual([ana, sam].sort());
    expect(bindingOf(h!.app.register.db, 1)).toMatchObject({ appliedState: 'applied', appliedAt: '2026-11-25T10:00:00.000Z' });
    expect(sentences()).toEqual(['added 2 people to Okta group MFA-exempt for EXC-0001']);
    expect(integrationEvents()[0]).toMatchObject({ kind: 'integration.applied', exceptionId: 1, vendor: 'okta', taskKind: 'sync_membership', people: 2, attempt: 1 });
    // The card says so once the vendor has it.
    expect(JSON.stringify(cardFor(h!, 'EXC-0001').blocks)).toContain('Okta group *MFA-exempt* · 2 people · applied');

    at('2027-01-16T08:00:00Z');
    await h!.runJobs();
    expect(h!.app.register.db.select().from(exceptions).get()!.status).toBe('expired');
    expect(members(groupId)).toEqual([]);
    expect(bindingOf(h!.app.register.db, 1)).toMatchObject({ appliedState: 'removed', removedAt: '2027-01-16T08:00:00.000Z' });
    expect(sentences()).toEqual(['added 2 people to Okta group MFA-exempt for EXC-0001', 'removed 2 people from Okta group MFA-exempt for EXC-0001']);
    expect(tasks().map((t) => [t.kind, t.state])).toEqual([
      ['sync_membership', 'done'],
      ['sync_membership', 'done'],
    ]);
    // Nothing went wrong, so the channel heard nothing about it; and no token reached a log line.
    expect(alerts()).toEqual([]);
    expect(h!.logs.join('\n')).not.toContain(okta().apiToken);
  });

  it('takes the people out on close, and on revocation keeps a person another active exception still covers', async () => {
    await start();
    const { groupId, ana, sam } = oktaDirectory();
    await approved('EXC-0001', {}, { group: `okta:${groupId}`, people: [PEOPLE.requester, PEOPLE.security] });
    await approved('EXC-0002', { title: 'Payroll export without MFA' }, { group: `okta:${groupId}`, people: [PEOPLE.requester] });
    expect(members(groupId)).toEqual([ana, sam].sort());

    // The CISO ending it is a revocation.
    await submitClose(h!, PEOPLE.ciso, 'The vendor fixed SSO; no longer needed.', 'EXC-0001');
    expect(h!.app.register.db.select().from(exceptions).all().map((e) => e.status)).toEqual(['revoked', 'active']);
    expect(members(groupId)).toEqual([ana]);
    expect(sentences().at(-1)).toBe('removed 1 person from Okta group MFA-exempt for EXC-0001; 1 kept, still covered by another active exception');

    await submitClose(h!, PEOPLE.owner, 'Remediated: SSO is live for payroll.', 'EXC-0002');
    expect(h!.app.register.db.select().from(exceptions).all().map((e) => e.status)).toEqual(['revoked', 'closed']);
    expect(members(groupId)).toEqual([]);
    expect(sentences().at(-1)).toBe('removed 1 person from Okta group MFA-exempt for EXC-0002');
  });

  it('retries a removal through an outage with backoff, reports it once with the card, then says it is done', async () => {
    await start();
    const { groupId } = oktaDirectory();
    await approved('EXC-0001', {}, { group: `okta:${groupId}`, people: [PEOPLE.requester, PEOPLE.security] });
    okta().fail(2, 503);
    at('2027-01-16T08:00:00Z');
    await h!.runJobs();
    expect(members(groupId)).toHaveLength(2);
    expect(tasks().at(-1)).toMatchObject({ state: 'pending', attempts: 1, lastErrorCode: 'unavailable', nextAttemptAt: '2027-01-16T08:00:01.000Z' });
    expect(tasks().at(-1)!.lastError).toContain('Okta answered HTTP 503');

    const [alert] = alerts();
    expect(alerts()).toHaveLength(1);
    expect(alert!.text).toContain('Okta did not take the removal of 2 people from group MFA-exempt for EXC-0001 (expired)');
    expect(JSON.stringify(alert!.blocks)).toContain('until then they are still exempted');
    expect(buttons(alert!)).toEqual([ACTION_IDS.viewRecord]);
    expect(validateBlocks(alert!.blocks, 'message')).toEqual([]);
    expect(JSON.stringify(cardFor(h!, 'EXC-0001').blocks)).toContain('Expired, but still applied in Okta group MFA-exempt');

    // Not before the backoff has passed.
    const before = membershipCalls().length;
    h!.clock.advance(500);
    await h!.settle();
    expect(membershipCalls()).toHaveLength(before);
    h!.clock.advance(600);
    await h!.settle();
    expect(tasks().at(-1)).toMatchObject({ state: 'pending', attempts: 2, nextAttemptAt: '2027-01-16T08:00:03.100Z' });
    expect(alerts()).toHaveLength(1);

    h!.clock.advance(2000);
    await h!.settle();
    expect(members(groupId)).toEqual([]);
    expect(tasks().at(-1)).toMatchObject({ state: 'done', lastError: null });
    expect(integrationEvents().slice(1).map((e) => [e.kind, e.attempt, e.code])).toEqual([
      ['integration.failed', 1, 'unavailable'],
      ['integration.failed', 2, 'unavailable'],
      ['integration.applied', 3, undefined],
    ]);
    expect(sentences()[1]).toMatch(/^could not remove 2 people from Okta group MFA-exempt for EXC-0001: Could not remove the person from the Okta group: Okta answered HTTP 503/);
    expect(alerts()).toHaveLength(2);
    expect(alerts()[1]!.text).toBe('Now done in Okta: removed 2 people from Okta group MFA-exempt for EXC-0001');
    expect(JSON.stringify(cardFor(h!, 'EXC-0001').blocks)).not.toContain('still applied');
  });

  it('makes no call to Okta before the time its X-Rate-Limit-Reset names', async () => {
    await start();
    const { groupId, ana } = oktaDirectory();
    const viewId = await openRequestModal(h!);
    okta().rateLimit(1, 30);
    // The request itself is refused by the limit too; the form asks to try again, and the next submission goes through.
    const values = { ...requestValues(VALID_FORM), ...bypassValues({ group: `okta:${groupId}`, people: [PEOPLE.requester] }) };
    const limited = await h!.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values });
    expect(limited.json).toMatchObject({ response_action: 'errors' });
    expect((await h!.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values })).json).toBeUndefined();
    await h!.settle();
    await assess(h!, 'EXC-0001', 2, 2);
    okta().rateLimit(1, 30);
    await clickButton(h!, decisionCard(h!, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    expect(members(groupId)).toEqual([]);
    const paused = h!.app.register.db.select().from(integrationCursor).all().find((c) => c.vendor === 'okta')!.pausedUntil!;
    const waitMs = Date.parse(paused) - h!.clock.now.getTime();
    expect(waitMs).toBeGreaterThan(25_000);
    expect(waitMs).toBeLessThanOrEqual(31_000);
    expect(tasks()[0]).toMatchObject({ state: 'pending', lastErrorCode: 'rate_limited', nextAttemptAt: paused });
    // The vendor's own pace is not a failure to report.
    expect(alerts()).toEqual([]);

    const calls = membershipCalls().length;
    h!.clock.advance(waitMs - 1000);
    await h!.settle();
    expect(membershipCalls()).toHaveLength(calls);
    h!.clock.advance(1000);
    await h!.settle();
    expect(members(groupId)).toEqual([ana]);
  });

  it('loses nothing across a restart: a change that failed before it is done after', async () => {
    await start();
    const { groupId, ana, sam } = oktaDirectory();
    const viewId = await openRequestModal(h!);
    const values = { ...requestValues(VALID_FORM), ...bypassValues({ group: `okta:${groupId}`, people: [PEOPLE.requester, PEOPLE.security] }) };
    expect((await h!.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values })).json).toBeUndefined();
    await h!.settle();
    await assess(h!, 'EXC-0001', 2, 2);
    okta().fail(1, 503);
    await clickButton(h!, decisionCard(h!, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    expect(tasks()).toMatchObject([{ state: 'pending', attempts: 1 }]);

    await h!.restart();
    h!.clock.advance(1000);
    await h!.settle();
    expect(members(groupId)).toEqual([ana, sam].sort());
    // Planned once, whatever the new app read of the trail again.
    expect(tasks()).toMatchObject([{ state: 'done', attempts: 1 }]);
    expect(integrationEvents().map((e) => e.kind)).toEqual(['integration.failed', 'integration.applied']);
  });
});

describe('a bypass group in Microsoft Entra ID', () => {
  it('gets the people on approval and loses them when the owner closes the exception', async () => {
    await start({ entra: true });
    const groupId = entra().addGroup({ displayName: 'MFA-exempt-contractors' });
    const ana = entra().addUser({ mail: 'ana@acme.com', displayName: 'Ana Lima' });
    await approved('EXC-0001', {}, { group: `entra:${groupId}`, people: [PEOPLE.requester] });
    expect([...entra().group(groupId)!.members]).toEqual([ana]);
    expect(sentences()).toEqual(['added 1 person to Microsoft Entra ID group MFA-exempt-contractors for EXC-0001']);

    await submitClose(h!, PEOPLE.owner, 'Remediated: contractors moved to the managed laptops.');
    expect(entra().group(groupId)!.members.size).toBe(0);
    expect(sentences().at(-1)).toBe('removed 1 person from Microsoft Entra ID group MFA-exempt-contractors for EXC-0001');
    expect(h!.logs.join('\n')).not.toContain(entra().app.clientSecret);
  });

  it('waits as long as its Retry-After asks when Graph throttles the register', async () => {
    await start({ entra: true });
    const groupId = entra().addGroup({ displayName: 'MFA-exempt-contractors' });
    const ana = entra().addUser({ mail: 'ana@acme.com', displayName: 'Ana Lima' });
    const viewId = await openNewRequestModal();
    const values = { ...requestValues(VALID_FORM), ...bypassValues({ group: `entra:${groupId}`, people: [PEOPLE.requester] }) };
    expect((await h!.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values })).json).toBeUndefined();
    await h!.settle();
    await assess(h!, 'EXC-0001', 2, 2);
    entra().throttle(1, 20);
    await clickButton(h!, decisionCard(h!, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    expect(tasks()[0]).toMatchObject({ state: 'pending', lastErrorCode: 'rate_limited', nextAttemptAt: '2026-11-25T10:00:20.000Z' });
    const graphCalls = entra().calls.length;
    h!.clock.advance(19_999);
    await h!.settle();
    expect(entra().calls).toHaveLength(graphCalls);
    h!.clock.advance(1);
    await h!.settle();
    expect([...entra().group(groupId)!.members]).toEqual([ana]);
  });
});

describe('the remediation issue in Jira', () => {
  const renewal = { progress: 'SSO connector in staging; 30 of 40 users moved.', percentComplete: '60', evidenceUrl: 'https://tickets.example.com/CHG-4711', controlTestedOn: '2027-01-04', expiresOn: '2027-03-01' };
  const commentTexts = (key: string) => JSON.stringify(jira().issue(key)!.comments);

  it('is created on approval labelled with the exception, commented on at renewal, and commented and moved to Done on close', async () => {
    await start({ jira: true });
    await approved('EXC-0001');
    const [issue] = jira().issues();
    expect(issue).toMatchObject({ labels: ['EXC-0001', 'security-exception'], status: 'To Do' });
    expect(issue!.summary).toBe('EXC-0001: Legacy HR system without MFA');
    expect(JSON.stringify(issue!.description)).toContain('2027-01-15');
    expect(h!.app.register.db.select().from(exceptionIssues).get()).toMatchObject({ exceptionId: 1, issueKey: issue!.key, createdByApp: true });
    expect(sentences()).toEqual([`created Jira issue ${issue!.key} for EXC-0001`]);
    expect(JSON.stringify(cardFor(h!, 'EXC-0001').blocks)).toContain(`|${issue!.key}>`);

    at('2027-01-05T09:00:00Z');
    await submitRenewal(h!, PEOPLE.owner, renewal);
    await assess(h!, 'EXC-0001', 2, 2);
    await clickButton(h!, renewalDecisionCard(h!, 'EXC-0001', 1), ACTION_IDS.approve, PEOPLE.deputy);
    expect(commentTexts(issue!.key)).toContain('EXC-0001 was renewed in the exception register on 2027-01-05; it now expires on 2027-03-01.');

    await submitClose(h!, PEOPLE.owner, 'Remediated: SSO is live.');
    expect(commentTexts(issue!.key)).toContain('EXC-0001 was closed in the exception register on 2027-01-05 as remediated.');
    expect(jira().issue(issue!.key)!.status).toBe('Done');
    expect(sentences().slice(1)).toEqual([`commented on Jira issue ${issue!.key} for EXC-0001`, `commented on Jira issue ${issue!.key} for EXC-0001`, `moved Jira issue ${issue!.key} to Done for EXC-0001`]);
    expect(jira().issues()).toHaveLength(1);
  });

  it('comments on a referenced issue instead of creating one, and at expiry says the bypass is removed', async () => {
    await start({ okta: true, jira: true });
    const { groupId } = oktaDirectory();
    const key = jira().addIssue({ summary: 'Replace the HR system' });
    await approved('EXC-0001', { externalRef: key }, { group: `okta:${groupId}`, people: [PEOPLE.requester] });
    expect(jira().issues()).toHaveLength(1);
    expect(commentTexts(key)).toContain('This issue now tracks the remediation for security exception EXC-0001');
    expect(h!.app.register.db.select().from(exceptionIssues).get()).toMatchObject({ issueKey: key, createdByApp: false });

    // Jira down at expiry: Okta goes ahead, the Jira comment waits and then follows in order.
    jira().fail(1, 503);
    at('2027-01-16T08:00:00Z');
    await h!.runJobs();
    expect(members(groupId)).toEqual([]);
    expect(jira().issue(key)!.status).toBe('To Do');
    h!.clock.advance(1000);
    await h!.settle();
    expect(commentTexts(key)).toContain('EXC-0001 expired in the exception register on 2027-01-15; the bypass in Okta group MFA-exempt is removed.');
    expect(jira().issue(key)!.status).toBe('Done');
    expect(tasks().every((t) => t.state === 'done')).toBe(true);
  });
});
