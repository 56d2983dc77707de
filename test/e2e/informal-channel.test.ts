import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exceptions } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS, REQUEST_BLOCK_IDS, SHORTCUT_IDS } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { cardFor, requestValues, VALID_FORM } from './flows';

const HELP = 'C0SECHELP';
const OTHER = 'C0ITHELP';
const ASK = 'can we skip MFA for the two contractors starting Monday? their keys arrive next week';
let h: Harness;
beforeEach(async () => {
  h = await startHarness({ env: { WATCH_CHANNELS: `${HELP},${OTHER}` } });
});
afterEach(async () => {
  await h.close();
});

async function say(channel: string, text: string, extra: Record<string, unknown> = {}, retryNum?: number) {
  const response = await h.driver.event({ type: 'message', channel, user: PEOPLE.requester, text, ...extra }, { retryNum });
  expect(response.status).toBe(200);
  await h.settle();
}

const pointers = () => h.standIn.calls.filter((c) => c.method === 'chat.postMessage' && c.response.ok && String(c.args.text).includes('formal request'));

describe('informal asks in a watched channel', () => {
  it('answers once in the thread, with a button that starts the formal request, and says a chat approval does not count', async () => {
    await say(HELP, ASK);
    const [pointer] = pointers();
    expect(pointers()).toHaveLength(1);
    const asked = h.standIn.messages(HELP).find((m) => m.text === ASK)!;
    expect(pointer!.args.thread_ts).toBe(asked.ts);
    expect(JSON.stringify(pointer!.args.blocks)).toContain(ACTION_IDS.requestFromThread);
    expect(JSON.stringify(pointer!.args.blocks)).toContain('does not count');

    // Asked again in the same thread, or delivered again by Slack: no second answer.
    await say(HELP, 'can I get an exception please, it is urgent', { thread_ts: asked.ts });
    await say(HELP, ASK, { ts: asked.ts }, 1);
    expect(pointers()).toHaveLength(1);
  });

  it('answers an ask that comes with a screenshot (file_share), but not an edit', async () => {
    const withFile = h.standIn.seedMessage({ channel: HELP, user: PEOPLE.requester, text: 'can I get an exception for the kiosk? screenshot attached' });
    await say(HELP, withFile.text!, { subtype: 'file_share', ts: withFile.ts });
    expect(pointers()).toHaveLength(1);
    await say(HELP, 'can I get an exception for the printer?', { subtype: 'message_changed' });
    expect(pointers()).toHaveLength(1);
  });

  it('never answers in DMs, in channels it does not watch, to bots or to itself, or to ordinary talk', async () => {
    await say('D0SOMEONE', ASK, { channel_type: 'im' });
    await say(CHANNELS.approvals, ASK);
    await say(HELP, ASK, { bot_id: 'B0OTHER', subtype: 'bot_message' });
    await say(HELP, ASK, { user: h.standIn.botUserId, bot_id: h.standIn.botId });
    await say(HELP, 'the exception handler throws on null input');
    expect(pointers()).toEqual([]);
  });

  it('turns the ask into a formal request prefilled with the message, keeping a link to it as the origin', async () => {
    await say(HELP, ASK);
    const pointer = h.standIn.messages(HELP).find((m) => m.threadTs && JSON.stringify(m.blocks).includes(ACTION_IDS.requestFromThread))!;
    await h.driver.blockAction({ userId: PEOPLE.requester, actionId: ACTION_IDS.requestFromThread, message: { channel: HELP, ts: pointer.ts, blocks: pointer.blocks } });
    await h.settle();
    const opened = h.standIn.callsTo('views.open').at(-1)!;
    const view = opened.args.view as { blocks: { block_id?: string; element?: { initial_value?: string } }[] };
    expect(view.blocks.find((b) => b.block_id === REQUEST_BLOCK_IDS.justification)?.element?.initial_value).toBe(ASK);
    const modal = opened.response.view as { id: string; private_metadata: string };
    await h.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId: modal.id, privateMetadata: modal.private_metadata, values: requestValues(VALID_FORM) });
    await h.settle();
    const stored = h.app.register.db.select().from(exceptions).get()!;
    expect(stored.originPermalink).toMatch(/^https:\/\/stand-in\.slack\.com\/archives\/C0SECHELP\/p\d+$/);
    expect(JSON.stringify(cardFor(h, 'EXC-0001').blocks)).toContain(`<${stored.originPermalink}|this conversation>`);
  });

  it('the message shortcut opens the request form with the message as the starting justification', async () => {
    const message = h.standIn.seedMessage({ channel: HELP, user: PEOPLE.owner, text: 'we need an exception to the patching policy for the lab <!channel>' });
    await h.driver.messageShortcut({ userId: PEOPLE.requester, callbackId: SHORTCUT_IDS.requestFromMessage, message: { ts: message.ts, text: message.text!, user: PEOPLE.owner }, channelId: HELP });
    await h.settle();
    const opened = h.standIn.callsTo('views.open').at(-1)!;
    const view = opened.args.view as { callback_id: string; private_metadata: string; blocks: { block_id?: string; element?: { initial_value?: string } }[] };
    expect(view.callback_id).toBe(CALLBACK_IDS.request);
    expect(view.blocks.find((b) => b.block_id === REQUEST_BLOCK_IDS.justification)?.element?.initial_value).toBe(message.text);
    expect(JSON.parse(view.private_metadata)).toEqual({ channel: HELP, ts: message.ts });
    expect(h.standIn.rejected()).toEqual([]);
  });
});

