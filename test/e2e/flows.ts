import { expect } from 'vitest';
import { ACTION_IDS, ASSESSMENT_BLOCK_IDS, CALLBACK_IDS, INPUT_ACTION_ID, REJECTION_BLOCK_ID, REQUEST_BLOCK_IDS as B } from '../../src/slack/ids';
import type { StoredMessage } from '../support/slack-stand-in';
import { CHANNELS, PEOPLE, type Harness } from './harness';

export interface RequestForm {
  policy?: string;
  title?: string;
  scope?: string;
  justification?: string;
  compensatingControls?: string;
  owner?: string;
  expiresOn?: string;
  affectedSystems?: string;
  externalRef?: string;
  structural?: boolean;
  structuralReason?: string;
}

export const VALID_FORM: Required<Omit<RequestForm, 'structuralReason' | 'affectedSystems' | 'externalRef'>> = {
  policy: 'MFA-01',
  title: 'Legacy HR system without MFA',
  scope: 'The HR payroll application hr-app-01 and its 40 users',
  justification: 'The quarterly close runs through a system that cannot do MFA, and we are on a Q4 replacement roadmap.',
  compensatingControls: 'Access only from the corporate VPN with device certificates; logins reviewed weekly.',
  owner: PEOPLE.owner,
  expiresOn: '2027-01-15',
  structural: false,
};

const text = (value: string | undefined) => ({ type: 'plain_text_input', value: value ?? null });

/** The state.values Slack sends for the request modal. */
export function requestValues(form: RequestForm): Record<string, Record<string, unknown>> {
  return {
    [B.policy]: { [ACTION_IDS.policyPicker]: { type: 'external_select', selected_option: form.policy ? { text: { type: 'plain_text', text: form.policy }, value: form.policy } : null } },
    [B.title]: { [INPUT_ACTION_ID]: text(form.title) },
    [B.scope]: { [INPUT_ACTION_ID]: text(form.scope) },
    [B.justification]: { [INPUT_ACTION_ID]: text(form.justification) },
    [B.compensatingControls]: { [INPUT_ACTION_ID]: text(form.compensatingControls) },
    [B.owner]: { [INPUT_ACTION_ID]: { type: 'users_select', selected_user: form.owner ?? null } },
    [B.expiresOn]: { [INPUT_ACTION_ID]: { type: 'datepicker', selected_date: form.expiresOn ?? null } },
    [B.affectedSystems]: { [INPUT_ACTION_ID]: text(form.affectedSystems) },
    [B.externalRef]: { [INPUT_ACTION_ID]: text(form.externalRef) },
    [B.structural]: {
      [INPUT_ACTION_ID]: { type: 'checkboxes', selected_options: form.structural ? [{ text: { type: 'plain_text', text: 'Structural' }, value: 'structural' }] : [] },
    },
    [B.structuralReason]: { [INPUT_ACTION_ID]: text(form.structuralReason) },
  };
}

/** `/exception request`, then the modal Slack opened is submitted with the form. */
export async function submitRequest(h: Harness, form: RequestForm = {}, userId: string = PEOPLE.requester) {
  const before = h.standIn.callsTo('views.open').length;
  const command = await h.driver.slashCommand({ userId, text: 'request' });
  expect(command.status).toBe(200);
  await h.standIn.waitFor(() => h.standIn.callsTo('views.open').length > before);
  const opened = h.standIn.callsTo('views.open').at(-1)!;
  const viewId = (opened.response.view as { id: string }).id;
  const response = await h.driver.viewSubmission({ userId, callbackId: CALLBACK_IDS.request, viewId, values: requestValues({ ...VALID_FORM, ...form }) });
  await h.settle();
  return { response, viewId };
}

function hasButton(message: StoredMessage, actionId: string): boolean {
  return JSON.stringify(message.blocks ?? []).includes(`"action_id":"${actionId}"`);
}

export function buttons(message: StoredMessage): string[] {
  const ids: string[] = [];
  for (const block of (message.blocks ?? []) as { type: string; elements?: { type: string; action_id?: string }[] }[]) {
    if (block.type === 'actions') for (const element of block.elements ?? []) if (element.action_id) ids.push(element.action_id);
  }
  return ids;
}

export function cardFor(h: Harness, ref: string, channel: string = CHANNELS.approvals, kind: 'triage' | 'approval' = 'triage'): StoredMessage {
  const found = h.standIn
    .messages(channel)
    .filter((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(ref))
    .filter((m) => (kind === 'approval' ? JSON.stringify(m.blocks).includes('Decision needed') : !JSON.stringify(m.blocks).includes('Decision needed')));
  expect(found, `${kind} card for ${ref} in ${channel}`).toHaveLength(1);
  return found[0]!;
}

export async function clickButton(h: Harness, message: StoredMessage, actionId: string, userId: string, retryNum?: number) {
  expect(hasButton(message, actionId), `${actionId} button on the message`).toBe(true);
  const value = JSON.stringify(message.blocks).match(new RegExp(`"action_id":"${actionId}"[^}]*?"value":"(\\d+)"|"value":"(\\d+)"[^}]*?"action_id":"${actionId}"`));
  const response = await h.driver.blockAction({
    userId,
    actionId,
    value: value?.[1] ?? value?.[2],
    message: { channel: message.channel, ts: message.ts, blocks: message.blocks, text: message.text },
    retryNum,
  });
  await h.settle();
  return response;
}

/** Presses "Assess risk" on the triage card and submits the modal it opened. */
export async function assess(h: Harness, ref: string, likelihood: number, impact: number, userId: string = PEOPLE.security) {
  const opened = h.standIn.callsTo('views.open').length;
  await clickButton(h, cardFor(h, ref), ACTION_IDS.assessRisk, userId);
  expect(h.standIn.callsTo('views.open').length, 'assessment modal opened').toBe(opened + 1);
  const call = h.standIn.callsTo('views.open').at(-1)!;
  const view = call.response.view as { id: string; private_metadata: string };
  const option = (n: number) => ({ type: 'static_select', selected_option: { text: { type: 'plain_text', text: String(n) }, value: String(n) } });
  const response = await h.driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.assessment,
    viewId: view.id,
    privateMetadata: view.private_metadata,
    values: {
      [ASSESSMENT_BLOCK_IDS.likelihood]: { [INPUT_ACTION_ID]: option(likelihood) },
      [ASSESSMENT_BLOCK_IDS.impact]: { [INPUT_ACTION_ID]: option(impact) },
      [ASSESSMENT_BLOCK_IDS.rationale]: { [INPUT_ACTION_ID]: text('Internet-facing but only 40 users, VPN-only access.') },
    },
  });
  await h.settle();
  return response;
}

/** Presses Reject on the approval card and submits the reason. */
export async function reject(h: Harness, approvalCard: StoredMessage, userId: string, reason: string) {
  const opened = h.standIn.callsTo('views.open').length;
  await clickButton(h, approvalCard, ACTION_IDS.reject, userId);
  if (h.standIn.callsTo('views.open').length === opened) return undefined;
  const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  const response = await h.driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.rejection,
    viewId: view.id,
    privateMetadata: view.private_metadata,
    values: { [REJECTION_BLOCK_ID]: { [INPUT_ACTION_ID]: text(reason) } },
  });
  await h.settle();
  return response;
}

export function ephemeralsTo(h: Harness, userId: string): string[] {
  return h.standIn.callsTo('chat.postEphemeral').filter((c) => c.args.user === userId).map((c) => String(c.args.text));
}
