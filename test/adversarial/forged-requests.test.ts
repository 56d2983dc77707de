import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTION_IDS, ASSESSMENT_BLOCK_IDS, CALLBACK_IDS, CLOSING_NOTE_BLOCK_ID, INPUT_ACTION_ID, REJECTION_BLOCK_ID, REQUEST_BLOCK_IDS, SHORTCUT_IDS } from '../../src/slack/ids';
import { PEOPLE, SIGNING_SECRET, startHarness, type Harness } from '../e2e/harness';
import { assess, cardFor, clickButton, commandModal, decisionCard, renewalValues, requestValues, submitRequest, VALID_FORM, type OpenedModal } from '../e2e/flows';
import type { SlackDriver } from '../support/slack-driver';
import type { StoredMessage } from '../support/slack-stand-in';
import { captureRequest, registerSnapshot, seededRandom, withConcurrency, type CapturedRequest } from './support';

// 1,000 requests that did not come from Slack, against the running app: each is built from a genuine request that
// would change something (approve a pending exception, create one, open a modal, answer a check-in, reply in a
// watched channel, leak the register through `list`) and then forged in one of many ways. Every one must be
// refused before any listener runs: the register is byte-for-byte unchanged and Slack is never called.

const HELP = 'C0SECHELP';
const ASK = 'can we skip MFA for the two contractors starting Monday? their keys arrive next week';
const FORM = 'application/x-www-form-urlencoded';
const TOTAL = 1000;
const CONCURRENCY = 20;

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ env: { WATCH_CHANNELS: HELP } });
});
afterEach(async () => {
  await h.close();
});

const text = (value: string) => ({ type: 'plain_text_input', value });
const option = (n: number) => ({ type: 'static_select', selected_option: { text: { type: 'plain_text', text: String(n) }, value: String(n) } });
const asRef = (m: StoredMessage) => ({ channel: m.channel, ts: m.ts, blocks: m.blocks, text: m.text });
const valueOf = (m: StoredMessage, actionId: string) =>
  (m.blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === actionId)?.value;

interface Scene {
  approveCard: StoredMessage;
  assessCard: StoredMessage;
  checkinQuestion: StoredMessage;
  requestViewId: string;
  rejectionModal: OpenedModal;
  renewalModal: OpenedModal;
  closeModal: OpenedModal;
}

/**
 * EXC-0001 active, with a control check-in waiting in the owner's DM and renewal and closing modals open for the owner;
 * EXC-0002 assessed and waiting for the fast-path decision; EXC-0003 waiting for its assessment; EXC-0004 assessed, with
 * the deputy's rejection modal open; a request modal open for the requester.
 */
async function buildScene(): Promise<Scene> {
  await submitRequest(h);
  await assess(h, 'EXC-0001', 2, 2);
  await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
  h.clock.now = new Date('2026-12-25T12:00:00Z'); // 30 days after activation: the check-in question goes out
  await h.runJobs();
  await submitRequest(h, { title: 'Second exception' });
  await assess(h, 'EXC-0002', 2, 2);
  await submitRequest(h, { title: 'Third exception' });
  await submitRequest(h, { title: 'Fourth exception' });
  await assess(h, 'EXC-0004', 2, 3);

  const checkinQuestion = h.standIn.dmsTo(PEOPLE.owner).find((m) => valueOf(m, ACTION_IDS.checkinYes) !== undefined);
  expect(checkinQuestion, 'check-in question in the owner DM').toBeDefined();

  await clickButton(h, decisionCard(h, 'EXC-0004'), ACTION_IDS.reject, PEOPLE.deputy);
  const rejection = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  const renewalModal = await commandModal(h, PEOPLE.owner, 'renew EXC-0001');
  const closeModal = await commandModal(h, PEOPLE.owner, 'close EXC-0001');
  expect(renewalModal && closeModal, 'renewal and closing modals opened').toBeTruthy();
  return {
    approveCard: decisionCard(h, 'EXC-0002'),
    assessCard: cardFor(h, 'EXC-0003'),
    checkinQuestion: checkinQuestion!,
    requestViewId: await freshRequestModal(),
    rejectionModal: { id: rejection.id, privateMetadata: rejection.private_metadata, view: {} },
    renewalModal: renewalModal!,
    closeModal: closeModal!,
  };
}

