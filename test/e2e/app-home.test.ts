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

type HomeView = { type: string; blocks: { type: string; block_id?: string; elements?: { action_id?: string }[] }[] };

async function openHome(userId: string) {
  // What earlier changes queued (App Home republished for the people concerned) goes out first.
  await h.settle();
  const before = h.standIn.callsTo('views.publish').length;
  const response = await h.driver.event({ type: 'app_home_opened', user: userId, channel: 'D0HOME', tab: 'home' });
  expect(response.status).toBe(200);
  await h.settle();
  const published = h.standIn.callsTo('views.publish');
  expect(published).toHaveLength(before + 1);
  expect(h.standIn.rejected()).toEqual([]);
  const view = published.at(-1)!.args.view as HomeView;
  expect(view.type).toBe('home');
  expect(view.blocks.length).toBeLessThanOrEqual(100);
  return { view, content: JSON.stringify(view.blocks), userId: published.at(-1)!.args.user_id };
}

describe('App Home', () => {
  it('for someone with no exceptions: their figures, a Request button, and nothing about waiting', async () => {
    const home = await openHome(PEOPLE.bystander);
    expect(home.userId).toBe(PEOPLE.bystander);
    expect(home.content).toContain(ACTION_IDS.openRequest);
    expect(home.content).toContain('*Yours* (as requester or owner): *0* active of yours');
    // Nobody waits on staff for anything, so there is no empty "Waiting for you" to read.
    expect(home.content).not.toContain('Waiting for you');
    expect(home.content).toContain('You have none.');
    expect((await openHome(PEOPLE.ciso)).content).toContain('Nothing waits for you.');
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
    expect((await submitRenewal(h, PEOPLE.owner, renewal)).response?.status).toBe(200);
    // While its renewal waits, the owner is told so and offered no second Renew.
    const owner = await openHome(PEOPLE.owner);
    expect(owner.content).toContain('its renewal waits for a risk assessment');
    expect(owner.content).not.toContain(ACTION_IDS.renew);
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

  it("shows staff their own figures first, and the register's only to those who may see it", async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    await submitRequest(h, { title: 'Someone else’s', owner: PEOPLE.bystander }, PEOPLE.bystander);
    const owner = await openHome(PEOPLE.owner);
    const headline = JSON.stringify(owner.view.blocks[1]);
    expect(headline).toContain('*Yours* (as requester or owner): *1* active of yours · *0* waiting for assessment or a decision');
    expect(owner.content).not.toContain('The register');
    const security = await openHome(PEOPLE.security);
    expect(JSON.stringify(security.view.blocks[1])).toContain('*The register*: *1* active · *1* waiting for assessment or a decision');
    expect(security.content).not.toContain('Yours');
  });

  it("gives each of an owner's exceptions its age, policy, risk, Renew, Close and View details", async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    await submitRequest(h, { title: 'Still waiting' });
    h.clock.now = new Date('2026-11-28T10:00:00Z');
    const home = await openHome(PEOPLE.owner);
    const item = (ref: string) => {
      const at = home.view.blocks.findIndex((b) => JSON.stringify(b).includes(`*${ref}*`) && b.type === 'section');
      return { text: JSON.stringify(home.view.blocks[at]), actions: (home.view.blocks[at + 1]!.elements ?? []).map((e) => e.action_id) };
    };
    const active = item('EXC-0001');
    expect(active.text).toContain('Active · until Fri 15 Jan 2027 (in 48 days) · MFA-01 · risk 4 (low) · requested 3 days ago');
    expect(active.actions).toEqual([ACTION_IDS.renew, ACTION_IDS.changeTerms, ACTION_IDS.close, ACTION_IDS.viewRecord]);
    const waiting = item('EXC-0002');
    expect(waiting.text).toContain('Waiting for risk assessment · MFA-01 · risk not yet assessed · requested 3 days ago');
    expect(waiting.actions).toEqual([ACTION_IDS.viewRecord]);
  });

  it('puts View details, the policy, the risk and how long it has waited on what waits for a person', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    const approver = await openHome(PEOPLE.ciso);
    const at = approver.view.blocks.findIndex((b) => b.block_id === 'home_1');
    expect(JSON.stringify(approver.view.blocks[at - 1])).toMatch(/Waiting for your decision since <!date\^\d+\^\{date_short_pretty\} \{time\}\|[^>]+> · MFA-01 · risk 4 \(low\)/);
    expect(approver.view.blocks[at]!.elements!.map((e) => e.action_id)).toEqual([ACTION_IDS.approve, ACTION_IDS.reject, ACTION_IDS.viewRecord]);
  });

  it('tells an auditor what auditors do: list, show, export and verify the trail', async () => {
    await h.close();
    h = await startHarness({ env: { AUDITOR_IDS: 'U0AUDITOR' } });
    const auditor = await openHome('U0AUDITOR');
    expect(auditor.content).toContain('*For auditors*');
    for (const command of ['`/exception list all`', '`/exception show EXC-1`', '`/exception export`', '`exceptions audit verify`']) expect(auditor.content).toContain(command);
    // What auditors do comes straight after the register's figures; nothing waits for an auditor, so that is left out.
    expect(JSON.stringify(auditor.view.blocks[1])).toContain('*The register*');
    expect(JSON.stringify(auditor.view.blocks[3])).toContain('*For auditors*');
    expect(auditor.content).not.toContain('Waiting for you');
    expect((await openHome(PEOPLE.owner)).content).not.toContain('For auditors');
  });

  it('opens the request form from its button', async () => {
    const home = await openHome(PEOPLE.requester);
    expect(home.content).toContain(ACTION_IDS.openRequest);
    await h.driver.blockAction({ userId: PEOPLE.requester, actionId: ACTION_IDS.openRequest, value: 'home', view: { id: 'VHOME', callback_id: '' } });
    await h.settle();
    expect((h.standIn.callsTo('views.open').at(-1)!.args.view as { callback_id: string }).callback_id).toBe('exception_request');
  });
});

