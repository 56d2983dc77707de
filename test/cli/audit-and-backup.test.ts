import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main';
import { runCapturing } from './run-cli';
import { GENESIS_HASH, hashAuditEvent } from '../../src/db/audit-chain';
import { openRegister, type Register } from '../../src/db/client';
import { checkControls } from '../../src/services/check-controls';
import { decideException } from '../../src/services/decide-exception';
import { expireDue } from '../../src/services/expire-due';
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

/** What someone who can write the file and read the code can do: rehash every event from the first on, without the key. */
function recomputeChain(register: Register): void {
  const events = register.sqlite.prepare('select * from audit_events order by id').all() as Record<string, string | number | null>[];
  const rewrite = register.sqlite.prepare('update audit_events set prev_hash = ?, hash = ?, keyed = 0 where id = ?');
  let previous = GENESIS_HASH;
  for (const e of events) {
    const hash = hashAuditEvent(previous, { exceptionId: e.exception_id as number | null, actorId: String(e.actor_id), kind: String(e.kind), payload: String(e.payload), occurredAt: String(e.occurred_at), uid: String(e.uid) });
    rewrite.run(previous, hash, e.id);
    previous = hash;
  }
}

function hashAt(id: number): string {
  const register = openRegister(path);
  try {
    return (register.sqlite.prepare('select hash from audit_events where id = ?').get(id) as { hash: string }).hash;
  } finally {
    register.close();
  }
}

