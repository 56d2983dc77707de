import { hash as digest } from 'node:crypto';
import { asc, desc, eq, sql } from 'drizzle-orm';
import { auditEvents, type AuditEventKind } from './schema';
import type { Tx } from './client';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEventInput {
  exceptionId: number | null;
  actorId: string;
  kind: AuditEventKind;
  payload: Record<string, unknown>;
  occurredAt: string;
}

export function hashAuditEvent(prevHash: string, event: { exceptionId: number | null; actorId: string; kind: string; payload: string; occurredAt: string }): string {
  const canonical = JSON.stringify([prevHash, event.exceptionId, event.actorId, event.kind, event.payload, event.occurredAt]);
  // The one-shot hash: verifying a million events spends most of its time here.
  return digest('sha256', canonical, 'hex');
}

/** Appends inside the caller's transaction, so an event exists exactly when the change it records does. */
export function appendAuditEvent(tx: Tx, input: AuditEventInput): void {
  const last = tx.select({ hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.id)).limit(1).get();
  const prevHash = last?.hash ?? GENESIS_HASH;
  const payload = JSON.stringify(input.payload);
  const hash = hashAuditEvent(prevHash, { ...input, payload });
  tx.insert(auditEvents)
    .values({ exceptionId: input.exceptionId, actorId: input.actorId, kind: input.kind, payload, occurredAt: input.occurredAt, prevHash, hash })
    .run();
}

export interface AuditEntry {
  kind: AuditEventKind;
  actorId: string;
  occurredAt: string;
  payload: Record<string, unknown>;
}

export function auditTrail(db: Pick<Tx, 'select'>, exceptionId: number): AuditEntry[] {
  return db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.exceptionId, exceptionId))
    .orderBy(asc(auditEvents.id))
    .all()
    .map((e) => ({ kind: e.kind, actorId: e.actorId, occurredAt: e.occurredAt, payload: JSON.parse(e.payload) as Record<string, unknown> }));
}

export type ChainVerdict =
  | { ok: true; events: number }
  | { ok: false; events: number; eventId: number; problem: 'edited' | 'deleted_or_reordered' };

/**
 * Walks the chain in order. An event whose stored hash no longer matches its content was edited; an event whose
 * recorded predecessor is not the event before it follows a deletion or a reordering. The first break is reported.
 */
export function verifyAuditChain(db: Pick<Tx, 'all'>): ChainVerdict {
  let previous = GENESIS_HASH;
  let events = 0;
  let lastId = 0;
  // In pages, so a register of millions of events is checked in bounded memory; plain rows, since every one is read.
  for (;;) {
    const page = db.all<{ id: number; exceptionId: number | null; actorId: string; kind: string; payload: string; occurredAt: string; prevHash: string; hash: string }>(sql`
      select id, exception_id as exceptionId, actor_id as actorId, kind, payload, occurred_at as occurredAt, prev_hash as prevHash, hash
      from ${auditEvents} where id > ${lastId} order by id limit 1000`);
    if (page.length === 0) return { ok: true, events };
    for (const event of page) {
      events++;
      if (event.prevHash !== previous) return { ok: false, events, eventId: event.id, problem: 'deleted_or_reordered' };
      if (hashAuditEvent(event.prevHash, event) !== event.hash) return { ok: false, events, eventId: event.id, problem: 'edited' };
      previous = event.hash;
      lastId = event.id;
    }
  }
}
