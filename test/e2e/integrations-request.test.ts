import { describe, expect, it } from 'vitest';
import { auditEvents } from '../../src/db/schema';
import { bindingOf } from '../../src/db/integrations';
import { ACTION_IDS, CALLBACK_IDS, CHANGES_BLOCK_ID, INPUT_ACTION_ID, REQUEST_BLOCK_IDS as B } from '../../src/slack/ids';
import { BYPASS_BLOCK_IDS, BYPASS_GROUP_PICKER } from '../../src/slack/views/request-modal';
import { VENDOR_ANSWER_BUDGET_MS } from '../../src/slack/listeners/views/bypass-choice';
import { validateView } from '../support/block-kit-rules';
import { PEOPLE, startHarness, type Harness } from './harness';
import { buttons, cardFor, clickButton, openRequestModal, requestValues, VALID_FORM, type RequestForm } from './flows';
import { addEmailedPeople, bypassValues, vendorStage } from './vendors';

/**
 * Issue 12, the request side: a person picks the bypass group from Okta's (or Entra ID's) groups and the people it
 * covers; at submission each person is found in the vendor by their Slack email, the group is checked, and a Jira
 * key is checked to exist. What the vendors do not know is a field error; nothing of it appears when none is configured.
 */

let h: Harness | undefined;
const { okta, entra, jira, start: startVendors } = vendorStage(() => h);

type Block = { type: string; block_id?: string; label?: { text: string }; hint?: { text: string }; element?: Record<string, unknown> };
const viewOf = (id: string) => h!.standIn.views.find((v) => v.id === id)!.view as { blocks: Block[] };
const inputIds = (id: string) => viewOf(id).blocks.filter((b) => b.type === 'input').map((b) => b.block_id);

async function withOkta(options: { jira?: boolean; entra?: boolean } = {}) {
  const vendors = await startVendors({ okta: true, ...options });
  h = await startHarness({ env: vendors.env });
  // The owner has no email on their Slack profile.
  addEmailedPeople(h, [PEOPLE.requester, PEOPLE.security, PEOPLE.committee1]);
  return h;
}

function values(form: RequestForm, bypass: { group?: string; people?: string[] } = {}) {
  return { ...requestValues({ ...VALID_FORM, ...form }), ...bypassValues(bypass) };
}

async function submit(viewId: string, form: RequestForm, bypass?: { group?: string; people?: string[] }) {
  const response = await h!.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values: values(form, bypass) });
  expect(response.status).toBe(200);
  await h!.settle();
  return response.json as { response_action?: string; errors?: Record<string, string>; view?: { blocks: unknown[] } } | undefined;
}

const requestedEvents = () =>
  h!.app.register.db
    .select()
    .from(auditEvents)
    .all()
    .filter((e) => e.kind === 'exception.requested');

