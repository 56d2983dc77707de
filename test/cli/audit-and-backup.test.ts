import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main';
import { runCapturing } from './run-cli';
import { hashAuditEvent } from '../../src/db/audit-chain';
import { openRegister, type Register } from '../../src/db/client';
import { decideException } from '../../src/services/decide-exception';
import { importPolicies } from '../../src/services/policy-catalogue';
import { APPROVERS, LOW_RISK, POLICY_CSV, assess, buildContext, fileRequest } from '../services/fixtures';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-audit-'));
  path = join(dir, 'register.db');
  const register = openRegister(path);
  try {
    const ctx = buildContext(register);
    importPolicies(ctx.db, ctx.clock, POLICY_CSV, 'U0SEC1');
    for (let i = 0; i < 3; i++) {
      const id = fileRequest(ctx);
      assess(ctx, id, LOW_RISK);
      decideException(ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
    }
  } finally {
    register.close();
  }
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCapturing(args, { DATABASE_PATH: path });

/** Tampering as someone with the database file would: the guard triggers go first. */
function tamper(change: (register: Register) => void): void {
  const register = openRegister(path);
  try {
    register.sqlite.exec('drop trigger audit_events_no_update; drop trigger audit_events_no_delete;');
    change(register);
  } finally {
    register.close();
  }
}

describe('exceptions audit verify', () => {
  it('reports an intact chain with its length and exits 0', async () => {
    const result = await cli('audit', 'verify');
    expect(result).toMatchObject({ code: 0, out: 'The audit trail is intact: 10 events, each linked to the one before.\n' });
  });

  it('finds an edited event', async () => {
    tamper((r) => r.sqlite.prepare("update audit_events set payload = replace(payload, '2027-01-31', '2030-01-31') where id = 4").run());
    const result = await cli('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.err).toBe('The audit trail is broken at event 4 (the 4th): it was changed after it was written.\n');
  });

  it.each([
    [1, '1st'],
    [2, '2nd'],
    [3, '3rd'],
  ])('names the edited event %i as the %s', async (id, position) => {
    tamper((r) => r.sqlite.prepare("update audit_events set actor_id = 'U0FORGER' where id = ?").run(id));
    expect((await cli('audit', 'verify')).err).toBe(`The audit trail is broken at event ${id} (the ${position}): it was changed after it was written.\n`);
  });

  it('finds a deleted event at the event after the gap', async () => {
    tamper((r) => r.sqlite.prepare('delete from audit_events where id = 6').run());
    const result = await cli('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^The audit trail is broken at event 7 .*deleted or the order changed/);
  });

  it('an INSERT OR REPLACE of the last approval, re-attributed and rehashed, is refused with the triggers in place', async () => {
    const register = openRegister(path);
    try {
      const last = register.sqlite.prepare('select * from audit_events order by id desc limit 1').get() as Record<string, string | number | null>;
      expect(last.kind).toBe('exception.approved');
      const forged = { exceptionId: last.exception_id as number, actorId: 'U0MALLORY', kind: String(last.kind), payload: String(last.payload), occurredAt: String(last.occurred_at), uid: String(last.uid) };
      const replace = register.sqlite.prepare('insert or replace into audit_events (id, exception_id, actor_id, kind, payload, occurred_at, prev_hash, hash, uid) values (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      expect(() =>
        replace.run(last.id, forged.exceptionId, forged.actorId, forged.kind, forged.payload, forged.occurredAt, last.prev_hash, hashAuditEvent(String(last.prev_hash), forged), forged.uid),
      ).toThrow(/append-only/);
    } finally {
      register.close();
    }
    expect((await cli('audit', 'verify')).code).toBe(0);
    expect((await cli('show', 'EXC-0003')).out).toMatch(/exception\.approved\s+U0CISO\n$/);
  });

  it('finds two swapped events', async () => {
    tamper((r) => {
      r.sqlite.prepare('update audit_events set id = -1 where id = 5').run();
      r.sqlite.prepare('update audit_events set id = 5 where id = 6').run();
      r.sqlite.prepare('update audit_events set id = 6 where id = -1').run();
    });
    const result = await cli('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^The audit trail is broken at event 5 .*deleted or the order changed/);
  });
});

describe('exceptions backup', () => {
  it('writes a consistent copy while another connection keeps writing, and never overwrites a file', async () => {
    const writer = openRegister(path);
    const ctx = buildContext(writer);
    const writing = (async () => {
      for (let i = 0; i < 50; i++) {
        fileRequest(ctx);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const target = join(dir, 'copy.db');
    const result = await cli('backup', target);
    await writing;
    writer.close();
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^Backed up the register to .*copy\.db \(\d+ pages\)\.\n$/);

    const copy = openRegister(target);
    try {
      const exceptions = (copy.sqlite.prepare('select count(*) as n from exceptions').get() as { n: number }).n;
      expect(exceptions).toBeGreaterThanOrEqual(3);
      expect(exceptions).toBeLessThanOrEqual(53);
    } finally {
      copy.close();
    }
    const backupPath = target;
    const verify = await runCli(['audit', 'verify'], { DATABASE_PATH: backupPath }, { out: { write: () => true }, err: { write: () => true } });
    expect(verify).toBe(0);
    expect((await cli('backup', target)).code).toBe(1);
    expect(existsSync(target)).toBe(true);
  });

  it('refuses a symbolic link as the file, dangling or not, and writes nothing through it', async () => {
    mkdirSync(join(dir, 'elsewhere'));
    const gone = join(dir, 'elsewhere', 'gone.db');
    const link = join(dir, 'register-2026-11-25.db');
    symlinkSync(gone, link);
    expect(await cli('backup', link)).toEqual({ code: 1, out: '', err: `${link} is a symbolic link (to ${gone}); name a new file, so the backup cannot be written somewhere else.\n` });
    expect(existsSync(gone)).toBe(false);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const toRegister = join(dir, 'latest.db');
    symlinkSync(path, toRegister);
    expect((await cli('backup', toRegister)).err).toBe(`${toRegister} is a symbolic link (to ${path}); name a new file, so the backup cannot be written somewhere else.\n`);
  });

  it.each([
    ['000', 0o000],
    ['022', 0o022],
    ['277', 0o277],
  ])('writes the copy readable by its owner only (0600) under umask %s', async (_, umask) => {
    const target = join(dir, 'copy.db');
    const before = process.umask(umask);
    try {
      expect((await cli('backup', target)).code).toBe(0);
    } finally {
      process.umask(before);
    }
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((name) => name.startsWith('copy.db'))).toEqual(['copy.db']);
    expect((await runCapturing(['audit', 'verify'], { DATABASE_PATH: target })).code).toBe(0);
  });

  it('creates no file when the register cannot be read, so the next try is not refused', async () => {
    const target = join(dir, 'copy.db');
    const typo = join(dir, 'typo.db');
    expect(await runCapturing(['backup', target], { DATABASE_PATH: typo })).toMatchObject({ code: 1, err: `DATABASE_PATH: there is no register at ${typo}; check DATABASE_PATH, or create the register with: exceptions migrate\n` });
    expect(existsSync(target)).toBe(false);
    expect((await cli('backup', target)).code).toBe(0);
  });
});
