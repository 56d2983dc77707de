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

function headerOf(message: StoredMessage): string {
  const [first] = (message.blocks ?? []) as { type: string; text?: { text: string } }[];
  return first?.type === 'header' ? (first.text?.text ?? '') : '';
}

export function cardFor(h: Harness, ref: string, channel: string = CHANNELS.approvals, kind: 'triage' | 'approval' = 'triage'): StoredMessage {
  const found = h.standIn
    .messages(channel)
    .filter((m) => JSON.stringify(m.blocks ?? []).includes(ref))
    // The triage card is top-level; a fast-path decision message sits in its thread.
    .filter((m) => (kind === 'approval' ? headerOf(m).startsWith('Decision') : !m.threadTs && headerOf(m) !== '' && !headerOf(m).startsWith('Decision')));
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

/** The state.values Slack sends for the risk assessment modal. */
export function assessmentValues(likelihood: number, impact: number, rationale: string): Record<string, Record<string, unknown>> {
  const option = (n: number) => ({ type: 'static_select', selected_option: { text: { type: 'plain_text', text: String(n) }, value: String(n) } });
  return {
    [ASSESSMENT_BLOCK_IDS.likelihood]: { [INPUT_ACTION_ID]: option(likelihood) },
    [ASSESSMENT_BLOCK_IDS.impact]: { [INPUT_ACTION_ID]: option(impact) },
    [ASSESSMENT_BLOCK_IDS.rationale]: { [INPUT_ACTION_ID]: text(rationale) },
  };
}

/** Presses "Assess risk" on the triage card and submits the modal it opened. */
export async function assess(h: Harness, ref: string, likelihood: number, impact: number, userId: string = PEOPLE.security) {
  const opened = h.standIn.callsTo('views.open').length;
  await clickButton(h, cardFor(h, ref), ACTION_IDS.assessRisk, userId);
  expect(h.standIn.callsTo('views.open').length, 'assessment modal opened').toBe(opened + 1);
  const call = h.standIn.callsTo('views.open').at(-1)!;
  const view = call.response.view as { id: string; private_metadata: string };
  const response = await h.driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.assessment,
    viewId: view.id,
    privateMetadata: view.private_metadata,
    values: assessmentValues(likelihood, impact, 'Internet-facing but only 40 users, VPN-only access.'),
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

/** What only this person saw: ephemeral replies through the response_url, or chat.postEphemeral. */
export function ephemeralsTo(h: Harness, userId: string): string[] {
  const viaResponseUrl = h.standIn.responseUrlPosts.filter((p) => p.userId === userId && p.body.response_type === 'ephemeral').map((p) => String(p.body.text));
  const viaApi = h.standIn.callsTo('chat.postEphemeral').filter((c) => c.args.user === userId).map((c) => String(c.args.text));
  return [...viaResponseUrl, ...viaApi];
}

/** Like clickButton, but does not wait for the app to settle: for concurrent clicks. */
export async function pressButton(h: Harness, message: StoredMessage, actionId: string, userId: string, retryNum?: number) {
  expect(hasButton(message, actionId), `${actionId} button on the message`).toBe(true);
  const value = JSON.stringify(message.blocks).match(new RegExp(`"action_id":"${actionId}"[^}]*?"value":"(\\d+)"|"value":"(\\d+)"[^}]*?"action_id":"${actionId}"`));
  return h.driver.blockAction({
    userId,
    actionId,
    value: value?.[1] ?? value?.[2],
    message: { channel: message.channel, ts: message.ts, blocks: message.blocks, text: message.text },
    retryNum,
  });
}

/** `/exception request` as `userId`; resolves with the id of the modal Slack opened for them. */
export async function openRequestModal(h: Harness, userId: string = PEOPLE.requester): Promise<string> {
  const command = await h.driver.slashCommand({ userId, text: 'request' });
  expect(command.status).toBe(200);
  await h.standIn.waitFor(() => h.standIn.views.some((v) => v.userId === userId && v.view.callback_id === CALLBACK_IDS.request));
  return [...h.standIn.views].reverse().find((v) => v.userId === userId && v.view.callback_id === CALLBACK_IDS.request)!.id;
}

function headerText(message: StoredMessage): string {
  const first = (message.blocks ?? [])[0] as { type?: string; text?: { text?: string } } | undefined;
  return first?.type === 'header' ? (first.text?.text ?? '') : '';
}

/** Decision messages ("Decision needed: …", then "Decision: …") in a channel, top-level or threaded, whichever ref they carry. */
export function approvalCardsIn(h: Harness, channel: string): StoredMessage[] {
  return h.standIn.messages(channel).filter((m) => headerText(m).startsWith('Decision'));
}

/** The one decision message for `ref` in `channel`, wherever it sits (a fast-path one is threaded under the triage card). */
export function decisionCard(h: Harness, ref: string, channel: string = CHANNELS.approvals): StoredMessage {
  const found = approvalCardsIn(h, channel).filter((m) => headerText(m).includes(`${ref} `));
  expect(found, `decision message for ${ref} in ${channel}`).toHaveLength(1);
  return found[0]!;
}

/** The decision message of a renewal round: each round is decided in a message of its own. */
export function renewalDecisionCard(h: Harness, ref: string, round: number, channel: string = CHANNELS.approvals): StoredMessage {
  const found = approvalCardsIn(h, channel).filter((m) => headerText(m).includes(`renewal ${round} of ${ref} `));
  expect(found, `decision message for renewal ${round} of ${ref} in ${channel}`).toHaveLength(1);
  return found[0]!;
}

/** The top-level triage message for `ref` in the approvals channel. */
export function triageMessage(h: Harness, ref: string): StoredMessage {
  const found = h.standIn.messages(CHANNELS.approvals).filter((m) => !m.threadTs && headerText(m).startsWith(`${ref} `));
  expect(found, `triage message for ${ref}`).toHaveLength(1);
  return found[0]!;
}

// ---- Renewal, closing and the scheduled jobs (issue 3) --------------------------------------------------------
// (Imports are hoisted; these sit here so the helpers above stay untouched.)
import { CLOSING_NOTE_BLOCK_ID, RENEWAL_BLOCK_IDS } from '../../src/slack/ids';
import { SIGNING_SECRET } from './harness';

export interface RenewalFormValues {
  progress: string;
  percentComplete: string;
  evidenceUrl: string;
  controlTestedOn: string;
  expiresOn: string;
}

/** The state.values Slack sends for the renewal modal. */
export function renewalValues(form: RenewalFormValues): Record<string, Record<string, unknown>> {
  return {
    [RENEWAL_BLOCK_IDS.progress]: { [INPUT_ACTION_ID]: text(form.progress) },
    [RENEWAL_BLOCK_IDS.percentComplete]: { [INPUT_ACTION_ID]: { type: 'number_input', value: form.percentComplete } },
    [RENEWAL_BLOCK_IDS.evidenceUrl]: { [INPUT_ACTION_ID]: text(form.evidenceUrl) },
    [RENEWAL_BLOCK_IDS.controlTestedOn]: { [INPUT_ACTION_ID]: { type: 'datepicker', selected_date: form.controlTestedOn } },
    [RENEWAL_BLOCK_IDS.expiresOn]: { [INPUT_ACTION_ID]: { type: 'datepicker', selected_date: form.expiresOn } },
  };
}

export interface OpenedModal {
  id: string;
  privateMetadata: string;
  view: Record<string, unknown>;
}

/** Runs `/exception <text>` as `userId`; resolves with the modal Slack opened, or undefined when none was opened. */
export async function commandModal(h: Harness, userId: string, commandText: string): Promise<OpenedModal | undefined> {
  const before = h.standIn.callsTo('views.open').length;
  const command = await h.driver.slashCommand({ userId, text: commandText });
  expect(command.status).toBe(200);
  await h.settle();
  if (h.standIn.callsTo('views.open').length === before) return undefined;
  const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  return { id: view.id, privateMetadata: view.private_metadata, view: view as unknown as Record<string, unknown> };
}

/** Submits an opened renewal modal with `form`. */
export async function submitRenewalModal(h: Harness, userId: string, modal: OpenedModal, form: RenewalFormValues) {
  const response = await h.driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.renewal,
    viewId: modal.id,
    privateMetadata: modal.privateMetadata,
    values: renewalValues(form),
  });
  await h.settle();
  return response;
}

