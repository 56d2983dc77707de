/**
 * Builds a register the size the issue asks about: N exceptions requested over three years, each with its
 * assessment, decisions, renewals and audit trail (ten events per exception on average, so 1,000,000 for 100,000),
 * a valid hash chain, and one person who owns 300 of them. Written straight through SQLite for speed; the schema
 * and migrations are the app's own.
 */
import { randomUUID } from 'node:crypto';
import { hashAuditEvent, GENESIS_HASH } from '../src/db/audit-chain';
import { openRegister } from '../src/db/client';
import { addCalendarDays } from '../src/domain/calendar';
import { seededRandom } from '../test/support/seeded-random';

export const HEAVY_USER = 'U0HEAVY';
export const BENCH_PEOPLE = { security: 'U0SEC1', approvers: ['U0CISO', 'U0DEPUTY'], committee: ['U0COM1', 'U0COM2', 'U0COM3'] } as const;

export interface GeneratedRegister {
  exceptions: number;
  auditEvents: number;
  /** Exceptions that expire today, so a sweep tomorrow has exactly this many due. */
  dueTomorrow: number;
  statuses: Record<string, number>;
}


const WORDS = 'legacy vendor portal payroll gateway bastion cluster database firewall scanner backup laptop kiosk contractor printer tunnel'.split(' ');
const sentence = (next: () => number, words: number) => Array.from({ length: words }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' ');
const iso = (day: string, minute: number) => new Date(Date.parse(`${day}T00:00:00.000Z`) + minute * 60_000).toISOString();

interface PlannedEvent {
  at: string;
  exceptionId: number | null;
  actorId: string;
  kind: string;
  payload: string;
}

