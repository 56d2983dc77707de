import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCapturing } from './run-cli';
import { openRegister } from '../../src/db/client';
import { decideException } from '../../src/services/decide-exception';
import { importPolicies } from '../../src/services/policy-catalogue';
import { APPROVERS, LOW_RISK, POLICY_CSV, assess, buildContext, fileRequest } from '../services/fixtures';
import { createOldRegister, journalEntries } from '../support/old-register';
import { canMakeReadOnly, makeReadOnly } from '../support/read-only';

// Issue 10 §4: an auditor's copy of the register (mode 0444 in a folder nobody may write, without the -wal and -shm
// files SQLite would want beside it) is read by audit verify, list, export and show through the installed command,
// and nothing is written to it or beside it.

const BIN = join(import.meta.dirname, '../../bin/exceptions.js');
const READS = [['audit', 'verify'], ['list'], ['list', 'active'], ['export', '--format', 'json'], ['export', '--format', 'csv', '--status', 'active'], ['show', 'EXC-0002']];

let dir: string;
let live: string;
let folder: string;
const undo: (() => void)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-read-only-copy-'));
  live = join(dir, 'register.db');
  folder = join(dir, 'auditor');
  mkdirSync(folder);
  const register = openRegister(live);
  try {
    const ctx = buildContext(register);
    importPolicies(ctx.db, ctx.clock, POLICY_CSV, 'U0SEC1');
    for (let i = 0; i < 3; i++) {
      const id = fileRequest(ctx);
      assess(ctx, id, LOW_RISK);
      if (i < 2) decideException(ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
    }
  } finally {
    register.close();
  }
});
afterEach(() => {
  for (const restore of undo.splice(0).reverse()) restore();
  rmSync(dir, { recursive: true, force: true });
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const exceptions = (databasePath: string, ...args: string[]): Promise<Ran> =>
  promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_PATH: databasePath } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

/** The same command in process: quicker where what is under test is not the installed command. */
const inProcess = (databasePath: string, ...args: string[]): Promise<Ran> =>
  runCapturing(args, { DATABASE_PATH: databasePath }).then(({ code, out, err }) => ({ code, stdout: out, stderr: err }));

/** The copy as an auditor gets it: read-only, in a read-only folder, alone. */
function lockUp(path: string): void {
  chmodSync(path, 0o444);
  undo.push(makeReadOnly(path), makeReadOnly(folder));
  expect(readdirSync(folder)).toEqual(['register.db']);
}

describe.skipIf(!canMakeReadOnly)("an auditor's read-only copy", { timeout: 60_000 }, () => {
  it('answers audit verify, list, export and show as the register itself does, and nothing is written to or beside it', async () => {
    const copy = join(folder, 'register.db');
    expect(await exceptions(live, 'backup', copy)).toMatchObject({ code: 0 });
    lockUp(copy);
    const before = readFileSync(copy);
    const answers = new Map<string, string>();
    for (const args of READS) {
      const fromCopy = await exceptions(copy, ...args);
      expect(fromCopy, args.join(' ')).toEqual(await inProcess(live, ...args));
      expect(fromCopy.code, args.join(' ')).toBe(0);
      answers.set(args.join(' '), fromCopy.stdout);
    }
    expect(answers.get('audit verify')).toMatch(/^The audit trail is intact: \d+ events, each linked to the one before\.\n(.*\n)*The register agrees with its audit trail: \d+ exceptions replayed from their events\.\n$/);
    expect(answers.get('list')!.trim().split('\n')).toHaveLength(4);
    expect(answers.get('show EXC-0002')).toMatch(/^EXC-0002 {2}/);
    expect(readdirSync(folder)).toEqual(['register.db']);
    expect(readFileSync(copy).equals(before)).toBe(true);
  });

  it('refuses what would write to it in one line, and can itself be backed up', async () => {
    const copy = join(folder, 'register.db');
    await exceptions(live, 'backup', copy);
    lockUp(copy);
    expect(await exceptions(copy, 'migrate')).toEqual({
      code: 1,
      stdout: '',
      stderr: `DATABASE_PATH: cannot write ${folder}: permission denied; make it writable by the user the app runs as, or set DATABASE_PATH to a writable place (list, show, export and audit verify can read a read-only copy as it is)\n`,
    });
    const again = join(dir, 'copy-of-copy.db');
    expect((await exceptions(copy, 'backup', again)).code).toBe(0);
    expect(await inProcess(again, 'audit', 'verify')).toEqual(await inProcess(live, 'audit', 'verify'));
  });

  it('at an older schema, is refused in one line rather than upgraded or misread', async () => {
    const copy = join(folder, 'register.db');
    createOldRegister(copy, 3);
    lockUp(copy);
    const refusal = `DATABASE_PATH: ${copy} was last upgraded by an older version (3 of the ${journalEntries().length} migrations this version has) and is read as it is, never upgraded; upgrade a writable copy first with: exceptions migrate\n`;
    expect(await exceptions(copy, 'list')).toEqual({ code: 1, stdout: '', stderr: refusal });
    for (const args of READS) expect(await inProcess(copy, ...args), args.join(' ')).toEqual({ code: 1, stdout: '', stderr: refusal });
  });
});

describe('a register the read commands cannot find', () => {
  it('is refused in one line, and not created: a mistyped DATABASE_PATH must not verify as an empty trail', async () => {
    const typo = join(dir, 'regsiter.db');
    expect((await exceptions(typo, 'audit', 'verify')).code).toBe(1);
    for (const args of [...READS, ['backup', join(dir, 'backup.db')]]) {
      expect(await inProcess(typo, ...args), args.join(' ')).toEqual({
        code: 1,
        stdout: '',
        stderr: `DATABASE_PATH: there is no register at ${typo}; check DATABASE_PATH, or create the register with: exceptions migrate\n`,
      });
    }
    expect(readdirSync(dir).sort()).toEqual(['auditor', 'register.db']);
  });
});