/** `/exception renew <ref>`, then, if the modal opened, submits it with `form`. */
export async function submitRenewal(h: Harness, userId: string, form: RenewalFormValues, ref = 'EXC-0001') {
  const modal = await commandModal(h, userId, `renew ${ref}`);
  if (!modal) return { modal, response: undefined };
  return { modal, response: await submitRenewalModal(h, userId, modal, form) };
}

/** `/exception close <ref>`, then, if the modal opened, submits it with `note`. */
export async function submitClose(h: Harness, userId: string, note: string, ref = 'EXC-0001') {
  const modal = await commandModal(h, userId, `close ${ref}`);
  if (!modal) return { modal, response: undefined };
  const response = await h.driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.close,
    viewId: modal.id,
    privateMetadata: modal.privateMetadata,
    values: { [CLOSING_NOTE_BLOCK_ID]: { [INPUT_ACTION_ID]: text(note) } },
  });
  await h.settle();
  return { modal, response };
}

/** The environment the harness's app was configured with, for the command line (`exceptions jobs run`). */
export function harnessEnv(h: Harness, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: h.standIn.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: h.standIn.url,
    DATABASE_PATH: h.databasePath,
    SECURITY_TEAM_IDS: `${PEOPLE.security},${PEOPLE.security2}`,
    APPROVER_IDS: `${PEOPLE.ciso},${PEOPLE.deputy}`,
    COMMITTEE_IDS: `${PEOPLE.committee1},${PEOPLE.committee2},${PEOPLE.committee3}`,
    APPROVALS_CHANNEL: CHANNELS.approvals,
    COMMITTEE_CHANNEL: CHANNELS.committee,
    TZ: 'UTC',
    ...extra,
  };
}
