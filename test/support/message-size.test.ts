import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import { blockTextLength, MESSAGE_BLOCK_TEXT_LIMIT } from './block-kit-rules.js';
import { startSlackStandIn, type SlackStandIn } from './slack-stand-in.js';

let standIn: SlackStandIn;
let client: WebClient;
beforeAll(async () => {
  standIn = await startSlackStandIn();
  client = new WebClient(standIn.botToken, { slackApiUrl: standIn.url, retryConfig: { retries: 0 } });
});
afterAll(() => standIn.close());

const sections = (count: number, size: number) => Array.from({ length: count }, () => ({ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(size) } }));

describe('the whole-message text budget (msg_blocks_too_long)', () => {
  it('counts every text string in the blocks, in characters', () => {
    expect(blockTextLength([{ type: 'header', text: { type: 'plain_text', text: '🔒 ab' } }, ...sections(2, 10)])).toBe(24);
  });

  it('accepts a message at the budget and refuses one over it, though each section is within its own limit', async () => {
    const atLimit = sections(4, MESSAGE_BLOCK_TEXT_LIMIT / 4);
    expect((await client.chat.postMessage({ channel: 'C0SIZE', text: 'fits', blocks: atLimit })).ok).toBe(true);
    await expect(client.chat.postMessage({ channel: 'C0SIZE', text: 'too long', blocks: sections(5, 2500) })).rejects.toMatchObject({ data: { error: 'msg_blocks_too_long' } });
  });
});
