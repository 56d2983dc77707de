/**
 * Hostile text in every field a person can type into, through the real Bolt app (signed requests) and the Slack
 * stand-in (which refuses what Slack refuses).
 *
 * For each input the app must either refuse it in the modal (response_action "errors" naming that field, and nothing
 * written), or store it as typed and show it everywhere as text: every message, modal, DM, App Home and command
 * reply that carries it is accepted by Slack (no invalid_blocks, msg_too_long, msg_blocks_too_long), and no live
 * markup from the input reaches Slack (`<!channel>`, `<@U123>`, `<#C123>`, forged `<url|label>` links): in mrkdwn the
 * characters `<`, `>` and `&` arrive escaped.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REQUEST_TEXT_LIMITS, type RequestField } from '../../src/domain/request';
import { ACTION_IDS, ASSESSMENT_BLOCK_IDS, CALLBACK_IDS, CLOSING_NOTE_BLOCK_ID, INPUT_ACTION_ID, REJECTION_BLOCK_ID, RENEWAL_BLOCK_IDS, REQUEST_BLOCK_IDS, SHORTCUT_IDS } from '../../src/slack/ids';
import { UNEXPECTED_ERROR_TEXT } from '../../src/slack/listeners/refusals';
import { blockTextLength, MESSAGE_BLOCK_TEXT_LIMIT, validateBlocks } from '../support/block-kit-rules';
import type { DriverResponse } from '../support/slack-driver';
import type { SlackCall, StoredMessage } from '../support/slack-stand-in';
import { CHANNELS, PEOPLE, startHarness, type Harness } from '../e2e/harness';
import {
  assessmentValues,
  cardFor,
  clickButton,
  commandModal,
  decisionCard,
  renewalDecisionCard,
  requestValues,
  submitRenewalModal,
  submitRequest,
  triageMessage,
  VALID_FORM,
  type OpenedModal,
  type RenewalFormValues,
  type RequestForm,
} from '../e2e/flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h?.close();
});

// ---- the payloads ---------------------------------------------------------------------------------------------

const MENTIONS = '<!channel> <!here> <!everyone> <@U123> <@W0ADMIN> <#C123> <#C123|general> <!subteam^S123|@security-team>';
const FORGED_LINKS = '<https://evil.example|click here> [click](https://evil.example/login) <mailto:ceo@evil.example|the CEO> <evil.example> <https://evil.example>';
const SQL = `x'); DROP TABLE exceptions; -- ' OR '1'='1"; DELETE FROM audit_events WHERE 1=1; --`;
const BLOCK_JSON = '{"type":"section","text":{"type":"mrkdwn","text":"<!channel> pwned"}}"]}],"blocks":[{"type":"divider"}';
const RTL_EMOJI = '🔐 שרת הגיבוי \u202Etxt.exe\u202C خادم 👩🏽‍💻 \u200F\u200B 🇮🇱 e\u0301 \uFEFF';
const ENTITIES = '&lt;!channel&gt; &amp;amp; &#60;@U123&#62; &gt; && <<>>';
const NUL = 'before\u0000after';
const CONTROLS = 'bell\u0007 escape\u001B[31m red\u001B[0m delete\u007F';
const MIXED = [MENTIONS, FORGED_LINKS, SQL, BLOCK_JSON, RTL_EMOJI, ENTITIES].join(' ~ ');

/** `unit` repeated to `codePoints` characters, never splitting a surrogate pair. */
function repeatTo(unit: string, codePoints: number): string {
  const chars = Array.from(unit);
  return Array.from({ length: codePoints }, (_, i) => chars[i % chars.length]).join('');
}
/** At most `max` UTF-16 units of `text` (the register's measure), never splitting a character, then trimmed. */
function clip(text: string, max: number): string {
  let out = '';
  for (const char of text) {
    if (out.length + char.length > max) break;
    out += char;
  }
  return out.trim();
}

const LONG_3K = repeatTo(`${MIXED} `, 3_100);
const LONG_10K = repeatTo(`${MIXED} `, 10_500);

const PAYLOADS: [string, string][] = [
  ['mentions', MENTIONS],
  ['forged links', FORGED_LINKS],
  ['SQL', SQL],
  ['Block Kit JSON', BLOCK_JSON],
  ['right-to-left and emoji', RTL_EMOJI],
  ['HTML entities', ENTITIES],
  ['a NUL byte', NUL],
  ['control characters', CONTROLS],
  ['3,100 characters', LONG_3K],
  ['10,500 characters', LONG_10K],
];

// ---- what reached Slack ---------------------------------------------------------------------------------------

interface TextObject { type: string; text: string }

function textObjects(node: unknown, found: TextObject[] = []): TextObject[] {
  if (Array.isArray(node)) for (const item of node) textObjects(item, found);
  else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (typeof record.type === 'string' && typeof record.text === 'string') found.push(record as unknown as TextObject);
    for (const value of Object.values(record)) textObjects(value, found);
  }
  return found;
}

function urls(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) urls(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if ((key === 'url' || key === 'image_url') && typeof value === 'string') found.push(value);
      else urls(value, found);
    }
  }
  return found;
}

