import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { appendAuditEvent } from '../../src/db/audit-chain';
import { saveBinding } from '../../src/db/integrations';
import { exceptionBindings, exceptionIssues, integrationTasks } from '../../src/db/schema';
import { runCli } from '../../src/cli/main';
import { ACTION_IDS } from '../../src/slack/ids';
import { blockTextLength, MESSAGE_BLOCK_TEXT_LIMIT, validateBlocks, validateView } from '../support/block-kit-rules';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, clickButton, decisionCard, harnessEnv, submitRequest, triageMessage } from './flows';

/**
 * What people see of where an exception is applied. The state the connectors' worker leaves behind (a binding, its
 * applied state, a failing task, a linked issue, its audit events) is written straight into the register here, and
 * every surface is read back through the real app's Slack calls and the real `exceptions show`.
 */

let h: Harness;
beforeEach(async () => {
  h = await startHarness(); // Wednesday 2026-11-25 10:00 UTC
});
afterEach(async () => {
  await h.close();
});

const ISSUE_URL = 'https://example.atlassian.net/browse/SEC-142';
const REFUSAL = "Could not remove a person from group 00gMFAEXEMPT: Okta refused: the register's account lacks a permission this needs.";
const seconds = (iso: string) => Date.parse(iso) / 1000;

function bindMfaExempt(exceptionId: number): void {
  const db = h.app.register.db;
  db.transaction((tx) => {
    saveBinding(
      tx,
      exceptionId,
      {
        vendor: 'okta',
        groupId: '00gMFAEXEMPT',
        groupName: 'MFA-exempt',
        people: [
          { slackUserId: PEOPLE.owner, vendorUserId: '00uOWNER', email: 'owner@example.com', displayName: 'Owner' },
          { slackUserId: PEOPLE.requester, vendorUserId: '00uREQUEST', email: 'requester@example.com', displayName: 'Requester' },
          { slackUserId: null, vendorUserId: '00uCONTRACT', email: 'contractor@example.com', displayName: null },
        ],
      },
      h.clock.now,
    );
    tx.insert(exceptionIssues).values({ exceptionId, vendor: 'jira', issueKey: 'SEC-142', url: ISSUE_URL, createdByApp: false, linkedAt: h.clock.now.toISOString() }).run();
  });
}

