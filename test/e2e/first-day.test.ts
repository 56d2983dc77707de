import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exceptions } from '../../src/db/schema';
import { ACTION_IDS, REQUEST_BLOCK_IDS } from '../../src/slack/ids';
import { runCapturing } from '../cli/run-cli';
import { validateView } from '../support/block-kit-rules';
import { submitRequest } from './flows';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';

const EXAMPLE_CATALOGUE = join(import.meta.dirname, '../../policies.example.csv');
const IMPORT_COMMAND = 'npx exceptions policies import policies.csv';

let h: Harness;
afterEach(async () => {
  await h.close();
});

interface Option {
  text: { type: string; text: string };
  description?: { type: string; text: string };
  value: string;
}

async function suggest(value: string): Promise<Option[]> {
  const response = await h.driver.blockSuggestion({ userId: PEOPLE.requester, actionId: ACTION_IDS.policyPicker, blockId: REQUEST_BLOCK_IDS.policy, value });
  expect(response.status).toBe(200);
  const { options } = response.json as { options: Option[] };
  // The Block Kit rules Slack applies to the options of a select: text and description 75 characters, value 150.
  const asSelect = { type: 'modal', title: { type: 'plain_text', text: 'Options' }, submit: { type: 'plain_text', text: 'OK' }, blocks: [{ type: 'input', label: { type: 'plain_text', text: 'Policy' }, element: { type: 'static_select', action_id: 'p', options } }] };
  expect(validateView(asSelect)).toEqual([]);
  return options;
}

/** The request modal `/exception request` opens, as Slack was asked to show it. */
async function openRequestForm() {
  const before = h.standIn.callsTo('views.open').length;
  expect((await h.driver.slashCommand({ userId: PEOPLE.requester, text: 'request' })).status).toBe(200);
  await h.standIn.waitFor(() => h.standIn.callsTo('views.open').length > before);
  const view = h.standIn.callsTo('views.open').at(-1)!.args.view as { blocks: { type: string; block_id?: string; text?: { text: string }; element?: { placeholder?: { text: string } } }[] };
  return { blocks: JSON.stringify(view.blocks), picker: view.blocks.find((b) => b.block_id === REQUEST_BLOCK_IDS.policy)!.element!.placeholder!.text };
}

const requestsInRegister = () => h.app.register.db.select().from(exceptions).all().length;

describe('the first day with an empty policy catalogue', () => {
  it('the form, its picker and its submission all say the catalogue is empty and who fills it; nothing can be requested', async () => {
    h = await startHarness({ policiesCsv: 'key,title\n' });

    const form = await openRequestForm();
    expect(form.blocks).toContain('The policy catalogue is empty');
    expect(form.blocks).toContain(IMPORT_COMMAND);
    expect(form.picker).toBe('The catalogue is empty: ask an admin to import it');

    for (const typed of ['', 'mfa']) {
      const options = await suggest(typed);
      expect(options).toHaveLength(1);
      expect(options[0]!.text.text).toBe('The policy catalogue is empty: nothing to choose yet');
      expect(options[0]!.description!.text).toBe(`An admin runs: ${IMPORT_COMMAND}`);
    }

    const [placeholder] = await suggest('');
    const refusal = `Nothing can be requested yet: the policy catalogue is empty. Ask an admin of this app to run ${IMPORT_COMMAND}, then choose a policy here.`;
    const chosen = await submitRequest(h, { policy: placeholder!.value });
    expect(chosen.response.json).toEqual({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.policy]: refusal } });
    const none = await submitRequest(h, { policy: '' });
    expect(none.response.json).toEqual({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.policy]: refusal } });
    expect(requestsInRegister()).toBe(0);
    expect(h.standIn.messages(CHANNELS.approvals)).toEqual([]);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('once an admin imports the example catalogue, the same picker offers it and a request goes through under its limits', async () => {
    h = await startHarness({ policiesCsv: 'key,title\n' });
    const [stale] = await suggest('');

    const imported = await runCapturing(['policies', 'import', EXAMPLE_CATALOGUE], { DATABASE_PATH: h.databasePath });
    expect(imported).toMatchObject({ code: 0, err: '' });

    const options = await suggest('');
    expect(options.length).toBeGreaterThanOrEqual(10);
    expect(options.map((o) => o.value)).not.toContain(stale!.value);
    expect(options.find((o) => o.value === 'IAM-02')!.text.text).toBe('IAM-02 · Privileged access (max 30 d)');
    expect((await suggest('encryption')).map((o) => o.value)).toEqual(['CRYPTO-01', 'CRYPTO-02']);

    // A list shown before the import still carries the empty catalogue's option: choosing it is refused, not taken.
    const fromStaleList = await submitRequest(h, { policy: stale!.value });
    expect(fromStaleList.response.json).toEqual({
      response_action: 'errors',
      errors: { [REQUEST_BLOCK_IDS.policy]: 'The policy catalogue has been filled since this list was shown: open the Policy list again and choose a policy from it.' },
    });
    expect(requestsInRegister()).toBe(0);

    const form = await openRequestForm();
    expect(form.blocks).not.toContain('catalogue is empty');
    expect(form.picker).toBe('Search the policy catalogue');

    const tooLong = await submitRequest(h, { policy: 'IAM-02', expiresOn: '2027-01-15' });
    expect(JSON.stringify(tooLong.response.json)).toContain('The IAM-02 policy allows exceptions of at most 30 days');
    const taken = await submitRequest(h, { policy: 'IAM-02', expiresOn: '2026-12-20' });
    expect(taken.response.text).toBe('');
    expect(requestsInRegister()).toBe(1);
    expect(h.standIn.rejected()).toEqual([]);
  });
});

