import { count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, decisions, exceptions } from '../../src/db/schema';
import { ACTION_IDS, REQUEST_BLOCK_IDS } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { slackTime } from '../../src/slack/views/mrkdwn';
import { assess, buttons, cardFor, clickButton, ephemeralsTo, submitRequest, VALID_FORM } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const rowCount = (table: typeof exceptions | typeof decisions | typeof auditEvents) => h.app.register.db.select({ n: count() }).from(table).get()!.n;

describe('from /exception request to a fast-path approval', () => {
  it('opens the request modal from the slash command with a policy picker, owner, expiry and structural fields', async () => {
    const response = await h.driver.slashCommand({ userId: PEOPLE.requester, text: 'request' });
    expect(response.status).toBe(200);
    await h.settle();
    const [open] = h.standIn.callsTo('views.open');
    const view = open!.args.view as { callback_id: string; blocks: { block_id?: string; element?: { type: string; initial_user?: string; initial_date?: string } }[] };
    const element = (blockId: string) => view.blocks.find((b) => b.block_id === blockId)?.element;
    expect(view.callback_id).toBe('exception_request');
    expect(element(REQUEST_BLOCK_IDS.policy)?.type).toBe('external_select');
    expect(element(REQUEST_BLOCK_IDS.owner)).toMatchObject({ type: 'users_select', initial_user: PEOPLE.requester });
    // Default expiry: today + MAX_EXCEPTION_DAYS (90).
    expect(element(REQUEST_BLOCK_IDS.expiresOn)).toMatchObject({ type: 'datepicker', initial_date: '2027-02-23' });
    expect(element(REQUEST_BLOCK_IDS.structural)?.type).toBe('checkboxes');
    expect(h.standIn.rejected()).toEqual([]);
  });

  it.each(['help', '', 'frobnicate now'])('answers "/exception %s" with the help text', async (text) => {
    const response = await h.driver.slashCommand({ userId: PEOPLE.requester, text });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ response_type: 'ephemeral' });
    expect(response.json.text).toContain('/exception request');
    expect(h.standIn.callsTo('views.open')).toHaveLength(0);
  });

  it('keeps the modal open with errors next to the fields and stores nothing', async () => {
    const { response } = await submitRequest(h, { compensatingControls: '', justification: "because it's urgent", expiresOn: '2026-11-20' });
    expect(response.json).toMatchObject({ response_action: 'errors' });
    expect(Object.keys(response.json.errors).sort()).toEqual([REQUEST_BLOCK_IDS.compensatingControls, REQUEST_BLOCK_IDS.expiresOn, REQUEST_BLOCK_IDS.justification].sort());
    expect(response.json.errors[REQUEST_BLOCK_IDS.compensatingControls]).toMatch(/compensating control/i);
    expect(rowCount(exceptions)).toBe(0);
    expect(rowCount(auditEvents)).toBe(1); // the policy import only
    expect(h.standIn.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('stores a valid request, sends the requester a receipt and posts a triage card with Assess risk', async () => {
    const { response } = await submitRequest(h);
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
    const stored = h.app.register.db.select().from(exceptions).all();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ id: 1, status: 'requested', requesterId: PEOPLE.requester, ownerId: PEOPLE.owner, requestedExpiresOn: '2027-01-15' });
    const receipt = h.standIn.dmsTo(PEOPLE.requester);
    expect(receipt).toHaveLength(1);
    expect(receipt[0]!.text).toContain('EXC-0001');
    const triage = cardFor(h, 'EXC-0001');
    expect(buttons(triage)).toEqual([ACTION_IDS.assessRisk, ACTION_IDS.askForChanges, ACTION_IDS.viewRecord]);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('leads the triage card with where it stands, whom it waits on since when, and the buttons; the long text follows, shortened', async () => {
    const long = (text: string) => `${text} `.repeat(6).trim();
    await submitRequest(h, { scope: long(VALID_FORM.scope), justification: long(VALID_FORM.justification), compensatingControls: long(VALID_FORM.compensatingControls) });
    const blocks = cardFor(h, 'EXC-0001').blocks as { type: string; text?: { text: string }; elements?: { action_id: string; value: string }[]; fields?: { text: string }[] }[];
    expect(blocks.map((b) => b.type).slice(0, 3)).toEqual(['header', 'section', 'actions']);
    expect(blocks[1]!.text!.text).toBe(`:hourglass_flowing_sand: *Waiting for risk assessment* by the security team since ${slackTime('2026-11-25T10:00:00.000Z')}`);
    expect(blocks[2]!.elements!.map((e) => e.action_id)).toEqual([ACTION_IDS.assessRisk, ACTION_IDS.askForChanges, ACTION_IDS.viewRecord]);
    // Ask for changes is bound, like Assess risk, to the round and stage it was shown for.
    expect(JSON.parse(blocks[2]!.elements![1]!.value)).toEqual({ exception: 1, round: 0, stage: 'assessment' });
    expect(blocks[2]!.elements![2]!.value).toBe('1');
    const said = JSON.stringify(blocks);
    // Nothing claims a decision route before the risk is assessed.
    expect(said).not.toMatch(/Decided by|Decision by|Fast path/);
    const scope = blocks.find((b) => b.text?.text.startsWith('*Scope*'))!.text!.text;
    expect(scope.length).toBeLessThan(320);
    expect(scope.endsWith('…')).toBe(true);
    expect(said).toContain('*View details* shows the whole request');
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('says "Decision by: one approver" while it waits, names the approver once decided, and leads with the risk and the approvers', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 3);
    const approval = cardFor(h, 'EXC-0001', CHANNELS.approvals, 'approval');
    const lead = (approval.blocks as { text?: { text: string } }[])[1]!.text!.text;
    expect(lead).toContain(`*Waiting for a decision* by one approver since ${slackTime('2026-11-25T10:00:00.000Z')} · Risk *6* (medium)`);
    expect(lead).toContain(`Approvers: <@${PEOPLE.ciso}> <@${PEOPLE.deputy}>`);
    const triageLead = (cardFor(h, 'EXC-0001').blocks as { text?: { text: string } }[])[1]!.text!.text;
    expect(triageLead).toContain(`*Waiting for a decision* by <@${PEOPLE.ciso}> or <@${PEOPLE.deputy}>`);
    expect(triageLead).toContain('in the thread below');
    const before = JSON.stringify(cardFor(h, 'EXC-0001').blocks);
    expect(before).toContain('*Decision by*\\nOne approver (the CISO or a delegate)');
    expect(before).not.toContain('Decided by');

    await clickButton(h, approval, ACTION_IDS.approve, PEOPLE.deputy);
    const after = JSON.stringify(cardFor(h, 'EXC-0001').blocks);
    expect(after).toContain(`*Decided by*\\n<@${PEOPLE.deputy}>`);
    expect(after).not.toContain('Decision by');
    expect((cardFor(h, 'EXC-0001').blocks as { text?: { text: string } }[])[1]!.text!.text).toContain(':white_check_mark: *Active* until the end of Fri 15 Jan 2027 · Risk *6* (medium)');
  });

  it('routes a low score to the fast path, activates on one approval and tells requester and owner', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 3);
    expect(h.app.register.db.select().from(exceptions).get()).toMatchObject({ status: 'pending_approval', route: 'fast_path', riskScore: 6 });

    const triage = cardFor(h, 'EXC-0001');
    expect(buttons(triage)).toEqual([]);
    expect(JSON.stringify(triage.blocks)).toContain('= *6* (medium)');
    const approval = cardFor(h, 'EXC-0001', CHANNELS.approvals, 'approval');
    expect(buttons(approval)).toEqual([ACTION_IDS.approve, ACTION_IDS.reject, ACTION_IDS.askForChanges, ACTION_IDS.viewRecord]);
    expect(JSON.stringify(approval.blocks)).toContain(`<@${PEOPLE.ciso}>`);
    // One top-level message per exception per channel: the fast-path decision is asked in the triage thread.
    expect(approval.threadTs).toBe(triage.ts);
    expect(h.standIn.messages(CHANNELS.approvals).filter((m) => !m.threadTs)).toHaveLength(1);

    await clickButton(h, approval, ACTION_IDS.approve, PEOPLE.ciso);
    const active = h.app.register.db.select().from(exceptions).get()!;
    expect(active).toMatchObject({ status: 'active', expiresOn: '2027-01-15', originalExpiresOn: '2027-01-15' });
    expect(rowCount(decisions)).toBe(1);
    const updated = cardFor(h, 'EXC-0001', CHANNELS.approvals, 'approval');
    expect(buttons(updated)).toEqual([]);
    expect(JSON.stringify(updated.blocks)).toContain(`*Approved* by <@${PEOPLE.ciso}>`);
    expect(h.standIn.dmsTo(PEOPLE.owner).map((m) => m.text)).toEqual(['You were named owner of EXC-0001.', expect.stringContaining('approved')]);
    expect(h.standIn.dmsTo(PEOPLE.requester).map((m) => m.text)).toEqual([expect.stringContaining('received'), expect.stringContaining('was assessed'), expect.stringContaining('approved')]);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('refuses an approval from someone without authority and from the owner, changing nothing', async () => {
    await submitRequest(h, { owner: PEOPLE.deputy });
    await assess(h, 'EXC-0001', 1, 2);
    const approval = cardFor(h, 'EXC-0001', CHANNELS.approvals, 'approval');
    await clickButton(h, approval, ACTION_IDS.approve, PEOPLE.bystander);
    await clickButton(h, approval, ACTION_IDS.approve, PEOPLE.deputy);
    expect(ephemeralsTo(h, PEOPLE.bystander)).toEqual([expect.stringMatching(/^There is no exception EXC-0001 that you can see/)]);
    expect(ephemeralsTo(h, PEOPLE.deputy)).toEqual([expect.stringMatching(/separation of duties/)]);
    expect(h.app.register.db.select().from(exceptions).get()!.status).toBe('pending_approval');
    expect(rowCount(decisions)).toBe(0);
  });
});