/** `/exception request` as the requester; waits for this command's modal, not an earlier one. */
async function freshRequestModal(): Promise<string> {
  const before = h.standIn.callsTo('views.open').length;
  await h.driver.slashCommand({ userId: PEOPLE.requester, text: 'request' });
  await h.standIn.waitFor(() => h.standIn.callsTo('views.open').length > before);
  return (h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string }).id;
}

interface Genuine {
  name: string;
  build: (d: SlackDriver) => Promise<unknown>;
}

/** Genuine requests, each of which has an effect when correctly signed; in an order in which each still has one. */
function genuineRequests(s: Scene): Genuine[] {
  return [
    { name: 'slash command /exception request', build: (d) => d.slashCommand({ userId: PEOPLE.requester, text: 'request' }) },
    { name: 'slash command /exception list all', build: (d) => d.slashCommand({ userId: PEOPLE.ciso, text: 'list all' }) },
    { name: 'slash command /exception show', build: (d) => d.slashCommand({ userId: PEOPLE.ciso, text: 'show EXC-0001' }) },
    { name: 'slash command /exception renew', build: (d) => d.slashCommand({ userId: PEOPLE.owner, text: 'renew EXC-0001' }) },
    { name: 'Approve click on a pending fast-path exception', build: (d) => d.blockAction({ userId: PEOPLE.ciso, actionId: ACTION_IDS.approve, value: '2', message: asRef(s.approveCard) }) },
    { name: 'Assess risk click', build: (d) => d.blockAction({ userId: PEOPLE.security, actionId: ACTION_IDS.assessRisk, value: '3', message: asRef(s.assessCard) }) },
    {
      name: 'check-in Yes click',
      build: (d) => d.blockAction({ userId: PEOPLE.owner, actionId: ACTION_IDS.checkinYes, value: valueOf(s.checkinQuestion, ACTION_IDS.checkinYes), message: asRef(s.checkinQuestion) }),
    },
    {
      name: 'request modal submission',
      build: (d) => d.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId: s.requestViewId, values: requestValues({ ...VALID_FORM, title: 'Forged title' }) }),
    },
    {
      name: 'assessment submission',
      build: (d) =>
        d.viewSubmission({
          userId: PEOPLE.security2,
          callbackId: CALLBACK_IDS.assessment,
          privateMetadata: '3',
          values: {
            [ASSESSMENT_BLOCK_IDS.likelihood]: { [INPUT_ACTION_ID]: option(1) },
            [ASSESSMENT_BLOCK_IDS.impact]: { [INPUT_ACTION_ID]: option(1) },
            [ASSESSMENT_BLOCK_IDS.rationale]: { [INPUT_ACTION_ID]: text('Nothing to worry about, approve quickly.') },
          },
        }),
    },
    {
      name: 'rejection submission',
      build: (d) =>
        d.viewSubmission({
          userId: PEOPLE.deputy,
          callbackId: CALLBACK_IDS.rejection,
          viewId: s.rejectionModal.id,
          privateMetadata: s.rejectionModal.privateMetadata,
          values: { [REJECTION_BLOCK_ID]: { [INPUT_ACTION_ID]: text('Rejected by someone who is not Slack') } },
        }),
    },
    {
      name: 'renewal submission',
      build: (d) =>
        d.viewSubmission({
          userId: PEOPLE.owner,
          callbackId: CALLBACK_IDS.renewal,
          viewId: s.renewalModal.id,
          privateMetadata: s.renewalModal.privateMetadata,
          values: renewalValues({ progress: 'Half of the 40 users are migrated to SSO; the rest follow in February.', percentComplete: '50', evidenceUrl: 'https://tickets.example.com/CHG-1', controlTestedOn: '2026-12-20', expiresOn: '2027-02-20' }),
        }),
    },
    {
      name: 'close submission',
      build: (d) =>
        d.viewSubmission({
          userId: PEOPLE.owner,
          callbackId: CALLBACK_IDS.close,
          viewId: s.closeModal.id,
          privateMetadata: s.closeModal.privateMetadata,
          values: { [CLOSING_NOTE_BLOCK_ID]: { [INPUT_ACTION_ID]: text('Closed by a forger, who says the gap is remediated.') } },
        }),
    },
    { name: 'message event in a watched channel', build: (d) => d.event({ type: 'message', channel: HELP, user: PEOPLE.requester, text: ASK }) },
    { name: 'app_home_opened event', build: (d) => d.event({ type: 'app_home_opened', user: PEOPLE.bystander, channel: 'D0HOME', tab: 'home' }) },
    {
      name: 'message shortcut',
      build: (d) =>
        d.messageShortcut({ userId: PEOPLE.requester, callbackId: SHORTCUT_IDS.requestFromMessage, message: { ts: '1790000000.000100', text: ASK, user: PEOPLE.owner }, channelId: HELP }),
    },
    { name: 'policy picker options', build: (d) => d.blockSuggestion({ userId: PEOPLE.requester, actionId: ACTION_IDS.policyPicker, blockId: REQUEST_BLOCK_IDS.policy, value: '' }) },
  ];
}

