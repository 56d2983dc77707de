import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebClient, type Logger, LogLevel } from '@slack/web-api';
import { startSlackStandIn, type SlackStandIn } from './slack-stand-in.js';
import { LIMIT_CASES, home, modal, plain, section } from './block-kit-cases.js';

const ALICE = { id: 'U0ALICE', name: 'alice', realName: 'Alice Doe', tz: 'Europe/Paris' };
const GONE = { id: 'U0GONE', name: 'gone', deleted: true };
const CHANNEL = 'C0APPROVALS';

// Refusals carry [ERROR] messages that WebClient would log; keep test output clean.
const silent: Logger = {
  debug: () => {}, info: () => {}, warn: () => {}, error: () => {},
  setLevel: () => {}, getLevel: () => LogLevel.ERROR, setName: () => {},
};

/** The i-th item, failing loudly instead of yielding undefined. */
function nth<T>(list: readonly T[], i = 0): T {
  const item = list[i];
  if (item === undefined) throw new Error(`expected at least ${i + 1} item(s), got ${list.length}`);
  return item;
}

let standIn: SlackStandIn;
let slack: WebClient;

const client = (token?: string) =>
  new WebClient(token, { slackApiUrl: standIn.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: silent });

/** Resolves to Slack's `error` code of a refused call. */
async function slackError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return String((error as { data?: { error?: string } }).data?.error ?? (error as Error).message);
  }
  throw new Error('expected the call to be refused');
}

