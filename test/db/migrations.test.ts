import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { is } from 'drizzle-orm';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH, legacyEventUid, verifyAuditChain } from '../../src/db/audit-chain';
import { openRegister } from '../../src/db/client';
import * as schema from '../../src/db/schema';
import { importPolicies } from '../../src/services/policy-catalogue';
import { journalEntries, migrateTo } from '../support/old-register';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-migrations-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('upgrading a register in place', () => {
  it('keeps every exception, audit event and queued notification when the follow-up tables arrive', () => {
    const path = join(dir, 'register.db');
    const old = new Database(path);
    migrateTo(old, 2);
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
    migrateTo(old, 5);
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
      expect(verifyAuditChain(register.db)).toMatchObject({ ok: true, events: 12 });
      importPolicies(register.db, () => new Date(at), 'key,title\nMFA-01,Multi-factor authentication', 'U0SEC1');
      expect(verifyAuditChain(register.db)).toMatchObject({ ok: true, events: 13 });
      const triggers = register.sqlite.prepare("select name from sqlite_master where type = 'trigger' order by name").all();
      expect(triggers).toEqual([{ name: 'audit_events_append_only' }, { name: 'audit_events_no_delete' }, { name: 'audit_events_no_update' }]);
    } finally {
      register.close();
    }
  });
});

type Row = Record<string, string | number | null>;

/** Events as every version before 0005 hashed them: the content alone, each linked to the one before. */
function chained(events: { exception_id: number | null; actor_id: string; kind: string; payload: object; occurred_at: string }[]): Row[] {
  let previous = GENESIS_HASH;
  return events.map((event, i) => {
    const payload = JSON.stringify(event.payload);
    const hash = createHash('sha256').update(JSON.stringify([previous, event.exception_id, event.actor_id, event.kind, payload, event.occurred_at])).digest('hex');
    const row = { id: i + 1, ...event, payload, prev_hash: previous, hash };
    previous = hash;
    return row;
  });
}

const EVENTS = chained([
  { exception_id: 1, actor_id: 'U0REQ', kind: 'exception.requested', payload: { title: 'Legacy HR portal without SSO' }, occurred_at: '2026-10-01T09:00:00.000Z' },
  { exception_id: 1, actor_id: 'U0SEC1', kind: 'exception.assessed', payload: { likelihood: 2, impact: 2, score: 4, route: 'fast_path' }, occurred_at: '2026-10-01T11:00:00.000Z' },
  { exception_id: 1, actor_id: 'U0CISO', kind: 'exception.approved', payload: { expiresOn: '2027-01-15' }, occurred_at: '2026-10-02T08:30:00.000Z' },
  { exception_id: 2, actor_id: 'U0REQ', kind: 'exception.requested', payload: { title: 'Flat network for the build farm' }, occurred_at: '2026-10-05T10:00:00.000Z' },
  { exception_id: 2, actor_id: 'U0SEC1', kind: 'exception.assessed', payload: { likelihood: 4, impact: 4, score: 16, route: 'committee' }, occurred_at: '2026-10-05T12:00:00.000Z' },
  { exception_id: 2, actor_id: 'U0COM1', kind: 'exception.vote_recorded', payload: { outcome: 'reject' }, occurred_at: '2026-10-06T09:00:00.000Z' },
  { exception_id: 2, actor_id: 'U0COM2', kind: 'exception.rejected', payload: { comment: 'Segment it first' }, occurred_at: '2026-10-06T09:05:00.000Z' },
  { exception_id: 3, actor_id: 'U0OWN', kind: 'exception.requested', payload: { title: 'Shared admin account on the badge system' }, occurred_at: '2026-11-20T14:00:00.000Z' },
  { exception_id: 4, actor_id: 'U0OWN', kind: 'exception.requested', payload: { title: 'Unpatched print server' }, occurred_at: '2026-06-01T09:00:00.000Z' },
  { exception_id: 4, actor_id: 'U0CISO', kind: 'exception.approved', payload: { expiresOn: '2026-09-01' }, occurred_at: '2026-06-02T09:00:00.000Z' },
  { exception_id: 4, actor_id: 'U0OWN', kind: 'renewal.requested', payload: { round: 1 }, occurred_at: '2026-08-20T09:00:00.000Z' },
  { exception_id: 4, actor_id: 'U0CISO', kind: 'renewal.approved', payload: { round: 1, expiresOn: '2026-12-01' }, occurred_at: '2026-08-21T09:00:00.000Z' },
  { exception_id: null, actor_id: 'U0SEC1', kind: 'metrics.posted', payload: { week: '2026-W48' }, occurred_at: '2026-11-23T09:00:00.000Z' },
]);