describe('the bypass group and its people in the request form', () => {
  it('offers a bypass group from Okta, searched as the person types, and the people it covers, within Block Kit limits', async () => {
    await withOkta();
    okta().addGroup({ name: 'MFA-exempt', description: 'Not asked for MFA' });
    okta().addGroup({ name: 'MFA-legacy-hr' });
    okta().addGroup({ name: 'VPN-split-tunnel' });
    const viewId = await openRequestModal(h!);
    expect(inputIds(viewId).slice(-2)).toEqual([BYPASS_BLOCK_IDS.group, BYPASS_BLOCK_IDS.people]);
    const group = viewOf(viewId).blocks.find((b) => b.block_id === BYPASS_BLOCK_IDS.group)!;
    expect(group.label!.text).toBe('Bypass group');
    expect(group.element).toMatchObject({ type: 'external_select', action_id: BYPASS_GROUP_PICKER });
    expect(viewOf(viewId).blocks.find((b) => b.block_id === BYPASS_BLOCK_IDS.people)!.element).toMatchObject({ type: 'multi_users_select', max_selected_items: 100 });
    expect(validateView(viewOf(viewId) as never)).toEqual([]);

    const options = await h!.driver.blockSuggestion({ userId: PEOPLE.requester, actionId: BYPASS_GROUP_PICKER, blockId: BYPASS_BLOCK_IDS.group, value: 'MFA', viewCallbackId: CALLBACK_IDS.request });
    const listed = (options.json as { options: { text: { text: string }; value: string }[] }).options;
    // Only Okta is configured, so its name is not repeated on every option.
    expect(listed.map((o) => o.text.text).sort()).toEqual(['MFA-exempt', 'MFA-legacy-hr']);
    expect(listed.every((o) => /^okta:00g/.test(o.value) && o.value.length <= 150)).toBe(true);
  });

  it('names the vendor on each option when Okta and Entra ID are both configured', async () => {
    await withOkta({ entra: true });
    okta().addGroup({ name: 'MFA-exempt' });
    entra().addGroup({ displayName: 'MFA-exempt-contractors' });
    await openRequestModal(h!);
    const options = await h!.driver.blockSuggestion({ userId: PEOPLE.requester, actionId: BYPASS_GROUP_PICKER, blockId: BYPASS_BLOCK_IDS.group, value: 'MFA', viewCallbackId: CALLBACK_IDS.request });
    const texts = (options.json as { options: { text: { text: string } }[] }).options.map((o) => o.text.text).sort();
    expect(texts).toEqual(['MFA-exempt · Okta', 'MFA-exempt-contractors · Microsoft Entra ID']);
  });

  it('stores the group and the people with their Okta ids with the request, and records them in its audit event', async () => {
    await withOkta();
    const groupId = okta().addGroup({ name: 'MFA-exempt' });
    const ana = okta().addUser({ email: 'ana@acme.com', firstName: 'Ana', lastName: 'Lima' });
    const sam = okta().addUser({ email: 'sam@acme.com', firstName: 'Sam', lastName: 'Reyes' });
    const viewId = await openRequestModal(h!);
    const answer = await submit(viewId, {}, { group: `okta:${groupId}`, people: [PEOPLE.requester, PEOPLE.security] });
    expect(answer?.errors).toBeUndefined();

    const binding = bindingOf(h!.app.register.db, 1)!;
    expect(binding).toMatchObject({ vendor: 'okta', groupId, groupName: 'MFA-exempt', appliedState: 'none' });
    expect(binding.people).toEqual([
      { slackUserId: PEOPLE.requester, vendorUserId: ana, email: 'ana@acme.com', displayName: 'Ana Lima' },
      { slackUserId: PEOPLE.security, vendorUserId: sam, email: 'sam@acme.com', displayName: 'Sam Reyes' },
    ]);
    const payload = JSON.parse(requestedEvents()[0]!.payload) as { bypass: unknown };
    expect(payload.bypass).toEqual({
      vendor: 'okta',
      groupId,
      groupName: 'MFA-exempt',
      people: [
        { slackUserId: PEOPLE.requester, vendorUserId: ana, email: 'ana@acme.com' },
        { slackUserId: PEOPLE.security, vendorUserId: sam, email: 'sam@acme.com' },
      ],
    });
    // Nothing is added to the group before approval.
    expect(okta().group(groupId)!.members.size).toBe(0);
  });

  it('refuses a person without an Okta account, naming them, and a person without a profile email, and stores nothing', async () => {
    await withOkta();
    const groupId = okta().addGroup({ name: 'MFA-exempt' });
    okta().addUser({ email: 'sam@acme.com' });
    const viewId = await openRequestModal(h!);
    const answer = await submit(viewId, {}, { group: `okta:${groupId}`, people: [PEOPLE.requester, PEOPLE.security] });
    expect(answer?.response_action).toBe('errors');
    expect(answer!.errors![BYPASS_BLOCK_IDS.people]).toBe('Ana Lima has no Okta account with ana@acme.com. Ask IT to create the account, or remove them from the list.');

    const noEmail = await submit(viewId, {}, { group: `okta:${groupId}`, people: [PEOPLE.owner] });
    expect(noEmail!.errors![BYPASS_BLOCK_IDS.people]).toContain('owner has no email on their Slack profile');
    expect(requestedEvents()).toEqual([]);
    expect(bindingOf(h!.app.register.db, 1)).toBeUndefined();
  });

  it('refuses a group Okta does not have, a group without people and people without a group', async () => {
    await withOkta();
    okta().addUser({ email: 'ana@acme.com' });
    const groupId = okta().addGroup({ name: 'MFA-exempt' });
    const viewId = await openRequestModal(h!);
    const gone = await submit(viewId, {}, { group: 'okta:00gGONE', people: [PEOPLE.requester] });
    expect(gone!.errors![BYPASS_BLOCK_IDS.group]).toContain('Okta no longer has that group');
    const nobody = await submit(viewId, {}, { group: `okta:${groupId}` });
    expect(nobody!.errors![BYPASS_BLOCK_IDS.people]).toBe('Choose the people the Okta group is to cover, or clear Bypass group.');
    const noGroup = await submit(viewId, {}, { people: [PEOPLE.requester] });
    expect(noGroup!.errors![BYPASS_BLOCK_IDS.group]).toBe('Choose the group these people are to be added to, or clear People it covers.');
    // A form error elsewhere is shown with the vendor's, so everything is fixed in one go.
    const both = await submit(viewId, { title: '' }, { people: [PEOPLE.requester] });
    expect(Object.keys(both!.errors!).sort()).toEqual([BYPASS_BLOCK_IDS.group, B.title].sort());
    expect(requestedEvents()).toEqual([]);
  });

  it('asks to try again when Okta cannot be reached, since the binding needs its ids', async () => {
    await withOkta();
    okta().addUser({ email: 'ana@acme.com' });
    const groupId = okta().addGroup({ name: 'MFA-exempt' });
    const viewId = await openRequestModal(h!);
    okta().fail(10, 503);
    const answer = await submit(viewId, {}, { group: `okta:${groupId}`, people: [PEOPLE.requester] });
    expect(answer!.errors![BYPASS_BLOCK_IDS.group]).toBe('Okta could not be reached to check the group and its people; the request needs their Okta ids. Try again in a moment.');
    expect(requestedEvents()).toEqual([]);
  });

  it('answers the form within Slack\'s 3 seconds when Okta is slow, asking to try again, and takes the next submission once it answers', async () => {
    await withOkta();
    okta().addUser({ email: 'ana@acme.com' });
    const groupId = okta().addGroup({ name: 'MFA-exempt' });
    const viewId = await openRequestModal(h!);
    okta().slowDown(VENDOR_ANSWER_BUDGET_MS + 600);
    const slow = await submit(viewId, {}, { group: `okta:${groupId}`, people: [PEOPLE.requester] });
    expect(slow!.errors![BYPASS_BLOCK_IDS.group]).toBe('Okta did not answer in time to check the group and its people; the request needs their Okta ids. Try again in a moment.');
    expect(requestedEvents()).toEqual([]);
    okta().slowDown(0);
    expect((await submit(viewId, {}, { group: `okta:${groupId}`, people: [PEOPLE.requester] }))?.errors).toBeUndefined();
    expect(bindingOf(h!.app.register.db, 1)).toMatchObject({ groupName: 'MFA-exempt' });
  });

  it('takes a request without a bypass as before when Okta is configured', async () => {
    await withOkta();
    const viewId = await openRequestModal(h!);
    const answer = await submit(viewId, {});
    expect(answer?.errors).toBeUndefined();
    expect(requestedEvents()).toHaveLength(1);
    expect(bindingOf(h!.app.register.db, 1)).toBeUndefined();
  });
});

