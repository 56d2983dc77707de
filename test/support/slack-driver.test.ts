import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import { App, LogLevel } from '@slack/bolt';
import { startSlackStandIn, type SlackStandIn } from './slack-stand-in.js';
import { createSlackDriver, type SlackDriver } from './slack-driver.js';
import { button, modal, plain, section } from './block-kit-cases.js';

const SECRET = 'test-signing-secret';
const ALICE = { id: 'U0ALICE', name: 'alice' };

interface Received { headers: IncomingHttpHeaders; body: string; signatureValid: boolean }

/** A stand-in for the app: verifies Slack's signature itself and records what arrived. */
async function startReceiver(): Promise<{ url: string; received: Received[]; reply: { status: number; body: string }; close(): Promise<void> }> {
  const received: Received[] = [];
  const reply = { status: 200, body: '' };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-slack-request-timestamp'] ?? '');
      const expected = Buffer.from(`v0=${createHmac('sha256', SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`);
      const actual = Buffer.from(String(req.headers['x-slack-signature'] ?? ''));
      const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
      const signatureValid = fresh && actual.length === expected.length && timingSafeEqual(actual, expected);
      received.push({ headers: req.headers, body, signatureValid });
      if (!signatureValid) {
        res.writeHead(401).end('invalid signature');
        return;
      }
      res.writeHead(reply.status, { 'content-type': reply.body.startsWith('{') ? 'application/json' : 'text/plain' }).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/slack/events`,
    received,
    reply,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const form = (r: Received) => Object.fromEntries(new URLSearchParams(r.body));
const payloadOf = (r: Received) => JSON.parse(form(r).payload ?? 'null');

/** The i-th item, failing loudly instead of yielding undefined. */
function nth<T>(list: readonly T[], i = 0): T {
  const item = list[i];
  if (item === undefined) throw new Error(`expected at least ${i + 1} item(s), got ${list.length}`);
  return item;
}

let standIn: SlackStandIn;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let driver: SlackDriver;
let slack: WebClient;

beforeAll(async () => {
  standIn = await startSlackStandIn({ users: [ALICE] });
  receiver = await startReceiver();
  driver = createSlackDriver({ appUrl: receiver.url, signingSecret: SECRET, standIn });
  slack = new WebClient(standIn.botToken, { slackApiUrl: standIn.url, retryConfig: { retries: 0 } });
});
afterAll(async () => {
  await receiver.close();
  await standIn.close();
});
beforeEach(() => {
  standIn.reset();
  receiver.received.length = 0;
  receiver.reply.status = 200;
  receiver.reply.body = '';
});

describe('signing', () => {
  it('signs v0:timestamp:body with HMAC-SHA256', () => {
    const headers = driver.sign('a=b', 1_700_000_000);
    const digest = createHmac('sha256', SECRET).update('v0:1700000000:a=b').digest('hex');
    expect(headers).toEqual({ 'x-slack-signature': `v0=${digest}`, 'x-slack-request-timestamp': '1700000000' });
  });

  it('raw() sends forged requests untouched', async () => {
    const good = driver.sign('x=1');
    const res = await driver.raw('x=2', { 'content-type': 'application/x-www-form-urlencoded', ...good });
    expect(res.status).toBe(401);
    expect(nth(receiver.received)).toMatchObject({ body: 'x=2', signatureValid: false });
  });

  it('adds retry headers when asked', async () => {
    await driver.event({ type: 'app_home_opened', user: ALICE.id, tab: 'home' }, { retryNum: 2 });
    expect(nth(receiver.received).headers).toMatchObject({ 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' });
    await driver.event({ type: 'app_home_opened', user: ALICE.id, tab: 'home' });
    expect(nth(receiver.received, 1).headers['x-slack-retry-num']).toBeUndefined();
  });
});

describe('slash commands', () => {
  it('are form-encoded with every field Slack sends', async () => {
    receiver.reply.body = '{"response_type":"ephemeral","text":"ok"}';
    const res = await driver.slashCommand({ userId: ALICE.id, text: 'show EXC-12 & more', channelId: 'C0APPROVALS' });
    const req = nth(receiver.received);
    expect(req.signatureValid).toBe(true);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.body).toContain('command=%2Fexception');
    expect(req.body).toContain('text=show+EXC-12+%26+more');
    expect(form(req)).toEqual({
      token: expect.any(String), team_id: standIn.teamId, team_domain: 'stand-in', channel_id: 'C0APPROVALS', channel_name: 'c0approvals',
      user_id: ALICE.id, user_name: 'alice', command: '/exception', text: 'show EXC-12 & more', api_app_id: standIn.appId,
      is_enterprise_install: 'false', response_url: res.responseUrl, trigger_id: res.triggerId,
    });
    expect(res).toMatchObject({ status: 200, json: { response_type: 'ephemeral', text: 'ok' } });
  });

  it('hand out a live trigger_id and response_url', async () => {
    const res = await driver.slashCommand({ userId: ALICE.id, text: 'request' });
    const opened = await slack.views.open({ trigger_id: res.triggerId, view: modal() as never });
    expect(nth(standIn.views)).toMatchObject({ id: opened.view?.id, userId: ALICE.id });
    await fetch(res.responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' });
    expect(standIn.responseUrlPosts).toEqual([{ userId: 'U0ALICE', url: res.responseUrl, body: { text: 'hi' } }]);
  });
});

describe('block actions', () => {
  it('on a stored message: Slack payload built from the real button', async () => {
    const blocks = [section('EXC-1'), { type: 'actions', block_id: 'decide', elements: [button({ action_id: 'approve', value: 'EXC-1', style: 'primary' })] }];
    const posted = await slack.chat.postMessage({ channel: 'C0APPROVALS', text: 'EXC-1', blocks });
    const res = await driver.blockAction({ userId: ALICE.id, actionId: 'approve', message: { channel: 'C0APPROVALS', ts: posted.ts! } });
    const req = nth(receiver.received);
    expect(req.signatureValid).toBe(true);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.keys(form(req))).toEqual(['payload']);
    const payload = payloadOf(req);
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: ALICE.id, username: 'alice', team_id: standIn.teamId },
      team: { id: standIn.teamId },
      container: { type: 'message', message_ts: posted.ts, channel_id: 'C0APPROVALS', is_ephemeral: false },
      channel: { id: 'C0APPROVALS' },
      message: { ts: posted.ts, text: 'EXC-1', bot_id: standIn.botId, user: standIn.botUserId, blocks },
      trigger_id: res.triggerId,
      response_url: res.responseUrl,
    });
    expect(payload.actions).toEqual([{
      type: 'button', action_id: 'approve', block_id: 'decide', value: 'EXC-1', style: 'primary', text: plain('Approve'), action_ts: expect.stringMatching(/^\d+\.\d{6}$/),
    }]);

    // The response_url is tied to the message, so replace_original updates it.
    await fetch(res.responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replace_original: true, text: 'Approved' }) });
    expect(nth(standIn.messages('C0APPROVALS'))).toMatchObject({ text: 'Approved', updates: 1 });
  });

  it('refuse to click a button that is not in the stored message', async () => {
    const posted = await slack.chat.postMessage({ channel: 'C0APPROVALS', text: 'x', blocks: [section()] });
    await expect(driver.blockAction({ userId: ALICE.id, actionId: 'approve', message: { channel: 'C0APPROVALS', ts: posted.ts! } }))
      .rejects.toThrow(/no element with action_id "approve"/);
    const stale = [{ type: 'actions', block_id: 'old', elements: [button()] }];
    await driver.blockAction({ userId: ALICE.id, actionId: 'approve', message: { channel: 'C0APPROVALS', ts: posted.ts!, blocks: stale } });
    expect(payloadOf(nth(receiver.received)).actions[0]).toMatchObject({ action_id: 'approve', block_id: 'old' });
  });

  it('inside a modal: carry the view, no response_url', async () => {
    const opened = await slack.views.open({
      trigger_id: standIn.issueTriggerId({ userId: ALICE.id }),
      view: modal({ private_metadata: 'EXC-3', blocks: [{ type: 'actions', block_id: 'b', elements: [{ type: 'static_select', action_id: 'risk', options: [{ text: plain('High'), value: 'high' }] }] }] }) as never,
    });
    const res = await driver.blockAction({ userId: ALICE.id, actionId: 'risk', value: 'high', view: { id: opened.view!.id! } });
    const payload = payloadOf(nth(receiver.received));
    expect(payload).toMatchObject({ container: { type: 'view', view_id: opened.view!.id }, view: { id: opened.view!.id, callback_id: 'request', private_metadata: 'EXC-3' } });
    expect(payload.response_url).toBeUndefined();
    expect(res.responseUrl).toBe('');
    expect(payload.actions[0]).toMatchObject({ type: 'static_select', block_id: 'b', selected_option: { text: plain('High'), value: 'high' } });
    // The trigger remembers the view, so views.push stacks on it.
    await slack.views.push({ trigger_id: res.triggerId, view: modal() as never });
    expect(nth(standIn.views, 1).view.root_view_id).toBe(opened.view!.id);
  });
});

describe('view submissions and suggestions', () => {
  const values = {
    title: { value: { type: 'plain_text_input', value: 'Build bots skip MFA' } },
    owner: { value: { type: 'users_select', selected_user: ALICE.id } },
    expiry: { value: { type: 'datepicker', selected_date: '2026-12-01' } },
  };

  it('wrap state values in the view Slack knows', async () => {
    const opened = await slack.views.open({ trigger_id: standIn.issueTriggerId({ userId: ALICE.id }), view: modal({ private_metadata: 'C0GENERAL' }) as never });
    receiver.reply.body = '{"response_action":"errors","errors":{"expiry":"Too far"}}';
    const res = await driver.viewSubmission({ userId: ALICE.id, callbackId: 'request', values });
    const payload = payloadOf(nth(receiver.received));
    expect(payload).toMatchObject({
      type: 'view_submission', user: { id: ALICE.id }, team: { id: standIn.teamId }, response_urls: [],
      view: { id: opened.view!.id, callback_id: 'request', private_metadata: 'C0GENERAL', state: { values }, hash: opened.view!.hash },
    });
    expect(res.json).toEqual({ response_action: 'errors', errors: { expiry: 'Too far' } });
  });

  it('work without a stored view and honour overrides', async () => {
    await driver.viewSubmission({ userId: ALICE.id, callbackId: 'renew', privateMetadata: '{"id":7}', values: {}, viewId: 'V0GIVEN' });
    expect(payloadOf(nth(receiver.received)).view).toMatchObject({ id: 'V0GIVEN', type: 'modal', callback_id: 'renew', private_metadata: '{"id":7}', state: { values: {} } });
  });

  it('block_suggestion carries the typed value', async () => {
    receiver.reply.body = '{"options":[{"text":{"type":"plain_text","text":"MFA-01"},"value":"MFA-01"}]}';
    const res = await driver.blockSuggestion({ userId: ALICE.id, actionId: 'value', blockId: 'policy', value: 'mfa', viewCallbackId: 'request' });
    expect(payloadOf(nth(receiver.received))).toMatchObject({ type: 'block_suggestion', action_id: 'value', block_id: 'policy', value: 'mfa', view: { callback_id: 'request' }, container: { type: 'view' } });
    expect(res.json.options[0].value).toBe('MFA-01');
  });
});

describe('events and shortcuts', () => {
  it('events are JSON event_callbacks and seed the message for threading', async () => {
    await driver.event({ type: 'message', channel: 'C0WATCHED', user: ALICE.id, text: 'can I skip MFA?' }, { eventId: 'Ev0001' });
    const req = nth(receiver.received);
    expect(req.headers['content-type']).toBe('application/json');
    const envelope = JSON.parse(req.body);
    expect(envelope).toMatchObject({
      type: 'event_callback', team_id: standIn.teamId, api_app_id: standIn.appId, event_id: 'Ev0001', event_time: expect.any(Number),
      authorizations: [{ user_id: standIn.botUserId, is_bot: true }],
      event: { type: 'message', channel: 'C0WATCHED', channel_type: 'channel', user: ALICE.id, text: 'can I skip MFA?' },
    });
    expect(envelope.event.event_ts).toBe(envelope.event.ts);
    await slack.chat.postMessage({ channel: 'C0WATCHED', thread_ts: envelope.event.ts, text: 'Use /exception request' });
    expect(standIn.messages('C0WATCHED').map((m) => m.user)).toEqual([ALICE.id, standIn.botUserId]);
  });

  it('message shortcuts are message_action payloads', async () => {
    const message = { ts: '1732530000.000100', text: 'can we skip the pentest?', user: ALICE.id };
    const res = await driver.messageShortcut({ userId: ALICE.id, callbackId: 'request_from_message', message, channelId: 'C0GENERAL' });
    expect(payloadOf(nth(receiver.received))).toEqual(expect.objectContaining({
      type: 'message_action', callback_id: 'request_from_message', trigger_id: res.triggerId, message_ts: message.ts,
      message: expect.objectContaining(message), channel: { id: 'C0GENERAL', name: 'c0general' }, user: expect.objectContaining({ id: ALICE.id }),
    }));
    expect(nth(standIn.messages('C0GENERAL'))).toMatchObject({ ts: message.ts, user: ALICE.id });
  });
});

describe('against a real Bolt app', () => {
  let app: App;
  let server: Server;
  let bolt: SlackDriver;
  const seen: string[] = [];

  beforeAll(async () => {
    app = new App({
      token: standIn.botToken,
      signingSecret: SECRET,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: standIn.url, retryConfig: { retries: 0 } },
    });
    app.command('/exception', async ({ ack, command, client }) => {
      await ack();
      seen.push(`command:${command.text}`);
      await client.views.open({ trigger_id: command.trigger_id, view: modal() as never });
    });
    app.action('approve', async ({ ack, body, respond }) => {
      await ack();
      seen.push(`action:${body.type}`);
      await respond({ replace_original: true, text: 'Approved' });
    });
    app.view('request', async ({ ack, view }) => {
      seen.push(`view:${view.state.values.title?.value?.value}`);
      await ack({ response_action: 'errors', errors: { title: 'Too short' } });
    });
    app.options<'block_suggestion'>({ action_id: 'value' }, async ({ ack, payload }) => {
      await ack({ options: [{ text: { type: 'plain_text', text: payload.value.toUpperCase() }, value: payload.value }] });
    });
    app.shortcut('request_from_message', async ({ ack, shortcut }) => {
      await ack();
      seen.push(`shortcut:${shortcut.type}`);
    });
    app.message(/skip/, async ({ message, say }) => {
      if ('ts' in message) await say({ text: 'Please use /exception request', thread_ts: message.ts });
    });
    server = (await app.start(0)) as Server;
    const { port } = server.address() as AddressInfo;
    bolt = createSlackDriver({ appUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SECRET, standIn });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await app.stop();
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it('routes every kind of request and lets the app use triggers and response_urls', async () => {
    expect((await bolt.slashCommand({ userId: ALICE.id, text: 'request' })).status).toBe(200);
    await standIn.waitFor(() => standIn.callsTo('views.open').length === 1);

    const posted = await slack.chat.postMessage({ channel: 'C0APPROVALS', text: 'EXC-1', blocks: [{ type: 'actions', elements: [button()] }] as never });
    expect((await bolt.blockAction({ userId: ALICE.id, actionId: 'approve', message: { channel: 'C0APPROVALS', ts: posted.ts! } })).status).toBe(200);
    await standIn.waitFor(() => nth(standIn.messages('C0APPROVALS'))?.text === 'Approved');

    const submitted = await bolt.viewSubmission({ userId: ALICE.id, callbackId: 'request', values: { title: { value: { type: 'plain_text_input', value: 'x' } } } });
    expect(submitted.json).toEqual({ response_action: 'errors', errors: { title: 'Too short' } });

    const suggested = await bolt.blockSuggestion({ userId: ALICE.id, actionId: 'value', blockId: 'policy', value: 'mfa' });
    expect(suggested.json.options[0]).toEqual({ text: { type: 'plain_text', text: 'MFA' }, value: 'mfa' });

    const message = { ts: '1732530000.000200', text: 'skip it?', user: ALICE.id };
    expect((await bolt.messageShortcut({ userId: ALICE.id, callbackId: 'request_from_message', message, channelId: 'C0GENERAL' })).status).toBe(200);

    expect((await bolt.event({ type: 'message', channel: 'C0WATCHED', user: ALICE.id, text: 'may I skip MFA?' })).status).toBe(200);
    await standIn.waitFor(() => standIn.messages('C0WATCHED').length === 2);

    expect(seen).toEqual(['command:request', 'action:block_actions', 'view:x', 'shortcut:message_action']);
    expect(nth(standIn.messages('C0WATCHED'), 1)).toMatchObject({ user: standIn.botUserId, threadTs: nth(standIn.messages('C0WATCHED')).ts });
    expect(standIn.rejected()).toEqual([]);
  });

  it('rejects a tampered or stale signature', async () => {
    const body = 'command=%2Fexception&text=list&user_id=U0ALICE';
    expect((await bolt.raw(body, { 'content-type': 'application/x-www-form-urlencoded', ...bolt.sign(`${body}x`) })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 10 * 60;
    expect((await bolt.raw(body, { 'content-type': 'application/x-www-form-urlencoded', ...bolt.sign(body, stale) })).status).toBe(401);
    expect(seen).toEqual([]);
  });
});
