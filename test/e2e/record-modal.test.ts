import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendAuditEvent } from '../../src/db/audit-chain';
import { exceptions } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS, CLOSING_NOTE_BLOCK_ID, INPUT_ACTION_ID } from '../../src/slack/ids';
import { validateBlocks } from '../support/block-kit-rules';
import { PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, clickButton, decisionCard, ephemeralsTo, reject, submitRenewal, submitRequest } from './flows';

const AUDITOR = 'U0AUDITOR';
let h: Harness;
beforeEach(async () => {
  h = await startHarness({ env: { AUDITOR_IDS: AUDITOR } });
  await submitRequest(h);
  await assess(h, 'EXC-0001', 2, 2);
  await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
});
afterEach(async () => {
  await h.close();
});

interface OpenedView {
  id: string;
  type: string;
  title: { text: string };
  blocks: { type: string }[];
}

/** Presses "View details" as `userId` (from a message in their DM, as a card or `show` would carry it) and returns the modal. */
async function viewDetails(userId: string, exceptionId = 1): Promise<{ modal?: OpenedView; content: string }> {
  const before = h.standIn.callsTo('views.open').length;
  const response = await h.driver.blockAction({
    userId,
    actionId: ACTION_IDS.viewRecord,
    value: String(exceptionId),
    message: { channel: 'C0DM', ts: '1.0', blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: ACTION_IDS.viewRecord, text: { type: 'plain_text', text: 'View details' }, value: String(exceptionId) }] }], ephemeral: true },
  });
  expect(response.status).toBe(200);
  await h.settle();
  const opened = h.standIn.callsTo('views.open');
  if (opened.length === before) return { content: '' };
  const modal = opened.at(-1)!.response.view as OpenedView;
  expect(validateBlocks(modal.blocks, 'modal')).toEqual([]);
  expect(h.standIn.rejected()).toEqual([]);
  return { modal, content: JSON.stringify(modal.blocks) };
}