describe('amending a request sent back for changes', () => {
  async function sendBackAndOpenAmendment() {
    await clickButton(h!, cardFor(h!, 'EXC-0001'), ACTION_IDS.askForChanges, PEOPLE.security);
    const asked = h!.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
    await h!.driver.viewSubmission({ userId: PEOPLE.security, callbackId: CALLBACK_IDS.changesRequested, viewId: asked.id, privateMetadata: asked.private_metadata, values: { [CHANGES_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'Cover Sam too; he runs the payroll close.' } } } });
    await h!.settle();
    const dm = [...h!.standIn.dmsTo(PEOPLE.requester)].reverse().find((m) => buttons(m).includes(ACTION_IDS.amendRequest))!;
    await clickButton(h!, dm, ACTION_IDS.amendRequest, PEOPLE.requester);
    const call = h!.standIn.callsTo('views.open').at(-1)!;
    return { sent: call.args.view as { blocks: Block[] }, view: call.response.view as { id: string; private_metadata: string } };
  }

  it('shows the stored group and people, and replaces them with what the amended form names, in the same audit event', async () => {
    await withOkta();
    const groupId = okta().addGroup({ name: 'MFA-exempt' });
    const ana = okta().addUser({ email: 'ana@acme.com' });
    const sam = okta().addUser({ email: 'sam@acme.com' });
    const viewId = await openRequestModal(h!);
    expect((await submit(viewId, {}, { group: `okta:${groupId}`, people: [PEOPLE.requester] }))?.errors).toBeUndefined();

    const { sent, view } = await sendBackAndOpenAmendment();
    expect(validateView(sent as never)).toEqual([]);
    expect(sent.blocks.find((b) => b.block_id === BYPASS_BLOCK_IDS.group)!.element).toMatchObject({ initial_option: { text: { text: 'MFA-exempt' }, value: `okta:${groupId}` } });
    expect(sent.blocks.find((b) => b.block_id === BYPASS_BLOCK_IDS.people)!.element).toMatchObject({ initial_users: [PEOPLE.requester] });

    const response = await h!.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.amendment, viewId: view.id, privateMetadata: view.private_metadata, values: values({}, { group: `okta:${groupId}`, people: [PEOPLE.requester, PEOPLE.security] }) });
    await h!.settle();
    expect(response.json).toBeUndefined();
    expect(bindingOf(h!.app.register.db, 1)!.people.map((p) => p.vendorUserId)).toEqual([ana, sam]);
    const amended = h!.app.register.db.select().from(auditEvents).all().filter((e) => e.kind === 'exception.amended');
    expect(amended).toHaveLength(1);
    expect((JSON.parse(amended[0]!.payload) as { bypass: { people: { vendorUserId: string }[] } }).bypass.people.map((p) => p.vendorUserId)).toEqual([ana, sam]);
  });
});