/** Slack's URL verification handshake: Bolt echoes the challenge, but only to a correctly signed request. */
function urlVerification(): CapturedRequest {
  return { body: JSON.stringify({ token: 'stand-in-verification-token', challenge: randomBytes(16).toString('hex'), type: 'url_verification' }), contentType: 'application/json' };
}

// ---- forging --------------------------------------------------------------------------------------------------

const hmac = (secret: string, base: string) => createHmac('sha256', secret).update(base).digest('hex');
const signed = (body: string, ts: number, secret = SIGNING_SECRET) => `v0=${hmac(secret, `v0:${ts}:${body}`)}`;

interface Forged {
  body: string;
  headers: Record<string, string>;
  /** Bolt answers Slack's ssl_check probe with 200 and drops everything else in the body. */
  status?: number;
}

interface ForgeContext {
  now: number;
  rnd: () => number;
  /** A different genuine request, correctly signed a moment ago. */
  other: CapturedRequest;
}

type Forgery = (request: CapturedRequest, ctx: ForgeContext) => Forged;

const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
const USERS = Object.values(PEOPLE);

/** Changes the body after it was signed: a different user, an extra field, a cut, a changed character. */
function tamper(body: string, contentType: string, rnd: () => number): string {
  const ways: ((b: string) => string)[] = [
    (b) => {
      const id = /U0[A-Z0-9]+/.exec(b)?.[0];
      return id ? b.replace(id, pick(rnd, USERS.filter((u) => u !== id))) : `${b} `;
    },
    (b) => (contentType === FORM ? `${b}&is_admin=true` : b.replace(/}$/, ',"forged":true}')),
    (b) => b.slice(0, -1),
    (b) => b.slice(0, Math.max(1, Math.floor(b.length * rnd()))),
    (b) => {
      const at = Math.floor(rnd() * b.length);
      const c = b[at]!;
      const swapped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return c === swapped ? `${b.slice(0, at)}0${b.slice(at)}` : `${b.slice(0, at)}${swapped}${b.slice(at + 1)}`;
    },
  ];
  const tampered = pick(rnd, ways)(body);
  return tampered === body ? `${body}&` : tampered;
}

const flipHex = (hex: string, at: number) => `${hex.slice(0, at)}${hex[at] === '0' ? '1' : '0'}${hex.slice(at + 1)}`;