const exception = (row: Row): Row => ({
  scope: 'one system',
  justification: 'The vendor ships no fix before the end of the quarter; replacing it is planned.',
  compensating_controls: 'VPN only, IP allow-list, weekly log review',
  requester_id: 'U0REQ',
  owner_id: 'U0OWN',
  ...row,
});

/**
 * What a version wrote once a migration was in, in that migration's columns: the rows a register carries into every
 * later upgrade. A migration with new tables or columns adds its rows here, so later upgrades carry them too.
 */
const WRITTEN_AFTER: Record<string, { table: string; rows: Row[] }[]> = {
  '0000_foundation': [
    {
      table: 'policies',
      rows: [
        { id: 1, key: 'MFA-01', title: 'Multi-factor authentication', description: 'Every interactive login uses a second factor.', created_at: '2026-09-01T08:00:00.000Z', updated_at: '2026-09-01T08:00:00.000Z' },
        { id: 2, key: 'NET-02', title: 'Network segmentation, zones', description: '', created_at: '2026-09-01T08:00:00.000Z', updated_at: '2026-09-15T08:00:00.000Z' },
      ],
    },
    {
      table: 'exceptions',
      rows: [
        exception({ id: 1, policy_id: 1, title: 'Legacy HR portal without SSO', scope: 'hr-app-01', affected_systems: 'hr-app-01, hr-db-01', external_ref: 'CHG-1042', requested_expires_on: '2027-01-15', expires_on: '2027-01-15', original_expires_on: '2027-01-15', status: 'active', route: 'fast_path', risk_score: 4, submission_key: 'V0SUBMIT1', triage_channel: 'C0APPROVALS', triage_ts: '1790000000.000100', approval_channel: 'C0APPROVALS', approval_ts: '1790000000.000100', created_at: '2026-10-01T09:00:00.000Z', updated_at: '2026-10-02T08:30:00.000Z', activated_at: '2026-10-02T08:30:00.000Z' }),
        exception({ id: 2, policy_id: 2, title: 'Flat network for the build farm', requested_expires_on: '2027-04-01', status: 'rejected', route: 'committee', risk_score: 16, structural: 1, structural_reason: 'The farm is rebuilt next year', origin_permalink: 'https://example.slack.com/archives/C0WATCH/p1790000000000200', created_at: '2026-10-05T10:00:00.000Z', updated_at: '2026-10-06T09:05:00.000Z', closed_at: '2026-10-06T09:05:00.000Z' }),
        exception({ id: 3, policy_id: 1, title: 'Shared admin account on the badge system', requested_expires_on: '2027-02-28', status: 'requested', created_at: '2026-11-20T14:00:00.000Z', updated_at: '2026-11-20T14:00:00.000Z' }),
      ],
    },
    {
      table: 'assessments',
      rows: [
        { id: 1, exception_id: 1, round: 0, assessor_id: 'U0SEC1', likelihood: 2, impact: 2, score: 4, rationale: 'Reachable over VPN only', route: 'fast_path', route_reasons: '', assessed_at: '2026-10-01T11:00:00.000Z' },
        { id: 2, exception_id: 2, round: 0, assessor_id: 'U0SEC1', likelihood: 4, impact: 4, score: 16, rationale: 'Lateral movement to production', route: 'committee', route_reasons: 'score 16 ≥ 12', assessed_at: '2026-10-05T12:00:00.000Z' },
      ],
    },
    {
      table: 'decisions',
      rows: [
        { id: 1, exception_id: 1, round: 0, decider_id: 'U0CISO', outcome: 'approve', comment: null, decided_at: '2026-10-02T08:30:00.000Z' },
        { id: 2, exception_id: 2, round: 0, decider_id: 'U0COM1', outcome: 'reject', comment: 'Too broad', decided_at: '2026-10-06T09:00:00.000Z' },
        { id: 3, exception_id: 2, round: 0, decider_id: 'U0COM2', outcome: 'reject', comment: 'Segment it first', decided_at: '2026-10-06T09:05:00.000Z' },
      ],
    },
    { table: 'audit_events', rows: EVENTS.slice(0, 8) },
    {
      table: 'outbox',
      rows: [
        { id: 1, exception_id: 1, kind: 'post_card', payload: '{"exceptionId":1}', state: 'delivered', attempts: 1, next_attempt_at: '2026-10-01T09:00:00.000Z', last_error: null, created_at: '2026-10-01T09:00:00.000Z', delivered_at: '2026-10-01T09:00:01.000Z' },
        { id: 2, exception_id: 2, kind: 'direct_message', payload: '{"userId":"U0REQ"}', state: 'dead', attempts: 5, next_attempt_at: '2026-10-06T10:00:00.000Z', last_error: 'channel_not_found', created_at: '2026-10-06T09:05:00.000Z', delivered_at: null },
        { id: 3, exception_id: 3, kind: 'post_card', payload: '{"exceptionId":3}', state: 'pending', attempts: 0, next_attempt_at: '2026-11-20T14:00:00.000Z', last_error: null, created_at: '2026-11-20T14:00:00.000Z', delivered_at: null },
      ],
    },
  ],
  '0002_scheduled_follow_ups_renewals_and_checkins': [
    { table: 'policies', rows: [{ id: 3, key: 'PATCH-03', title: 'Patch management', description: 'Critical patches within 14 days.', max_days: 30, created_at: '2026-05-01T08:00:00.000Z', updated_at: '2026-05-01T08:00:00.000Z' }] },
    {
      table: 'exceptions',
      rows: [
        exception({ id: 4, policy_id: 3, title: 'Unpatched print server', requested_expires_on: '2026-09-01', expires_on: '2026-12-01', original_expires_on: '2026-09-01', status: 'active', route: 'fast_path', risk_score: 6, current_round: 1, renewal_count: 1, committee_ts: null, closing_note: null, last_checkin_on: '2026-11-02', attention_reason: null, last_reviewed_at: '2026-10-05T09:00:00.000Z', last_reviewed_by: 'U0COM1', created_at: '2026-06-01T09:00:00.000Z', updated_at: '2026-08-21T09:00:00.000Z', activated_at: '2026-06-02T09:00:00.000Z' }),
      ],
    },
    { table: 'audit_events', rows: EVENTS.slice(8, 12) },
    {
      table: 'renewals',
      rows: [
        { id: 1, exception_id: 4, round: 1, requested_by: 'U0OWN', progress: 'Replacement ordered; delivery in November.', percent_complete: 60, evidence_url: 'https://tickets.example.com/CHG-7', control_tested_on: '2026-08-18', requested_expires_on: '2026-12-01', status: 'approved', route: 'fast_path', new_expires_on: '2026-12-01', submission_key: 'V0RENEW1', created_at: '2026-08-20T09:00:00.000Z', decided_at: '2026-08-21T09:00:00.000Z' },
      ],
    },
    { table: 'checkins', rows: [{ id: 1, exception_id: 4, asked_on: '2026-11-02', asked_at: '2026-11-02T09:00:00.000Z', answer: 'yes', answered_by: 'U0OWN', answered_at: '2026-11-02T10:00:00.000Z', overdue_reported_at: null }] },
    { table: 'follow_ups', rows: [{ id: 1, exception_id: 4, kind: 'expiry_reminder', key: '14', sent_at: '2026-11-17T09:00:00.000Z' }] },
    { table: 'job_runs', rows: [{ job: 'expiry_sweep', lease_until: null, last_started_at: '2026-11-25T09:00:00.000Z', last_finished_at: '2026-11-25T09:00:01.000Z', last_as_of: '2026-11-25T09:00:00.000Z', last_result: 'expired 0', last_error: null }] },
    { table: 'reviews', rows: [{ id: 1, quarter: '2026-Q4', posted_at: '2026-10-05T09:00:00.000Z' }] },
    { table: 'outbox', rows: [{ id: 4, exception_id: null, kind: 'reminder_digest', payload: '{"ownerId":"U0OWN","exceptionIds":[4]}', state: 'pending', attempts: 2, next_attempt_at: '2026-11-17T09:05:00.000Z', claimed_until: '2026-11-17T09:01:00.000Z', last_error: 'ratelimited', created_at: '2026-11-17T09:00:00.000Z', delivered_at: null }] },
  ],
  '0003_informal_asks_webhook_cursor_and_metrics': [
    { table: 'audit_events', rows: EVENTS.slice(12) },
    { table: 'informal_asks', rows: [{ id: 1, channel: 'C0WATCH', thread_ts: '1790000000.000300', message_ts: '1790000000.000300', asked_by: 'U0DEV', text: 'can we get a waiver for MFA on the kiosk?', answered_at: '2026-11-21T10:00:00.000Z' }] },
    { table: 'metric_snapshots', rows: [{ id: 1, week: '2026-W48', active: 2, over_one_eighty: 0, figures: '{"active":2,"byPolicy":{"MFA-01":1,"PATCH-03":1}}', taken_at: '2026-11-23T09:00:00.000Z' }] },
    { table: 'webhook_cursor', rows: [{ id: 1, last_event_id: 12, attempts: 1, next_attempt_at: '2026-11-23T09:01:00.000Z', last_error: 'HTTP 503' }] },
    { table: 'outbox', rows: [{ id: 5, exception_id: null, kind: 'informal_pointer', payload: '{"channel":"C0WATCH"}', state: 'delivered', attempts: 1, next_attempt_at: '2026-11-21T10:00:00.000Z', claimed_until: null, last_error: null, created_at: '2026-11-21T10:00:00.000Z', delivered_at: '2026-11-21T10:00:01.000Z' }] },
  ],
};

