import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { amendments, decisions, exceptions } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS, INPUT_ACTION_ID, TERM_CHANGE_BLOCK_IDS as T } from '../../src/slack/ids';
import type { StoredMessage } from '../support/slack-stand-in';
import { validateBlocks, validateView } from '../support/block-kit-rules';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { approvalCardsIn, assess, buttons, cardFor, clickButton, commandModal, decisionCard, ephemeralsTo, reject, submitRequest, VALID_FORM, type OpenedModal } from './flows';

let h: Harness;
/** The first decision message as it was when it still had its buttons: an old copy someone could still click. */
let originalDecision: StoredMessage;

beforeEach(async () => {
  h = await startHarness();
  await submitRequest(h);
  await assess(h, 'EXC-0001', 2, 2);
  originalDecision = structuredClone(decisionCard(h, 'EXC-0001'));
  await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
  h.clock.now = new Date('2026-12-01T09:00:00Z');
});
afterEach(async () => {
  await h.close();
});

const NEW_SCOPE = 'The HR payroll application hr-app-01 and its 12 payroll users only';
const NEW_CONTROL = 'Access only from the corporate VPN with device certificates; every login reviewed daily by the SOC.';
const REASON = 'The other 28 users moved to the new SSO-enabled portal last week, so the exception can shrink.';

interface TermsForm {
  scope?: string;
  affectedSystems?: string;
  compensatingControls?: string;
  reason?: string;
}

type ViewBlock = { type: string; block_id?: string; element?: { initial_value?: string } };

function termValues(form: TermsForm): Record<string, Record<string, unknown>> {
  const text = (value: string | undefined) => ({ type: 'plain_text_input', value: value ?? null });
  return {
    [T.scope]: { [INPUT_ACTION_ID]: text(form.scope) },
    [T.affectedSystems]: { [INPUT_ACTION_ID]: text(form.affectedSystems) },
    [T.compensatingControls]: { [INPUT_ACTION_ID]: text(form.compensatingControls) },
    [T.reason]: { [INPUT_ACTION_ID]: text(form.reason) },
  };
}

async function submitTerms(modal: OpenedModal, form: TermsForm, userId: string = PEOPLE.owner) {
  const response = await h.driver.viewSubmission({ userId, callbackId: CALLBACK_IDS.changeTerms, viewId: modal.id, privateMetadata: modal.privateMetadata, values: termValues(form) });
  await h.settle();
  return response;
}

const UNCHANGED: TermsForm = { scope: VALID_FORM.scope, compensatingControls: VALID_FORM.compensatingControls, reason: REASON };

/** `/exception amend EXC-0001` as the owner, submitted with a narrower scope and a stronger control. */
async function askForChange() {
  const modal = (await commandModal(h, PEOPLE.owner, 'amend EXC-0001'))!;
  const response = await submitTerms(modal, { scope: NEW_SCOPE, compensatingControls: NEW_CONTROL, reason: REASON });
  expect(response.json).toMatchObject({ response_action: 'update' });
  return response;
}

const headerOf = (m: StoredMessage) => ((m.blocks ?? [])[0] as { text?: { text?: string } } | undefined)?.text?.text ?? '';

/** The change's own decision message: the first request's stays as it was decided. */
function changeDecision(): StoredMessage {
  const found = approvalCardsIn(h, CHANNELS.approvals).filter((m) => headerOf(m).includes('change of terms of EXC-0001'));
  expect(found, 'decision message for the change of terms').toHaveLength(1);
  return found[0]!;
}

const contentOf = (m: StoredMessage) => JSON.stringify(m.blocks);
const firstLine = (m: StoredMessage) => JSON.stringify((m.blocks ?? [])[1]);
const row = () => h.app.register.db.select().from(exceptions).get()!;

/** Every message the app posted or updated, and every view it opened, passes Slack's Block Kit rules. */
function expectAllValid() {
  expect(h.standIn.rejected()).toEqual([]);
  for (const message of h.standIn.messages()) if (message.blocks) expect(validateBlocks(message.blocks, 'message'), `${message.channel} ${message.text}`).toEqual([]);
  for (const call of [...h.standIn.callsTo('views.open'), ...h.standIn.callsTo('views.push'), ...h.standIn.callsTo('views.publish')]) expect(validateView(call.args.view)).toEqual([]);
}

