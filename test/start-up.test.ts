import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-start-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const main = join(import.meta.dirname, '../src/main.ts');
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', main], { env: { PATH: process.env.PATH ?? '', DATABASE_PATH: join(dir, 'x.db'), ...env }, timeout: 15_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr });
    });
  });
}

describe('npm start with bad configuration', () => {
  it('refuses to start, with one line per problem naming the variable', async () => {
    const { code, stderr } = await start({ SLACK_BOT_TOKEN: 'not-a-token', COMMITTEE_IDS: 'U0ONE', COMMITTEE_QUORUM: '3', TZ: 'Mars/Olympus' });
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n').slice(1);
    expect(lines).toEqual(
      expect.arrayContaining([
        'SLACK_BOT_TOKEN: must be a bot token starting with xoxb-',
        'SLACK_SIGNING_SECRET: is required but not set',
        'SECURITY_TEAM_IDS: is required but not set',
        'APPROVALS_CHANNEL: is required but not set',
        'TZ: must be an IANA time zone such as Europe/Berlin',
      ]),
    );
    expect(lines.every((line) => /^[A-Z_]+: /.test(line))).toBe(true);
  });
});
