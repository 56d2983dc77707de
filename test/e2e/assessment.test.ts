import { count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assessments, exceptions, renewals } from '../../src/db/schema';
import { ACTION_IDS, ASSESSMENT_BLOCK_IDS, CALLBACK_IDS, INPUT_ACTION_ID } from '../../src/slack/ids';
import { PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, cardFor, clickButton, decisionCard, ephemeralsTo, submitRenewal, submitRequest } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const assessmentCount = () => h.app.register.db.select({ n: count() }).from(assessments).get()!.n;
const status = () => h.app.register.db.select().from(exceptions).get()!.status;

describe('Assess risk', () => {
  it.each([
    ['someone outside the security team', PEOPLE.requester, PEOPLE.ciso, /Only the security team can assess risk/],
    ['a bystander, without saying anything about the exception', PEOPLE.requester, PEOPLE.bystander, /^There is no exception EXC-0001 that you can see/],
    ['a security team member who requested it', PEOPLE.security2, PEOPLE.security2, /cannot assess an exception you requested: separation of duties/],
  ])('refuses %s privately, opens no modal and changes nothing', async (_label, requester, clicker, message) => {
    await submitRequest(h, {}, requester);
    const opened = h.standIn.callsTo('views.open').length;
    await clickButton(h, cardFor(h, 'EXC-0001'), ACTION_IDS.assessRisk, clicker);
    expect(ephemeralsTo(h, clicker)).toEqual([expect.stringMatching(message)]);
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened);
    expect(assessmentCount()).toBe(0);
    expect(status()).toBe('requested');
  });

  it('refuses the owner who is on the security team (separation of duties)', async () => {
    await submitRequest(h, { owner: PEOPLE.security });
    await clickButton(h, cardFor(h, 'EXC-0001'), ACTION_IDS.assessRisk, PEOPLE.security);
    expect(ephemeralsTo(h, PEOPLE.security)).toEqual([expect.stringMatching(/cannot assess an exception you own/)]);
    expect(assessmentCount()).toBe(0);
  });

  it('keeps the assessment modal open with errors next to the fields, and records nothing', async () => {
    await submitRequest(h);
    await clickButton(h, cardFor(h, 'EXC-0001'), ACTION_IDS.assessRisk, PEOPLE.security);
    const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
    const response = await h.driver.viewSubmission({
      userId: PEOPLE.security,
      callbackId: CALLBACK_IDS.assessment,
      viewId: view.id,
      privateMetadata: view.private_metadata,
      values: {
        [ASSESSMENT_BLOCK_IDS.likelihood]: { [INPUT_ACTION_ID]: { type: 'static_select', selected_option: null } },
        [ASSESSMENT_BLOCK_IDS.impact]: { [INPUT_ACTION_ID]: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: '3' }, value: '3' } } },
        [ASSESSMENT_BLOCK_IDS.rationale]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'looks ok' } },
      },
    });
    await h.settle();
    expect(response.json).toMatchObject({ response_action: 'errors' });
    expect(Object.keys(response.json.errors).sort()).toEqual([ASSESSMENT_BLOCK_IDS.likelihood, ASSESSMENT_BLOCK_IDS.rationale].sort());
    expect(response.json.errors[ASSESSMENT_BLOCK_IDS.rationale]).toMatch(/at least 20 characters/);
    expect(assessmentCount()).toBe(0);
    expect(status()).toBe('requested');
  });

  it('answers a second assessment on a stale card privately: it is already waiting for a decision', async () => {
    await submitRequest(h);
    const staleCard = cardFor(h, 'EXC-0001');
    await assess(h, 'EXC-0001', 2, 2);
    expect(buttons(cardFor(h, 'EXC-0001'))).toEqual([]);
    await clickButton(h, staleCard, ACTION_IDS.assessRisk, PEOPLE.security2);
    expect(ephemeralsTo(h, PEOPLE.security2)).toEqual([expect.stringMatching(/waiting for approval, so it cannot be assessed/)]);
    expect(assessmentCount()).toBe(1);
  });
});

describe('Assess risk on a renewal', () => {
  it('shows what the renewal stands on: progress, percent complete, evidence, control-test date, new expiry and the original scope', async () => {
    await submitRequest(h, { scope: 'The HR payroll application hr-app-01 and its 40 users & <admins>' });
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    h.clock.now = new Date('2027-01-05T09:00:00Z');
    await submitRenewal(h, PEOPLE.owner, {
      progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.',
      percentComplete: '60',
      evidenceUrl: 'https://tickets.example.com/CHG-4711',
      controlTestedOn: '2026-12-20',
      expiresOn: '2027-03-01',
    });
    expect(h.app.register.db.select().from(renewals).get()).toMatchObject({ round: 1, status: 'requested' });

    const opened = h.standIn.callsTo('views.open').length;
    await clickButton(h, cardFor(h, 'EXC-0001'), ACTION_IDS.assessRisk, PEOPLE.security);
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened + 1);
    const view = h.standIn.callsTo('views.open').at(-1)!.args.view as { callback_id: string; blocks: unknown[] };
    expect(view.callback_id).toBe(CALLBACK_IDS.assessment);
    const shown = JSON.stringify(view.blocks);
    expect(shown).toContain(`*Renewal 1*, asked by <@${PEOPLE.owner}>`);
    expect(shown).toContain('*Remediation*\\n60% complete');
    expect(shown).toContain('*Control last tested*\\nSun 20 Dec 2026');
    expect(shown).toContain('*New expiry asked*\\nMon 1 Mar 2027');
    expect(shown).toContain('*Expires now*\\nFri 15 Jan 2027');
    expect(shown).toContain('*Remediation progress*\\nSSO connector deployed to staging; 30 of 40 users migrated');
    expect(shown).toContain('*Evidence*\\nhttps://tickets.example.com/CHG-4711');
    // The scope a renewal keeps, escaped like every user text.
    expect(shown).toContain('*Original scope*\\nThe HR payroll application hr-app-01 and its 40 users &amp; &lt;admins&gt;');
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('shows no renewal section when assessing a first request', async () => {
    await submitRequest(h);
    await clickButton(h, cardFor(h, 'EXC-0001'), ACTION_IDS.assessRisk, PEOPLE.security);
    const shown = JSON.stringify((h.standIn.callsTo('views.open').at(-1)!.args.view as { blocks: unknown[] }).blocks);
    expect(shown).not.toMatch(/Renewal|Original scope|Remediation/);
    expect(shown).toContain('*Compensating control*');
  });
});