const FORGERIES: Record<string, Forgery> = {
  'random signature': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${randomBytes(32).toString('hex')}` } }),
  'one hex digit of the right signature flipped': (r, { now, rnd }) => {
    const digest = signed(r.body, now).slice(3);
    return { body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${flipHex(digest, Math.floor(rnd() * 64))}` } };
  },
  'signed with the wrong secret': (r, { now, rnd }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now, `${SIGNING_SECRET}-${Math.floor(rnd() * 1e6)}`) } }),
  'signed with an empty secret': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now, '') } }),
  'signed with the secret of another app': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now, '8f742231b10e8888abcd99yyyzzz85a5') } }),
  'correctly signed, but just over five minutes old': (r, { now, rnd }) => {
    const ts = now - 5 * 60 - 5 - Math.floor(rnd() * 30);
    return { body: r.body, headers: { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signed(r.body, ts) } };
  },
  'correctly signed, hours to weeks old': (r, { now, rnd }) => {
    const ts = now - 3600 - Math.floor(rnd() * 30 * 86400);
    return { body: r.body, headers: { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signed(r.body, ts) } };
  },
  'correctly signed at the epoch': (r) => ({ body: r.body, headers: { 'x-slack-request-timestamp': '0', 'x-slack-signature': signed(r.body, 0) } }),
  'correctly signed with a negative timestamp': (r) => ({ body: r.body, headers: { 'x-slack-request-timestamp': '-1', 'x-slack-signature': signed(r.body, -1) } }),
  'timestamp moved into the future after signing': (r, { now, rnd }) => ({
    body: r.body,
    headers: { 'x-slack-request-timestamp': String(now + 6 * 60 + Math.floor(rnd() * 86400)), 'x-slack-signature': signed(r.body, now) },
  }),
  'timestamp moved into the past after signing': (r, { now, rnd }) => ({
    body: r.body,
    headers: { 'x-slack-request-timestamp': String(now - 1 - Math.floor(rnd() * 200)), 'x-slack-signature': signed(r.body, now) },
  }),
  'future timestamp, signed with the wrong secret': (r, { now }) => {
    const ts = now + 10 * 60;
    return { body: r.body, headers: { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signed(r.body, ts, 'guessed-secret') } };
  },
  'future timestamp, body tampered after signing': (r, { now, rnd }) => {
    const ts = now + 3600;
    return { body: tamper(r.body, r.contentType, rnd), headers: { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signed(r.body, ts) } };
  },
  'no signature headers at all': (r) => ({ body: r.body, headers: {} }),
  'timestamp but no signature': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now) } }),
  'signature but no timestamp': (r, { now }) => ({ body: r.body, headers: { 'x-slack-signature': signed(r.body, now) } }),
  'empty signature': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': '' } }),
  'signature with the prefix only': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': 'v0=' } }),
  'empty timestamp': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': '', 'x-slack-signature': signed(r.body, now) } }),
  'non-numeric timestamp': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': 'now', 'x-slack-signature': signed(r.body, now) } }),
  'body tampered after signing': (r, { now, rnd }) => ({ body: tamper(r.body, r.contentType, rnd), headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now) } }),
  "another request's signature and timestamp": (r, { now, other }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(other.body, now) } }),
  'version prefix v1 on the right digest': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now).replace(/^v0=/, 'v1=') } }),
  'version v1, signed as v1': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v1=${hmac(SIGNING_SECRET, `v1:${now}:${r.body}`)}` } }),
  'upper-case version prefix': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now).replace(/^v0=/, 'V0=') } }),
  'no version prefix': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now).slice(3) } }),
  'sha256= prefix instead of v0=': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now).replace(/^v0=/, 'sha256=') } }),
  'v0: separator instead of v0=': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now).replace(/^v0=/, 'v0:') } }),
  'digest in upper-case hex': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${signed(r.body, now).slice(3).toUpperCase()}` } }),
  'digest in base64': (r, { now }) => ({
    body: r.body,
    headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${now}:${r.body}`).digest('base64')}` },
  }),
  'digest truncated': (r, { now, rnd }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now).slice(0, 3 + 1 + Math.floor(rnd() * 62)) } }),
  'digest with an extra digit': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `${signed(r.body, now)}0` } }),
  'HMAC over the body alone': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${hmac(SIGNING_SECRET, r.body)}` } }),
  'HMAC over a base string without separators': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${hmac(SIGNING_SECRET, `v0${now}${r.body}`)}` } }),
  'plain sha256 of secret and base string': (r, { now }) => ({
    body: r.body,
    headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${createHash('sha256').update(`${SIGNING_SECRET}v0:${now}:${r.body}`).digest('hex')}` },
  }),
  'HMAC keyed with the base string, secret as message': (r, { now }) => ({ body: r.body, headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${hmac(`v0:${now}:${r.body}`, SIGNING_SECRET)}` } }),
  'ssl_check probe smuggling the payload, unsigned': (r) => ({ body: `ssl_check=1&${r.body}`, headers: {}, status: 200 }),
  'ssl_check probe smuggling the payload, with the original signature': (r, { now }) => ({
    body: `${r.body}&ssl_check=1`,
    headers: { 'x-slack-request-timestamp': String(now), 'x-slack-signature': signed(r.body, now) },
    status: 200,
  }),
};