/** The surfaces of a call that Slack renders: its top-level text (mrkdwn by default) and its blocks or view. */
function surfaces(call: { method: string; args: Record<string, unknown> }): { topText?: string; blocks: unknown } | undefined {
  switch (call.method) {
    case 'chat.postMessage':
    case 'chat.update':
    case 'chat.postEphemeral':
    case 'response_url':
      return { topText: typeof call.args.text === 'string' ? call.args.text : undefined, blocks: call.args.blocks };
    case 'views.open':
    case 'views.push':
    case 'views.update':
    case 'views.publish':
      return { blocks: (call.args.view as { blocks?: unknown } | undefined)?.blocks };
    case 'files.completeUploadExternal':
      return { topText: typeof call.args.initial_comment === 'string' ? call.args.initial_comment : undefined, blocks: [] };
    default:
      return undefined;
  }
}

const KNOWN_USERS = new Set<string>(Object.values(PEOPLE));
const KNOWN_CHANNELS = new Set<string>(Object.values(CHANNELS));

/** Markup the app itself may write: its people, its channels, dates, and links Slack made. Anything else came from input. */
function allowedToken(token: string): boolean {
  const user = /^@([UW][A-Z0-9]+)$/.exec(token);
  if (user) return KNOWN_USERS.has(user[1]!);
  const channel = /^#(C[A-Z0-9]+)(\|[^<>]*)?$/.exec(token);
  if (channel) return KNOWN_CHANNELS.has(channel[1]!);
  if (/^!date\^\d+\^[^|<>]*\|[^<>]*$/.test(token)) return true;
  return /^https:\/\/stand-in\.slack\.com\/archives\/[^|<>]+\|[^<>]+$/.test(token);
}

/** Live markup in what Slack would parse: mrkdwn text objects, top-level text, markdown blocks and URLs. */
function markupProblems(where: string, s: { topText?: string; blocks: unknown }): string[] {
  const problems: string[] = [];
  const mrkdwn = [...(s.topText !== undefined ? [s.topText] : []), ...textObjects(s.blocks).filter((t) => t.type === 'mrkdwn').map((t) => t.text)];
  for (const text of mrkdwn) {
    for (const match of text.matchAll(/<([^<>]*)>/g)) if (!allowedToken(match[1]!)) problems.push(`${where}: live markup <${match[1]}> in ${JSON.stringify(text.slice(0, 200))}`);
  }
  for (const markdown of textObjects(s.blocks).filter((t) => t.type === 'markdown')) {
    if (markdown.text.includes('evil.example')) problems.push(`${where}: a markdown block renders user input: ${markdown.text.slice(0, 200)}`);
  }
  for (const url of urls(s.blocks)) if (url.includes('evil.example')) problems.push(`${where}: a URL from user input: ${url}`);
  return problems;
}

function callProblems(calls: SlackCall[]): string[] {
  return calls.flatMap((call, i) => {
    const s = surfaces(call);
    return s ? markupProblems(`${call.method} #${i}`, s) : [];
  });
}

/** A reply the app gave in its HTTP acknowledgement (a slash command): Slack validates it the way it does a message. */
function replyProblems(where: string, response: DriverResponse): string[] {
  if (response.status !== 200) return [`${where}: HTTP ${response.status}`];
  if (!response.text) return [];
  const json = response.json as { text?: string; blocks?: unknown[] } | undefined;
  if (!json) return [`${where}: the reply is not JSON: ${response.text.slice(0, 200)}`];
  const problems: string[] = [];
  if (json.text !== undefined && [...json.text].length > 40_000) problems.push(`${where}: msg_too_long`);
  if (json.blocks !== undefined) {
    for (const error of validateBlocks(json.blocks, 'message')) problems.push(`${where}: invalid_blocks ${error}`);
    if (blockTextLength(json.blocks) > MESSAGE_BLOCK_TEXT_LIMIT) problems.push(`${where}: msg_blocks_too_long (${blockTextLength(json.blocks)})`);
  }
  if (json.text === UNEXPECTED_ERROR_TEXT) problems.push(`${where}: the app failed unexpectedly`);
  return [...problems, ...markupProblems(where, { topText: json.text, blocks: json.blocks ?? [] })];
}

/** Slack refused nothing, nothing was retried or abandoned, and no error was logged. */
function expectAllAccepted() {
  expect(h.standIn.rejected().map((c) => `${c.method}: ${String(c.response.error)} ${JSON.stringify(c.response.response_metadata ?? '')}`)).toEqual([]);
  const troubled = h.app.register.sqlite.prepare("select id, kind, state, attempts, last_error from outbox where state != 'delivered' or attempts > 0").all();
  expect(troubled, 'every notification delivered at the first attempt').toEqual([]);
  const errors = h.logs.filter((line) => /"level":"error"/.test(line));
  expect(errors, 'no error logged').toEqual([]);
}

function expectNoLiveMarkup() {
  expect(callProblems(h.standIn.calls)).toEqual([]);
  expect(h.standIn.responseUrlPosts.flatMap((p, i) => markupProblems(`response_url #${i}`, { topText: typeof p.body.text === 'string' ? p.body.text : undefined, blocks: p.body.blocks }))).toEqual([]);
}

