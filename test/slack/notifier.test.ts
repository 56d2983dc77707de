import { eq } from 'drizzle-orm';
import { webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { exceptions, outbox } from '../../src/db/schema';
import { createLogger } from '../../src/logger';
import { createNotifier, type Notifier, type NotifierDeps } from '../../src/slack/notifier';
import { APPROVALS_CHANNEL, COMMITTEE, APPROVERS, COMMITTEE_CHANNEL, NOW, OWNER, REQUESTER, fileRequest, openTestRegister, type TestRegister } from '../services/fixtures';

type Call = { method: string; args: Record<string, unknown> };

/** A hand-written Web API fake: records calls, and fails the ones `failWith` picks. */
function fakeSlack(failWith: (method: string, args: Record<string, unknown>) => Error | undefined) {
  const calls: Call[] = [];
  let ts = 0;
  const call = (method: string) => async (args: Record<string, unknown>) => {
    calls.push({ method, args });
    const error = failWith(method, args);
    if (error) throw error;
    if (method === 'conversations.open') return { ok: true, channel: { id: `D${String(args.users)}` } };
    ts++;
    return { ok: true, channel: args.channel, ts: `1790000000.${String(ts).padStart(6, '0')}` };
  };
  const client = {
    chat: { postMessage: call('chat.postMessage'), update: call('chat.update') },
    conversations: { open: call('conversations.open') },
  } as unknown as webApi.WebClient;
  return { client, calls };
}

const platformError = (code: string) => Object.assign(new Error(`An API error occurred: ${code}`), { code: webApi.ErrorCode.PlatformError, data: { ok: false, error: code } });
const rateLimited = (seconds: number) => Object.assign(new Error('A rate limit was exceeded'), { code: webApi.ErrorCode.RateLimitedError, retryAfter: seconds });

let t: TestRegister;
let now: Date;
let logs: string[];
beforeEach(() => {
  t = openTestRegister();
  now = NOW;
  logs = [];
});
afterEach(() => t.close());

function notifier(client: webApi.WebClient, pacing: Partial<Pick<NotifierDeps, 'channelSpacingMs' | 'monotonic' | 'sleep'>> = { channelSpacingMs: 0 }): Notifier {
  return createNotifier({
    db: t.ctx.db,
    client,
    clock: () => now,
    logger: createLogger('debug', (line) => logs.push(line)),
    cards: { approverIds: [...APPROVERS], committeeIds: [...COMMITTEE], committeeChannel: COMMITTEE_CHANNEL, committeeQuorum: 2, committeeRiskThreshold: 12 },
    ...pacing,
  });
}

const rows = () => t.ctx.db.select().from(outbox).all();
const advance = (ms: number) => {
  now = new Date(now.getTime() + ms);
};

describe('the notifier', () => {
  it('delivers the triage card first and the DMs after it', async () => {
    fileRequest(t.ctx, { owner: OWNER });
    const slack = fakeSlack(() => undefined);
    expect(await notifier(slack.client).deliverDue()).toBe(3);
    expect(slack.calls.map((c) => [c.method, c.args.channel ?? c.args.users])).toEqual([
      ['chat.postMessage', APPROVALS_CHANNEL],
      ['conversations.open', REQUESTER],
      ['chat.postMessage', `D${REQUESTER}`],
      ['conversations.open', OWNER],
      ['chat.postMessage', `D${OWNER}`],
    ]);
    expect(rows().every((r) => r.state === 'delivered')).toBe(true);
  });

  it("keeps retrying Slack's own internal errors for as long as they last, and never abandons them", async () => {
    fileRequest(t.ctx, { owner: REQUESTER });
    const slack = fakeSlack(() => platformError('internal_error'));
    const n = notifier(slack.client);
    for (let i = 0; i < 30; i++) {
      await n.deliverDue();
      advance(11 * 60_000);
    }
    // The triage card, the receipt, and App Home's refresh waiting behind the card.
    expect(rows().map((r) => r.state)).toEqual(['pending', 'pending', 'pending']);
    expect(rows()[0]!.attempts).toBe(30);
    expect(rows()[0]!.lastError).toContain('internal_error');
  });

  it('abandons, after ten tries, a notification Slack keeps refusing, and logs it as an error', async () => {
    fileRequest(t.ctx, { owner: REQUESTER });
    const slack = fakeSlack((method) => (method === 'chat.postMessage' ? platformError('channel_not_found') : undefined));
    const n = notifier(slack.client);
    for (let i = 0; i < 12; i++) {
      await n.deliverDue();
      advance(11 * 60_000);
    }
    const card = rows().find((r) => r.kind === 'post_card')!;
    expect(card).toMatchObject({ state: 'dead', attempts: 10 });
    expect(slack.calls.filter((c) => c.args.channel === APPROVALS_CHANNEL)).toHaveLength(10);
    expect(logs.filter((line) => line.includes('notification abandoned'))).toHaveLength(2);
  });

  it('stops every delivery after a 429 until Retry-After has passed', async () => {
    fileRequest(t.ctx, { owner: REQUESTER });
    fileRequest(t.ctx, { owner: REQUESTER });
    let limited = true;
    const slack = fakeSlack(() => (limited ? rateLimited(30) : undefined));
    const n = notifier(slack.client);
    await n.deliverDue();
    expect(slack.calls).toHaveLength(1);

    limited = false;
    advance(29_000);
    await n.deliverDue();
    expect(slack.calls).toHaveLength(1);

    advance(1_000);
    expect(await n.deliverDue()).toBe(4);
    expect(rows().every((r) => r.state === 'delivered')).toBe(true);
  });

  it('spaces posts to one channel a second apart, and does not hold back posts to other channels', async () => {
    fileRequest(t.ctx, { owner: REQUESTER });
    fileRequest(t.ctx, { owner: REQUESTER });
    fileRequest(t.ctx, { owner: REQUESTER });
    let elapsed = 0;
    const waits: number[] = [];
    const slack = fakeSlack(() => undefined);
    const posts: { channel: unknown; at: number }[] = [];
    const original = slack.client.chat.postMessage;
    slack.client.chat.postMessage = (async (args: Record<string, unknown>) => {
      posts.push({ channel: args.channel, at: elapsed });
      elapsed += 5;
      return original(args as never);
    }) as never;
    await notifier(slack.client, {
      channelSpacingMs: 1000,
      monotonic: () => elapsed,
      sleep: async (ms) => {
        waits.push(ms);
        elapsed += ms;
      },
    }).deliverDue();
    const approvals = posts.filter((p) => p.channel === APPROVALS_CHANNEL).map((p) => p.at);
    expect(approvals).toHaveLength(3);
    expect(approvals[1]! - approvals[0]!).toBeGreaterThanOrEqual(1000);
    expect(approvals[2]! - approvals[1]!).toBeGreaterThanOrEqual(1000);
    // The requester's three receipts go to one DM channel, so they are spaced too; nothing else waits.
    expect(waits.every((ms) => ms > 0 && ms <= 1000)).toBe(true);
  });

  it('does not hold the triage card back behind a flood in another channel: that channel alone waits its turn (issue 10 §5)', async () => {
    for (let i = 0; i < 5; i++) {
      const pointer = { kind: 'informal_pointer', channel: 'C0WAIVERS', threadTs: `1790000000.00010${i}`, askId: i + 1, askedBy: `U0ASKER${i}` };
      t.ctx.db.insert(outbox).values({ kind: 'informal_pointer', payload: JSON.stringify(pointer), nextAttemptAt: NOW.toISOString(), createdAt: NOW.toISOString() }).run();
    }
    fileRequest(t.ctx, { owner: REQUESTER });
    let elapsed = 0;
    const slack = fakeSlack(() => undefined);
    const posts: { channel: unknown; at: number }[] = [];
    const original = slack.client.chat.postMessage;
    slack.client.chat.postMessage = (async (args: Record<string, unknown>) => {
      posts.push({ channel: args.channel, at: elapsed });
      elapsed += 5;
      return original(args as never);
    }) as never;
    const delivered = await notifier(slack.client, {
      channelSpacingMs: 1000,
      monotonic: () => elapsed,
      sleep: async (ms) => {
        elapsed += ms;
      },
    }).deliverDue();
    expect(delivered).toBe(7);
    const card = posts.find((p) => p.channel === APPROVALS_CHANNEL)!;
    expect(card.at).toBeLessThan(1000);
    const flood = posts.filter((p) => p.channel === 'C0WAIVERS').map((p) => p.at);
    expect(flood).toHaveLength(5);
    for (let i = 1; i < flood.length; i++) expect(flood[i]! - flood[i - 1]!).toBeGreaterThanOrEqual(1000);
    // The pointers keep their order in their channel.
    const threads = slack.calls.filter((c) => c.args.channel === 'C0WAIVERS').map((c) => c.args.thread_ts);
    expect(threads).toEqual([0, 1, 2, 3, 4].map((i) => `1790000000.00010${i}`));
  });

  it('posts a card queued while a pass is under way at once, not after the wait for a channel cooling down', async () => {
    for (let i = 0; i < 2; i++) {
      const pointer = { kind: 'informal_pointer', channel: 'C0WAIVERS', threadTs: `1790000000.00010${i}`, askId: i + 1, askedBy: `U0ASKER${i}` };
      t.ctx.db.insert(outbox).values({ kind: 'informal_pointer', payload: JSON.stringify(pointer), nextAttemptAt: NOW.toISOString(), createdAt: NOW.toISOString() }).run();
    }
    const slack = fakeSlack(() => undefined);
    const original = slack.client.chat.postMessage;
    let n: Notifier | undefined = undefined;
    slack.client.chat.postMessage = (async (args: Record<string, unknown>) => {
      await new Promise((resolve) => setImmediate(resolve));
      // The request arrives while the first pointer is with Slack, as a submission does in a flood.
      if (slack.calls.length === 0) {
        fileRequest(t.ctx, { owner: REQUESTER });
        n!.wake();
      }
      return original(args as never);
    }) as never;
    // Time stands still and a wait never ends by itself: only a wake (or stop) can end it.
    n = notifier(slack.client, { channelSpacingMs: 1000, monotonic: () => 0, sleep: () => new Promise<void>(() => undefined) });
    void n.deliverDue();
    await vi.waitFor(() => expect(slack.calls.some((c) => c.args.channel === APPROVALS_CHANNEL)).toBe(true), { timeout: 2000 });
    expect(slack.calls.filter((c) => c.args.channel === 'C0WAIVERS')).toHaveLength(1);
    await n.stop();
    expect(rows().find((r) => r.kind === 'informal_pointer' && r.state === 'pending')).toMatchObject({ claimedUntil: null });
  });

  it('reads only the rows queued since, not the whole waiting backlog, on each wake, and still keeps a waiting channel in order', async () => {
    const pointer = (i: number, channel = 'C0WAIVERS') => ({ kind: 'informal_pointer', channel, threadTs: `1790000000.${String(i).padStart(6, '0')}`, askId: i + 1, askedBy: 'U0ASKER' });
    const queue = (p: ReturnType<typeof pointer>) =>
      t.ctx.db.insert(outbox).values({ kind: 'informal_pointer', payload: JSON.stringify(p), nextAttemptAt: NOW.toISOString(), createdAt: NOW.toISOString() }).run();
    for (let i = 0; i < 300; i++) queue(pointer(i));
    const slack = fakeSlack(() => undefined);
    // Time stands still, so the backlog in C0WAIVERS waits for the whole test; only wakes end a wait.
    const n = notifier(slack.client, { channelSpacingMs: 1000, monotonic: () => 0, sleep: () => new Promise<void>(() => undefined) });
    void n.deliverDue();
    await vi.waitFor(() => expect(slack.calls).toHaveLength(1));
    const parse = vi.spyOn(JSON, 'parse');
    // Twenty asks in twenty other channels, each going out as it is queued.
    for (let i = 0; i < 20; i++) {
      queue(pointer(1000 + i, `C0OTHER${i}`));
      n.wake();
      await vi.waitFor(() => expect(slack.calls.some((c) => c.args.channel === `C0OTHER${i}`)).toBe(true));
    }
    // A pointer queued behind the waiting ones stays behind them.
    queue(pointer(300));
    n.wake();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const parsed = parse.mock.calls.length;
    parse.mockRestore();
    await n.stop();
    expect(slack.calls.filter((c) => c.args.channel === 'C0WAIVERS').map((c) => c.args.thread_ts)).toEqual([pointer(0).threadTs]);
    // Re-reading the backlog would parse 300 rows a wake, 6,000 in all.
    expect(parsed).toBeLessThan(600);
  });

  it('leaves a row alone while another process holds its delivery claim', async () => {
    fileRequest(t.ctx, { owner: REQUESTER });
    t.ctx.db.update(outbox).set({ claimedUntil: new Date(now.getTime() + 30_000).toISOString() }).run();
    const slack = fakeSlack(() => undefined);
    expect(await notifier(slack.client).deliverDue()).toBe(0);
    expect(slack.calls).toEqual([]);
    advance(31_000);
    expect(await notifier(slack.client).deliverDue()).toBe(2);
  });

  it('keeps updates of a card behind its post, but lets the DMs through', async () => {
    const id = fileRequest(t.ctx, { owner: REQUESTER });
    let cardsDown = true;
    const slack = fakeSlack((method, args) => (cardsDown && method === 'chat.postMessage' && args.channel === APPROVALS_CHANNEL ? new Error('socket hang up') : undefined));
    const n = notifier(slack.client);
    t.ctx.db.insert(outbox).values({ exceptionId: id, kind: 'refresh_card', payload: JSON.stringify({ kind: 'refresh_card', exceptionId: id, card: 'triage' }), nextAttemptAt: NOW.toISOString(), createdAt: NOW.toISOString() }).run();
    await n.deliverDue();
    expect(slack.calls.filter((c) => c.method === 'chat.update')).toHaveLength(0);
    expect(rows().filter((r) => r.kind === 'direct_message').map((r) => r.state)).toEqual(['delivered']);

    cardsDown = false;
    advance(1000);
    await n.deliverDue();
    const update = slack.calls.find((c) => c.method === 'chat.update')!;
    const triageTs = t.ctx.db.select().from(exceptions).where(eq(exceptions.id, id)).get()!.triageTs;
    expect(triageTs).not.toBeNull();
    expect(update.args).toMatchObject({ channel: APPROVALS_CHANNEL, ts: triageTs });
    expect(rows().every((r) => r.state === 'delivered')).toBe(true);
  });
});