describe('a Jira key as the external reference', () => {
  it('is a field error when Jira has no such issue, and passes when it has', async () => {
    await withOkta({ jira: true });
    const key = jira().addIssue({ summary: 'Replace the HR system' });
    const viewId = await openRequestModal(h!);
    const missing = `${jira().projectKey}-9999`;
    const refused = await submit(viewId, { externalRef: missing });
    expect(refused!.errors![B.externalRef]).toBe(`${missing} is not a Jira issue this app can see; check the key, or leave the field empty and the app creates an issue on approval.`);
    expect(requestedEvents()).toEqual([]);

    const taken = await submit(viewId, { externalRef: key });
    expect(taken?.errors).toBeUndefined();
    expect(requestedEvents()).toHaveLength(1);
  });

  it('takes the request with a warning the requester sees when Jira cannot be reached', async () => {
    await withOkta({ jira: true });
    const viewId = await openRequestModal(h!);
    jira().fail(10, 503);
    const key = `${jira().projectKey}-142`;
    const answer = await submit(viewId, { externalRef: key });
    expect(answer?.response_action).toBe('update');
    expect(validateView(answer!.view as never)).toEqual([]);
    expect(JSON.stringify(answer!.view)).toContain(`Jira could not be reached to check ${key}; it is checked again when the exception is approved.`);
    expect(requestedEvents()).toHaveLength(1);
  });

  it('takes the request with a warning when Jira is too slow to answer within Slack\'s 3 seconds', async () => {
    await withOkta({ jira: true });
    const viewId = await openRequestModal(h!);
    jira().slowDown(VENDOR_ANSWER_BUDGET_MS + 600);
    const key = `${jira().projectKey}-142`;
    const answer = await submit(viewId, { externalRef: key });
    expect(answer?.response_action).toBe('update');
    expect(JSON.stringify(answer!.view)).toContain(`Jira did not answer in time to check ${key}; it is checked again when the exception is approved.`);
    expect(requestedEvents()).toHaveLength(1);
    jira().slowDown(0);
  });

  it('checks nothing and shows nothing of the integrations when no connector is configured', async () => {
    h = await startHarness();
    const viewId = await openRequestModal(h);
    expect(inputIds(viewId)).toEqual([B.policy, B.title, B.scope, B.justification, B.compensatingControls, B.owner, B.expiresOn, B.affectedSystems, B.externalRef, B.structural, B.structuralReason]);
    expect(JSON.stringify(viewOf(viewId))).not.toMatch(/Okta|Entra|Bypass/);
    const answer = await submit(viewId, { externalRef: 'SEC-9999' });
    expect(answer?.errors).toBeUndefined();
    expect(requestedEvents()).toHaveLength(1);
  });
});
