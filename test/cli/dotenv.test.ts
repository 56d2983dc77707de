import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../bin/exceptions.js');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-dotenv-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env } }, (error, out, err) => {
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, out, err });
    });
  });
}

describe('the command line reads .env as the app does', () => {
  it('takes DATABASE_PATH from .env in the working directory', async () => {
    writeFileSync(join(dir, '.env'), `DATABASE_PATH=${join(dir, 'from-dotenv.db')}\n`);
    expect((await run(['migrate'])).code).toBe(0);
    const listed = await run(['list']);
    expect(listed.code).toBe(0);
    expect(listed.err).toBe('');
  });

  it('never lets .env override a variable already set', async () => {
    writeFileSync(join(dir, '.env'), `DATABASE_PATH=${join(dir, 'from-dotenv.db')}\n`);
    const migrated = await run(['migrate'], { DATABASE_PATH: join(dir, 'from-environment.db') });
    expect(migrated.code).toBe(0);
    expect((await run(['list'], { DATABASE_PATH: join(dir, 'from-environment.db') })).code).toBe(0);
    // The file's register was never made: the environment won.
    expect((await run(['list'])).err).toMatch(/there is no register at .*from-dotenv\.db/);
  });

  it('refuses a line Node would skip silently, in one line, without echoing it', async () => {
    writeFileSync(join(dir, '.env'), 'SLACK_BOT_TOKEN xoxb-pasted-without-equals\n');
    const result = await run(['list']);
    expect(result.code).toBe(2);
    expect(result.err.trim().split('\n')).toEqual(['.env: line 1 is not NAME=value; fix it or start it with # to make a comment']);
  });
});
