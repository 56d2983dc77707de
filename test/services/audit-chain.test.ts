import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH, hashAuditEvent } from '../../src/db/audit-chain';
import { openRegister } from '../../src/db/client';
import { assessRisk } from '../../src/services/assess-risk';
import { decideException } from '../../src/services/decide-exception';
import { requestException } from '../../src/services/request-exception';
import {
  APPROVALS_CHANNEL,
  APPROVERS,
  COMMITTEE,
  COMMITTEE_CHANNEL,
  HIGH_RISK,
  LOW_RISK,
  OWNER,
  REQUESTER,
  SECURITY,
  assess,
  auditRows,
  buildContext,
  countRows,
  fileRequest,
  openTestRegister,
  outboxRows,
  validRequest,
  type TestRegister,
} from './fixtures';

let t: TestRegister;
beforeEach(() => {
  t = openTestRegister();
});
afterEach(() => t.close());

type AuditRow = ReturnType<typeof auditRows>[number];

function expectIntactChain(trail: AuditRow[]): void {
  trail.forEach((event, i) => {
    expect(event.prevHash).toBe(i === 0 ? GENESIS_HASH : trail[i - 1]?.hash);
    expect(event.hash).toBe(hashAuditEvent(event.prevHash, event));
  });
}

/** Two exceptions through their whole life: one on the fast path, one through the committee, with refusals on the way. */
function runTwoExceptions(): void {
  const fast = fileRequest(t.ctx);
  const committee = fileRequest(t.ctx, { owner: REQUESTER });
  assess(t.ctx, fast, LOW_RISK, SECURITY[0]);
  expect(() => assessRisk(t.ctx, { exceptionId: fast, assessorId: SECURITY[1], input: LOW_RISK })).toThrow();
  assess(t.ctx, committee, HIGH_RISK, SECURITY[1]);
  decideException(t.ctx, { exceptionId: fast, deciderId: APPROVERS[0], outcome: 'approve' });
  decideException(t.ctx, { exceptionId: committee, deciderId: COMMITTEE[0], outcome: 'approve' });
  expect(() => decideException(t.ctx, { exceptionId: committee, deciderId: COMMITTEE[0], outcome: 'approve' })).toThrow();
  decideException(t.ctx, { exceptionId: committee, deciderId: COMMITTEE[1], outcome: 'reject', comment: 'Payroll data needs MFA; no exception.' });
}

