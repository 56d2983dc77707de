import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH, legacyEventUid, verifyAuditChain } from '../../src/db/audit-chain';
import { openRegister } from '../../src/db/client';
import { importPolicies } from '../../src/services/policy-catalogue';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-migrations-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The migrations folder as it stood after the first `count` migrations. */
function migrationsUpTo(count: number): string {
  const folder = join(dir, `migrations-${count}`);
  cpSync(join(import.meta.dirname, '../../drizzle'), folder, { recursive: true });
  const journalPath = join(folder, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { idx: number }[] };
  journal.entries = journal.entries.filter((entry) => entry.idx < count);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

describe('upgrading a register in place', () => {
  it('keeps every exception, audit event and queued notification when the follow-up tables arrive', () => {
    const path = join(dir, 'register.db');
    const old = new Database(path);
    migrate(drizzle(old), { migrationsFolder: migrationsUpTo(2) });
    const at = '2026-11-25T10:00:00.000Z';
    old.prepare("insert into policies (key, title, created_at, updated_at) values ('MFA-01', 'MFA', ?, ?)").run(at, at);
    old.prepare(
      `insert into exceptions (policy_id, title, scope, justification, compensating_controls, requester_id, owner_id, requested_expires_on, status, created_at, updated_at)
       values (1, 'Legacy HR', 'hr-app-01', 'A justification that is long enough for the register', 'VPN only', 'U0REQ', 'U0OWN', '2027-01-15', 'requested', ?, ?)`,
    ).run(at, at);
    old.prepare("insert into outbox (exception_id, kind, payload, next_attempt_at, created_at) values (1, 'post_card', '{}', ?, ?)").run(at, at);
    old.close();

    const register = openRegister(path);
    try {
      expect(register.sqlite.prepare('select title, status, current_round, renewal_count from exceptions').all()).toEqual([
        { title: 'Legacy HR', status: 'requested', current_round: 0, renewal_count: 0 },
      ]);
      expect(register.sqlite.prepare('select kind, state, claimed_until from outbox').all()).toEqual([{ kind: 'post_card', state: 'pending', claimed_until: null }]);
      const tables = register.sqlite.prepare("select name from sqlite_master where type = 'table'").all().map((row) => (row as { name: string }).name);
      expect(tables).toEqual(expect.arrayContaining(['renewals', 'follow_ups', 'job_runs', 'checkins', 'reviews']));
      expect(() => register.sqlite.prepare("insert into outbox (kind, payload, next_attempt_at, created_at) values ('carrier_pigeon', '{}', ?, ?)").run(at, at)).toThrow(/CHECK/);
    } finally {
      register.close();
    }
  });
});

describe('migration 0005: event uids and an insert that can only append', () => {
  it('gives each existing event the uid its hash makes, keeps the chain intact, and appends after it', () => {
    const path = join(dir, 'register.db');
    const old = new Database(path);
    migrate(drizzle(old), { migrationsFolder: migrationsUpTo(5) });
    const at = '2026-11-25T10:00:00.000Z';
    let previous = GENESIS_HASH;
    for (let id = 1; id <= 12; id++) {
      const event = { exceptionId: null, actorId: 'U0SEC1', kind: 'policy.imported', payload: `{"created":${id}}`, occurredAt: at };
      // Hashed as events were before they had a uid: the content alone.
      const hash = createHash('sha256').update(JSON.stringify([previous, event.exceptionId, event.actorId, event.kind, event.payload, event.occurredAt])).digest('hex');
      old.prepare('insert into audit_events (actor_id, kind, payload, occurred_at, prev_hash, hash) values (?, ?, ?, ?, ?, ?)').run(event.actorId, event.kind, event.payload, at, previous, hash);
      previous = hash;
    }
    old.close();

    const register = openRegister(path);
    try {
      const rows = register.sqlite.prepare('select id, hash, uid, keyed from audit_events order by id').all() as { id: number; hash: string; uid: string; keyed: number }[];
      expect(rows.map((row) => row.uid)).toEqual(rows.map((row) => legacyEventUid(row.hash)));
      expect(rows.every((row) => /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(row.uid) && row.keyed === 0)).toBe(true);
      // The variant digit is the one the SQL computes with instr() and the code with parseInt(): all four occur here.
      expect(new Set(rows.map((row) => row.uid[19]))).toEqual(new Set(['8', '9', 'a', 'b']));
      expect(verifyAuditChain(register.db)).toEqual({ ok: true, events: 12 });
      importPolicies(register.db, () => new Date(at), 'key,title\nMFA-01,Multi-factor authentication', 'U0SEC1');
      expect(verifyAuditChain(register.db)).toEqual({ ok: true, events: 13 });
      const triggers = register.sqlite.prepare("select name from sqlite_master where type = 'trigger' order by name").all();
      expect(triggers).toEqual([{ name: 'audit_events_append_only' }, { name: 'audit_events_no_delete' }, { name: 'audit_events_no_update' }]);
    } finally {
      register.close();
    }
  });
});