describe('App Home, published again when the lists in it change', () => {
  /** The latest App Home the app published for `userId`, opened or not. */
  const latestHome = (userId: string) => {
    const published = h.standIn.callsTo('views.publish').filter((c) => c.args.user_id === userId);
    return published.length === 0 ? undefined : JSON.stringify((published.at(-1)!.args.view as HomeView).blocks);
  };

  it('for the requester, the owner, the security team and the deciders, without anyone opening the tab', async () => {
    await submitRequest(h);
    expect(latestHome(PEOPLE.owner)).toContain('*EXC-0001*');
    expect(latestHome(PEOPLE.security2)).toContain('home_1');
    await assess(h, 'EXC-0001', 2, 2);
    // It left the security team's list and entered the approvers'.
    expect(latestHome(PEOPLE.security2)).not.toContain('home_1');
    expect(latestHome(PEOPLE.deputy)).toContain('home_1');
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    expect(latestHome(PEOPLE.deputy)).not.toContain('home_1');
    expect(latestHome(PEOPLE.owner)).toContain('Active · until');
    expect(latestHome(PEOPLE.owner)).toContain(ACTION_IDS.renew);
    // A bystander's tab has nothing of it, so it is not published for them.
    expect(latestHome(PEOPLE.bystander)).toBeUndefined();
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('after the change is committed, through the outbox: a Slack outage delays it, a restart does not lose it', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    h.standIn.fail({ status: 503, methods: ['views.publish'] });
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    expect(latestHome(PEOPLE.owner)).not.toContain('Active · until');
    await h.restart();
    h.standIn.clearFailures();
    h.clock.advance(15 * 60_000);
    await h.settle();
    expect(latestHome(PEOPLE.owner)).toContain('Active · until');
    expect(latestHome(PEOPLE.deputy)).not.toContain('home_1');
  });
});