function writeCsv(text: string): string {
  const file = join(dir, `policies-${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(file, text);
  return file;
}

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
  it('reports an intact chain, that no event is sealed, and a register that agrees with it, and exits 0', async () => {
    const result = await cli('audit', 'verify');
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toBe(
      [
        'The audit trail is intact: 10 events, each linked to the one before.',
        'No event is sealed: without AUDIT_HMAC_KEY, whoever can write the register file can also recompute the chain; the anchors are then what shows it.',
        'The register agrees with its audit trail: 3 exceptions replayed from their events.',
        '',
      ].join('\n'),
    );
  });

  it('finds an edited event, and the rows it no longer matches', async () => {
    tamper((r) => r.sqlite.prepare("update audit_events set payload = replace(payload, '2027-01-31', '2030-01-31') where id = 4").run());
    const result = await cli('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      [
        'The audit trail is broken at event 4 (the 4th): it was changed after it was written.',
        'EXC-0001 expires_on: the register says "2027-01-31", the audit trail says "2030-01-31".',
        'EXC-0001 original_expires_on: the register says "2027-01-31", the audit trail says "2030-01-31".',
        '',
      ].join('\n'),
    );
  });

  it.each([
    [1, '1st'],
    [2, '2nd'],
    [3, '3rd'],
  ])('names the edited event %i as the %s', async (id, position) => {
    tamper((r) => r.sqlite.prepare("update audit_events set actor_id = 'U0FORGER' where id = ?").run(id));
    expect((await cli('audit', 'verify')).err).toMatch(new RegExp(`^The audit trail is broken at event ${id} \\(the ${position}\\): it was changed after it was written\\.\n`));
  });

  it('finds a deleted event at the event after the gap', async () => {
    tamper((r) => r.sqlite.prepare('delete from audit_events where id = 6').run());
    const result = await cli('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^The audit trail is broken at event 7 \(the 6th\).*deleted or inserted, or the order changed/);
  });

  it('finds the last event deleted: the register is ahead of its trail', async () => {
    tamper((r) => r.sqlite.prepare('delete from audit_events where id = 10').run());
    const result = await cli('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.err).toContain('EXC-0003 status: the register says "active", the audit trail says "pending_approval".\n');
    expect(result.err).toContain('EXC-0003 expires_on: the register says "2027-01-31", the audit trail says null.\n');
  });

  it('finds every event deleted while the exceptions stay in the register', async () => {
    tamper((r) => r.sqlite.prepare('delete from audit_events').run());
    const result = await cli('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.err.split('\n').filter(Boolean)).toEqual(
      ['EXC-0001', 'EXC-0002', 'EXC-0003'].map((ref) => `${ref}: the audit trail has no event for it: its history was removed, or it was written into the register directly.`),
    );
  });

  it('finds an expired exception set back to active until 2031 in its row', async () => {
    const register = openRegister(path);
    expireDue(buildContext(register, { clock: () => new Date('2027-02-01T09:00:00Z') }), new Date('2027-02-01T09:00:00Z'));
    register.close();
    tamper((r) => r.sqlite.prepare("update exceptions set status = 'active', expires_on = '2031-12-31' where id = 2").run());
    const result = await cli('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      ['EXC-0002 status: the register says "active", the audit trail says "expired".', 'EXC-0002 expires_on: the register says "2031-12-31", the audit trail says "2027-01-31".', ''].join('\n'),
    );
  });

  it('finds a decision re-attributed in its row', async () => {
    tamper((r) => r.sqlite.prepare("update decisions set decider_id = 'U0MALLORY' where exception_id = 1").run());
    const result = await cli('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      [
        'EXC-0001 decision of round 0 by U0MALLORY: the register says {"outcome":"approve","comment":null,"decidedAt":"2026-11-25T10:00:00.000Z"}, the audit trail says nothing.',
        'EXC-0001 decision of round 0 by U0CISO: the register says nothing, the audit trail says {"outcome":"approve","comment":null,"decidedAt":"2026-11-25T10:00:00.000Z"}.',
        '',
      ].join('\n'),
    );
  });

  it('finds an approval re-attributed in the trail with the unkeyed chain recomputed, as the decision row still names the approver', async () => {
    tamper((r) => {
      r.sqlite.prepare("update audit_events set actor_id = 'U0MALLORY' where id = 4").run();
      recomputeChain(r);
    });
    const result = await cli('audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^EXC-0001 decision of round 0 by U0CISO: the register says \{"outcome":"approve".*the audit trail says nothing\.\n/);
    expect(result.err).not.toContain('audit trail is broken');
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
    expect(result.err).toMatch(/^The audit trail is broken at event 5 .*deleted or inserted, or the order changed/);
  });

  it('finds an event slipped in below the first one', async () => {
    tamper((r) => {
      r.sqlite.exec('drop trigger audit_events_append_only');
      r.sqlite.prepare("insert into audit_events (id, exception_id, actor_id, kind, payload, occurred_at, prev_hash, hash, uid) values (0, null, 'U0MALLORY', 'policy.imported', '{}', '2026-01-01T00:00:00.000Z', ?, 'forged', 'forged')").run('0'.repeat(64));
    });
    expect((await cli('audit', 'verify')).err).toMatch(/^The audit trail is broken at event 0 \(the 1st\)/);
  });
});

describe('exceptions audit verify --anchors', () => {
  /** What an admin copies from a weekly post: the count and hash of the chain's head as it stood then. */
  function headNow(): { count: number; hash: string } {
    const register = openRegister(path);
    try {
      const head = register.sqlite.prepare('select id, hash from audit_events order by id desc limit 1').get() as { id: number; hash: string };
      return { count: head.id, hash: head.hash };
    } finally {
      register.close();
    }
  }
  const anchorsFile = (text: string) => {
    const file = join(dir, 'anchors.txt');
    writeFileSync(file, text);
    return file;
  };

  it('reads COUNT HASH lines, JSON lines, notes and comments, and says the register matches them', async () => {
    const head = headNow();
    const file = anchorsFile(`# copied from the committee channel\n${head.count - 3} ${hashAt(head.count - 3)} 2026-W48\n\n${JSON.stringify({ ...head, week: '2026-W49' })}\n`);
    const register = openRegister(path);
    fileRequest(buildContext(register));
    register.close();
    const result = await cli('audit', 'verify', '--anchors', file);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain('It matches 2 anchors kept outside the register, the latest at event 10; the 1 event since have no anchor yet.\n');
  });

  it('catches a trail cut short below an anchor, though the replay alone cannot: the removed event changed no row', async () => {
    const register = openRegister(path);
    checkControls(buildContext(register, { clock: () => new Date('2026-12-30T09:00:00Z') }), new Date('2026-12-30T09:00:00Z'));
    register.close();
    const file = anchorsFile(`${headNow().count} ${headNow().hash}\n`);
    tamper((r) => r.sqlite.prepare("delete from audit_events where id = (select max(id) from audit_events) and kind = 'exception.checkin_asked'").run());
    expect((await cli('audit', 'verify')).code).toBe(0);
    const result = await cli('audit', 'verify', '--anchors', file);
    expect(result.code).toBe(1);
    expect(result.err).toBe(`${file} line 1 says the audit trail had 13 events; it has only 12 now: events were removed from its end.\n`);
  });

  it('catches a re-attributed approval with its decision row changed too and the unkeyed chain recomputed', async () => {
    const file = anchorsFile(`${headNow().count} ${headNow().hash}\n`);
    tamper((r) => {
      r.sqlite.prepare("update audit_events set actor_id = 'U0MALLORY' where id = 4").run();
      r.sqlite.prepare("update decisions set decider_id = 'U0MALLORY' where exception_id = 1").run();
      recomputeChain(r);
    });
    expect((await cli('audit', 'verify')).code).toBe(0);
    const result = await cli('audit', 'verify', '--anchors', file);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(new RegExp(`^${file} line 1 says event 10 had the hash [0-9a-f]{12}…; it has [0-9a-f]{12}… now: the trail was rewritten at or before that event\\.\n$`));
  });

  it.each([
    ['a line that is neither COUNT HASH nor JSON', 'ten abc\n', 'line 1: is not COUNT HASH'],
    ['a hash that is too short', '10 abc123\n', 'line 1: is not COUNT HASH'],
    ['JSON without a count', '# ok\n{"hash": "' + 'a'.repeat(64) + '"}\n', 'line 2: needs "count"'],
    ['a file with no anchor in it', '# nothing yet\n', 'holds no anchor'],
  ])('refuses %s, checking nothing', async (_case, text, problem) => {
    const result = await cli('audit', 'verify', '--anchors', anchorsFile(text));
    expect(result.code).toBe(1);
    expect(result.err).toContain(problem);
    expect(result.out).toBe('');
  });

  it('says in one line that a file of anchors cannot be read, and what a usage error is', async () => {
    expect(await cli('audit', 'verify', '--anchors', join(dir, 'missing.txt'))).toMatchObject({ code: 1, err: `cannot read ${join(dir, 'missing.txt')}: no such file\n` });
    expect(await cli('audit', 'verify', '--anchors')).toMatchObject({ code: 2, err: 'Unknown or incomplete option "--anchors". Use: audit verify [--anchors FILE] [--slack]\n' });
    expect((await cli('audit', 'verify', '--slack')).err).toBe("audit verify --slack reads the committee channel with the app's bot token:\nSLACK_BOT_TOKEN: is required but not set\nCOMMITTEE_CHANNEL: is required but not set\n");
  });
});