describe('changing the terms of an active exception', () => {
  it('opens prefilled, refuses an unchanged form, and goes through assessment and approval to the new terms', async () => {
    const modal = (await commandModal(h, PEOPLE.owner, 'amend EXC-0001'))!;
    expect(modal.view).toMatchObject({ callback_id: CALLBACK_IDS.changeTerms, title: { text: 'Change terms' } });
    const blocks = modal.view.blocks as ViewBlock[];
    expect(blocks.find((b) => b.block_id === T.scope)?.element?.initial_value).toBe(VALID_FORM.scope);
    expect(blocks.find((b) => b.block_id === T.compensatingControls)?.element?.initial_value).toBe(VALID_FORM.compensatingControls);
    expect(blocks.find((b) => b.block_id === T.reason)?.element?.initial_value).toBeUndefined();
    expect(JSON.stringify(blocks)).toContain('stays active on its current terms');
    expect(JSON.stringify(blocks)).toContain('The expiry does not move');

    // Nothing changed: the error sits on the scope, and nothing is recorded.
    const unchanged = await submitTerms(modal, UNCHANGED);
    expect(unchanged.json).toMatchObject({ response_action: 'errors', errors: { [T.scope]: expect.stringContaining('Nothing is changed yet') } });
    const noReason = await submitTerms(modal, { ...UNCHANGED, scope: NEW_SCOPE, reason: '' });
    expect(noReason.json).toMatchObject({ response_action: 'errors', errors: { [T.reason]: expect.stringContaining('Say why the terms change') } });
    expect(h.app.register.db.select().from(amendments).all()).toEqual([]);

    const submitted = await submitTerms(modal, { scope: NEW_SCOPE, compensatingControls: NEW_CONTROL, reason: REASON });
    expect(submitted.json).toMatchObject({ response_action: 'update', view: { title: { text: 'Change requested' } } });
    expect(JSON.stringify(submitted.json.view.blocks)).toContain('stays active on its current terms; its expiry does not move');
    expect(h.app.register.db.select().from(amendments).get()).toMatchObject({ round: 1, status: 'requested', scope: NEW_SCOPE, previousScope: VALID_FORM.scope });
    expect(row()).toMatchObject({ status: 'active', scope: VALID_FORM.scope });

    // The triage card asks for the assessment of the change, with both versions.
    const triage = cardFor(h, 'EXC-0001');
    expect(firstLine(triage)).toContain('Change of terms waiting for risk assessment');
    expect(buttons(triage)[0]).toBe(ACTION_IDS.assessRisk);
    expect(contentOf(triage)).toContain(`_Now:_ ${VALID_FORM.scope}`);
    expect(contentOf(triage)).toContain(`_Proposed:_ ${NEW_SCOPE}`);
    expect(contentOf(triage)).not.toMatch(/renewal/i);
    expect(h.standIn.messages(CHANNELS.approvals).some((m) => m.threadTs === triage.ts && (m.text ?? '').includes('a change of its terms was requested'))).toBe(true);

    // The assessor sees the change in the modal before scoring it.
    await clickButton(h, cardFor(h, 'EXC-0001'), ACTION_IDS.assessRisk, PEOPLE.security);
    const assessment = h.standIn.callsTo('views.open').at(-1)!.response.view as { blocks: unknown[] };
    expect(JSON.stringify(assessment.blocks)).toContain(`_Proposed:_ ${NEW_CONTROL}`);
    expect(JSON.stringify(assessment.blocks)).toContain(REASON);
    await assess(h, 'EXC-0001', 2, 2);

    const decision = changeDecision();
    expect(headerOf(decision)).toBe('Decision needed: change of terms of EXC-0001 · Legacy HR system without MFA');
    expect(contentOf(decision)).toContain(REASON);
    expect(contentOf(decision)).toContain(`_Now:_ ${VALID_FORM.compensatingControls}`);
    expect(contentOf(decision)).toContain(`_Proposed:_ ${NEW_CONTROL}`);
    expect(contentOf(decision)).not.toMatch(/renewal/i);
    expect(h.standIn.dmsTo(PEOPLE.owner).some((m) => contentOf(m).includes('assessed your change of terms of'))).toBe(true);

    // The first request's decision message, in an old copy still showing Approve, cannot decide the change.
    await clickButton(h, originalDecision, ACTION_IDS.approve, PEOPLE.deputy);
    expect(ephemeralsTo(h, PEOPLE.deputy).at(-1)).toMatch(/^This was for the original request; .* is decided here: https:\/\/.*\nNothing was changed\.$/);
    expect(h.app.register.db.select().from(amendments).get()).toMatchObject({ status: 'pending_approval' });
    expect(h.app.register.db.select().from(decisions).all().filter((d) => d.round === 1)).toEqual([]);

    await clickButton(h, changeDecision(), ACTION_IDS.approve, PEOPLE.deputy);
    expect(row()).toMatchObject({ status: 'active', scope: NEW_SCOPE, compensatingControls: NEW_CONTROL, expiresOn: '2027-01-15' });
    expect(h.app.register.db.select().from(amendments).get()).toMatchObject({ status: 'approved' });

    const decided = changeDecision();
    expect(headerOf(decided)).toBe('Decision: change of terms of EXC-0001 · Legacy HR system without MFA · approved');
    expect(firstLine(decided)).toContain(':white_check_mark: *Change of terms approved* by <@U0DEPUTY>');
    expect(buttons(decided)).toEqual([]);
    expect(contentOf(decided)).toContain(`_Before:_ ${VALID_FORM.scope}`);
    expect(firstLine(cardFor(h, 'EXC-0001'))).toContain('change of terms approved by <@U0DEPUTY>');
    expect(h.standIn.dmsTo(PEOPLE.owner).at(-1)!.text).toContain('The change of terms of EXC-0001 was approved');

    // The history tells the change in plain words.
    const show = await h.driver.slashCommand({ userId: PEOPLE.owner, text: 'show EXC-0001' });
    const shown = JSON.stringify(show.json.blocks);
    expect(shown).toContain('<@U0OWNER> asked to change the scope and compensating control');
    expect(shown).toContain('assessed the risk of the change of terms');
    expect(shown).toContain('<@U0DEPUTY> approved the change of terms');
    expect(shown).toContain(ACTION_IDS.changeTerms);
    expect(shown).not.toMatch(/renewal/i);
    expectAllValid();
  });

  it('rejected, it keeps the old terms and tells the owner why', async () => {
    await askForChange();
    await assess(h, 'EXC-0001', 2, 2);
    await reject(h, changeDecision(), PEOPLE.ciso, 'Daily review is not staffed yet; keep weekly review until the SOC hires.');
    expect(row()).toMatchObject({ status: 'active', scope: VALID_FORM.scope, compensatingControls: VALID_FORM.compensatingControls });
    expect(h.app.register.db.select().from(amendments).get()).toMatchObject({ status: 'rejected' });

    const decided = changeDecision();
    expect(firstLine(decided)).toContain(':x: *Change of terms rejected* by <@U0CISO>');
    expect(contentOf(decided)).toContain('Daily review is not staffed yet');
    expect(contentOf(decided)).toContain(`_Proposed, rejected:_ ${NEW_SCOPE}`);
    expect(firstLine(cardFor(h, 'EXC-0001'))).toContain('change of terms rejected by <@U0CISO>');
    const dm = h.standIn.dmsTo(PEOPLE.owner).at(-1)!;
    expect(dm.text).toContain('The change of terms of EXC-0001 was rejected');
    expect(contentOf(dm)).toContain('Daily review is not staffed yet');
    expectAllValid();
  });

  it('refuses someone who is neither its owner nor its requester, saying why', async () => {
    expect(await commandModal(h, PEOPLE.security, 'amend EXC-0001')).toBeUndefined();
    expect(ephemeralsTo(h, PEOPLE.security).at(-1)).toContain('Only the owner or the requester can change the terms of this exception');
    expect(await commandModal(h, PEOPLE.owner, 'amend')).toBeUndefined();
    expect(h.app.register.db.select().from(amendments).all()).toEqual([]);
  });

  it('is offered on App Home and in the record, and not while a change is open', async () => {
    await h.driver.event({ type: 'app_home_opened', user: PEOPLE.owner, channel: 'D0HOME', tab: 'home' });
    await h.settle();
    const home = h.standIn.callsTo('views.publish').at(-1)!.args.view as { blocks: unknown[] };
    expect(JSON.stringify(home.blocks)).toContain(ACTION_IDS.changeTerms);

    const opened = h.standIn.callsTo('views.open').length;
    await h.driver.blockAction({
      userId: PEOPLE.requester,
      actionId: ACTION_IDS.changeTerms,
      value: '1',
      message: { channel: 'C0DM', ts: '1.0', blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: ACTION_IDS.changeTerms, text: { type: 'plain_text', text: 'Change terms' }, value: '1' }] }], ephemeral: true },
    });
    await h.settle();
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened + 1);
    expect(h.standIn.callsTo('views.open').at(-1)!.response.view).toMatchObject({ callback_id: CALLBACK_IDS.changeTerms });

    await askForChange();
    // While the change waits, neither another change nor a renewal is offered, and the form says why.
    const show = await h.driver.slashCommand({ userId: PEOPLE.owner, text: 'show EXC-0001' });
    expect(JSON.stringify(show.json.blocks)).not.toContain(ACTION_IDS.changeTerms);
    expect(JSON.stringify(show.json.blocks)).toContain('change of terms waiting for a risk assessment');
    expect(await commandModal(h, PEOPLE.owner, 'amend EXC-0001')).toBeUndefined();
    expect(ephemeralsTo(h, PEOPLE.owner).at(-1)).toContain('change of its terms waiting');
    expectAllValid();
  });
});
