import { createHash } from 'node:crypto';
import { asc, desc, eq } from 'drizzle-orm';
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
  return createHash('sha256').update(canonical).digest('hex');
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
