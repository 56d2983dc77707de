import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './support/slack-stand-in';
import { appEnv } from './support/app-env';

// Issue 9 §4: the real process (`node --import tsx src/main.ts`, as `npm run dev` starts it) against the Slack
// stand-in. A refusal is exit code 2 and one line on stderr per problem; nothing else is written before it.

let dir: string;
let standIn: SlackStandIn;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-start-'));
  standIn = await startSlackStandIn();
});
afterEach(async () => {
  await standIn.close();
  rmSync(dir, { recursive: true, force: true });
});

const MAIN = join(import.meta.dirname, '../src/main.ts');
// Resolved here: the app runs in a directory of its own, where `--import tsx` would not find the package.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** What `npm start` would be given: complete, right, and pointed at the stand-in. */
function goodEnv(): Record<string, string> {
  return appEnv(standIn, join(dir, 'register.db'));
}

interface Run {
  /** The exit code; for a process that started, that of its SIGTERM shutdown. */
  code: number | null;
  listened: boolean;
  lines: string[];
}

/**
 * Starts the app in `dir` (where a .env would be read) with only `env`, and lets it run until it exits by itself or
 * says it is listening, then stops it with SIGTERM.
 */
function start(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let listened = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the app neither started nor stopped within 15 s:\n${stderr}`));
    }, 15_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!listened && /listening on port \d+/.test(stderr)) {
        listened = true;
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, listened, lines: stderr.split('\n').filter((line) => line !== '') });
    });
  });
}

/** The one line a refusal printed, after checking it was refused with exit code 2 and printed nothing else. */
async function refusal(env: Record<string, string>): Promise<string> {
  const run = await start(env);
  expect(run).toMatchObject({ code: 2, listened: false });
  expect(run.lines).toHaveLength(1);
  return run.lines[0]!;
}

/** The JSON lines a started app logged. */
const logged = (run: Run) => run.lines.map((line) => JSON.parse(line) as { level: string; message: string });

describe('npm start with bad configuration', () => {
  it('refuses to start, with one line per problem naming the variable', async () => {
    const run = await start({ SLACK_BOT_TOKEN: 'not-a-token', COMMITTEE_IDS: 'U0ONE', COMMITTEE_QUORUM: '3', TZ: 'Mars/Olympus' });
    expect(run.code).toBe(2);
    expect(run.lines).toEqual(
      expect.arrayContaining([
        'SLACK_BOT_TOKEN: must be a bot token starting with xoxb-',
        'SLACK_SIGNING_SECRET: is required but not set',
        'SECURITY_TEAM_IDS: is required but not set',
        'APPROVALS_CHANNEL: is required but not set',
        'TZ: must be an IANA time zone such as Europe/Berlin',
      ]),
    );
    expect(run.lines.every((line) => /^[A-Z_]+: /.test(line))).toBe(true);
  });

  it.each([
    ['COMMITTEE_CHANNEL', 'C0APPROVALS', 'COMMITTEE_CHANNEL: is C0APPROVALS, the same channel as APPROVALS_CHANNEL; committee decisions need a channel of their own'],
    ['APPROVER_IDS', 'U0CISO,U0DEP,U0CISO', 'APPROVER_IDS: lists U0CISO twice; list each person once'],
    ['AUDITOR_IDS', 'U0AUD1,U0COM2', 'AUDITOR_IDS: U0COM2 is also in COMMITTEE_IDS; an auditor only reads and never acts, so list them in one or the other'],
    ['PORT', '0x0e', 'PORT: must be a port number from 0 to 65535'],
    ['MAX_EXCEPTION_DAYS', '1e1', 'MAX_EXCEPTION_DAYS: must be a whole number of days from 1 to 365'],
    ['REMINDER_DAYS', '14,7,7', 'REMINDER_DAYS: lists 7 twice; list each day once'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL: must be one of debug, info, warn, error'],
    [
      'METRICS_CRON',
      '0 9 * * 5',
      'METRICS_CRON: the weekly metrics are posted on Mondays, so day of month, month and weekday must be "* * 1"; choose the minute and hours, e.g. "0 9 * * 1" or "0 9,17 * * 1"',
    ],
  ])('%s=%j: exit code 2 and one line', async (variable, value, line) => {
    expect(await refusal({ ...goodEnv(), [variable]: value })).toBe(line);
  });
});

describe('npm start checks Slack before it takes requests', () => {
  it('starts against a Slack that accepts the token and knows both channels', async () => {
    const run = await start(goodEnv());
    expect(run).toMatchObject({ code: 0, listened: true });
    expect(logged(run).filter((line) => line.level !== 'info')).toEqual([]);
    expect(standIn.callsTo('conversations.info').map((call) => call.args.channel).sort()).toEqual(['C0APPROVALS', 'C0COMMITTEE']);
  });

  it('refuses a bot token Slack refuses, naming SLACK_BOT_TOKEN and what to do', async () => {
    expect(await refusal({ ...goodEnv(), SLACK_BOT_TOKEN: 'xoxb-from-an-uninstalled-app' })).toBe(
      "SLACK_BOT_TOKEN: Slack refused it (invalid_auth); copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page, reinstalling the app first if it was removed",
    );
  });

  it('refuses a channel Slack does not know', async () => {
    expect(await refusal({ ...goodEnv(), APPROVALS_CHANNEL: 'C0TYPO' })).toBe(
      "APPROVALS_CHANNEL: Slack has no channel C0TYPO that the app can see; check the ID (at the bottom of the channel's About tab), and for a private channel invite the app first with /invite @exceptions",
    );
  });

  it('refuses a private channel the app has not been invited to', async () => {
    standIn.addChannel({ id: 'C0COMMITTEE', name: 'security-committee', isPrivate: true, isMember: false });
    expect(await refusal(goodEnv())).toBe('COMMITTEE_CHANNEL: C0COMMITTEE (#security-committee) is private and the app is not a member; invite it there with /invite @exceptions');
  });

  it('refuses an archived channel', async () => {
    standIn.addChannel({ id: 'C0APPROVALS', name: 'security-approvals', isArchived: true });
    expect(await refusal(goodEnv())).toBe('APPROVALS_CHANNEL: C0APPROVALS (#security-approvals) is archived; unarchive it or set APPROVALS_CHANNEL to a channel in use');
  });

  it('refuses a token installed without the scope to read channels', async () => {
    standIn.revokeScope('channels:read');
    expect(await refusal(goodEnv())).toBe(
      'SLACK_BOT_TOKEN: lacks the channels:read scope needed to check the channels; update the app from manifest.yml and reinstall it to the workspace so the token has every scope listed there',
    );
  });

  it('starts anyway when Slack answers 503, with one warning line', async () => {
    standIn.fail({ status: 503, methods: ['auth.test'], times: 1 });
    const run = await start(goodEnv());
    expect(run).toMatchObject({ code: 0, listened: true });
    expect(logged(run).filter((line) => line.level !== 'info')).toEqual([
      expect.objectContaining({ level: 'warn', message: 'Slack could not confirm SLACK_BOT_TOKEN, APPROVALS_CHANNEL and COMMITTEE_CHANNEL; starting anyway, and each request checks the token again' }),
    ]);
  });
});

describe('roles at start-up', () => {
  it('starts with one warning line when someone on the security team also decides', async () => {
    const run = await start({ ...goodEnv(), SECURITY_TEAM_IDS: 'U0SEC1,U0CISO', APPROVER_IDS: 'U0CISO,U0DEP' });
    expect(run).toMatchObject({ code: 0, listened: true });
    expect(logged(run).filter((line) => line.level !== 'info')).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: 'SECURITY_TEAM_IDS: U0CISO also decides (APPROVER_IDS or COMMITTEE_IDS); allowed, but they will never decide an exception whose risk they assessed, so another approver or committee member must',
      }),
    ]);
  });
});

describe('.env in the working directory', () => {
  it('fills what the environment does not set, and never overrides what it does', async () => {
    const { APPROVER_IDS, COMMITTEE_IDS, ...rest } = goodEnv();
    writeFileSync(join(dir, '.env'), [`# the deciders`, `APPROVER_IDS=${APPROVER_IDS}`, `export COMMITTEE_IDS="${COMMITTEE_IDS}"`, 'APPROVALS_CHANNEL=C0NOWHERE', ''].join('\n'));
    const run = await start(rest);
    expect(run).toMatchObject({ code: 0, listened: true });
    // C0NOWHERE would have been refused: the environment's C0APPROVALS won.
    expect(standIn.callsTo('conversations.info').map((call) => call.args.channel).sort()).toEqual(['C0APPROVALS', 'C0COMMITTEE']);
  });

  it('refuses a line that is not NAME=value, in one line that does not repeat it', async () => {
    writeFileSync(join(dir, '.env'), ['APPROVER_IDS=U0CISO', 'xoxb-pasted-without-a-name', ''].join('\n'));
    expect(await refusal(goodEnv())).toBe('.env: line 2 is not NAME=value; fix it or start it with # to make a comment');
  });
});