describe('the audit chain (SPEC §3: append-only, each event stores the hash of the previous one)', () => {
  it('writes one event per change and none for a refusal, in order', () => {
    runTwoExceptions();
    expect(auditRows(t.register).map((e) => [e.kind, e.exceptionId, e.actorId])).toEqual([
      ['policy.imported', null, SECURITY[0]],
      ['exception.requested', 1, REQUESTER],
      ['exception.requested', 2, REQUESTER],
      ['exception.assessed', 1, SECURITY[0]],
      ['exception.assessed', 2, SECURITY[1]],
      ['exception.approved', 1, APPROVERS[0]],
      ['exception.vote_recorded', 2, COMMITTEE[0]],
      ['exception.rejected', 2, COMMITTEE[1]],
    ]);
  });

  it('links every event to the one before it, from the genesis hash, and each hash can be recomputed', () => {
    runTwoExceptions();
    const trail = auditRows(t.register);
    expect(trail.length).toBeGreaterThan(1);
    expectIntactChain(trail);
    expect(new Set(trail.map((e) => e.hash)).size).toBe(trail.length);
  });

  it('refuses to change or delete an event, even by hand-written SQL', () => {
    runTwoExceptions();
    const before = auditRows(t.register);
    const first = before[0]!;
    expect(() => t.register.sqlite.prepare('update audit_events set actor_id = ? where id = ?').run('U0MALLORY', first.id)).toThrow(/append-only/);
    expect(() => t.register.sqlite.prepare('delete from audit_events where id = ?').run(first.id)).toThrow(/append-only/);
    expect(auditRows(t.register)).toEqual(before);
  });

  describe.each([
    ['off (SQLite’s default, under which REPLACE deletes without firing DELETE triggers)', false],
    ['on', true],
  ])('with recursive_triggers %s, refuses every statement that would overwrite or slip in an event', (_case, recursive) => {
    const columns = 'id, exception_id, actor_id, kind, payload, occurred_at, prev_hash, hash, uid';
    it.each<[string, (last: AuditRow) => string]>([
      ['INSERT OR REPLACE on the id', (e) => `insert or replace into audit_events (${columns}) values (${e.id}, ${e.exceptionId}, 'U0MALLORY', '${e.kind}', '{}', '${e.occurredAt}', '${e.prevHash}', 'forged-hash', 'forged-uid')`],
      ['REPLACE on the id', (e) => `replace into audit_events (${columns}) values (${e.id}, ${e.exceptionId}, 'U0MALLORY', '${e.kind}', '{}', '${e.occurredAt}', '${e.prevHash}', 'forged-hash', 'forged-uid')`],
      ['REPLACE on the hash, with the next id', (e) => `replace into audit_events (${columns}) values (${e.id + 1}, null, 'U0MALLORY', 'policy.imported', '{}', '${e.occurredAt}', '${e.hash}', '${e.hash}', 'forged-uid')`],
      ['REPLACE on the uid, with the next id', (e) => `replace into audit_events (${columns}) values (${e.id + 1}, null, 'U0MALLORY', 'policy.imported', '{}', '${e.occurredAt}', '${e.hash}', 'forged-hash', '${e.uid}')`],
      ['an upsert on the id', (e) => `insert into audit_events (${columns}) values (${e.id}, null, 'U0MALLORY', 'policy.imported', '{}', '${e.occurredAt}', '${e.hash}', 'forged-hash', 'forged-uid') on conflict (id) do update set actor_id = 'U0MALLORY'`],
      ['an upsert on the hash', (e) => `insert into audit_events (${columns}) values (${e.id + 1}, null, 'U0MALLORY', 'policy.imported', '{}', '${e.occurredAt}', '${e.hash}', '${e.hash}', 'forged-uid') on conflict (hash) do update set actor_id = 'U0MALLORY'`],
      ['an insert below the last id', () => `insert into audit_events (${columns}) values (0, null, 'U0MALLORY', 'policy.imported', '{}', '2026-01-01T00:00:00.000Z', '${GENESIS_HASH}', 'forged-hash', 'forged-uid')`],
      ['an insert that skips an id', (e) => `insert into audit_events (${columns}) values (${e.id + 2}, null, 'U0MALLORY', 'policy.imported', '{}', '${e.occurredAt}', '${e.hash}', 'forged-hash', 'forged-uid')`],
      ['an insert that leaves the id to SQLite', (e) => `insert into audit_events (exception_id, actor_id, kind, payload, occurred_at, prev_hash, hash, uid) values (null, 'U0MALLORY', 'policy.imported', '{}', '${e.occurredAt}', '${e.hash}', 'forged-hash', 'forged-uid')`],
    ])('%s', (_statement, statement) => {
      runTwoExceptions();
      t.register.sqlite.pragma(`recursive_triggers = ${recursive ? 'on' : 'off'}`);
      const before = auditRows(t.register);
      expect(() => t.register.sqlite.exec(statement(before.at(-1)!))).toThrow(/append-only/);
      expect(auditRows(t.register)).toEqual(before);
      // The app's own append still goes through.
      fileRequest(t.ctx);
      expectIntactChain(auditRows(t.register));
    });
  });

  it('an edited payload no longer matches its hash, even when someone removed the guard triggers first', () => {
    runTwoExceptions();
    const approved = auditRows(t.register).find((e) => e.kind === 'exception.approved');
    if (!approved) throw new Error('no approval event');
    const forged = JSON.stringify({ ...JSON.parse(approved.payload), expiresOn: '2030-01-01' });
    t.register.sqlite.exec('drop trigger audit_events_no_update');
    t.register.sqlite.prepare('update audit_events set payload = ? where id = ?').run(forged, approved.id);
    const tampered = auditRows(t.register).find((e) => e.id === approved.id);
    expect(tampered && hashAuditEvent(tampered.prevHash, tampered)).not.toBe(approved.hash);
  });
});

