import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exceptions, renewals } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS, INPUT_ACTION_ID, RENEWAL_BLOCK_IDS as R } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, cardFor, clickButton, decisionCard, renewalDecisionCard, submitRequest } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

interface RenewalForm {
  progress?: string;
  percentComplete?: string;
  evidenceUrl?: string;
  controlTestedOn?: string;
  expiresOn?: string;
}

const GOOD: Required<RenewalForm> = {
  progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.',
  percentComplete: '60',
  evidenceUrl: 'https://tickets.example.com/CHG-4711',
  controlTestedOn: '2026-12-20',
  expiresOn: '2027-03-01',
};

async function renew(userId: string, form: RenewalForm = {}) {
  const opened = h.standIn.callsTo('views.open').length;
  const command = await h.driver.slashCommand({ userId, text: 'renew EXC-0001' });
  await h.settle();
  if (h.standIn.callsTo('views.open').length === opened) return { command, response: undefined };
  const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  const values = { ...GOOD, ...form };
  const text = (value: string) => ({ type: 'plain_text_input', value });
  const response = await h.driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.renewal,
    viewId: view.id,
    privateMetadata: view.private_metadata,
    values: {
      [R.progress]: { [INPUT_ACTION_ID]: text(values.progress) },
      [R.percentComplete]: { [INPUT_ACTION_ID]: { type: 'number_input', value: values.percentComplete } },
      [R.evidenceUrl]: { [INPUT_ACTION_ID]: text(values.evidenceUrl) },
      [R.controlTestedOn]: { [INPUT_ACTION_ID]: { type: 'datepicker', selected_date: values.controlTestedOn } },
      [R.expiresOn]: { [INPUT_ACTION_ID]: { type: 'datepicker', selected_date: values.expiresOn } },
    },
  });
  await h.settle();
  return { command, response };
}

describe('renewal', () => {
  it('goes through assessment and approval again, moves the expiry and keeps the original', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    h.clock.now = new Date('2027-01-05T09:00:00Z');

    const { response } = await renew(PEOPLE.owner);
    expect(response?.status).toBe(200);
    // The modal becomes a confirmation saying what happens next and until when the exception still runs.
    const confirmation = response?.json as { response_action: string; view: { title: { text: string }; blocks: unknown[] } };
    expect(confirmation).toMatchObject({ response_action: 'update', view: { title: { text: 'Renewal requested' } } });
    expect(JSON.stringify(confirmation.view.blocks)).toContain('the security team assesses its risk afresh');
    expect(JSON.stringify(confirmation.view.blocks)).toContain('still expires Fri 15 Jan (in 10 days), ending at midnight');
    expect(h.app.register.db.select().from(renewals).get()).toMatchObject({ round: 1, status: 'requested', percentComplete: 60 });
    expect(buttons(cardFor(h, 'EXC-0001'))[0]).toBe(ACTION_IDS.assessRisk);

    await assess(h, 'EXC-0001', 2, 2);
    const decision = renewalDecisionCard(h, 'EXC-0001', 1);
    await clickButton(h, decision, ACTION_IDS.approve, PEOPLE.deputy);
    expect(h.app.register.db.select().from(exceptions).get()).toMatchObject({ status: 'active', expiresOn: '2027-03-01', originalExpiresOn: '2027-01-15', renewalCount: 1 });
    expect(h.standIn.dmsTo(PEOPLE.owner).at(-1)!.text).toContain('renewal of EXC-0001 was approved');
    expect(h.standIn.messages(CHANNELS.approvals).filter((m) => !m.threadTs)).toHaveLength(1);
    expect(h.standIn.rejected()).toEqual([]);
  });
});
