import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOldRegister, journalEntries } from './support/old-register';
import { canMakeReadOnly, makeReadOnly } from './support/read-only';
import { startSlackStandIn, type SlackStandIn } from './support/slack-stand-in';
import { appEnv } from './support/app-env';

// Issue 10 §4: a register the app cannot write stops `node dist/main.js` with exit code 2 and one line naming
// DATABASE_PATH and what to do. A read-only or full disk is a real one: a tmpfs mounted in a mount namespace of the
// app's own (unshare), which needs no privilege where unprivileged user namespaces are allowed, and even root cannot
// write through. Where they are not, those cases are skipped and the read-only folder case (chattr +i) still runs.

const ROOT = join(import.meta.dirname, '..');
const privateMounts = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'true']).status === 0;

let dir: string;
let standIn: SlackStandIn;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-register-start-'));
  standIn = await startSlackStandIn();
});
const undo: (() => void)[] = [];
afterEach(async () => {
  for (const restore of undo.splice(0).reverse()) restore();
  await standIn.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(databasePath: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '', ...appEnv(standIn, databasePath) };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(file: string, args: string[], databasePath: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: ROOT, env: env(databasePath), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // A start that got this far did not refuse: stop it, and let the assertions say so.
      if (/listening on port/.test(stderr)) child.kill('SIGTERM');
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const NODE = process.execPath;
const startApp = (databasePath: string) => collect(NODE, ['dist/main.js'], databasePath);
/** A shell script in a mount namespace of its own: what it mounts only it and its children see, and it goes with them. */
const inPrivateMount = (script: string, databasePath: string) => collect('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-euc', script], databasePath);

/** The one line a refused start printed, after checking it printed nothing else and exited 2. */
function refusal(ran: Ran): string {
  expect(ran.stderr.split('\n').filter((line) => line !== '')).toHaveLength(1);
  expect(ran.code).toBe(2);
  return ran.stderr.trimEnd();
}

const READ_ONLY_ADVICE = 'make it writable by the user the app runs as, or set DATABASE_PATH to a writable place (list, show, export and audit verify can read a read-only copy as it is)';

// Each case starts the app, some twice, and a loaded machine takes seconds to start it.
describe('node dist/main.js with a register it cannot write', { timeout: 60_000 }, () => {
  it.runIf(privateMounts)('on a read-only disk, a new register and an existing one', async () => {
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    const path = join(disk, 'data', 'register.db');
    const mounted = `mount -t tmpfs tmpfs ${disk}\nmkdir ${disk}/data`;
    const line = `DATABASE_PATH: cannot write ${disk}/data: it is on a read-only disk; ${READ_ONLY_ADVICE}`;
    expect(refusal(await inPrivateMount(`${mounted}\nmount -o remount,ro ${disk}\nexec ${NODE} dist/main.js`, path))).toBe(line);
    createOldRegister(join(dir, 'register.db'), journalEntries().length);
    expect(refusal(await inPrivateMount(`${mounted}\ncp ${dir}/register.db ${disk}/data/\nmount -o remount,ro ${disk}\nexec ${NODE} dist/main.js`, path))).toBe(line);
  });

  it.runIf(privateMounts)('on a full disk', async () => {
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    createOldRegister(join(dir, 'register.db'), journalEntries().length);
    const script = `mount -t tmpfs -o size=8m tmpfs ${disk}\ncp ${dir}/register.db ${disk}/\ndd if=/dev/zero of=${disk}/filler bs=64k 2>/dev/null || true\nexec ${NODE} dist/main.js`;
    expect(refusal(await inPrivateMount(script, join(disk, 'register.db')))).toMatch(
      new RegExp(`^DATABASE_PATH: the disk holding ${disk} has \\d+ KiB free and the register needs at least 4 MiB; free some space there, or move the register to a disk with room and set DATABASE_PATH to it$`),
    );
  });

  it.runIf(privateMounts)('on a disk that fills up during the upgrade: nothing is half done, and the upgrade goes through once there is room', async () => {
    const old = join(dir, 'register.db');
    createOldRegister(old, 2);
    const sqlite = new Database(old);
    // A long outbox history: migration 0002 rebuilds the outbox, so the upgrade needs its size again.
    const insert = sqlite.prepare("insert into outbox (kind, payload, state, next_attempt_at, created_at) values ('direct_message', ?, 'delivered', '2026-10-01T09:00:00Z', '2026-10-01T09:00:00Z')");
    sqlite.transaction(() => {
      for (let i = 0; i < 6000; i++) insert.run(JSON.stringify({ text: 'x'.repeat(1000), i }));
    })();
    sqlite.close();
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    // Room for the register and 5 MiB more: enough to start, not to copy the outbox.
    const size = Math.ceil(statSync(old).size / 1024) + 5 * 1024;
    const count = `${NODE} -e "console.log(new (require('better-sqlite3'))('${disk}/register.db', { readonly: true }).prepare('select count(*) as n from outbox').get().n)"`;
    const script = [
      `mount -t tmpfs -o size=${size}k tmpfs ${disk}`,
      `cp ${old} ${disk}/`,
      `${NODE} dist/main.js || echo "exit $?"`,
      count,
      `mount -o remount,size=64m ${disk}`,
      `${NODE} bin/exceptions.js migrate`,
      count,
    ].join('\n');
    const ran = await inPrivateMount(script, join(disk, 'register.db'));
    expect(ran.stderr.split('\n').filter((line) => line !== '')).toEqual([
      expect.stringMatching(new RegExp(`^DATABASE_PATH: the disk holding ${disk} filled up while the register was being written \\(\\d+ KiB free now\\); free some space there, `)),
    ]);
    expect(ran.stdout.split('\n')).toEqual(['exit 2', '6000', 'The register is up to date.', '6000', '']);
  });

  it.skipIf(!canMakeReadOnly)('in a read-only folder', async () => {
    const folder = join(dir, 'data');
    mkdirSync(folder);
    undo.push(makeReadOnly(folder));
    expect(refusal(await startApp(join(folder, 'register.db')))).toBe(`DATABASE_PATH: cannot write ${folder}: permission denied; ${READ_ONLY_ADVICE}`);
  });

  it('under a file, and as a file that is not a register', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'not a folder\n');
    expect(refusal(await startApp(join(dir, 'notes.txt', 'register.db')))).toBe(
      `DATABASE_PATH: ${join(dir, 'notes.txt', 'register.db')} cannot be a register: part of its path is a file, not a folder; set DATABASE_PATH to a file in a folder, such as ./data/exceptions.db`,
    );
    expect(refusal(await startApp(join(dir, 'notes.txt')))).toBe(`DATABASE_PATH: ${join(dir, 'notes.txt')} is not a register: it is not an SQLite database; check DATABASE_PATH`);
    expect((await collect(NODE, ['bin/exceptions.js', 'migrate'], join(dir, 'notes.txt'))).stderr).toBe(`DATABASE_PATH: ${join(dir, 'notes.txt')} is not a register: it is not an SQLite database; check DATABASE_PATH\n`);
  });
});