describe('exceptions audit verify with AUDIT_HMAC_KEY', () => {
  const KEY = 'k'.repeat(40);
  const keyed = (...args: string[]) => runCapturing(args, { DATABASE_PATH: path, AUDIT_HMAC_KEY: KEY });

  it('refuses a key shorter than 32 characters in one line', async () => {
    expect(await runCapturing(['audit', 'verify'], { DATABASE_PATH: path, AUDIT_HMAC_KEY: 'short' })).toMatchObject({
      code: 2,
      err: 'AUDIT_HMAC_KEY: must be at least 32 characters; make one with: openssl rand -hex 32\n',
    });
  });

  it('seals what the command line writes, and checks the seals only with the key', async () => {
    expect((await keyed('policies', 'import', writeCsv('key,title\nPR-9,Privileged access'))).code).toBe(0);
    const withKey = await keyed('audit', 'verify');
    expect(withKey).toMatchObject({ code: 0 });
    expect(withKey.out).toContain('Event 11 is sealed with AUDIT_HMAC_KEY and checks with it; the 10 events written before the key was set are bound by the first sealed one.\n');
    const withoutKey = await cli('audit', 'verify');
    expect(withoutKey).toMatchObject({ code: 1, err: "1 event is sealed with AUDIT_HMAC_KEY, which is not set here: the chain's links were checked, but not what it says. Set AUDIT_HMAC_KEY to the app's key and verify again.\n" });
    // Without the key, nothing more can be written: an unsealed event after a sealed one would break the chain.
    expect(await cli('policies', 'import', writeCsv('key,title\nPR-10,Privileged sessions'))).toMatchObject({
      code: 1,
      err: 'AUDIT_HMAC_KEY: is not set, but the audit trail is sealed with it (its last event, 11, is); set the key the app was given\n',
    });
  });

  it('fails a chain recomputed without the key after a re-attributed approval', async () => {
    expect((await keyed('policies', 'import', writeCsv('key,title\nPR-9,Privileged access'))).code).toBe(0);
    tamper((r) => {
      r.sqlite.prepare("update audit_events set actor_id = 'U0MALLORY' where id = 4").run();
      r.sqlite.prepare("update decisions set decider_id = 'U0MALLORY' where exception_id = 1").run();
      recomputeChain(r);
    });
    expect((await cli('audit', 'verify')).code).toBe(0);
    expect(await keyed('audit', 'verify')).toMatchObject({
      code: 1,
      err: 'The audit trail is broken at event 11 (the 11th): it ends a trail no event of which is sealed with AUDIT_HMAC_KEY: the trail was recomputed without the key, or the app has not started since the key was set (it seals the trail at start-up).\n',
    });
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
