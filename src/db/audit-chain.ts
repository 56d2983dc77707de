import { hash as digest, randomUUID } from 'node:crypto';
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

export interface HashedEvent {
  exceptionId: number | null;
  actorId: string;
  kind: string;
  payload: string;
  occurredAt: string;
  uid: string;
}

/**
 * The uid of an event written before events had one (migration 0005): a UUID of version 8 made from its hash, the
 * same in every copy of the register. Its hash is the one it was written with, which does not cover the uid.
 */
export function legacyEventUid(hash: string): string {
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-8${hash.slice(13, 16)}-${'89ab'[parseInt(hash[16] ?? '0', 16) % 4]}${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
}

const isLegacyUid = (uid: string) => uid[14] === '8';

export function hashAuditEvent(prevHash: string, event: HashedEvent): string {
  const content = [prevHash, event.exceptionId, event.actorId, event.kind, event.payload, event.occurredAt];
  // A random uid is hashed with the rest, so it cannot be changed to make a receiver take an old event as new.
  const canonical = JSON.stringify(isLegacyUid(event.uid) ? content : [...content, event.uid]);
  // The one-shot hash: verifying a million events spends most of its time here.
  return digest('sha256', canonical, 'hex');
}

/**
 * Appends inside the caller's transaction, so an event exists exactly when the change it records does. The id is
 * the next one, given explicitly: the insert trigger refuses any other (migration 0005), so id is also the position.
 */
export function appendAuditEvent(tx: Tx, input: AuditEventInput): { id: number; hash: string } {
  const last = tx.select({ id: auditEvents.id, hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.id)).limit(1).get();
  const prevHash = last?.hash ?? GENESIS_HASH;
  const event = { id: (last?.id ?? 0) + 1, exceptionId: input.exceptionId, actorId: input.actorId, kind: input.kind, payload: JSON.stringify(input.payload), occurredAt: input.occurredAt, uid: randomUUID() };
  const hash = hashAuditEvent(prevHash, event);
  tx.insert(auditEvents).values({ ...event, prevHash, hash }).run();
  return { id: event.id, hash };
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
  | { ok: false; events: number; eventId: number; problem: 'edited' | 'deleted_or_reordered' | 'uid_changed' };

/**
 * Walks the chain in order. An event whose stored hash no longer matches its content was edited; an event whose
 * recorded predecessor is not the event before it, or whose id is not its position, follows a deletion, an insertion
 * or a reordering. The first break is reported.
 */
export function verifyAuditChain(db: Pick<Tx, 'all'>): ChainVerdict {
  let previous = GENESIS_HASH;
  let events = 0;
  // From the lowest id there is, so that an event slipped in below 1 is walked over like any other.
  let after = sql`1`;
  // In pages, so a register of millions of events is checked in bounded memory; plain rows, since every one is read.
  for (;;) {
    const page = db.all<{ id: number; exceptionId: number | null; actorId: string; kind: string; payload: string; occurredAt: string; prevHash: string; hash: string; uid: string }>(sql`
      select id, exception_id as exceptionId, actor_id as actorId, kind, payload, occurred_at as occurredAt, prev_hash as prevHash, hash, uid
      from ${auditEvents} where ${after} order by id limit 1000`);
    if (page.length === 0) return { ok: true, events };
    for (const event of page) {
      events++;
      if (event.prevHash !== previous || event.id !== events) return { ok: false, events, eventId: event.id, problem: 'deleted_or_reordered' };
      if (hashAuditEvent(event.prevHash, event) !== event.hash) return { ok: false, events, eventId: event.id, problem: 'edited' };
      if (isLegacyUid(event.uid) && event.uid !== legacyEventUid(event.hash)) return { ok: false, events, eventId: event.id, problem: 'uid_changed' };
      previous = event.hash;
      after = sql`id > ${event.id}`;
    }
  }
}
