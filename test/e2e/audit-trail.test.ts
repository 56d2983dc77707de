import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApplication } from '../../src/application';
import { ConfigError } from '../../src/config';
import { createLogger } from '../../src/logger';
import { ACTION_IDS } from '../../src/slack/ids';
import { runCapturing } from '../cli/run-cli';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, clickButton, decisionCard, submitRequest } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness(); // Wednesday 2026-11-25
});
afterEach(async () => {
  await h.close();
});

const KEY = 'a-key-only-the-app-and-its-admins-hold-0123456789';

const weeklyPosts = () => h.standIn.messages(CHANNELS.committee).filter((m) => (m.text ?? '').startsWith('Exception register, week'));
const anchorOf = (blocks: unknown) => /Audit trail anchor: `(\d+) ([0-9a-f]{64})`/.exec(JSON.stringify(blocks));
const slackEnv = () => ({ DATABASE_PATH: h.databasePath, SLACK_BOT_TOKEN: h.standIn.botToken, SLACK_API_URL: h.standIn.url, COMMITTEE_CHANNEL: CHANNELS.committee });

/** As someone with the register file and no regard for its triggers would. */
function tamper(sql: string): void {
  const sqlite = new Database(h.databasePath);
  try {
    sqlite.exec('drop trigger audit_events_no_update; drop trigger audit_events_no_delete;');
    sqlite.exec(sql);
  } finally {
    sqlite.close();
  }
}

describe('the weekly committee post anchors the audit trail outside the register', () => {
  it('carries the chain head; audit verify --slack reads the posts back, ignores anchors anyone else posts, and catches a trail cut short', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    h.clock.now = new Date('2026-11-30T09:05:00Z');
    await h.runJobs();

    const [post] = weeklyPosts();
    const posted = anchorOf(post!.blocks);
    const head = h.app.register.sqlite.prepare("select id, hash from audit_events where kind = 'metrics.posted'").get() as { id: number; hash: string };
    expect(posted?.slice(1)).toEqual([String(head.id), head.hash]);
    // A person can write the same words in the channel; only the app's own posts are anchors.
    h.standIn.seedMessage({ channel: CHANNELS.committee, user: PEOPLE.committee1, text: 'x', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `Audit trail anchor: \`${head.id + 5} ${'f'.repeat(64)}\`` } }] });

    const verified = await runCapturing(['audit', 'verify', '--slack'], slackEnv());
    expect(verified).toMatchObject({ code: 0, err: '' });
    expect(verified.out).toContain(`It matches 1 anchor kept outside the register, the latest at event ${head.id}.\n`);

    // The weekly post's own event changed no row: without the anchor, cutting it off would go unseen.
    tamper(`delete from audit_events where id >= ${head.id}`);
    expect((await runCapturing(['audit', 'verify'], { DATABASE_PATH: h.databasePath })).code).toBe(0);
    expect(await runCapturing(['audit', 'verify', '--slack'], slackEnv())).toMatchObject({
      code: 1,
      err: `the weekly post of ${new Date(Number(post!.ts.split('.')[0]) * 1000).toISOString().slice(0, 10)} in ${CHANNELS.committee} says the audit trail had ${head.id} events; it has only ${head.id - 1} now: events were removed from its end.\n`,
    });
  });

  it('says in one line, checking nothing, when Slack will not show the app the channel', async () => {
    h.standIn.addChannel({ id: CHANNELS.committee, name: 'security-committee', isMember: false });
    expect(await runCapturing(['audit', 'verify', '--slack'], slackEnv())).toEqual({
      code: 1,
      out: '',
      err: 'The weekly posts could not be read back from the committee channel: the app is not a member of COMMITTEE_CHANNEL, so Slack will not show it the channel: invite it there with /invite and the app\'s name. Nothing was checked; check against a file instead with --anchors FILE.\n',
    });
    h.standIn.addChannel({ id: CHANNELS.committee, name: 'security-committee' });
    h.standIn.revokeScope('channels:history');
    expect((await runCapturing(['audit', 'verify', '--slack'], slackEnv())).err).toContain('the bot token lacks channels:history');
  });
});

describe('AUDIT_HMAC_KEY', () => {
  it('seals at start-up the trail written before the key, seals every event after, and the app will not start without that key', async () => {
    await submitRequest(h);
    h.config.auditKey = KEY;
    await h.restart();
    await assess(h, 'EXC-0001', 2, 2);
    const events = h.app.register.sqlite.prepare('select id, kind, actor_id as actor, keyed from audit_events order by id').all();
    expect(events).toEqual([
      { id: 1, kind: 'policy.imported', actor: 'test', keyed: 0 },
      { id: 2, kind: 'exception.requested', actor: PEOPLE.requester, keyed: 0 },
      { id: 3, kind: 'audit.sealed', actor: 'app', keyed: 1 },
      { id: 4, kind: 'exception.assessed', actor: PEOPLE.security, keyed: 1 },
    ]);
    const verified = await runCapturing(['audit', 'verify'], { DATABASE_PATH: h.databasePath, AUDIT_HMAC_KEY: KEY });
    expect(verified).toMatchObject({ code: 0, err: '' });
    expect(verified.out).toContain('Events 3 to 4 are sealed with AUDIT_HMAC_KEY and check with it; the 2 events written before the key was set are bound by the first sealed one.\n');

    const quiet = { logger: createLogger('error', () => undefined), schedule: false };
    await expect(startApplication({ ...h.config, auditKey: undefined }, quiet)).rejects.toEqual(
      new ConfigError(['AUDIT_HMAC_KEY: is not set, but the audit trail is sealed with it (its last event, 4, is); set the key the app was given']),
    );
    await expect(startApplication({ ...h.config, auditKey: 'another-key-that-is-long-enough-0123456789' }, quiet)).rejects.toEqual(
      new ConfigError([
        'AUDIT_HMAC_KEY: does not verify the last event of the audit trail (4): it is not the key the trail was sealed with, or that event was changed; set the key the app was given, then run exceptions audit verify',
      ]),
    );
  });
});