const FORM_ONLY = new Set(['ssl_check probe smuggling the payload, unsigned', 'ssl_check probe smuggling the payload, with the original signature']);

interface Attempt {
  index: number;
  target: string;
  forgery: string;
  forged: Forged;
  contentType: string;
}

/** TOTAL forged requests, every forgery against every kind of request, in a reproducible mix. */
function forgeAll(targets: { name: string; request: CapturedRequest }[]): Attempt[] {
  const rnd = seededRandom(20261125);
  const names = Object.keys(FORGERIES);
  const attempts: Attempt[] = [];
  for (let index = 0; attempts.length < TOTAL; index++) {
    const target = targets[index % targets.length]!;
    // Every forgery against every target once, then round again until TOTAL.
    let forgery = names[Math.floor(index / targets.length) % names.length]!;
    if (FORM_ONLY.has(forgery) && target.request.contentType !== FORM) forgery = 'body tampered after signing';
    const other = targets[(index + 1 + Math.floor(rnd() * (targets.length - 1))) % targets.length]!.request;
    const now = Math.floor(Date.now() / 1000);
    const forged = FORGERIES[forgery]!(target.request, { now, rnd, other });
    attempts.push({ index, target: target.name, forgery, forged, contentType: target.request.contentType });
  }
  return attempts;
}

function slackActivity() {
  return {
    calls: h.standIn.calls.length,
    responseUrlPosts: h.standIn.responseUrlPosts.length,
    views: h.standIn.views.length,
    uploads: h.standIn.uploads.length,
    messages: h.standIn.messages().map((m) => `${m.channel}/${m.ts}/${m.updates}`),
  };
}