export function generateRegister(path: string, options: { exceptions: number; today: string; eventsPerException?: number; dueTomorrow?: number }): GeneratedRegister {
  const { exceptions: total, today } = options;
  const eventsPerException = options.eventsPerException ?? 10;
  const dueTomorrow = Math.min(options.dueTomorrow ?? 1000, Math.floor(total / 10));
  // Seeded, so two runs measure the same register.
  const next = seededRandom(20261125);
  const register = openRegister(path);
  const { sqlite } = register;
  sqlite.pragma('synchronous = OFF');
  // Each exception's row is written after its assessment and decisions, once its outcome is known.
  sqlite.pragma('foreign_keys = OFF');
  const start = addCalendarDays(today, -3 * 365);
  // The register is measured on `today` at noon; nothing in it happened later than the morning.
  const nowMs = Date.parse(`${today}T09:00:00.000Z`);
  const events: PlannedEvent[] = [];

  const insertPolicy = sqlite.prepare('insert into policies (id, key, title, description, max_days, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)');
  const insertException = sqlite.prepare(`insert into exceptions (id, policy_id, title, scope, justification, compensating_controls, affected_systems, external_ref,
    requester_id, owner_id, structural, structural_reason, requested_expires_on, expires_on, original_expires_on, status, route, risk_score,
    triage_channel, triage_ts, approval_channel, approval_ts, created_at, updated_at, activated_at, closed_at, closing_note, current_round,
    renewal_count, last_checkin_on) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertAssessment = sqlite.prepare('insert into assessments (exception_id, round, assessor_id, likelihood, impact, score, rationale, route, route_reasons, assessed_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const insertDecision = sqlite.prepare('insert into decisions (exception_id, round, decider_id, outcome, comment, decided_at) values (?, ?, ?, ?, ?, ?)');
  const insertRenewal = sqlite.prepare(`insert into renewals (exception_id, round, requested_by, progress, percent_complete, evidence_url, control_tested_on, requested_expires_on,
    status, route, new_expires_on, created_at, decided_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);

  const policyCount = 60;
  sqlite.transaction(() => {
    for (let p = 1; p <= policyCount; p++) {
      insertPolicy.run(p, `POL-${String(p).padStart(3, '0')}`, `Policy ${p}: ${sentence(next, 4)}`, sentence(next, 12), p % 5 === 0 ? 30 : null, iso(start, 0), iso(start, 0));
      events.push({ at: iso(start, 0), exceptionId: null, actorId: 'bench', kind: 'policy.imported', payload: JSON.stringify({ key: `POL-${p}` }) });
    }
  })();

  const heavyEvery = Math.max(1, Math.floor(total / 300));
  sqlite.transaction(() => {
    for (let id = 1; id <= total; id++) {
      const createdDay = addCalendarDays(start, Math.floor(((id - 1) / total) * 3 * 365));
      const created = iso(createdDay, 480 + Math.floor(next() * 600));
      const age = (Date.parse(`${today}T00:00:00Z`) - Date.parse(`${createdDay}T00:00:00Z`)) / 86_400_000;
      const requesterId = `U${String(1 + Math.floor(next() * 3000)).padStart(8, '0')}`;
      const ownerId = id % heavyEvery === 0 && id / heavyEvery <= 300 ? HEAVY_USER : `U${String(1 + Math.floor(next() * 2000)).padStart(8, '0')}`;
      const structural = next() < 0.05;
      const days = structural ? 180 + Math.floor(next() * 180) : 30 + Math.floor(next() * 61);
      const requestedExpiresOn = addCalendarDays(createdDay, days);
      const likelihood = 1 + Math.floor(next() * 5);
      const impact = 1 + Math.floor(next() * 5);
      const score = likelihood * impact;
      const route = score >= 12 || structural ? 'committee' : 'fast_path';
      const decidedDay = addCalendarDays(createdDay, 2);
      const ev = (day: string, minute: number, actorId: string, kind: string, payload: Record<string, unknown>) =>
        events.push({ at: iso(day, minute), exceptionId: id, actorId, kind, payload: JSON.stringify(payload) });

      let status: string;
      let expiresOn: string | null = null;
      let closedAt: string | null = null;
      let renewalCount = 0;
      let currentRound = 0;
      const trail = events.length;
      ev(createdDay, 600, requesterId, 'exception.requested', { title: `Exception ${id}`, ownerId });
      if (age <= 1) status = 'requested';
      else {
        ev(addCalendarDays(createdDay, 1), 600, BENCH_PEOPLE.security, 'exception.assessed', { likelihood, impact, score, route });
        insertAssessment.run(id, 0, BENCH_PEOPLE.security, likelihood, impact, score, sentence(next, 15), route, '', iso(addCalendarDays(createdDay, 1), 600));
        if (age < 3) status = 'pending_approval';
        else if (next() < 0.08) {
          status = 'rejected';
          insertDecision.run(id, 0, BENCH_PEOPLE.approvers[0], 'reject', sentence(next, 8), iso(decidedDay, 600));
          ev(decidedDay, 600, BENCH_PEOPLE.approvers[0], 'exception.rejected', { reason: 'not enough control' });
        } else {
          const deciders = route === 'committee' ? BENCH_PEOPLE.committee.slice(0, 2) : [BENCH_PEOPLE.approvers[0]];
          for (const decider of deciders) {
            insertDecision.run(id, 0, decider, 'approve', null, iso(decidedDay, 600));
            ev(decidedDay, 600, decider, 'exception.vote_recorded', { outcome: 'approve' });
          }
          ev(decidedDay, 601, deciders[0]!, 'exception.approved', { expiresOn: requestedExpiresOn });
          expiresOn = requestedExpiresOn;
          // One in five is renewed once, with evidence.
          if (next() < 0.2) {
            const renewedDay = addCalendarDays(expiresOn, -7);
            if (renewedDay < today) {
              const until = addCalendarDays(expiresOn, 60);
              insertRenewal.run(id, 1, ownerId, sentence(next, 12), 60, 'https://tickets.example/RENEW', renewedDay, until, 'approved', route, until, iso(renewedDay, 600), iso(renewedDay, 900));
              ev(renewedDay, 600, ownerId, 'renewal.requested', { until });
              ev(renewedDay, 900, deciders[0]!, 'renewal.approved', { until });
              expiresOn = until;
              renewalCount = 1;
              currentRound = 1;
            }
          }
          // Only the exceptions chosen below end today, so tomorrow's sweep has exactly that many due.
          if (expiresOn === today) expiresOn = addCalendarDays(today, 1);
          if (expiresOn >= today) status = 'active';
          else if (next() < 0.65) {
            status = 'closed';
            closedAt = iso(addCalendarDays(expiresOn, -Math.floor(next() * 10)), 700);
            ev(closedAt.slice(0, 10), 700, ownerId, 'exception.closed', { note: 'remediated' });
          } else {
            status = 'expired';
            ev(addCalendarDays(expiresOn, 1), 0, 'scheduler', 'exception.expired', { expiresOn });
          }
        }
      }
      // The rest of the trail: reminders and control check-ins over the exception's life, up to today.
      const remaining = eventsPerException - (events.length - trail);
      const spacing = Math.min(7 * 86_400_000, (nowMs - Date.parse(created)) / (remaining + 1));
      for (let step = 0; step < remaining; step++) {
        const at = new Date(Date.parse(created) + (step + 1) * spacing).toISOString();
        const asked = step % 2 === 0;
        events.push({ at, exceptionId: id, actorId: asked ? 'scheduler' : ownerId, kind: asked ? 'exception.checkin_asked' : 'exception.checkin_answered', payload: JSON.stringify({ answer: 'yes' }) });
      }
      insertException.run(
        id, 1 + (id % policyCount), `Exception ${id}: ${sentence(next, 6)}`, sentence(next, 20), sentence(next, 45), sentence(next, 45),
        next() < 0.5 ? sentence(next, 5) : null, next() < 0.3 ? `JIRA-${id}` : null, requesterId, ownerId, structural ? 1 : 0,
        structural ? sentence(next, 10) : null, requestedExpiresOn, expiresOn, expiresOn ? requestedExpiresOn : null, status,
        status === 'requested' ? null : route, status === 'requested' ? null : score, 'C0APPROVALS', `${1_700_000_000 + id}.000100`,
        status === 'requested' ? null : 'C0APPROVALS', status === 'requested' ? null : `${1_700_000_000 + id}.000200`,
        created, created, expiresOn ? iso(decidedDay, 601) : null, closedAt, closedAt ? sentence(next, 10) : null, currentRound, renewalCount,
        status === 'active' ? addCalendarDays(today, -Math.floor(next() * 20)) : null,
      );
    }
  })();

  // Exactly `dueTomorrow` active exceptions end today: tomorrow's sweep has them due, today's has nothing.
  const due = sqlite.prepare("update exceptions set status = 'active', expires_on = ?, closed_at = null, closing_note = null, last_checkin_on = ? where id in (select id from exceptions where status in ('closed', 'expired') and owner_id != ? order by id desc limit ?)");
  due.run(today, addCalendarDays(today, -5), HEAVY_USER, dueTomorrow);

  // The chain is written in the order things happened, as the app would have written it.
  events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const insertEvent = sqlite.prepare('insert into audit_events (id, exception_id, actor_id, kind, payload, occurred_at, prev_hash, hash, uid) values (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  let previous = GENESIS_HASH;
  let id = 0;
  for (let from = 0; from < events.length; from += 50_000) {
    sqlite.transaction(() => {
      for (const event of events.slice(from, from + 50_000)) {
        const uid = randomUUID();
        const hash = hashAuditEvent(previous, { exceptionId: event.exceptionId, actorId: event.actorId, kind: event.kind, payload: event.payload, occurredAt: event.at, uid });
        insertEvent.run(++id, event.exceptionId, event.actorId, event.kind, event.payload, event.at, previous, hash, uid);
        previous = hash;
      }
    })();
  }
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const statuses = Object.fromEntries((sqlite.prepare('select status, count(*) as n from exceptions group by status').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
  register.close();
  return { exceptions: total, auditEvents: events.length, dueTomorrow, statuses };
}