/** Rendered text, unescaped as a reader sees it. */
function shown(message: StoredMessage | { blocks?: unknown; text?: string }): string {
  const texts = [message.text ?? '', ...textObjects(message.blocks).map((t) => t.text)];
  return texts.join('\n').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Shown in full, or (where a card bounds a long field) its beginning up to an ellipsis. */
function expectShows(message: StoredMessage | { blocks?: unknown; text?: string }, value: string, label: string) {
  const text = shown(message);
  if (text.includes(value)) return;
  const head = Array.from(value).slice(0, 60).join('');
  expect(text, `${label}: shown (at least its beginning)`).toContain(head);
}

// ---- the register ---------------------------------------------------------------------------------------------

const TABLES = ['exceptions', 'audit_events', 'outbox', 'assessments', 'decisions', 'renewals'] as const;
type Counts = Record<(typeof TABLES)[number], number>;

function counts(): Counts {
  return Object.fromEntries(TABLES.map((t) => [t, (h.app.register.sqlite.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n])) as Counts;
}

function exceptionRow(id: number): Record<string, unknown> {
  return h.app.register.sqlite.prepare('select * from exceptions where id = ?').get(id) as Record<string, unknown>;
}

/** A modal refusal: "errors" with a message next to `blockId`, and not the generic "something went wrong". */
function expectFieldError(response: DriverResponse, blockId: string, label: string) {
  expect(response.status, label).toBe(200);
  const json = response.json as { response_action?: string; errors?: Record<string, string> } | undefined;
  expect(json?.response_action, `${label}: refused in the modal`).toBe('errors');
  expect(Object.keys(json!.errors ?? {}), `${label}: the error names the field`).toContain(blockId);
  for (const message of Object.values(json!.errors ?? {})) {
    expect(message).not.toBe(UNEXPECTED_ERROR_TEXT);
    expect(message.length).toBeGreaterThan(0);
    expect(message.length, `${label}: the error message stays short`).toBeLessThan(500);
  }
}

function isRefusal(response: DriverResponse): boolean {
  return (response.json as { response_action?: string } | undefined)?.response_action === 'errors';
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

// ---- flows with hostile text ------------------------------------------------------------------------------------

const text = (value: string) => ({ type: 'plain_text_input', value });

/** Opens the assessment modal from the triage card and submits each rationale in turn until one is taken. */
async function assessWith(ref: string, likelihood: number, impact: number, rationales: string[], userId: string = PEOPLE.security) {
  const opened = h.standIn.callsTo('views.open').length;
  await clickButton(h, cardFor(h, ref), ACTION_IDS.assessRisk, userId);
  expect(h.standIn.callsTo('views.open').length, 'assessment modal opened').toBe(opened + 1);
  const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  for (const [i, rationale] of rationales.entries()) {
    const before = counts();
    const response = await h.driver.viewSubmission({
      userId,
      callbackId: CALLBACK_IDS.assessment,
      viewId: view.id,
      privateMetadata: view.private_metadata,
      values: assessmentValues(likelihood, impact, rationale),
    });
    await h.settle();
    const label = `rationale #${i} (${rationale.length} chars)`;
    if (isRefusal(response)) {
      expectFieldError(response, ASSESSMENT_BLOCK_IDS.rationale, label);
      expect(counts(), `${label}: nothing written`).toEqual(before);
      expect(rationale.trim().length > 2000 || CONTROL.test(rationale), `${label}: only an over-long or control-character rationale may be refused`).toBe(true);
      continue;
    }
    expect(response.status).toBe(200);
    expect(response.text, label).toBe('');
    expect(rationale.trim().length, `${label}: an over-long rationale must be refused`).toBeLessThanOrEqual(2000);
    const stored = h.app.register.sqlite.prepare('select rationale from assessments order by id desc limit 1').get() as { rationale: string };
    expect(stored.rationale).toBe(rationale.trim());
    return rationale.trim();
  }
  throw new Error(`no rationale was accepted for ${ref}`);
}

/** Presses Reject on a decision card and submits each reason in turn until one is taken. */
async function rejectWith(card: StoredMessage, userId: string, reasons: string[]) {
  const opened = h.standIn.callsTo('views.open').length;
  await clickButton(h, card, ACTION_IDS.reject, userId);
  expect(h.standIn.callsTo('views.open').length, 'rejection modal opened').toBe(opened + 1);
  const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  for (const [i, reason] of reasons.entries()) {
    const before = counts();
    const response = await h.driver.viewSubmission({
      userId,
      callbackId: CALLBACK_IDS.rejection,
      viewId: view.id,
      privateMetadata: view.private_metadata,
      values: { [REJECTION_BLOCK_ID]: { [INPUT_ACTION_ID]: text(reason) } },
    });
    await h.settle();
    const label = `rejection reason #${i} (${reason.length} chars)`;
    if (isRefusal(response)) {
      expectFieldError(response, REJECTION_BLOCK_ID, label);
      expect(counts(), `${label}: nothing written`).toEqual(before);
      continue;
    }
    expect(response.text, label).toBe('');
    expect(reason.trim().length <= 2000 && !CONTROL.test(reason), `${label}: an over-long or control-character reason must be refused`).toBe(true);
    return reason.trim();
  }
  throw new Error('no rejection reason was accepted');
}

async function submitCloseNotes(userId: string, ref: string, notes: string[]) {
  const modal = await commandModal(h, userId, `close ${ref}`);
  expect(modal, 'close modal opened').toBeDefined();
  for (const [i, note] of notes.entries()) {
    const before = counts();
    const response = await h.driver.viewSubmission({
      userId,
      callbackId: CALLBACK_IDS.close,
      viewId: modal!.id,
      privateMetadata: modal!.privateMetadata,
      values: { [CLOSING_NOTE_BLOCK_ID]: { [INPUT_ACTION_ID]: text(note) } },
    });
    await h.settle();
    const label = `closing note #${i} (${note.length} chars)`;
    if (isRefusal(response)) {
      expectFieldError(response, CLOSING_NOTE_BLOCK_ID, label);
      expect(counts(), `${label}: nothing written`).toEqual(before);
      continue;
    }
    expect(response.json, `${label}: the modal becomes the confirmation`).toMatchObject({ response_action: 'update' });
    expect(note.trim().length <= 2000 && !CONTROL.test(note), `${label}: an over-long or control-character note must be refused`).toBe(true);
    return note.trim();
  }
  throw new Error('no closing note was accepted');
}

async function submitRenewals(userId: string, ref: string, attempts: { form: RenewalFormValues; refusedAt?: string }[]) {
  const modal: OpenedModal | undefined = await commandModal(h, userId, `renew ${ref}`);
  expect(modal, 'renewal modal opened').toBeDefined();
  for (const [i, attempt] of attempts.entries()) {
    const before = counts();
    const response = await submitRenewalModal(h, userId, modal!, attempt.form);
    const label = `renewal attempt #${i}`;
    if (attempt.refusedAt) {
      expectFieldError(response, attempt.refusedAt, label);
      expect(counts(), `${label}: nothing written`).toEqual(before);
    } else {
      expect(response.status).toBe(200);
      expect(response.json, `${label}: the modal becomes the confirmation`).toMatchObject({ response_action: 'update' });
    }
  }
}

async function command(userId: string, commandText: string): Promise<DriverResponse> {
  const response = await h.driver.slashCommand({ userId, text: commandText });
  await h.settle();
  expect(replyProblems(`/exception ${commandText.slice(0, 60)}`, response)).toEqual([]);
  return response;
}

async function openHome(userId: string) {
  const before = h.standIn.callsTo('views.publish').length;
  const response = await h.driver.event({ type: 'app_home_opened', user: userId, channel: 'D0HOME', tab: 'home' });
  expect(response.status).toBe(200);
  await h.settle();
  expect(h.standIn.callsTo('views.publish').length, `App Home published for ${userId}`).toBe(before + 1);
  return h.standIn.callsTo('views.publish').at(-1)!;
}

// ---- the tests ----------------------------------------------------------------------------------------------------

const TEXT_FIELDS = ['title', 'scope', 'justification', 'compensatingControls', 'affectedSystems', 'externalRef', 'structuralReason'] as const satisfies readonly RequestField[];
type TextField = (typeof TEXT_FIELDS)[number];

/** The payload inside text that is otherwise valid for the field (long enough, enough words). */
function embed(field: TextField, payload: string): string {
  if (field === 'title') return `T: ${payload}`;
  return `Six plain words come first here, then the hostile input: ${payload}`;
}

describe('hostile text in the request form', () => {
  it('refuses each field in the modal, naming it, or stores it as typed and shows it as text everywhere', async () => {
    let n = 0;
    const stored: { id: number; field: TextField; value: string }[] = [];
    for (const field of TEXT_FIELDS) {
      for (const [name, payload] of PAYLOADS) {
        n++;
        const value = embed(field, payload);
        const form: RequestForm = { ...VALID_FORM, [field]: value, ...(field === 'structuralReason' ? { structural: true } : {}) };
        const label = `${field} with ${name}`;
        const before = counts();
        const callsBefore = h.standIn.calls.length;
        const response = await h.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId: `VHOSTILE${n}`, values: requestValues(form) });
        await h.settle();
        const max = REQUEST_TEXT_LIMITS[field].max;
        const trimmed = value.trim();
        if (isRefusal(response)) {
          expectFieldError(response, REQUEST_BLOCK_IDS[field], label);
          expect(counts(), `${label}: nothing written`).toEqual(before);
          // Refused only for a reason the spec gives: too long, or control characters.
          expect(trimmed.length > max || [...trimmed].length > max || CONTROL.test(trimmed), `${label}: refused without cause: ${JSON.stringify(response.json)}`).toBe(true);
        } else {
          expect(response.status, label).toBe(200);
          expect(response.text, label).toBe('');
          expect(trimmed.length <= max && [...trimmed].length <= max, `${label}: text over the field's limit of ${max} must be refused`).toBe(true);
          expect(counts().exceptions, `${label}: stored`).toBe(before.exceptions + 1);
          const id = counts().exceptions;
          const column = { title: 'title', scope: 'scope', justification: 'justification', compensatingControls: 'compensating_controls', affectedSystems: 'affected_systems', externalRef: 'external_ref', structuralReason: 'structural_reason' }[field];
          expect(exceptionRow(id)[column], `${label}: stored as typed`).toBe(trimmed);
          stored.push({ id, field, value: trimmed });
          expect(callProblems(h.standIn.calls.slice(callsBefore)), label).toEqual([]);
        }
      }
    }
    // Plain text within the limits is never refused: SQL, markup, links, JSON, emoji and RTL are just text.
    for (const field of TEXT_FIELDS) {
      for (const name of ['mentions', 'forged links', 'SQL', 'Block Kit JSON', 'right-to-left and emoji', 'HTML entities']) {
        const value = embed(field, PAYLOADS.find(([n]) => n === name)![1]);
        if (value.length <= REQUEST_TEXT_LIMITS[field].max) expect(stored.some((s) => s.field === field && s.value === value.trim()), `${field} with ${name} is stored`).toBe(true);
      }
    }
    expect(stored.length).toBeGreaterThan(30);
    // The SQL did nothing: every table is still there and holds what it should.
    expect(counts().exceptions).toBe(stored.length);

    // Each stored exception's triage card and receipt went out and show the text.
    for (const s of stored) {
      const ref = `EXC-${String(s.id).padStart(4, '0')}`;
      const card = triageMessage(h, ref);
      if (s.field !== 'title') expectShows(card, s.value, `${ref} ${s.field}`);
      else expect(shown(card)).toContain(Array.from(s.value).slice(0, 40).join(''));
      expect(h.standIn.dmsTo(PEOPLE.requester).filter((m) => m.text === `Your exception request ${ref} was received.`), `${ref} receipt`).toHaveLength(1);
    }

    // The register views with every one of them in it.
    await command(PEOPLE.requester, 'list');
    await command(PEOPLE.security, 'list all');
    await command(PEOPLE.security, 'list all requested');
    await command(PEOPLE.owner, 'list');
    for (const s of stored.filter((_, i) => i % 3 === 0)) {
      const reply = await command(PEOPLE.requester, `show EXC-${String(s.id).padStart(4, '0')}`);
      expect(reply.text).not.toBe('');
      if (s.field !== 'title') expectShows(reply.json as { blocks?: unknown; text?: string }, s.value, `show EXC-${s.id} ${s.field}`);
    }
    await command(PEOPLE.security, 'metrics');
    for (const person of [PEOPLE.requester, PEOPLE.owner, PEOPLE.security, PEOPLE.ciso, PEOPLE.committee1]) await openHome(person);

    expectAllAccepted();
    expectNoLiveMarkup();
  }, 60_000);

  const FORGED: [string, RequestForm, RequestField][] = [
    ['SQL as the policy', { policy: `MFA-01'; DROP TABLE policies; --` }, 'policy'],
    ['markup as the policy', { policy: '<!channel> <https://evil.example|MFA-01>' }, 'policy'],
    ['a 10,000-character policy', { policy: LONG_10K }, 'policy'],
    ['a NUL byte in the policy', { policy: 'MFA-01\u0000' }, 'policy'],
    ['markup as the owner', { owner: '<!channel>' }, 'owner'],
    ['SQL as the owner', { owner: `U0OWNER' OR '1'='1` }, 'owner'],
    ['a mention as the owner', { owner: '<@U0OWNER>' }, 'owner'],
    ['a 10,000-character owner ID', { owner: `U${'A'.repeat(10_000)}` }, 'owner'],
    ['an owner Slack does not know (users.info: user_not_found)', { owner: 'U0NOBODY99' }, 'owner'],
    ['markup in the expiry date', { expiresOn: '2027-01-15<!channel>' }, 'expiresOn'],
    ['SQL as the expiry date', { expiresOn: `2027-01-15'; DROP TABLE exceptions; --` }, 'expiresOn'],
    ['a NUL byte in the expiry date', { expiresOn: '2027-01-15\u0000' }, 'expiresOn'],
  ];

  it.each(FORGED)('refuses %s in the form, naming the field, and writes nothing', async (label, form, field) => {
    const before = counts();
    const response = await h.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId: 'VFORGED1', values: requestValues({ ...VALID_FORM, ...form }) });
    await h.settle();
    expectFieldError(response, REQUEST_BLOCK_IDS[field], label);
    expect(counts(), `${label}: nothing written`).toEqual(before);
    for (const message of Object.values((response.json as { errors: Record<string, string> }).errors)) {
      expect(message, `${label}: the error does not echo the input as markup`).not.toMatch(/<[!@#]|evil\.example/);
    }
    expect(h.standIn.calls.filter((c) => !['users.info', 'auth.test'].includes(c.method))).toEqual([]);
    expect(h.standIn.rejected().filter((c) => c.method !== 'users.info')).toEqual([]);
  });
});

describe('hostile text through the whole lifecycle', () => {
  /** Every request text field filled to its limit with hostile text. */
  function hostileForm(tag: string, structural = false): RequestForm {
    const L = REQUEST_TEXT_LIMITS;
    return {
      ...VALID_FORM,
      title: clip(`${tag} ${MENTIONS} ${RTL_EMOJI} ${SQL}`, L.title.max),
      scope: clip(`Scope ${tag}: ${repeatTo(`${MIXED} `, 2_000)}`, L.scope.max),
      justification: clip(`Justification ${tag} has plenty of words: ${repeatTo(`${MIXED} `, 4_000)}`, L.justification.max),
      compensatingControls: clip(`Controls ${tag} reduce the risk: ${repeatTo(`${FORGED_LINKS} ${ENTITIES} `, 4_000)}`, L.compensatingControls.max),
      affectedSystems: clip(`hr-app-01 ${BLOCK_JSON} ${MENTIONS} ${SQL} ${RTL_EMOJI}`, L.affectedSystems.max),
      externalRef: clip(`CHG-1234 ${FORGED_LINKS} ${MENTIONS}`, L.externalRef.max),
      ...(structural ? { structural: true, structuralReason: clip(`Structural ${tag}: ${repeatTo(`${MIXED} `, 2_000)}`, L.structuralReason.max), expiresOn: '2027-06-30' } : {}),
    };
  }
  const HOSTILE_RATIONALE = clip(`Rationale: ${repeatTo(`${MIXED} `, 4_000)}`, 2000);

  it('shows it as text in cards, modals, DMs, reminders, check-ins, the review, expiry, rejection and closing, and Slack takes every message', async () => {
    // EXC-0001: fast path, renewed, reminded, checked in, reviewed, expired.
    const a = hostileForm('A');
    const { response: requested } = await submitRequest(h, a);
    expect(requested.text).toBe('');
    for (const field of ['title', 'scope', 'justification', 'compensatingControls', 'affectedSystems', 'externalRef'] as const) {
      const column = { title: 'title', scope: 'scope', justification: 'justification', compensatingControls: 'compensating_controls', affectedSystems: 'affected_systems', externalRef: 'external_ref' }[field];
      expect(exceptionRow(1)[column], field).toBe(a[field]);
    }
    const rationale = await assessWith('EXC-0001', 2, 2, [LONG_3K, LONG_10K, `${HOSTILE_RATIONALE.slice(0, 100)} ${NUL}`, HOSTILE_RATIONALE]);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    expect(exceptionRow(1).status).toBe('active');
    expectShows(triageMessage(h, 'EXC-0001'), a.justification!, 'triage card justification');
    expectShows(triageMessage(h, 'EXC-0001'), a.compensatingControls!, 'triage card compensating control');
    expect(shown(triageMessage(h, 'EXC-0001')) + shown(decisionCard(h, 'EXC-0001'))).toContain(rationale.slice(0, 60));

    // EXC-0002: structural, to the committee, rejected with a hostile reason.
    await submitRequest(h, hostileForm('B', true));
    await assessWith('EXC-0002', 5, 5, [`${HOSTILE_RATIONALE.slice(0, 200)}\u0007`, HOSTILE_RATIONALE], PEOPLE.security2);
    const reason = await rejectWith(decisionCard(h, 'EXC-0002', CHANNELS.committee), PEOPLE.committee1, [
      repeatTo(`${MIXED} `, 3_500),
      LONG_10K,
      `Rejected ${NUL} because`,
      `Rejected ${CONTROLS} because`,
      clip(`Rejected: ${repeatTo(`${MIXED} `, 4_000)}`, 2000),
    ]);
    expect(exceptionRow(2).status).toBe('rejected');
    expectShows(decisionCard(h, 'EXC-0002', CHANNELS.committee), reason, 'committee card rejection reason');
    for (const person of [PEOPLE.requester, PEOPLE.owner]) {
      const dm = h.standIn.dmsTo(person).find((m) => m.text?.includes('EXC-0002') && m.text.includes('rejected'));
      expect(dm, `rejection DM to ${person}`).toBeDefined();
      expectShows(dm!, reason, `rejection DM to ${person}`);
    }

    // EXC-0003: approved, then closed with a hostile note.
    await submitRequest(h, hostileForm('C'));
    await assessWith('EXC-0003', 1, 2, [HOSTILE_RATIONALE]);
    await clickButton(h, decisionCard(h, 'EXC-0003'), ACTION_IDS.approve, PEOPLE.deputy);
    const note = await submitCloseNotes(PEOPLE.owner, 'EXC-0003', [LONG_10K, LONG_3K, `Fixed ${NUL} it`, 'too short', clip(`Remediated: ${repeatTo(`${MIXED} `, 4_000)}`, 2000)]);
    expect(exceptionRow(3)).toMatchObject({ status: 'closed', closing_note: note });

    // EXC-0004: never assessed, so it is nudged and escalated with its hostile title.
    await submitRequest(h, hostileForm('D'));

    // The register views, with all four in it.
    for (const person of [PEOPLE.requester, PEOPLE.owner, PEOPLE.security, PEOPLE.ciso, PEOPLE.committee1]) {
      await command(person, 'list');
      await command(person, 'list all');
      for (const ref of ['EXC-0001', 'EXC-0002', 'EXC-0003', 'EXC-0004']) await command(person, `show ${ref}`);
      await openHome(person);
    }
    const shownToRequester = await command(PEOPLE.requester, 'show EXC-0001');
    expectShows(shownToRequester.json as { blocks?: unknown; text?: string }, a.justification!, '/exception show justification');

    // Weeks pass: check-in, stalled-decision nudges and escalation, reminders, the quarterly review.
    for (const at of ['2026-11-30T10:00:00Z', '2026-12-04T10:00:00Z', '2026-12-26T10:00:00Z', '2027-01-02T10:00:00Z', '2027-01-05T10:00:00Z']) {
      h.clock.now = new Date(at);
      await h.runJobs();
    }
    const ownerDms = h.standIn.dmsTo(PEOPLE.owner);
    expect(ownerDms.some((m) => JSON.stringify(m.blocks).includes(ACTION_IDS.checkinYes)), 'a control check-in reached the owner').toBe(true);
    expect(ownerDms.some((m) => JSON.stringify(m.blocks).includes(ACTION_IDS.renew) && m.text?.includes('EXC-0001')), 'an expiry reminder reached the owner').toBe(true);
    expect(h.standIn.messages(CHANNELS.approvals).some((m) => m.threadTs && m.text?.includes('EXC-0004')), 'EXC-0004 was nudged in its thread').toBe(true);
    expect(h.standIn.messages(CHANNELS.committee).some((m) => JSON.stringify(m.blocks ?? []).includes('EXC-0004')), 'EXC-0004 was escalated to the committee').toBe(true);
    const review = h.standIn.messages(CHANNELS.committee).filter((m) => /quarterly review|active register/i.test(m.text ?? ''));
    expect(review.length, 'the quarterly review was posted').toBeGreaterThan(0);
    expect(review.some((m) => JSON.stringify(m.blocks ?? []).includes('EXC-0001')), 'the review lists EXC-0001').toBe(true);

    // Renewal of EXC-0001 with hostile progress and evidence.
    const renewal: RenewalFormValues = {
      progress: clip(`Progress: ${repeatTo(`${MIXED} `, 4_000)}`, 2000),
      percentComplete: '40',
      evidenceUrl: 'https://tickets.example.com/browse/CHG-1?a=1&b=2',
      controlTestedOn: '2027-01-02',
      expiresOn: '2027-03-01',
    };
    await submitRenewals(PEOPLE.owner, 'EXC-0001', [
      { form: { ...renewal, progress: LONG_10K }, refusedAt: RENEWAL_BLOCK_IDS.progress },
      { form: { ...renewal, progress: repeatTo(`${MIXED} `, 3_100) }, refusedAt: RENEWAL_BLOCK_IDS.progress },
      { form: { ...renewal, progress: `${renewal.progress.slice(0, 100)} ${NUL}` }, refusedAt: RENEWAL_BLOCK_IDS.progress },
      { form: { ...renewal, evidenceUrl: 'https://evil.example|click here' }, refusedAt: RENEWAL_BLOCK_IDS.evidenceUrl },
      { form: { ...renewal, evidenceUrl: 'https://tickets.example.com/<!channel>' }, refusedAt: RENEWAL_BLOCK_IDS.evidenceUrl },
      { form: { ...renewal, evidenceUrl: 'javascript:alert(document.cookie)' }, refusedAt: RENEWAL_BLOCK_IDS.evidenceUrl },
      { form: { ...renewal, evidenceUrl: `https://tickets.example.com/${'a'.repeat(3_000)}` }, refusedAt: RENEWAL_BLOCK_IDS.evidenceUrl },
      { form: { ...renewal, percentComplete: `40'; DROP TABLE renewals; --` }, refusedAt: RENEWAL_BLOCK_IDS.percentComplete },
      { form: { ...renewal, controlTestedOn: '2027-01-02<!channel>' }, refusedAt: RENEWAL_BLOCK_IDS.controlTestedOn },
      { form: renewal },
    ]);
    expect(h.app.register.sqlite.prepare('select progress, evidence_url from renewals').get()).toEqual({ progress: renewal.progress, evidence_url: renewal.evidenceUrl });
    await assessWith('EXC-0001', 2, 2, [HOSTILE_RATIONALE]);
    await clickButton(h, renewalDecisionCard(h, 'EXC-0001', 1), ACTION_IDS.approve, PEOPLE.deputy);
    expect(exceptionRow(1)).toMatchObject({ status: 'active', expires_on: '2027-03-01', renewal_count: 1 });
    const evidenceShown = [triageMessage(h, 'EXC-0001'), renewalDecisionCard(h, 'EXC-0001', 1)].map((m) => JSON.stringify(m.blocks)).join('');
    expect(evidenceShown, 'the evidence link is shown with & escaped').toContain('a=1&amp;b=2');
    expectShows(renewalDecisionCard(h, 'EXC-0001', 1), renewal.progress, 'renewal decision card progress');

    // It expires by itself: the expiry DMs and the sweep's summary carry the title.
    h.clock.now = new Date('2027-03-02T10:00:00Z');
    await h.runJobs();
    expect(exceptionRow(1).status).toBe('expired');
    expect(h.standIn.dmsTo(PEOPLE.owner).some((m) => m.text?.includes('EXC-0001') && /expired/i.test(m.text ?? '')), 'expiry DM to the owner').toBe(true);
    expect(h.standIn.messages(CHANNELS.approvals).some((m) => !m.threadTs && /expired/i.test(m.text ?? '') && JSON.stringify(m.blocks).includes('EXC-0001')), 'expiry summary').toBe(true);

    for (const person of [PEOPLE.requester, PEOPLE.owner, PEOPLE.committee1]) {
      await command(person, 'list all');
      await openHome(person);
    }
    expectAllAccepted();
    expectNoLiveMarkup();
  }, 60_000);
});

describe('hostile text in commands and shortcuts', () => {
  it('answers hostile slash command text with help or a refusal that Slack accepts, and changes nothing', async () => {
    await submitRequest(h, { title: `Stored ${MENTIONS}`.slice(0, 150) });
    const before = counts();
    const texts = [
      ...PAYLOADS.map(([, payload]) => payload),
      ...PAYLOADS.map(([, payload]) => `show ${payload}`),
      ...PAYLOADS.map(([, payload]) => `list ${payload}`),
      ...PAYLOADS.map(([, payload]) => `renew ${payload}`),
      ...PAYLOADS.map(([, payload]) => `close ${payload}`),
      ...PAYLOADS.map(([, payload]) => `show EXC-0001 ${payload}`),
      `show EXC-0001'; DROP TABLE exceptions; --`,
      'show EXC-0001 OR 1=1',
      'show EXC-99999999999999999999999',
      'show EXC-9007199254740993',
      'show EXC-0000',
      'show EXC--1',
      'show exc-0001',
      `request ${LONG_10K}`,
      `metrics ${MENTIONS}`,
      `export ${SQL}`,
      '\u0000',
      ' ',
    ];
    for (const commandText of texts) {
      const response = await command(PEOPLE.bystander, commandText);
      expect(response.status).toBe(200);
    }
    // The requester's own /exception show still works, with its stored title shown as text.
    const own = await command(PEOPLE.requester, 'show EXC-0001');
    expect(shown(own.json as { blocks?: unknown; text?: string })).toContain(`Stored ${MENTIONS}`.slice(0, 60));
    expect(counts()).toEqual(before);
    expectAllAccepted();
    expectNoLiveMarkup();
  }, 30_000);

  it('opens the request form from a hostile message, and the request made from it is shown as text', async () => {
    const HELP = 'C0HELPDESK';
    const messages = [
      LONG_10K,
      `can we skip MFA for the lab? ${MIXED}`,
      `${NUL} ${CONTROLS}`,
      BLOCK_JSON,
      repeatTo('👩🏽‍💻 ', 2_500),
      repeatTo('word <@U123> ', 1_000),
    ];
    for (const [i, messageText] of messages.entries()) {
      const seeded = h.standIn.seedMessage({ channel: HELP, user: PEOPLE.owner, text: messageText });
      const opened = h.standIn.callsTo('views.open').length;
      const response = await h.driver.messageShortcut({ userId: PEOPLE.requester, callbackId: SHORTCUT_IDS.requestFromMessage, message: { ts: seeded.ts, text: messageText, user: PEOPLE.owner }, channelId: HELP });
      expect(response.status).toBe(200);
      await h.settle();
      expect(h.standIn.callsTo('views.open').length, `message #${i}: the request form opened`).toBe(opened + 1);
      const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string; blocks: { block_id?: string; element?: { initial_value?: string } }[] };
      const initial = view.blocks.find((b) => b.block_id === REQUEST_BLOCK_IDS.justification)?.element?.initial_value ?? '';
      // The message starts the justification, as far as the field holds.
      expect(messageText.startsWith(initial), `message #${i}: the justification starts with the message`).toBe(true);

      // The requester submits what the form shows (plus a few words, for the short ones).
      const justification = initial.length <= 1_900 ? `${initial} and we need some time for the replacement project.` : initial;
      const beforeSubmit = counts();
      const submitted = await h.driver.viewSubmission({
        userId: PEOPLE.requester,
        callbackId: CALLBACK_IDS.request,
        viewId: view.id,
        privateMetadata: view.private_metadata,
        values: requestValues({ ...VALID_FORM, justification }),
      });
      await h.settle();
      if (isRefusal(submitted)) {
        expectFieldError(submitted, REQUEST_BLOCK_IDS.justification, `message #${i}`);
        const trimmed = justification.trim();
        const breaksARule = CONTROL.test(trimmed) || trimmed.length > REQUEST_TEXT_LIMITS.justification.max || trimmed.split(/\s+/).length < REQUEST_TEXT_LIMITS.justification.minWords;
        expect(breaksARule, `message #${i}: refused only for a rule of the form: ${JSON.stringify(submitted.json)}`).toBe(true);
        expect(counts()).toEqual(beforeSubmit);
        continue;
      }
      expect(submitted.text, `message #${i}`).toBe('');
      const id = counts().exceptions;
      const row = exceptionRow(id);
      expect(row.justification).toBe(justification.trim());
      expect(String(row.origin_permalink)).toMatch(/^https:\/\/stand-in\.slack\.com\/archives\/C0HELPDESK\//);
      expectShows(triageMessage(h, `EXC-${String(id).padStart(4, '0')}`), justification.trim(), `message #${i}: triage card`);
    }
    expect(counts().exceptions).toBeGreaterThanOrEqual(3);
    await openHome(PEOPLE.requester);
    await command(PEOPLE.requester, 'list');
    expectAllAccepted();
    expectNoLiveMarkup();
  }, 30_000);
});
