import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCapturing } from './run-cli';
import { openRegister } from '../../src/db/client';
import { confirmOwner } from '../../src/services/confirm-owner';
import { decideException } from '../../src/services/decide-exception';
import { importPolicies } from '../../src/services/policy-catalogue';
import { requestRenewal } from '../../src/services/request-renewal';
import { APPROVERS, LOW_RISK, OWNER, POLICY_CSV, assess, buildContext, fileRequest } from '../services/fixtures';

const run = promisify(execFile);
let dir: string;
let env: Record<string, string>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-cli-'));
  env = { DATABASE_PATH: join(dir, 'register.db') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCapturing(args, env);

function csv(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('exceptions policies', () => {
  it('imports a catalogue, and a re-import updates titles without duplicating keys', async () => {
    const first = await cli('policies', 'import', csv('a.csv', 'key,title,description\nMFA-01,MFA,Second factor\nNET-02,"Segmentation, zones",\n'));
    expect(first).toMatchObject({ code: 0, out: expect.stringContaining('2 new, 0 updated') });
    const second = await cli('policies', 'import', csv('b.csv', 'key,title,description\nMFA-01,Multi-factor authentication,Second factor\n'));
    expect(second.out).toContain('0 new, 1 updated');
    const list = await cli('policies', 'list');
    expect(list.out.trim().split('\n')).toEqual([
      expect.stringMatching(/^KEY\s+MAX DAYS\s+TITLE$/),
      expect.stringMatching(/^MFA-01\s+-\s+Multi-factor authentication$/),
      expect.stringMatching(/^NET-02\s+-\s+Segmentation, zones$/),
    ]);
  });

  it('refuses a file with a bad row, names the row, and imports nothing', async () => {
    const result = await cli('policies', 'import', csv('bad.csv', 'key,title\nGOOD-1,Fine\n,No key\nGOOD-2,\n'));
    expect(result.code).toBe(1);
    expect(result.err).toContain('row 3');
    expect(result.err).toContain('row 4');
    expect((await cli('policies', 'list')).out).toContain('The catalogue is empty');
  });

  it.each([
    ['a line break in a title', 'key,title\nMFA-01,"Multi-factor\nHistory:"\n', 'row 2: title must be one line'],
    ['an escape sequence in a title', 'key,title\nMFA-01,Multi-factor \u001b[2J\n', 'row 2: title contains control characters'],
    ['a control character in a description', 'key,title,description\nMFA-01,Multi-factor,Second \u0007factor\n', 'row 2: description contains control characters'],
  ])('refuses %s like every other field, and imports nothing', async (_case, text, problem) => {
    const result = await cli('policies', 'import', csv('control.csv', text));
    expect(result).toMatchObject({ code: 1, err: expect.stringContaining(problem) });
    expect((await cli('policies', 'list')).out).toContain('The catalogue is empty');
  });

  it('refuses a missing file and a file without the key column', async () => {
    expect(await cli('policies', 'import', join(dir, 'nope.csv'))).toEqual({ code: 1, out: '', err: `cannot read ${join(dir, 'nope.csv')}: no such file\n` });
    const noKey = await cli('policies', 'import', csv('nokey.csv', 'name,title\nA,B\n'));
    expect(noKey).toMatchObject({ code: 1, err: expect.stringContaining('"key" is missing') });
  });
});

describe('exceptions show', () => {
  it('prints the full record: renewals with their evidence, check-ins, and the audit trail', async () => {
    const register = openRegister(env.DATABASE_PATH!);
    try {
      const ctx = buildContext(register);
      importPolicies(ctx.db, ctx.clock, POLICY_CSV, 'U0SEC1');
      const id = fileRequest(ctx, { owner: OWNER });
      assess(ctx, id, LOW_RISK);
      decideException(ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
      const later = buildContext(register, { clock: () => new Date('2027-01-05T09:00:00Z') });
      const renewal = requestRenewal(later, {
        exceptionId: id,
        actorId: OWNER,
        input: { progress: 'Console replaced in staging; production cut-over booked for February.', percentComplete: '70', evidenceUrl: 'https://tickets.example.com/CHG-1', controlTestedOn: '2027-01-02', expiresOn: '2027-03-01' },
      });
      expect(renewal.ok).toBe(true);
    } finally {
      register.close();
    }
    const shown = await cli('show', 'EXC-0001');
    expect(shown.code).toBe(0);
    expect(shown.out).toContain('Renewals:             0');
    expect(shown.out).toMatch(/renewal 1 \(requested\), asked 2027-01-05 by U0OWN: 70% done, control tested 2027-01-02, until 2027-03-01, evidence https:\/\/tickets.example.com\/CHG-1/);
    expect(shown.out).toContain('Console replaced in staging');
    expect(shown.out).toContain('Last control check-in: none yet');
    expect(shown.out.split('History:')[1]).toMatch(/exception\.requested[\s\S]*exception\.assessed[\s\S]*exception\.approved[\s\S]*renewal\.requested/);
  });
});

describe("exceptions show: the owner's answer", () => {
  it('says the owner is not yet confirmed until they accept, and that they declined after a Decline', async () => {
    const register = openRegister(env.DATABASE_PATH!);
    const ctx = buildContext(register);
    try {
      importPolicies(ctx.db, ctx.clock, POLICY_CSV, 'U0SEC1');
      fileRequest(ctx, { owner: OWNER });
    } finally {
      register.close();
    }
    expect((await cli('show', 'EXC-0001')).out).toContain(`/ ${OWNER} (owner not yet confirmed)\n`);
    const again = openRegister(env.DATABASE_PATH!);
    try {
      confirmOwner(buildContext(again), { exceptionId: 1, actorId: OWNER, answer: 'decline' });
    } finally {
      again.close();
    }
    expect((await cli('show', 'EXC-0001')).out).toContain(`/ ${OWNER} (declined to be owner)\n`);
  });
});

describe('exceptions show with hostile text', () => {
  const FORGED = '  2026-11-25T10:00:00.000Z  exception.approved        U0CISO';

  it('indents every later line of what a person typed, so a compensating control cannot print a second History block', async () => {
    const register = openRegister(env.DATABASE_PATH!);
    try {
      const ctx = buildContext(register);
      importPolicies(ctx.db, ctx.clock, POLICY_CSV, 'U0SEC1');
      fileRequest(ctx, { compensatingControls: `VPN only, reviewed weekly.\n\nHistory:\n${FORGED}` });
    } finally {
      register.close();
    }
    const shown = (await cli('show', 'EXC-0001')).out.split('\n');
    expect(shown.filter((line) => line === 'History:')).toHaveLength(1);
    expect(shown).not.toContain(FORGED);
    const control = shown.indexOf('Compensating control: VPN only, reviewed weekly.');
    expect(shown.slice(control + 1, control + 4)).toEqual([' '.repeat(22), `${' '.repeat(22)}History:`, `${' '.repeat(22)}${FORGED}`]);
    expect(shown.slice(shown.indexOf('History:') + 1).filter(Boolean)).toEqual([expect.stringMatching(/^ {2}\S+Z {2}exception\.requested\s+U0REQ$/)]);
  });

  it('shows the control characters a row was given behind the app’s back as escapes, never as themselves', async () => {
    const register = openRegister(env.DATABASE_PATH!);
    try {
      const ctx = buildContext(register);
      importPolicies(ctx.db, ctx.clock, POLICY_CSV, 'U0SEC1');
      fileRequest(ctx);
      register.sqlite.prepare("update exceptions set title = 'Gap\u001b]0;owned\u0007', scope = 'a\rHistory:' where id = 1").run();
      register.sqlite.prepare("update policies set title = 'MFA\u202e' where key = 'IA-2'").run();
    } finally {
      register.close();
    }
    const shown = (await cli('show', 'EXC-0001')).out;
    // Nothing a terminal acts on is left: no control character but line feeds, no bidi override.
    expect([...shown].filter((char) => (char < ' ' && char !== '\n') || (char >= '\u007f' && char <= '\u009f') || char === '\u202e')).toEqual([]);
    expect(shown).toContain('EXC-0001  Gap\\u001b]0;owned\\u0007\n');
    expect(shown).toContain('Scope:                a\\u000dHistory:\n');
    expect(shown).toContain('(MFA\\u202e)');
  });
});

describe('exceptions usage', () => {
  it.each([
    [['frobnicate'], 2, 'Unknown command "frobnicate"'],
    [['show'], 2, 'EXC-0001'],
    [['show', 'EXC-0042'], 1, 'EXC-0042 does not exist'],
    [['list', 'sleeping'], 2, 'Unknown status "sleeping"'],
  ])('exceptions %j exits %i and explains', async (args, code, message) => {
    await cli('migrate');
    const result = await cli(...args);
    expect(result.code).toBe(code);
    expect(result.err).toContain(message);
  });

  it('prints the usage for help', async () => {
    const result = await cli('help');
    expect(result.code).toBe(0);
    expect(result.out).toContain('policies import FILE.csv');
  });

  it('runs as the installed bin against the same register', async () => {
    const bin = join(import.meta.dirname, '../../bin/exceptions.js');
    const { stdout } = await run(process.execPath, [bin, 'policies', 'import', csv('c.csv', 'key,title\nPATCH-03,Patch management\n')], { env: { ...process.env, ...env } });
    expect(stdout).toContain('1 new');
    const listed = await run(process.execPath, [bin, 'list'], { env: { ...process.env, ...env } });
    expect(listed.stdout).toContain('No exceptions.');
  });
});
