import { createHmac, hash as digest, randomUUID } from 'node:crypto';
import { asc, desc, eq, sql } from 'drizzle-orm';
import type { SourcedAnchor } from '../domain/audit-anchor';
import { DomainError } from '../domain/errors';
import { auditEvents, type AuditEventKind } from './schema';
import type { Db, Tx } from './client';

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

/** With a key, HMAC-SHA256: only someone holding AUDIT_HMAC_KEY can write a hash that verifies. */
export function hashAuditEvent(prevHash: string, event: HashedEvent, key?: string): string {
  const content = [prevHash, event.exceptionId, event.actorId, event.kind, event.payload, event.occurredAt];
  // A random uid is hashed with the rest, so it cannot be changed to make a receiver take an old event as new.
  const canonical = JSON.stringify(isLegacyUid(event.uid) ? content : [...content, event.uid]);
  if (key) return createHmac('sha256', key).update(canonical).digest('hex');
  // The one-shot hash: verifying a million events spends most of its time here.
  return digest('sha256', canonical, 'hex');
}

type Reader = Pick<Tx, 'select'>;

/** Each connection's AUDIT_HMAC_KEY, so every service seals the events it appends without being handed the key. */
const keys = new WeakMap<object, string>();
const connectionOf = (db: Reader) => (db as unknown as { session: { client: object } }).session.client;

/** Sets the key events appended through this register are sealed with; call it right after opening the register. */
export function useAuditKey(db: Db, key: string | undefined): void {
  if (key) keys.set(connectionOf(db), key);
  else keys.delete(connectionOf(db));
}

const lastEvent = (db: Reader) => db.select().from(auditEvents).orderBy(desc(auditEvents.id)).limit(1).get();

/**
 * Why this connection must not append to the trail, if it must not: once sealed, a trail stays sealed, with the one
 * key (an unsealed event after a sealed one is what a trail recomputed without the key looks like).
 */
function keyProblem(last: ReturnType<typeof lastEvent>, key: string | undefined): string | undefined {
  if (!last?.keyed) return undefined;
  if (!key) return `AUDIT_HMAC_KEY: is not set, but the audit trail is sealed with it (its last event, ${last.id}, is); set the key the app was given`;
  if (hashAuditEvent(last.prevHash, last, key) !== last.hash) {
    return `AUDIT_HMAC_KEY: does not verify the last event of the audit trail (${last.id}): it is not the key the trail was sealed with, or that event was changed; set the key the app was given, then run exceptions audit verify`;
  }
  return undefined;
}

/**
 * Appends inside the caller's transaction, so an event exists exactly when the change it records does. The id is
 * the next one, given explicitly: the insert trigger refuses any other (migration 0005), so id is also the position.
 */
export function appendAuditEvent(tx: Tx, input: AuditEventInput): { id: number; hash: string } {
  const key = keys.get(connectionOf(tx));
  const last = lastEvent(tx);
  const problem = keyProblem(last, key);
  if (problem) throw new DomainError('audit_key', problem);
  const prevHash = last?.hash ?? GENESIS_HASH;
  const event = { id: (last?.id ?? 0) + 1, exceptionId: input.exceptionId, actorId: input.actorId, kind: input.kind, payload: JSON.stringify(input.payload), occurredAt: input.occurredAt, uid: randomUUID() };
  const hash = hashAuditEvent(prevHash, event, key);
  tx.insert(auditEvents).values({ ...event, prevHash, hash, keyed: key !== undefined }).run();
  return { id: event.id, hash };
}

/** Who writes the event that seals a trail: the app itself, at start-up. */
const SEALING_ACTOR = 'app';

/**
 * At start-up: returns why the app's key cannot continue the trail, if it cannot; otherwise seals a trail written
 * before the key was set with an `audit.sealed` event at once. Sealed, the event binds every event before it (its
 * hash covers the one before), so from then on a trail recomputed without the key fails `audit verify`.
 */