describe('the first weekly report', () => {
  const posts = () => h.standIn.messages(CHANNELS.committee).filter((m) => (m.text ?? '').startsWith('Exception register, week'));
  const weeklyResult = (reports: { job: string; result?: string }[]) => reports.find((r) => r.job === 'weekly_metrics')?.result;

  it('is not posted when the app first starts on a fresh register, even on a Monday after 09:00; it comes with the next scheduled run', async () => {
    // Monday 10:00: a week whose report would otherwise be due, so the start-up catch-up run would post "0 active".
    h = await startHarness({ now: new Date('2026-11-30T10:00:00Z'), schedule: true });
    await h.settle();
    expect(posts()).toEqual([]);

    // Later that day, the catalogue imported and the first request in: still not this week's report.
    await submitRequest(h, { title: 'First gap on the first day' });
    h.clock.now = new Date('2026-11-30T16:00:00Z');
    expect(weeklyResult(await h.runJobs())).toBe("not due: the register began after this week's scheduled run; its first report comes with next week's");
    await h.restart({ schedule: true });
    await h.settle();
    expect(posts()).toEqual([]);

    h.clock.now = new Date('2026-12-07T09:00:00Z'); // the next Monday's scheduled run
    expect(weeklyResult(await h.runJobs())).toBe('2026-W50: 0 active');
    expect(posts()).toHaveLength(1);
    expect(JSON.stringify(posts()[0]!.blocks)).toContain('*Waiting for assessment or a decision*, oldest first: *1*');
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('says why in the job report when the register has nothing in it at all', async () => {
    h = await startHarness({ now: new Date('2026-11-30T10:00:00Z'), schedule: true });
    const lastResult = h.app.register.sqlite.prepare("select last_result from job_runs where job = 'weekly_metrics'").pluck().get();
    expect(lastResult).toBe('not due: the register is empty; the first report comes at the first scheduled run after it has a policy');
  });

  it('comes that same Monday when the register began before its 09:00 run', async () => {
    h = await startHarness({ now: new Date('2026-11-30T08:00:00Z') });
    h.clock.now = new Date('2026-11-30T08:59:00Z');
    expect(weeklyResult(await h.runJobs())).toBe('not due');
    h.clock.now = new Date('2026-11-30T09:00:00Z');
    expect(weeklyResult(await h.runJobs())).toBe('2026-W49: 0 active');
    expect(posts()).toHaveLength(1);
  });
});
