import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exceptions } from '../../src/db/schema';
import { requestException } from '../../src/services/request-exception';
import { ACTION_IDS } from '../../src/slack/ids';
import { PEOPLE, startHarness, type Harness } from './harness';
import { assess, clickButton, decisionCard, renewalDecisionCard, submitRenewal, submitRequest, VALID_FORM } from './flows';
import { reapproveException } from '../../src/services/reapprove-exception';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

async function openHome(userId: string) {
  const before = h.standIn.callsTo('views.publish').length;
  const response = await h.driver.event({ type: 'app_home_opened', user: userId, channel: 'D0HOME', tab: 'home' });
  expect(response.status).toBe(200);
  await h.settle();
  const published = h.standIn.callsTo('views.publish');
  expect(published).toHaveLength(before + 1);
  expect(h.standIn.rejected()).toEqual([]);
  const view = published.at(-1)!.args.view as { type: string; blocks: { type: string; block_id?: string; elements?: { action_id?: string }[] }[] };
  expect(view.type).toBe('home');
  expect(view.blocks.length).toBeLessThanOrEqual(100);
  return { view, content: JSON.stringify(view.blocks), userId: published.at(-1)!.args.user_id };
}

describe('App Home', () => {
  it('for someone with no exceptions: the headline, a Request button, and nothing waiting', async () => {
    const home = await openHome(PEOPLE.bystander);
    expect(home.userId).toBe(PEOPLE.bystander);
    expect(home.content).toContain(ACTION_IDS.openRequest);
    expect(home.content).toContain('Nothing waits for you.');
    expect(home.content).toContain('You have none.');
  });

  it('for an owner of three: each with its status and days to expiry', async () => {
    for (const title of ['First gap', 'Second gap', 'Third gap']) await submitRequest(h, { title });
    const home = await openHome(PEOPLE.owner);
    expect(home.content.match(/EXC-000[123]/g)?.sort()).toEqual(['EXC-0001', 'EXC-0002', 'EXC-0003']);
    expect(home.content).toContain('Waiting for risk assessment');
  });

  it('for an owner of 300: within Block Kit limits, pointing to /exception list for the rest', async () => {
    for (let i = 1; i <= 300; i++) {
      const result = requestException(h.app.services, { requesterId: PEOPLE.requester, input: { ...VALID_FORM, title: `Gap number ${i} ${'<&>'.repeat(40)}` } });
      expect(result.ok).toBe(true);
    }
    expect(h.app.register.db.select().from(exceptions).all()).toHaveLength(300);
    const home = await openHome(PEOPLE.owner);
    expect(home.content).toContain('/exception list');
  });

  it('shows what waits for a person with its buttons: assessment for the security team, decision for approvers, never their own', async () => {
    await submitRequest(h, { title: 'Waiting for assessment' });
    await submitRequest(h, { title: 'Waiting for a decision' });
    await assess(h, 'EXC-0002', 2, 2);
    const security = await openHome(PEOPLE.security2);
    const rowsFor = (content: string) => content.match(/home_\d+/g) ?? [];
    expect(rowsFor(security.content)).toEqual(['home_1']);
    expect(security.content).toContain(ACTION_IDS.assessRisk);
    const approver = await openHome(PEOPLE.ciso);
    expect(rowsFor(approver.content)).toEqual(['home_2']);
    expect(approver.content).toContain(ACTION_IDS.approve);
    const owner = await openHome(PEOPLE.owner);
    expect(rowsFor(owner.content)).toEqual([]);
  });

  it("lists the committee's reviews: an exception open past its original expiry, until someone re-approves it", async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    h.clock.now = new Date('2027-01-05T09:00:00Z');
    const renewal = { progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over in February.', percentComplete: '60', evidenceUrl: '', controlTestedOn: '2027-01-04', expiresOn: '2027-03-01' };
    expect((await submitRenewal(h, PEOPLE.owner, renewal)).response?.text).toBe('');
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, renewalDecisionCard(h, 'EXC-0001', 1), ACTION_IDS.approve, PEOPLE.ciso);
    h.clock.now = new Date('2027-01-20T09:00:00Z');

    const committee = await openHome(PEOPLE.committee1);
    expect(committee.content).toContain('home_1');
    expect(committee.content).toContain(ACTION_IDS.reapprove);
    expect((await openHome(PEOPLE.ciso)).content).not.toContain(ACTION_IDS.reapprove);

    reapproveException(h.app.services, { exceptionId: 1, actorId: PEOPLE.committee2, justification: 'Cut-over is booked and the compensating control passed its test last week.' });
    expect((await openHome(PEOPLE.committee1)).content).not.toContain('home_1');
  });

  it('opens the request form from its button', async () => {
    const home = await openHome(PEOPLE.requester);
    expect(home.content).toContain(ACTION_IDS.openRequest);
    await h.driver.blockAction({ userId: PEOPLE.requester, actionId: ACTION_IDS.openRequest, value: 'home', view: { id: 'VHOME', callback_id: '' } });
    await h.settle();
    expect((h.standIn.callsTo('views.open').at(-1)!.args.view as { callback_id: string }).callback_id).toBe('exception_request');
  });
});