describe('the outbox across a whole flow (SPEC §4 etiquette: cards in the right channel, DMs to the right people)', () => {
  type Row = [kind: unknown, exceptionId: unknown, what: unknown, where: unknown];
  const summarise = (payload: Record<string, unknown>): Row => [
    payload.kind,
    payload.exceptionId,
    payload.card ?? payload.message,
    payload.channel ?? payload.recipientId ?? null,
  ];
  /** What one step queued; the order within a step is not part of the contract. */
  function queuedBy(step: () => unknown): string[] {
    const from = outboxRows(t.register).length;
    step();
    return outboxRows(t.register)
      .slice(from)
      .map((row) => JSON.stringify(summarise(row.payload)))
      .sort();
  }
  const rows = (...expected: Row[]) => expected.map((row) => JSON.stringify(row)).sort();

  it('queues exactly what each step asks Slack to do', () => {
    let fast = 0;
    let committee = 0;
    expect(queuedBy(() => (fast = fileRequest(t.ctx)))).toEqual(
      rows(['direct_message', 1, 'receipt', REQUESTER], ['direct_message', 1, 'owner_named', OWNER], ['post_card', 1, 'triage', APPROVALS_CHANNEL]),
    );
    expect(queuedBy(() => (committee = fileRequest(t.ctx, { owner: REQUESTER }, REQUESTER)))).toEqual(
      rows(['direct_message', 2, 'receipt', REQUESTER], ['post_card', 2, 'triage', APPROVALS_CHANNEL]),
    );
    expect(queuedBy(() => assess(t.ctx, fast, LOW_RISK))).toEqual(rows(['refresh_card', 1, 'triage', null], ['post_card', 1, 'approval', APPROVALS_CHANNEL], ['direct_message', 1, 'assessed', REQUESTER]));
    expect(queuedBy(() => assess(t.ctx, committee, HIGH_RISK))).toEqual(rows(['refresh_card', 2, 'triage', null], ['post_card', 2, 'approval', COMMITTEE_CHANNEL], ['direct_message', 2, 'assessed', REQUESTER]));
    expect(queuedBy(() => decideException(t.ctx, { exceptionId: fast, deciderId: APPROVERS[0], outcome: 'approve' }))).toEqual(
      rows(
        ['refresh_card', 1, 'approval', null],
        ['refresh_card', 1, 'triage', null],
        ['direct_message', 1, 'approved', REQUESTER],
        ['direct_message', 1, 'approved', OWNER],
      ),
    );
    expect(queuedBy(() => decideException(t.ctx, { exceptionId: committee, deciderId: COMMITTEE[0], outcome: 'approve' }))).toEqual(
      rows(['refresh_card', 2, 'approval', null]),
    );
    expect(queuedBy(() => expect(() => decideException(t.ctx, { exceptionId: committee, deciderId: COMMITTEE[0], outcome: 'approve' })).toThrow())).toEqual([]);
    expect(
      queuedBy(() => decideException(t.ctx, { exceptionId: committee, deciderId: COMMITTEE[1], outcome: 'reject', comment: 'Payroll data needs MFA; no exception.' })),
    ).toEqual(rows(['refresh_card', 2, 'approval', null], ['refresh_card', 2, 'triage', null], ['direct_message', 2, 'rejected', REQUESTER]));
    expect(outboxRows(t.register).every((row) => row.state === 'pending' && row.attempts === 0 && row.kind === row.payload.kind)).toBe(true);
  });
});

describe('numbering across two connections to the same file', () => {
  it('interleaved requests from two registers get ids 1..N with no gap and no duplicate', () => {
    const second = openRegister(t.path);
    try {
      const contexts = [t.ctx, buildContext(second)];
      const n = 40;
      const ids = Array.from({ length: n }, (_, i) => {
        const result = requestException(contexts[i % 2]!, { requesterId: REQUESTER, input: validRequest(), submissionKey: `V0VIEW${i}` });
        if (!result.ok) throw new Error(JSON.stringify(result.errors));
        return result.exceptionId;
      });
      const expected = Array.from({ length: n }, (_, i) => i + 1);
      expect(ids).toEqual(expected);
      const stored = t.register.sqlite.prepare('select id from exceptions order by id').all() as { id: number }[];
      expect(stored.map((row) => row.id)).toEqual(expected);
      expectIntactChain(auditRows(t.register));
      expect(countRows(t.register).outbox).toBe(4 * n); // App Home's refresh, receipt, owner-named DM (the owner is not the requester), triage card
    } finally {
      second.close();
    }
  });
});