const ENTRIES = journalEntries();

/** What describes a register's schema: tables, indexes and triggers as SQLite stores them, and the migrations it records. */
function schemaOf(sqlite: Database.Database) {
  return {
    objects: sqlite.prepare("select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite_%' order by type, name").all(),
    migrations: sqlite.prepare('select hash, created_at from __drizzle_migrations order by created_at').all(),
  };
}

describe.each(ENTRIES.slice(0, -1).map((entry, i) => [i + 1, entry.tag] as const))('a register last upgraded by the version with %i migrations (up to %s)', (count) => {
  it("opens with today's code at today's schema, with every row it held and its audit chain intact", () => {
    const path = join(dir, 'register.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.pragma('foreign_keys = ON');
    const written: { table: string; rows: Row[] }[] = [];
    for (const [i, entry] of ENTRIES.slice(0, count).entries()) {
      migrateTo(old, i + 1);
      for (const seed of WRITTEN_AFTER[entry.tag] ?? []) {
        for (const row of seed.rows) {
          const columns = Object.keys(row);
          old.prepare(`insert into ${seed.table} (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`).run(row);
        }
        written.push(seed);
      }
    }
    old.close();
    expect(written.length).toBeGreaterThan(0);

    const register = openRegister(path);
    const fresh = openRegister(join(dir, 'fresh.db'));
    try {
      for (const { table, rows } of written) {
        for (const row of rows) expect(register.sqlite.prepare(`select ${Object.keys(row).join(', ')} from ${table}`).all(), table).toContainEqual(row);
      }
      expect(schemaOf(register.sqlite)).toEqual(schemaOf(fresh.sqlite));
      for (const table of Object.values(schema).filter((value) => is(value, SQLiteTable))) {
        const { name, columns } = getTableConfig(table);
        const stored = (register.sqlite.prepare(`select name from pragma_table_info('${name}')`).all() as { name: string }[]).map((column) => column.name);
        expect(stored.sort(), name).toEqual(columns.map((column) => column.name).sort());
      }
      expect(register.sqlite.pragma('foreign_key_check')).toEqual([]);
      const events = written.filter((seed) => seed.table === 'audit_events').reduce((n, seed) => n + seed.rows.length, 0);
      expect(verifyAuditChain(register.db)).toMatchObject({ ok: true, events });
      // Today's code writes to it: the next event links to the last one the old version wrote.
      importPolicies(register.db, () => new Date('2026-11-26T09:00:00.000Z'), 'key,title\nMFA-01,Multi-factor authentication\nLOG-04,Central logging', 'U0SEC1');
      expect(verifyAuditChain(register.db)).toMatchObject({ ok: true, events: events + 1 });
    } finally {
      register.close();
      fresh.close();
    }
  });
});