describe('View details', () => {
  it('opens the whole record: standing first, the request, and the history in plain words with each reason', async () => {
    await submitRequest(h, { title: 'Flat network for the lab' });
    await assess(h, 'EXC-0002', 2, 2);
    await reject(h, decisionCard(h, 'EXC-0002'), PEOPLE.ciso, 'Segment the lab first, then ask again.');
    const { modal, content } = await viewDetails(PEOPLE.requester, 2);
    expect(modal!.title.text).toBe('EXC-0002');
    expect(modal!.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Flat network for the lab' } });
    expect(JSON.stringify(modal!.blocks[1])).toContain('*Rejected*');
    // The reason comes before the request's text: it is what the requester needs before asking again.
    expect(JSON.stringify(modal!.blocks[3])).toContain('*Why it was rejected*\\n<@U0CISO>: Segment the lab first, then ask again.');
    expect(content).toContain('*Scope*');
    expect(content).toContain('*Compensating control*');
    expect(content).toContain('<@U0CISO> rejected it: “Segment the lab first, then ask again.”');
    expect(content).toMatch(/assessed the risk: 2 × 2 = 4, low; one approver decides: “\S/);
    expect(content).not.toMatch(/exception\.(rejected|assessed)/);
  });

  it('shows renewals with their evidence, and the check-in and its answer', async () => {
    h.clock.now = new Date('2026-12-25T12:00:00Z'); // 30 days after activation: the control check-in
    await h.runJobs();
    const question = h.standIn.dmsTo(PEOPLE.owner).find((m) => buttons(m).includes(ACTION_IDS.checkinYes))!;
    await clickButton(h, question, ACTION_IDS.checkinYes, PEOPLE.owner);
    h.clock.now = new Date('2027-01-05T09:00:00Z');
    const renewal = { progress: 'SSO connector deployed to staging; cut-over in February.', percentComplete: '60', evidenceUrl: 'https://wiki.example.com/sso-rollout', controlTestedOn: '2027-01-04', expiresOn: '2027-03-01' };
    expect((await submitRenewal(h, PEOPLE.owner, renewal)).response?.status).toBe(200);
    const { content } = await viewDetails(PEOPLE.owner);
    expect(content).toContain('The owner was asked whether the compensating control still works.');
    expect(content).toContain('<@U0OWNER> answered the check-in: the control is in place and working');
    expect(content).toContain('Last control check-in: Fri 25 Dec 2026 · last review: none yet');
    expect(content).toContain('*Renewal 1* · requested');
    expect(content).toContain('60% of the fix done · control last tested Mon 4 Jan · asked until Mon 1 Mar');
    expect(content).toContain('Evidence: https://wiki.example.com/sso-rollout');
    expect(content).toContain('asked to renew it until Mon 1 Mar (60% of the fix done, control last tested Mon 4 Jan, evidence: https://wiki.example.com/sso-rollout): “SSO connector deployed to staging; cut-over in February.”');
  });

  it('gives the owner Renew and Close inside the record; Close stacks its form on the record and ends the exception', async () => {
    const { modal, content } = await viewDetails(PEOPLE.owner);
    expect(content).toContain(ACTION_IDS.renew);
    expect(content).toContain(ACTION_IDS.close);
    expect(content).not.toContain(ACTION_IDS.revoke);
    const pushed = h.standIn.callsTo('views.push').length;
    const response = await h.driver.blockAction({ userId: PEOPLE.owner, actionId: ACTION_IDS.close, value: '1', view: { id: modal!.id } });
    expect(response.status).toBe(200);
    await h.settle();
    expect(h.standIn.callsTo('views.push')).toHaveLength(pushed + 1);
    const form = h.standIn.callsTo('views.push').at(-1)!.response.view as { id: string; private_metadata: string; title: { text: string } };
    expect(form.title.text).toBe('Close exception');
    await h.driver.viewSubmission({
      userId: PEOPLE.owner,
      callbackId: CALLBACK_IDS.close,
      viewId: form.id,
      privateMetadata: form.private_metadata,
      values: { [CLOSING_NOTE_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'MFA is live for every HR account.' } } },
    });
    await h.settle();
    expect(h.app.register.db.select().from(exceptions).get()).toMatchObject({ status: 'closed' });
    const after = await viewDetails(PEOPLE.owner);
    expect(after.content).toContain('*Closing note*\\nMFA is live for every HR account.');
    expect(after.content).toContain('<@U0OWNER> closed it: “MFA is live for every HR account.”');
    expect(after.content).not.toContain(ACTION_IDS.close);
  });

  it('gives an approver Revoke on an active exception, and an auditor nothing to press', async () => {
    expect((await viewDetails(PEOPLE.deputy)).content).toContain(ACTION_IDS.revoke);
    const auditor = await viewDetails(AUDITOR);
    expect(auditor.modal!.title.text).toBe('EXC-0001');
    expect(auditor.content).not.toMatch(new RegExp(`${ACTION_IDS.revoke}|${ACTION_IDS.renew}|"${ACTION_IDS.close}"`));
  });

  it('refuses someone who may not see it, saying why, and opens nothing', async () => {
    const { modal } = await viewDetails(PEOPLE.bystander);
    expect(modal).toBeUndefined();
    expect(ephemeralsTo(h, PEOPLE.bystander)).toEqual([expect.stringMatching(/^There is no exception EXC-0001 that you can see/)]);
  });

  it('keeps a long history within a modal: the earliest events give way, and it says so', async () => {
    // Hundreds of votes with long comments: more than a modal's hundred blocks could hold.
    h.app.register.db.transaction((tx) => {
      for (let i = 0; i < 300; i++) {
        appendAuditEvent(tx, { exceptionId: 1, actorId: PEOPLE.committee1, kind: 'exception.vote_recorded', payload: { round: 0, outcome: 'approve', comment: `Vote ${i}: ${'a considered view '.repeat(80)}` }, occurredAt: h.clock.now.toISOString() });
      }
    });
    const { modal, content } = await viewDetails(PEOPLE.owner);
    expect(modal!.blocks.length).toBeLessThanOrEqual(100);
    expect(content).toMatch(/\*History\* \(the latest \d+ of 30\d events; the operator's `exceptions show EXC-0001` lists them all\)/);
    expect(content).toContain('Vote 299:');
    expect(content).not.toContain('Vote 0:');
  });
});