export function sealAuditTrail(db: Db, now: Date): string | undefined {
  const key = keys.get(connectionOf(db));
  return db.transaction(
    (tx) => {
      const last = lastEvent(tx);
      const problem = keyProblem(last, key);
      if (problem || !key || !last || last.keyed) return problem;
      appendAuditEvent(tx, { exceptionId: null, actorId: SEALING_ACTOR, kind: 'audit.sealed', payload: { unsealedBefore: last.id }, occurredAt: now.toISOString() });
      return undefined;
    },
    { behavior: 'immediate' },
  );
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

export type ChainProblem = 'edited' | 'deleted_or_reordered' | 'uid_changed' | 'unsealed';

export interface ChainVerdict {
  /** The chain holds and every sealed event's content could be checked. */
  ok: boolean;
  events: number;
  /** The position of the first sealed event; every event from it on must be sealed. */
  sealedFrom: number | null;
  /** Sealed events whose links were checked but not their content, as no key was given. */
  unchecked: number;
  /** The first break: the event, its position and what is wrong with it. */
  broken: { eventId: number; position: number; problem: ChainProblem } | null;
  /** Each anchor given, with the hash the register has at its count (null when the trail is shorter). */
  anchors: { anchor: SourcedAnchor; found: string | null }[];
}

/** An anchor holds when the event at its count is still there with the hash it had then. */
export const anchorHolds = ({ anchor, found }: ChainVerdict['anchors'][number]) => found === anchor.hash;

/**
 * Walks the chain in order. An event whose stored hash no longer matches its content was edited; an event whose
 * recorded predecessor is not the event before it, or whose id is not its position, follows a deletion, an insertion
 * or a reordering. With the key, an unsealed event after a sealed one, or a trail that ends unsealed, was written or
 * recomputed without it. The first break is reported. Anchors kept outside the register catch what a consistent
 * rewrite would not: a trail cut short, or recomputed from some event on.
 */
export function verifyAuditChain(db: Pick<Tx, 'all'>, key?: string, anchors: readonly SourcedAnchor[] = []): ChainVerdict {
  const hashAt = new Map<number, string | null>(anchors.map((anchor) => [anchor.count, null]));
  let previous = GENESIS_HASH;
  let events = 0;
  let sealedFrom: number | null = null;
  let unchecked = 0;
  let broken: ChainVerdict['broken'] = null;
  let lastUnsealed: { eventId: number; position: number } | null = null;
  // From the lowest id there is, so that an event slipped in below 1 is walked over like any other.
  let after = sql`1`;
  // In pages, so a register of millions of events is checked in bounded memory; plain rows, since every one is read.
  for (;;) {
    const page = db.all<{ id: number; exceptionId: number | null; actorId: string; kind: string; payload: string; occurredAt: string; prevHash: string; hash: string; uid: string; keyed: number }>(sql`
      select id, exception_id as exceptionId, actor_id as actorId, kind, payload, occurred_at as occurredAt, prev_hash as prevHash, hash, uid, keyed
      from ${auditEvents} where ${after} order by id limit 1000`);
    if (page.length === 0) break;
    for (const event of page) {
      events++;
      const at = { eventId: event.id, position: events };
      if (event.keyed) sealedFrom ??= events;
      else lastUnsealed = at;
      if (event.keyed && !key) unchecked++;
      if (!broken) {
        if (event.prevHash !== previous || event.id !== events) broken = { ...at, problem: 'deleted_or_reordered' };
        else if ((!event.keyed || key) && hashAuditEvent(event.prevHash, event, event.keyed ? key : undefined) !== event.hash) broken = { ...at, problem: 'edited' };
        else if (isLegacyUid(event.uid) && event.uid !== legacyEventUid(event.hash)) broken = { ...at, problem: 'uid_changed' };
        else if (key && !event.keyed && sealedFrom !== null) broken = { ...at, problem: 'unsealed' };
      }
      if (hashAt.has(events)) hashAt.set(events, event.hash);
      previous = event.hash;
      after = sql`id > ${event.id}`;
    }
  }
  const anchored = anchors.map((anchor) => ({ anchor, found: hashAt.get(anchor.count) ?? null }));
  // The app seals the trail when it starts with the key, so a trail that still ends unsealed was not written by it.
  if (!broken && key && lastUnsealed?.position === events) broken = { ...lastUnsealed, problem: 'unsealed' };
  return { ok: broken === null && unchecked === 0 && anchored.every(anchorHolds), events, sealedFrom, unchecked, broken, anchors: anchored };
}