describe('pointers are rationed (issue 10 §5)', () => {
  it('a flood in one channel gets five pointers an hour, and again after the hour', async () => {
    for (let i = 0; i < 15; i++) await say(HELP, `can I get a waiver for kiosk ${i}?`, { user: `U0FLOOD${String(i).padStart(2, '0')}` });
    expect(pointers()).toHaveLength(5);
    h.clock.advance(60 * 60_000 + 1);
    await say(HELP, 'can I get a waiver for the printer?', { user: 'U0FLOOD99' });
    expect(pointers()).toHaveLength(6);
  });

  it('one person gets one pointer an hour, whichever watched thread or channel they ask in', async () => {
    await say(HELP, ASK);
    await say(HELP, 'can I get an exception for the lab printer too?');
    await say(OTHER, 'we need an exception to the patching policy for the lab');
    expect(pointers()).toHaveLength(1);
    // Somebody else in the same channel is still answered.
    await say(HELP, ASK, { user: PEOPLE.owner });
    expect(pointers()).toHaveLength(2);
    h.clock.advance(60 * 60_000 + 1);
    await say(OTHER, 'we need an exception to the patching policy for the lab');
    expect(pointers()).toHaveLength(3);
  });
});

describe('who gets the message copied into the form (issue 10)', () => {
  const justification = () => {
    const view = h.standIn.callsTo('views.open').at(-1)!.args.view as { private_metadata?: string; blocks: { block_id?: string; element?: { initial_value?: string } }[] };
    return { text: view.blocks.find((b) => b.block_id === REQUEST_BLOCK_IDS.justification)?.element?.initial_value, origin: view.private_metadata, all: JSON.stringify(view.blocks) };
  };

  it("only the person who wrote the ask; a value sent by anyone else opens an empty form and shows nothing of the channel's text", async () => {
    await say(HELP, ASK);
    const pointer = h.standIn.messages(HELP).find((m) => m.threadTs && JSON.stringify(m.blocks).includes(ACTION_IDS.requestFromThread))!;
    const value = (pointer.blocks as { elements?: { action_id?: string; value?: string }[] }[]).flatMap((block) => block.elements ?? []).find((e) => e.action_id === ACTION_IDS.requestFromThread)?.value;
    expect(value).toMatch(/^\d+$/);

    // Pressed from somewhere else entirely (a forged payload), or by a colleague in the thread.
    await h.driver.blockAction({ userId: PEOPLE.bystander, actionId: ACTION_IDS.requestFromThread, value, message: { channel: CHANNELS.approvals, ts: '1700000000.000100', blocks: pointer.blocks } });
    await h.settle();
    expect(justification()).toMatchObject({ text: undefined, origin: undefined });
    expect(justification().all).not.toContain('contractors');
    expect(justification().all).toContain('This form starts empty');

    await h.driver.blockAction({ userId: PEOPLE.requester, actionId: ACTION_IDS.requestFromThread, message: { channel: HELP, ts: pointer.ts, blocks: pointer.blocks } });
    await h.settle();
    expect(justification().text).toBe(ASK);
    expect(JSON.parse(justification().origin!)).toEqual({ channel: HELP, ts: expect.any(String) });
    expect(h.standIn.rejected()).toEqual([]);
  });
});