async function show(userId: string, ref: string) {
  const response = await h.driver.slashCommand({ userId, text: `show ${ref}` });
  expect(response.status).toBe(200);
  const body = response.json as { text: string; blocks: unknown[] };
  expect(validateBlocks(body.blocks, 'message')).toEqual([]);
  expect(blockTextLength(body.blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
  return JSON.stringify(body.blocks);
}

async function cliShow(ref: string): Promise<string> {
  let out = '';
  const code = await runCli(['show', ref], harnessEnv(h), { out: { write: (t: string) => (out += t) }, err: { write: () => true } });
  expect(code).toBe(0);
  return out;
}

describe('where an exception is applied, on the surfaces people read', () => {
  it('the card, /exception show, the CLI and the weekly post say where it is applied, and plainly when its removal keeps failing', async () => {
    await submitRequest(h);
    bindMfaExempt(1);
    await submitRequest(h, { title: 'Flat network for the lab' }); // names no vendor: nothing about one appears

    // Assessing refreshes the card: the group, its people and the issue, under the card's first line.
    await assess(h, 'EXC-0001', 2, 2);
    const waiting = triageMessage(h, 'EXC-0001');
    expect(validateBlocks(waiting.blocks!, 'message')).toEqual([]);
    expect(JSON.stringify(waiting.blocks![1])).toContain('Waiting for a decision');
    expect(JSON.stringify(waiting.blocks![2])).toContain(`Okta group *MFA-exempt* · 3 people · added on approval · Jira <${ISSUE_URL}|SEC-142>`);

    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    const db = h.app.register.db;
    db.update(exceptionBindings).set({ appliedState: 'applied', appliedAt: h.clock.now.toISOString() }).where(eq(exceptionBindings.exceptionId, 1)).run();

    // Expiry: the removal is refused by Okta and keeps being retried.
    h.clock.now = new Date('2027-01-16T00:30:00Z');
    db.insert(integrationTasks)
      .values({
        vendor: 'okta',
        exceptionId: 1,
        eventId: 999_999,
        kind: 'sync_membership',
        state: 'pending',
        attempts: 3,
        lastError: REFUSAL,
        lastErrorCode: 'refused',
        createdAt: '2027-01-16T00:05:00.000Z',
        nextAttemptAt: '2027-01-16T01:05:00.000Z',
      })
      .run();
    await h.runJobs();
    db.transaction((tx) => {
      appendAuditEvent(tx, { exceptionId: 1, actorId: 'scheduler', kind: 'integration.applied', payload: { sentence: 'added 3 people to Okta group MFA-exempt for EXC-0001' }, occurredAt: '2026-11-25T10:01:00.000Z' });
      appendAuditEvent(tx, { exceptionId: 1, actorId: 'scheduler', kind: 'integration.failed', payload: { sentence: 'could not remove 3 people from Okta group MFA-exempt for EXC-0001: Okta refused' }, occurredAt: '2027-01-16T00:06:00.000Z' });
      appendAuditEvent(tx, { exceptionId: 1, actorId: 'scheduler', kind: 'integration.drift_found', payload: {}, occurredAt: '2027-01-16T00:07:00.000Z' });
    });

    const card = triageMessage(h, 'EXC-0001');
    expect(validateBlocks(card.blocks!, 'message')).toEqual([]);
    const [, first, line, warning] = card.blocks!.map((b) => JSON.stringify(b));
    expect(first).toContain('*Expired*');
    expect(line).toContain('Okta group *MFA-exempt* · 3 people · being removed · Jira');
    expect(warning).toContain(':warning: *Expired, but still applied in Okta group MFA-exempt:* Okta refused the removal: “Could not remove a person from group 00gMFAEXEMPT');
    expect(warning).toContain(`Trying again since <!date^${seconds('2027-01-16T00:05:00Z')}^`);
    expect(warning).toContain(`(3 attempts; next <!date^${seconds('2027-01-16T01:05:00Z')}^`);
    expect(JSON.stringify(triageMessage(h, 'EXC-0002').blocks)).not.toMatch(/Okta|Jira|Where it is applied/);

    // The record: where, who, in sync or not and why, the issue; the connectors' events as sentences.
    const record = await show(PEOPLE.security, 'EXC-0001');
    expect(record).toContain('*Where it is applied*\\nOkta group *MFA-exempt* · 3 people · being removed · not in sync: the change keeps failing (below)');
    expect(record).toContain('People: <@U0OWNER>, <@U0REQUEST>, contractor@example.com');
    expect(record).toContain(`Jira <${ISSUE_URL}|SEC-142>, referenced in the request · in sync with the register`);
    expect(record).toContain('Added 3 people to Okta group MFA-exempt for EXC-0001.');
    expect(record).toContain('Could not remove 3 people from Okta group MFA-exempt for EXC-0001: Okta refused.');
    expect(record).toContain('The daily reconciliation found the identity provider out of step with the register.');
    expect(await show(PEOPLE.security, 'EXC-0002')).not.toContain('Where it is applied');

    // View details opens the whole record with the same account.
    const opened = h.standIn.callsTo('views.open').length;
    await h.driver.blockAction({
      userId: PEOPLE.owner,
      actionId: ACTION_IDS.viewRecord,
      value: '1',
      message: { channel: 'C0DM', ts: '1.0', blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: ACTION_IDS.viewRecord, text: { type: 'plain_text', text: 'View details' }, value: '1' }] }], ephemeral: true },
    });
    await h.settle();
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened + 1);
    const modal = h.standIn.callsTo('views.open').at(-1)!.response.view as { blocks: unknown[] };
    expect(validateView({ type: 'modal', title: { type: 'plain_text', text: 'EXC-0001' }, blocks: modal.blocks })).toEqual([]);
    const details = JSON.stringify(modal.blocks);
    expect(details).toContain('*Where it is applied*\\nOkta group *MFA-exempt* · 3 people · being removed');
    expect(details).toContain(':warning: *Expired, but still applied in Okta group MFA-exempt:*');
    expect(details).toContain('Could not remove 3 people from Okta group MFA-exempt for EXC-0001: Okta refused.');

    const printed = await cliShow('EXC-0001');
    expect(printed).toContain('Applied in:           Okta group MFA-exempt (00gMFAEXEMPT), being removed, NOT in sync');
    expect(printed).toContain('People:               owner@example.com (U0OWNER), requester@example.com (U0REQUEST), contractor@example.com');
    expect(printed).toContain(`Okta change:          failing since 2027-01-16T00:05:00.000Z (3 attempts, next 2027-01-16T01:05:00.000Z), last error (refused): ${REFUSAL}`);
    expect(printed).toContain(`Jira issue:           SEC-142 ${ISSUE_URL} (referenced in the request), in sync`);
    expect(printed).toMatch(/integration\.failed\s+scheduler {2}could not remove 3 people from Okta group MFA-exempt for EXC-0001: Okta refused/);
    expect(await cliShow('EXC-0002')).not.toContain('Applied in:');

    // The weekly post counts and names it, and its first line says so whatever the trend.
    h.clock.now = new Date('2027-01-18T09:05:00Z');
    await h.runJobs();
    const post = h.standIn.messages(CHANNELS.committee).filter((m) => (m.text ?? '').startsWith('Exception register, week 2027-W03')).at(-1)!;
    expect(validateBlocks(post.blocks!, 'message')).toEqual([]);
    expect(blockTextLength(post.blocks!)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
    expect(post.text).toContain('But 1 exception the register has ended is still applied in Okta (below).');
    const content = JSON.stringify(post.blocks);
    expect(content).toContain(':warning: *Expired in the register, still applied in Okta*: *1*');
    expect(content).toContain(`*EXC-0001* Legacy HR system without MFA (MFA-01)\\nExpired · 3 people still in Okta group *MFA-exempt* · removal failing since <!date^${seconds('2027-01-16T00:05:00Z')}^{date_short}|2027-01-16 UTC>: Okta refused it · owner <@U0OWNER>`);
    expect(post.blocks).toContainEqual(expect.objectContaining({ accessory: expect.objectContaining({ action_id: ACTION_IDS.viewRecord, value: '1' }) }));

    // Once the removal is done the post has nothing to say about it, and the card says removed, in sync.
    db.update(integrationTasks).set({ state: 'done', doneAt: h.clock.now.toISOString() }).run();
    db.update(exceptionBindings).set({ appliedState: 'removed', removedAt: h.clock.now.toISOString() }).run();
    expect(await show(PEOPLE.security, 'EXC-0001')).toContain('Okta group *MFA-exempt* · 3 people · removed · in sync with the register');
    h.clock.now = new Date('2027-01-25T09:05:00Z');
    await h.runJobs();
    const next = h.standIn.messages(CHANNELS.committee).filter((m) => (m.text ?? '').startsWith('Exception register, week 2027-W04')).at(-1)!;
    expect(next.text).not.toContain('still applied');
    expect(JSON.stringify(next.blocks)).not.toContain('still applied');
    expect(h.standIn.rejected()).toEqual([]);
  });

  it("App Home tells the owner briefly that their ended exception's bypass is still in place", async () => {
    await submitRequest(h);
    bindMfaExempt(1);
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    const db = h.app.register.db;
    db.update(exceptionBindings).set({ appliedState: 'applied' }).where(eq(exceptionBindings.exceptionId, 1)).run();
    h.clock.now = new Date('2027-01-16T00:30:00Z');
    db.insert(integrationTasks)
      .values({ vendor: 'okta', exceptionId: 1, eventId: 999_999, kind: 'sync_membership', attempts: 1, lastError: REFUSAL, lastErrorCode: 'unavailable', createdAt: '2027-01-16T00:05:00.000Z', nextAttemptAt: '2027-01-16T00:35:00.000Z' })
      .run();
    await h.runJobs();
    await h.settle();
    const before = h.standIn.callsTo('views.publish').length;
    expect((await h.driver.event({ type: 'app_home_opened', user: PEOPLE.owner, channel: 'D0HOME', tab: 'home' })).status).toBe(200);
    await h.settle();
    const published = h.standIn.callsTo('views.publish');
    expect(published.length).toBeGreaterThan(before);
    const home = JSON.stringify((published.at(-1)!.args.view as { blocks: unknown[] }).blocks);
    expect(home).toContain(`:warning: It is expired, but still applied in Okta group MFA-exempt: failing since <!date^${seconds('2027-01-16T00:05:00Z')}^`);
    expect(home).toContain('*View details* says why.');
  });
});