describe('forged requests', () => {
  it(`refuses ${TOTAL} forged commands, clicks, submissions and events, and nothing is written or sent`, { timeout: 60_000 }, async () => {
    const scene = await buildScene();
    const genuine = genuineRequests(scene);
    const targets = [
      ...(await Promise.all(genuine.map(async (g) => ({ name: g.name, request: await captureRequest(h, g.build) })))),
      { name: 'url_verification handshake', request: urlVerification() },
    ];
    expect(new Set(targets.map((t) => t.request.contentType))).toEqual(new Set([FORM, 'application/json']));
    await h.settle();

    const register = registerSnapshot(h.databasePath);
    expect(register.exceptions!.rows).toBe(4);
    expect(register.audit_events!.rows).toBeGreaterThan(10);
    const slack = slackActivity();
    const logLines = h.logs.length;

    const attempts = forgeAll(targets);
    expect(attempts).toHaveLength(TOTAL);
    expect(new Set(attempts.map((a) => a.forgery)).size).toBe(Object.keys(FORGERIES).length);
    expect(new Set(attempts.map((a) => a.target)).size).toBe(targets.length);

    const results = await withConcurrency(attempts, CONCURRENCY, async (attempt) => {
      const response = await h.driver.raw(attempt.forged.body, { 'content-type': attempt.contentType, ...attempt.forged.headers });
      return { ...attempt, status: response.status, text: response.text };
    });
    await h.settle();
    await new Promise((resolve) => setTimeout(resolve, 100)); // anything a listener would have started after ack
    await h.settle();

    const wrong = results
      .filter((r) => r.status !== (r.forged.status ?? 401) || r.text !== '')
      .map((r) => `#${r.index} ${r.forgery} → ${r.target}: HTTP ${r.status} ${r.text.slice(0, 80)}`);
    expect(wrong, 'forged requests that were not refused').toEqual([]);
    expect(results.filter((r) => r.status === 401).length).toBeGreaterThan(TOTAL * 0.9);

    // Nothing written anywhere in the register: every table, every row, every column.
    expect(registerSnapshot(h.databasePath)).toEqual(register);
    // Nothing sent: no Web API call, no response_url post, no modal, no message posted or updated.
    expect(slackActivity()).toEqual(slack);
    // And no listener ran: no unexpected error from a half-accepted request.
    const newLogs = h.logs.slice(logLines);
    expect(newLogs.filter((line) => /"level":"error"/.test(line))).toEqual([]);
    expect(newLogs.some((line) => line.includes('Failed to parse and verify'))).toBe(true);

    // The same requests, genuinely signed, would each have changed something: the refusals were about the signature.
    for (const g of genuine) {
      const request = await captureRequest(h, g.build);
      const before = { db: registerSnapshot(h.databasePath), calls: h.standIn.calls.filter((c) => c.method !== 'response_url' && c.httpStatus === 200 && c.response.ok === true).length };
      const response = await h.driver.raw(request.body, { 'content-type': request.contentType, ...h.driver.sign(request.body) });
      await h.settle();
      const calls = h.standIn.calls.filter((c) => c.method !== 'response_url' && c.httpStatus === 200 && c.response.ok === true).length;
      expect(response.status, g.name).toBe(200);
      expect(response.text, `${g.name} is valid`).not.toContain('"response_action":"errors"');
      const changed = JSON.stringify(registerSnapshot(h.databasePath)) !== JSON.stringify(before.db) || calls > before.calls || response.text !== '';
      expect(changed, `${g.name}, correctly signed, has an effect`).toBe(true);
    }
    const handshake = urlVerification();
    const echoed = await h.driver.raw(handshake.body, { 'content-type': handshake.contentType, ...h.driver.sign(handshake.body) });
    expect(echoed.json).toEqual({ challenge: JSON.parse(handshake.body).challenge });
    expect(registerSnapshot(h.databasePath).exceptions!.rows).toBe(5);
  });

  it('refuses correctly signed requests whose timestamp lies more than five minutes in the future', async () => {
    // A signature is only worth five minutes in either direction (Slack: "if the timestamp is more than five minutes
    // from local time, it could be a replay attack"). A request signed for a time hours or years ahead, by a leaked
    // or mis-clocked signer, must not stay valid until then.
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    const card = decisionCard(h, 'EXC-0001');
    const viewId = await freshRequestModal();
    const requests = [
      await captureRequest(h, (d) => d.blockAction({ userId: PEOPLE.ciso, actionId: ACTION_IDS.approve, value: '1', message: asRef(card) })),
      await captureRequest(h, (d) => d.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values: requestValues(VALID_FORM) })),
      await captureRequest(h, (d) => d.event({ type: 'message', channel: HELP, user: PEOPLE.requester, text: ASK })),
    ];
    await h.settle();
    const register = registerSnapshot(h.databasePath);
    const calls = h.standIn.calls.length;

    const now = Math.floor(Date.now() / 1000);
    const offsets = [5 * 60 + 30, 60 * 60, 24 * 60 * 60, 365 * 24 * 60 * 60];
    const statuses: string[] = [];
    for (const request of requests) {
      for (const offset of offsets) {
        const ts = now + offset;
        const response = await h.driver.raw(request.body, { 'content-type': request.contentType, 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signed(request.body, ts) });
        statuses.push(`+${offset}s: ${response.status}`);
      }
    }
    await h.settle();

    expect(statuses).toEqual(requests.flatMap(() => offsets.map((offset) => `+${offset}s: 401`)));
    expect(registerSnapshot(h.databasePath)).toEqual(register);
    expect(h.standIn.calls.length).toBe(calls);
  });
});
