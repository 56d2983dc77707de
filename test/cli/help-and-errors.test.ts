import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCapturing } from './run-cli';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/exceptions.js');
const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;
const COMMANDS = ['migrate', 'policies', 'list', 'show', 'export', 'audit', 'backup', 'jobs', 'help'];
// Root reads and writes through any permission bits, so as root the permission cases run the installed command as
// `nobody`; they need a checkout that user can read, which a checkout under a private home may not be.
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const nobodyCanRunTheCli = asRoot && spawnSync(process.execPath, [BIN, '--version'], { uid: NOBODY, gid: NOBODY }).status === 0;

/** The command as a user the permission bits apply to: in process when that is us, else the bin run as nobody. */
async function cliAsUser(args: string[], environment: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  if (!asRoot) return runCapturing(args, environment);
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { uid: NOBODY, gid: NOBODY, cwd: dir, env: { PATH: process.env.PATH ?? '', ...environment } }, (error, out, err) => {
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, out, err });
    });
  });
}

let dir: string;
let env: Record<string, string>;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-help-'));
  env = { DATABASE_PATH: join(dir, 'register.db') };
});
afterEach(() => {
  chmodSync(dir, 0o700);
  rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCapturing(args, env);
const registerCreated = () => existsSync(env.DATABASE_PATH!);

describe('exceptions --version', () => {
  it("prints package.json's version, in process and from the compiled bin", async () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
    expect(await cli('--version')).toEqual({ code: 0, out: `${VERSION}\n`, err: '' });
    const { stdout } = await run(process.execPath, [BIN, '--version'], { env: { ...process.env, ...env } });
    expect(stdout).toBe(`${VERSION}\n`);
    expect(registerCreated()).toBe(false);
  });
});

describe('exceptions help', () => {
  it('lists every command and points to the per-command help and the version', async () => {
    const { code, out } = await cli('help');
    expect(code).toBe(0);
    for (const command of COMMANDS) expect(out).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(out).toContain('exceptions help COMMAND');
    expect(out).toContain('exceptions --version');
    expect(out.split('\n').every((line) => line.length <= 100)).toBe(true);
    expect(await cli()).toEqual(await cli('help'));
    expect(await cli('--help')).toEqual(await cli('help'));
  });

  it.each(COMMANDS)('help %s, %s --help and %s -h print the usage of that command only, and open no register', async (command) => {
    const help = await cli('help', command);
    expect(help.code).toBe(0);
    expect(help.err).toBe('');
    const [title, ...forms] = help.out.split('\n\n')[0]!.split('\n');
    expect(title).toBe('Usage:');
    expect(forms.length).toBeGreaterThan(0);
    for (const form of forms) expect(form).toMatch(new RegExp(`^  exceptions ${command}\\b|^ {20,}\\S`));
    const others = COMMANDS.filter((c) => c !== command && !(command === 'help' && c === 'help'));
    for (const other of others) expect(help.out).not.toMatch(new RegExp(`^  exceptions ${other}\\b`, 'm'));
    expect(await cli(command, '--help')).toEqual(help);
    expect(await cli(command, '-h')).toEqual(help);
    expect(registerCreated()).toBe(false);
  });

  it('answers "policies import --help" with the CSV columns instead of opening a file called --help', async () => {
    const result = await cli('policies', 'import', '--help');
    expect(result.code).toBe(0);
    expect(result.out).toContain('key and title are required, description and\nmax_days optional');
    expect(result.out).toContain('policies.example.csv');
    expect(result.err).toBe('');
    expect(registerCreated()).toBe(false);
  });

  it('refuses help for a command that does not exist, with a pointer to the list', async () => {
    expect(await cli('help', 'frobnicate')).toEqual({ code: 2, out: '', err: 'There is no command "frobnicate". Run "exceptions help" for the list of commands.\n' });
  });

  it('answers an unknown command with one line and a pointer to exceptions help, exit 2', async () => {
    expect(await cli('frobnicate')).toEqual({ code: 2, out: '', err: 'Unknown command "frobnicate". Run "exceptions help" for the list of commands.\n' });
    expect((await cli('--frobnicate')).code).toBe(2);
    expect(registerCreated()).toBe(false);
  });
});

describe('a file the CLI cannot use is one line, not a stack trace', () => {
  it('a missing CSV: "cannot read FILE: no such file", exit 1, and no register is created', async () => {
    expect(await cli('policies', 'import', 'policies.csv')).toEqual({ code: 1, out: '', err: 'cannot read policies.csv: no such file\n' });
    expect(registerCreated()).toBe(false);
    const bin = await run(process.execPath, [BIN, 'policies', 'import', join(dir, 'nope.csv')], { env: { ...process.env, ...env } }).catch((error: { code: number; stderr: string }) => error);
    expect(bin).toMatchObject({ code: 1, stderr: `cannot read ${join(dir, 'nope.csv')}: no such file\n` });
  });

  it('a folder given as the CSV', async () => {
    expect(await cli('policies', 'import', dir)).toEqual({ code: 1, out: '', err: `cannot read ${dir}: it is a folder, not a file\n` });
  });

  it.runIf(!asRoot || nobodyCanRunTheCli)('a CSV the user may not read', async () => {
    chmodSync(dir, 0o755);
    const file = join(dir, 'secret.csv');
    writeFileSync(file, 'key,title\nMFA-01,MFA\n');
    chmodSync(file, 0o000);
    expect(await cliAsUser(['policies', 'import', file], env)).toEqual({ code: 1, out: '', err: `cannot read ${file}: permission denied\n` });
  });

  it('a second file after the CSV is refused rather than ignored', async () => {
    const result = await cli('policies', 'import', 'a.csv', 'b.csv');
    expect(result).toMatchObject({ code: 2, err: 'policies import takes one file, not also "b.csv".\n' });
  });

  it('a backup into a folder that does not exist names the folder and what to do, and writes nothing', async () => {
    const target = join(dir, 'backups', 'register.db');
    expect(await cli('backup', target)).toEqual({ code: 1, out: '', err: `cannot write ${target}: the folder ${join(dir, 'backups')} does not exist; create it first or choose another path\n` });
    expect(existsSync(join(dir, 'backups'))).toBe(false);
    mkdirSync(join(dir, 'backups'));
    await cli('migrate');
    expect((await cli('backup', target)).code).toBe(0);
  });

  it('a backup under a file rather than a folder', async () => {
    writeFileSync(join(dir, 'notes.txt'), '');
    const target = join(dir, 'notes.txt', 'register.db');
    expect(await cli('backup', target)).toEqual({ code: 1, out: '', err: `cannot write ${target}: ${join(dir, 'notes.txt')} is a file, not a folder\n` });
  });

  it.runIf(!asRoot || nobodyCanRunTheCli)('a backup into a folder the user may not write', async () => {
    chmodSync(dir, 0o755);
    const folder = join(dir, 'locked');
    mkdirSync(folder, { mode: 0o555 });
    const target = join(folder, 'register.db');
    expect(await cliAsUser(['backup', target], env)).toEqual({ code: 1, out: '', err: `cannot write ${target}: permission denied\n` });
  });
});

describe('counts read as English', () => {
  it('one event is "1 event"; an empty trail says so', async () => {
    await cli('migrate');
    expect((await cli('audit', 'verify')).out).toBe('The audit trail is empty: nothing has been recorded yet.\nThe register holds no exception yet.\n');
    writeFileSync(join(dir, 'one.csv'), 'key,title\nMFA-01,Multi-factor authentication\n');
    expect((await cli('policies', 'import', join(dir, 'one.csv'))).out).toMatch(/: 1 new, 0 updated\.\n$/);
    expect(await cli('audit', 'verify')).toMatchObject({ code: 0, err: '' });
    expect((await cli('audit', 'verify')).out).toMatch(/^The audit trail is intact: 1 event\.\n.*\nThe register holds no exception yet\.\n$/);
  });
});
