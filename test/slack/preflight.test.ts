import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { checkSlackSetup } from '../../src/slack/preflight';
import { startSlackStandIn, type SlackStandIn } from '../support/slack-stand-in';

let standIn: SlackStandIn;
beforeAll(async () => {
  standIn = await startSlackStandIn();
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

function configFor(env: Record<string, string> = {}) {
  return loadConfig({
    SLACK_BOT_TOKEN: standIn.botToken,
    SLACK_SIGNING_SECRET: 'preflight-signing-secret',
    SLACK_API_URL: standIn.url,
    SECURITY_TEAM_IDS: 'U0SEC1',
    APPROVER_IDS: 'U0CISO',
    COMMITTEE_IDS: 'U0COM1,U0COM2',
    APPROVALS_CHANNEL: 'C0APPROVALS',
    COMMITTEE_CHANNEL: 'C0COMMITTEE',
    ...env,
  });
}

/** The problems that stop start-up (none when it may go on) and the lines logged meanwhile. */
async function preflight(env: Record<string, string> = {}): Promise<{ problems: string[]; logged: { level: string; message: string }[] }> {
  const lines: string[] = [];
  try {
    await checkSlackSetup(configFor(env), createLogger('info', (line) => lines.push(line)));
    return { problems: [], logged: lines.map((line) => JSON.parse(line)) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { problems: error.problems, logged: lines.map((line) => JSON.parse(line)) };
  }
}

describe('the start-up check against Slack', () => {
  it('passes for a token Slack accepts and two channels the app can post in, asking auth.test and conversations.info with the bot token', async () => {
    expect(await preflight()).toEqual({ problems: [], logged: [] });
    expect(standIn.calls.map((call) => [call.method, call.args.channel, call.token])).toEqual([
      ['auth.test', undefined, standIn.botToken],
      ['conversations.info', 'C0APPROVALS', standIn.botToken],
      ['conversations.info', 'C0COMMITTEE', standIn.botToken],
    ]);
  });

  it('refuses a token Slack refuses (invalid_auth), naming SLACK_BOT_TOKEN, and asks nothing more', async () => {
    const { problems } = await preflight({ SLACK_BOT_TOKEN: 'xoxb-revoked-long-ago' });
    expect(problems).toEqual([expect.stringMatching(/^SLACK_BOT_TOKEN: Slack refused it \(invalid_auth\); copy the Bot User OAuth Token/)]);
    expect(standIn.calls.map((call) => [call.method, call.response.error])).toEqual([['auth.test', 'invalid_auth']]);
  });

  it('refuses a channel Slack does not know, naming the variable and saying to check the ID or /invite the app', async () => {
    const { problems } = await preflight({ COMMITTEE_CHANNEL: 'C0TYPO' });
    expect(problems).toEqual([
      "COMMITTEE_CHANNEL: Slack has no channel C0TYPO that the app can see; check the ID (at the bottom of the channel's About tab), and for a private channel invite the app first with /invite @exceptions",
    ]);
  });

  it('refuses a private channel the app is not in, and an archived one, one line each', async () => {
    standIn.addChannel({ id: 'C0SECRET', name: 'sec-approvals', isPrivate: true, isMember: false });
    standIn.addChannel({ id: 'C0OLD', name: 'old-committee', isArchived: true });
    const { problems } = await preflight({ APPROVALS_CHANNEL: 'C0SECRET', COMMITTEE_CHANNEL: 'C0OLD' });
    expect(problems).toEqual([
      'APPROVALS_CHANNEL: C0SECRET (#sec-approvals) is private and the app is not a member; invite it there with /invite @exceptions',
      'COMMITTEE_CHANNEL: C0OLD (#old-committee) is archived; unarchive it or set COMMITTEE_CHANNEL to a channel in use',
    ]);
  });

  it('accepts a private channel the app is in, and a public one it is not in (chat:write.public posts there)', async () => {
    standIn.addChannel({ id: 'GPRIVATE1', isPrivate: true, isMember: true });
    standIn.addChannel({ id: 'C0PUBLIC', isMember: false });
    expect(await preflight({ APPROVALS_CHANNEL: 'GPRIVATE1', COMMITTEE_CHANNEL: 'C0PUBLIC' })).toEqual({ problems: [], logged: [] });
  });

  it('refuses a token without the scope to read the channels once, saying to reinstall with the manifest', async () => {
    standIn.revokeScope('channels:read');
    const { problems } = await preflight();
    expect(problems).toEqual([
      'SLACK_BOT_TOKEN: lacks the channels:read scope needed to check the channels; update the app from manifest.yml and reinstall it to the workspace so the token has every scope listed there',
    ]);
  });

  it('starts anyway when Slack answers 503, with one warning naming what it could not check', async () => {
    standIn.fail({ status: 503, methods: ['auth.test'] });
    const { problems, logged } = await preflight();
    expect(problems).toEqual([]);
    expect(logged).toEqual([
      expect.objectContaining({ level: 'warn', message: 'Slack could not confirm SLACK_BOT_TOKEN, APPROVALS_CHANNEL and COMMITTEE_CHANNEL; starting anyway, and each request checks the token again' }),
    ]);
  });

  it('starts anyway when only the channel checks go unanswered', async () => {
    standIn.fail({ status: 500, methods: ['conversations.info'] });
    const { problems, logged } = await preflight();
    expect(problems).toEqual([]);
    expect(logged.map((line) => line.message)).toEqual(['Slack could not confirm APPROVALS_CHANNEL and COMMITTEE_CHANNEL; starting anyway, and each request checks the token again']);
  });

  it('starts anyway when nothing listens at SLACK_API_URL', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const { problems, logged } = await preflight({ SLACK_API_URL: `http://127.0.0.1:${closed}/api/` });
    expect(problems).toEqual([]);
    expect(logged).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringMatching(/^Slack could not confirm SLACK_BOT_TOKEN/) })]);
  });
});

describe("the stand-in's conversations.info", () => {
  it('describes a channel as Slack does, and refuses one it does not know with channel_not_found', async () => {
    standIn.addChannel({ id: 'GLEGACY1', name: 'legacy', isPrivate: true });
    const call = (channel: string) => fetch(`${standIn.url}conversations.info`, { method: 'POST', headers: { authorization: `Bearer ${standIn.botToken}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `channel=${channel}` }).then((res) => res.json());
    expect(await call('C0APPROVALS')).toMatchObject({ ok: true, channel: { id: 'C0APPROVALS', name: 'security-approvals', is_channel: true, is_group: false, is_private: false, is_archived: false, is_member: true } });
    expect(await call('GLEGACY1')).toMatchObject({ ok: true, channel: { id: 'GLEGACY1', is_channel: false, is_group: true, is_private: true, is_member: true } });
    expect(await call('C0NOWHERE')).toEqual({ ok: false, error: 'channel_not_found' });
  });
});