beforeAll(async () => {
  standIn = await startSlackStandIn({ users: [ALICE, GONE] });
  slack = client(standIn.botToken);
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());
afterEach(() => vi.useRealTimers());

describe('valid calls succeed and are recorded', () => {
  it('auth.test identifies the bot and records the token', async () => {
    const res = await slack.auth.test();
    expect(res).toMatchObject({ ok: true, user_id: standIn.botUserId, team_id: standIn.teamId, bot_id: standIn.botId });
    expect(standIn.calls).toHaveLength(1);
    expect(nth(standIn.calls)).toMatchObject({ method: 'auth.test', token: standIn.botToken, httpStatus: 200 });
  });

  it('chat.postMessage stores the message with increasing ts and decoded blocks', async () => {
    const blocks = [section('*EXC-1* needs a decision')];
    const first = await slack.chat.postMessage({ channel: CHANNEL, text: 'EXC-1', blocks });
    const second = await slack.chat.postMessage({ channel: CHANNEL, text: 'EXC-2' });
    expect(first).toMatchObject({ ok: true, channel: CHANNEL, message: { text: 'EXC-1', bot_id: standIn.botId, blocks } });
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    expect(standIn.messages(CHANNEL).map((m) => m.text)).toEqual(['EXC-1', 'EXC-2']);
    expect(nth(standIn.messages(CHANNEL))).toMatchObject({ blocks, user: standIn.botUserId, updates: 0 });
    expect(nth(standIn.callsTo('chat.postMessage')).args).toMatchObject({ channel: CHANNEL, text: 'EXC-1', blocks });
  });

  it('thread replies need an existing parent', async () => {
    const parent = await slack.chat.postMessage({ channel: CHANNEL, text: 'parent' });
    await slack.chat.postMessage({ channel: CHANNEL, text: 'reply', thread_ts: parent.ts });
    expect(nth(standIn.messages(CHANNEL), 1)).toMatchObject({ text: 'reply', threadTs: parent.ts });
    expect(await slackError(slack.chat.postMessage({ channel: CHANNEL, text: 'orphan', thread_ts: '1700000000.000100' }))).toBe('thread_not_found');
  });

  it('chat.update changes the stored message and keeps omitted fields', async () => {
    const blocks = [section('Pending')];
    const posted = await slack.chat.postMessage({ channel: CHANNEL, text: 'EXC-1 pending', blocks });
    await slack.chat.update({ channel: CHANNEL, ts: posted.ts!, text: 'EXC-1 approved' });
    expect(standIn.messages(CHANNEL)).toEqual([expect.objectContaining({ text: 'EXC-1 approved', blocks, updates: 1 })]);
    expect(await slackError(slack.chat.update({ channel: CHANNEL, ts: '1700000000.000100', text: 'x' }))).toBe('message_not_found');
  });

  it('posting to a user id lands in their DM and returns the D… channel', async () => {
    const posted = await slack.chat.postMessage({ channel: ALICE.id, text: 'Your exception expires soon' });
    expect(posted.channel).toMatch(/^D[A-Z0-9]+$/);
    expect(standIn.dmsTo(ALICE.id).map((m) => m.text)).toEqual(['Your exception expires soon']);
    const opened = await slack.conversations.open({ users: ALICE.id });
    expect(opened.channel?.id).toBe(posted.channel);
    // chat.update needs the conversation id, not the user id
    expect(await slackError(slack.chat.update({ channel: ALICE.id, ts: posted.ts!, text: 'x' }))).toBe('channel_not_found');
    await slack.chat.update({ channel: posted.channel!, ts: posted.ts!, text: 'updated' });
    expect(nth(standIn.dmsTo(ALICE.id)).text).toBe('updated');
  });

  it('chat.postEphemeral and chat.getPermalink', async () => {
    const ephemeral = await slack.chat.postEphemeral({ channel: CHANNEL, user: ALICE.id, text: 'Only you can see this' });
    expect(ephemeral.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(standIn.messages()).toEqual([]);
    const posted = await slack.chat.postMessage({ channel: CHANNEL, text: 'EXC-1' });
    const link = await slack.chat.getPermalink({ channel: CHANNEL, message_ts: posted.ts! });
    expect(link.permalink).toContain(`/archives/${CHANNEL}/p${posted.ts!.replace('.', '')}`);
  });

  it('users.info returns the profile', async () => {
    const res = await slack.users.info({ user: ALICE.id });
    expect(res.user).toMatchObject({ id: ALICE.id, name: 'alice', real_name: 'Alice Doe', tz: 'Europe/Paris', deleted: false, is_bot: false });
    expect([3600, 7200]).toContain(res.user?.tz_offset);
  });

  it('views.publish keeps one home view per user', async () => {
    const first = await slack.views.publish({ user_id: ALICE.id, view: home() as never });
    const second = await slack.views.publish({ user_id: ALICE.id, view: home({ blocks: [section('v2')] }) as never });
    expect(second.view?.id).toBe(first.view?.id);
    expect(standIn.views).toHaveLength(1);
    expect(nth(standIn.views)).toMatchObject({ userId: ALICE.id, view: { type: 'home', blocks: [section('v2')] } });
  });

  it('views.update by view_id or external_id, with hash checks', async () => {
    const opened = await slack.views.open({ trigger_id: standIn.issueTriggerId({ userId: ALICE.id }), view: modal({ external_id: 'req-1' }) as never });
    const id = opened.view!.id!;
    expect(nth(standIn.views)).toMatchObject({ id, userId: ALICE.id });
    await slack.views.update({ view_id: id, view: modal({ title: plain('Step 2') }) as never });
    await slack.views.update({ external_id: 'req-1', view: modal({ title: plain('Step 3') }) as never });
    expect(nth(standIn.views).view.title).toEqual(plain('Step 3'));
    expect(await slackError(slack.views.update({ view_id: id, hash: 'stale', view: modal() as never }))).toBe('hash_conflict');
    expect(await slackError(slack.views.update({ view_id: 'V0NOPE', view: modal() as never }))).toBe('not_found');
  });

  it('views.push stacks at most three views', async () => {
    const root = await slack.views.open({ trigger_id: standIn.issueTriggerId({ userId: ALICE.id }), view: modal() as never });
    const push = () => slack.views.push({ trigger_id: standIn.issueTriggerId({ userId: ALICE.id, viewId: root.view!.id! }), view: modal() as never });
    await push();
    await push();
    expect(await slackError(push())).toBe('push_limit_reached');
  });
});

describe('refusals', () => {
  it('unknown method', async () => {
    expect(await slackError(slack.apiCall('chat.scheduleEverything'))).toBe('unknown_method');
    expect(standIn.rejected()).toHaveLength(1);
    expect(standIn.callsTo('chat.scheduleEverything')).toEqual([]);
  });

  it('missing or wrong token', async () => {
    expect(await slackError(client().chat.postMessage({ channel: CHANNEL, text: 'x' }))).toBe('not_authed');
    expect(await slackError(client('xoxb-wrong').chat.postMessage({ channel: CHANNEL, text: 'x' }))).toBe('invalid_auth');
    expect(standIn.messages()).toEqual([]);
    expect(standIn.rejected().map((c) => c.token)).toEqual([undefined, 'xoxb-wrong']);
  });

  it.each([
    ['postMessage without channel', () => slack.chat.postMessage({ text: 'x' } as never), 'channel_not_found'],
    ['postMessage to an unknown DM', () => slack.chat.postMessage({ channel: 'D0NOPE', text: 'x' }), 'channel_not_found'],
    ['postMessage to a deactivated user', () => slack.chat.postMessage({ channel: GONE.id, text: 'x' }), 'channel_not_found'],
    ['postMessage without text or blocks', () => slack.chat.postMessage({ channel: CHANNEL } as never), 'no_text'],
    ['postMessage over 40000 chars', () => slack.chat.postMessage({ channel: CHANNEL, text: 'x'.repeat(40_001) }), 'msg_too_long'],
    ['postMessage with blocks that are not JSON', () => slack.apiCall('chat.postMessage', { channel: CHANNEL, blocks: '[{' }), 'invalid_blocks_format'],
    ['update without channel', () => slack.chat.update({ ts: '1.1', text: 'x' } as never), 'channel_not_found'],
    ['update without ts', () => slack.chat.update({ channel: CHANNEL, text: 'x' } as never), 'message_not_found'],
    ['postEphemeral without channel', () => slack.chat.postEphemeral({ user: ALICE.id, text: 'x' } as never), 'channel_not_found'],
    ['postEphemeral without user', () => slack.chat.postEphemeral({ channel: CHANNEL, text: 'x' } as never), 'user_not_found'],
    ['postEphemeral to a malformed user', () => slack.chat.postEphemeral({ channel: CHANNEL, user: 'alice', text: 'x' }), 'user_not_found'],
    ['views.open without trigger_id', () => slack.views.open({ view: modal() } as never), 'invalid_arguments'],
    ['views.open without view', () => slack.views.open({ trigger_id: standIn.issueTriggerId() } as never), 'invalid_arguments'],
    ['views.open with a home view', () => slack.views.open({ trigger_id: standIn.issueTriggerId(), view: home() as never }), 'invalid_arguments'],
    ['views.update without ids', () => slack.views.update({ view: modal() } as never), 'invalid_arguments'],
    ['views.publish without user_id', () => slack.views.publish({ view: home() } as never), 'invalid_arguments'],
    ['views.publish with a modal', () => slack.views.publish({ user_id: ALICE.id, view: modal() as never }), 'invalid_arguments'],
    ['users.info for an unknown user', () => slack.users.info({ user: 'U0NOBODY' }), 'user_not_found'],
    ['conversations.open without users', () => slack.conversations.open({} as never), 'users_list_not_supplied'],
    ['conversations.open with a deactivated user', () => slack.conversations.open({ users: GONE.id }), 'user_disabled'],
    ['conversations.open with the bot', () => slack.conversations.open({ users: standIn.botUserId }), 'cannot_dm_bot'],
    ['getPermalink for an unknown message', () => slack.chat.getPermalink({ channel: CHANNEL, message_ts: '1.000001' }), 'message_not_found'],
    ['getUploadURLExternal without length', () => slack.apiCall('files.getUploadURLExternal', { filename: 'a.csv' }), 'invalid_arguments'],
    ['completeUploadExternal for a file never uploaded', () => slack.files.completeUploadExternal({ files: [{ id: 'F0NOPE' }] }), 'file_not_found'],
  ])('%s', async (_name, call, expected) => {
    expect(await slackError(call())).toBe(expected);
    expect(standIn.rejected()).toHaveLength(1);
    expect(standIn.messages()).toEqual([]);
  });

  it('different conversations.open calls for the same user give the same channel', async () => {
    const a = await slack.conversations.open({ users: ALICE.id });
    const b = await slack.conversations.open({ users: ALICE.id });
    expect(a.channel?.id).toMatch(/^D/);
    expect(b.channel?.id).toBe(a.channel?.id);
  });
});

describe('Block Kit limits over HTTP', () => {
  async function send(surface: string, payload: unknown) {
    if (surface === 'message') return slack.chat.postMessage({ channel: CHANNEL, text: 'fallback', blocks: payload as never });
    if (surface === 'home') return slack.views.publish({ user_id: ALICE.id, view: payload as never });
    return slack.views.open({ trigger_id: standIn.issueTriggerId(), view: payload as never });
  }

  it.each(LIMIT_CASES)('$name', async ({ surface, accepted, refused, pointer }) => {
    await expect(send(surface, accepted)).resolves.toMatchObject({ ok: true });
    const error = await send(surface, refused).then(
      () => { throw new Error('expected a refusal'); },
      (e: { data: { error: string; response_metadata?: { messages?: string[] } } }) => e.data,
    );
    expect(error.error).toBe(surface === 'message' ? 'invalid_blocks' : 'invalid_arguments');
    expect(error.response_metadata?.messages?.join('\n')).toContain(`[json-pointer:${pointer}`);
  });
});

describe('failure injection', () => {
  it('HTTP 500 for a number of calls, then recovers', async () => {
    standIn.fail({ status: 500, times: 1 });
    await expect(slack.auth.test()).rejects.toMatchObject({ code: 'slack_webapi_http_error', statusCode: 500 });
    await expect(slack.auth.test()).resolves.toMatchObject({ ok: true });
    expect(standIn.calls.map((c) => c.httpStatus)).toEqual([500, 200]);
    expect(standIn.rejected()).toHaveLength(1);
  });

  it('HTTP 503 only for the chosen methods', async () => {
    standIn.fail({ status: 503, methods: ['chat.postMessage'] });
    await expect(slack.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({ statusCode: 503 });
    await expect(slack.auth.test()).resolves.toMatchObject({ ok: true });
    await expect(slack.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({ statusCode: 503 });
    standIn.clearFailures();
    await expect(slack.chat.postMessage({ channel: CHANNEL, text: 'x' })).resolves.toMatchObject({ ok: true });
    expect(standIn.messages()).toHaveLength(1);
  });

  it('HTTP 429 with Retry-After and ratelimited', async () => {
    standIn.fail({ status: 429, retryAfterSeconds: 7, times: 1 });
    await expect(slack.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({ code: 'slack_webapi_rate_limited_error', retryAfter: 7 });
    expect(nth(standIn.calls)).toMatchObject({ method: 'chat.postMessage', httpStatus: 429, response: { ok: false, error: 'ratelimited' }, args: { text: 'x' } });

    standIn.fail({ status: 429, retryAfterSeconds: 3, times: 1 });
    const raw = await fetch(`${standIn.url}auth.test`, { method: 'POST', headers: { authorization: `Bearer ${standIn.botToken}` } });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('3');
    expect(await raw.json()).toEqual({ ok: false, error: 'ratelimited' });
  });

  it('fails until a point in time', async () => {
    standIn.fail({ status: 500, untilMs: Date.now() + 150 });
    await expect(slack.auth.test()).rejects.toMatchObject({ statusCode: 500 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(slack.auth.test()).resolves.toMatchObject({ ok: true });
  });

  it('answers 5xx with an HTML body, like a proxy would', async () => {
    standIn.fail({ status: 503, times: 1 });
    const raw = await fetch(`${standIn.url}auth.test`, { method: 'POST' });
    expect(raw.status).toBe(503);
    expect(raw.headers.get('content-type')).toContain('text/html');
    expect(await raw.text()).toContain('<html>');
  });
});

describe('files.uploadV2', () => {
  it('stores the uploaded bytes end to end', async () => {
    const bytes = Buffer.from('id,policy\nEXC-1,MFA-01\n\u00e9\u0000\u00ff', 'latin1');
    const res = await slack.files.uploadV2({ channel_id: CHANNEL, file: bytes, filename: 'register.csv', title: 'Register' });
    expect(res.ok).toBe(true);
    expect(standIn.uploads).toHaveLength(1);
    expect(nth(standIn.uploads)).toMatchObject({ filename: 'register.csv', channelId: CHANNEL, title: 'Register' });
    expect(nth(standIn.uploads).bytes.equals(bytes)).toBe(true);
    expect(nth(standIn.callsTo('files.getUploadURLExternal')).args).toMatchObject({ filename: 'register.csv', length: String(bytes.length) });
    expect(standIn.callsTo('files.completeUploadExternal')).toHaveLength(1);
  });

  it('accepts string content', async () => {
    await slack.files.uploadV2({ content: '{"ok":true}', filename: 'export.json' });
    expect(nth(standIn.uploads).bytes.toString()).toBe('{"ok":true}');
  });

  it('shows an unshared image in an image block by slack_file, only once Slack has processed it, and only an image the bot uploaded', async () => {
    await slack.files.uploadV2({ file: Buffer.from('png'), filename: 'chart.png' });
    await slack.files.uploadV2({ content: 'a,b', filename: 'register.csv' });
    const [chart, csv] = standIn.uploads.map((u) => u.id);
    const image = (slack_file: Record<string, string>, extra: Record<string, string> = {}) => slack.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: [{ type: 'image', alt_text: 'chart', slack_file, ...extra }] as never });
    await expect(image({ id: chart! })).resolves.toMatchObject({ ok: true });
    await expect(image({ url: `https://files.stand-in.slack.com/files-pri/T0STANDIN-${chart}/chart.png` })).resolves.toMatchObject({ ok: true });
    expect(await slackError(image({ id: 'F0NOSUCHFILE' }))).toBe('invalid_blocks');
    expect(await slackError(image({ id: csv! }))).toBe('invalid_blocks');
    expect(await slackError(image({ id: chart!, url: 'https://files.stand-in.slack.com/x.png' }))).toBe('invalid_blocks');
    expect(await slackError(image({ id: chart! }, { image_url: 'https://example.com/x.png' }))).toBe('invalid_blocks');
    standIn.processFilesFor(60_000);
    await slack.files.uploadV2({ file: Buffer.from('png'), filename: 'later.png' });
    expect(await slackError(image({ id: nth(standIn.uploads, 2).id }))).toBe('invalid_blocks');
  });
});

describe('trigger ids', () => {
  const open = (trigger_id: string) => slack.views.open({ trigger_id, view: modal() as never });

  it('are single-use', async () => {
    const trigger = standIn.issueTriggerId();
    await expect(open(trigger)).resolves.toMatchObject({ ok: true, view: { type: 'modal', callback_id: 'request' } });
    expect(await slackError(open(trigger))).toBe('exchanged_trigger_id');
  });

  it('expire after 3 seconds', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const trigger = standIn.issueTriggerId();
    vi.setSystemTime(Date.now() + 3_001);
    expect(await slackError(open(trigger))).toBe('expired_trigger_id');
  });

  it('are still valid just before 3 seconds', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const trigger = standIn.issueTriggerId();
    vi.setSystemTime(Date.now() + 2_900);
    await expect(open(trigger)).resolves.toMatchObject({ ok: true });
  });

  it('must have been issued by Slack', async () => {
    expect(await slackError(open('12345.98765.abcd2358fdea'))).toBe('invalid_trigger_id');
  });

  it('are not spent by a refused view', async () => {
    const trigger = standIn.issueTriggerId();
    expect(await slackError(slack.views.open({ trigger_id: trigger, view: modal({ title: plain('x'.repeat(25)) }) as never }))).toBe('invalid_arguments');
    await expect(open(trigger)).resolves.toMatchObject({ ok: true });
  });
});

describe('request formats', () => {
  const post = (method: string, body: string, headers: Record<string, string>) =>
    fetch(`${standIn.url}${method}`, { method: 'POST', body, headers })
      .then(async (r) => ({ status: r.status, json: (await r.json()) as { ok?: boolean; error?: string } }));

  it('accepts JSON bodies with the token in the header', async () => {
    const res = await post('chat.postMessage', JSON.stringify({ channel: CHANNEL, text: 'json', blocks: [section()] }), {
      'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${standIn.botToken}`,
    });
    expect(res).toMatchObject({ status: 200, json: { ok: true } });
    expect(nth(standIn.messages())).toMatchObject({ text: 'json', blocks: [section()] });
  });

  it('ignores a token inside a JSON body, like Slack', async () => {
    const res = await post('auth.test', JSON.stringify({ token: standIn.botToken }), { 'content-type': 'application/json' });
    expect(res.json).toEqual({ ok: false, error: 'not_authed' });
  });

  it('accepts the token as a form field', async () => {
    const res = await post('auth.test', `token=${standIn.botToken}`, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.json.ok).toBe(true);
    expect(nth(standIn.calls).args).toEqual({});
  });

  it('answers malformed bodies instead of crashing', async () => {
    const auth = { authorization: `Bearer ${standIn.botToken}` };
    expect((await post('auth.test', '{"oops', { ...auth, 'content-type': 'application/json' })).json.error).toBe('invalid_json');
    expect((await post('auth.test', '[1,2]', { ...auth, 'content-type': 'application/json' })).json.error).toBe('invalid_json');
    expect((await post('auth.test', 'text=%E0%A4%A', { ...auth, 'content-type': 'application/x-www-form-urlencoded' })).json.error).toBe('invalid_form_data');
    expect((await post('auth.test', 'x', { ...auth, 'content-type': 'image/png' })).json.error).toBe('invalid_post_type');
    expect((await post('auth.test', '--b\r\nbroken', { ...auth, 'content-type': 'multipart/form-data; boundary=b' })).json.error).toBe('invalid_form_data');
    await expect(slack.auth.test()).resolves.toMatchObject({ ok: true });
  });
});

describe('response_url', () => {
  const respond = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('records posts and can replace the original message', async () => {
    const posted = await slack.chat.postMessage({ channel: CHANNEL, text: 'EXC-1 pending' });
    const url = standIn.responseUrl({ channel: CHANNEL, ts: posted.ts });
    expect((await respond(url, { text: 'Only you', response_type: 'ephemeral' })).status).toBe(200);
    expect((await respond(url, { replace_original: true, text: 'EXC-1 approved', blocks: [section('Approved')] })).status).toBe(200);
    expect(standIn.responseUrlPosts.map((p) => p.url)).toEqual([url, url]);
    expect(nth(standIn.responseUrlPosts).body).toEqual({ text: 'Only you', response_type: 'ephemeral' });
    expect(standIn.messages(CHANNEL)).toEqual([expect.objectContaining({ text: 'EXC-1 approved', blocks: [section('Approved')], updates: 1 })]);
    expect(standIn.callsTo('response_url')).toHaveLength(2);
  });

  it('posts in_channel responses and deletes originals', async () => {
    const posted = await slack.chat.postMessage({ channel: CHANNEL, text: 'original' });
    await respond(standIn.responseUrl({ channel: CHANNEL }), { response_type: 'in_channel', text: 'for everyone' });
    await respond(standIn.responseUrl({ channel: CHANNEL, ts: posted.ts }), { delete_original: true });
    expect(standIn.messages(CHANNEL).map((m) => m.text)).toEqual(['for everyone']);
  });

  it('refuses invalid blocks with HTTP 400, and allows at most 5 uses', async () => {
    const url = standIn.responseUrl();
    const bad = await respond(url, { text: 'x', blocks: Array.from({ length: 51 }, () => section()) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ ok: false, error: 'invalid_blocks' });
    for (let i = 0; i < 5; i++) expect((await respond(url, { text: `ok ${i}` })).status).toBe(200);
    expect((await respond(url, { text: 'sixth' })).status).toBe(404);
    expect((await respond(`${url}00`, { text: 'unknown' })).status).toBe(404);
    expect(standIn.responseUrlPosts).toHaveLength(5);
    expect(standIn.rejected().filter((c) => c.method === 'response_url')).toHaveLength(3);
  });
});

describe('helpers', () => {
  it('waitFor resolves once the condition holds', async () => {
    setTimeout(() => void slack.chat.postMessage({ channel: CHANNEL, text: 'later' }), 30);
    await standIn.waitFor(() => standIn.messages(CHANNEL).length === 1, 2000);
    expect(nth(standIn.messages(CHANNEL)).text).toBe('later');
  });

  it('waitFor rejects with the recent calls on timeout', async () => {
    await slack.auth.test();
    await expect(standIn.waitFor(() => false, 50)).rejects.toThrow(/not met within 50ms[\s\S]*auth\.test → 200 ok/);
  });

  it('reset forgets activity but keeps users and DM channels', async () => {
    const dm = await slack.conversations.open({ users: ALICE.id });
    await slack.chat.postMessage({ channel: CHANNEL, text: 'x' });
    standIn.reset();
    expect(standIn.calls).toEqual([]);
    expect(standIn.messages()).toEqual([]);
    await expect(slack.users.info({ user: ALICE.id })).resolves.toMatchObject({ ok: true });
    expect((await slack.conversations.open({ users: ALICE.id })).channel?.id).toBe(dm.channel?.id);
  });

  it('seedMessage lets the bot reply in a person’s thread but not edit it', async () => {
    const asked = standIn.seedMessage({ channel: 'C0WATCHED', user: ALICE.id, text: 'can I skip MFA?' });
    await slack.chat.postMessage({ channel: 'C0WATCHED', thread_ts: asked.ts, text: 'Please use /exception request' });
    expect(await slackError(slack.chat.update({ channel: 'C0WATCHED', ts: asked.ts, text: 'x' }))).toBe('cant_update_message');
  });
});
