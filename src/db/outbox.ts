import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from './client';
import { exceptions, outbox } from './schema';

export type OutboxRow = typeof outbox.$inferSelect;

/** A pending row's place in the queue; its payload only when it is newer than `payloadAfterId`, the rows already read. */
export interface QueuedRow {
  id: number;
  nextAttemptAt: string;
  payload: string | null;
}

/**
 * The rows still to deliver, oldest first, from `afterId` on. A deliverer that keeps what it has read passes
 * `payloadAfterId`, so a long backlog is walked without reading its payloads again on every pass.
 */
export function pendingQueue(db: Db, afterId = 0, payloadAfterId = 0): QueuedRow[] {
  return db
    .select({ id: outbox.id, nextAttemptAt: outbox.nextAttemptAt, payload: sql<string | null>`case when ${outbox.id} > ${payloadAfterId} then ${outbox.payload} end` })
    .from(outbox)
    .where(and(eq(outbox.state, 'pending'), gt(outbox.id, afterId)))
    .orderBy(asc(outbox.id))
    .all();
}

export function outboxRow(db: Db, id: number): OutboxRow | undefined {
  return db.select().from(outbox).where(eq(outbox.id, id)).get();
}

/** Claims a row for one delivery attempt; false when another process holds it. A crashed holder's claim lapses. */
export function claimForDelivery(db: Db, id: number, now: Date, holdMs: number): boolean {
  const at = now.toISOString();
  const claimed = db
    .update(outbox)
    .set({ claimedUntil: new Date(now.getTime() + holdMs).toISOString() })
    .where(and(eq(outbox.id, id), eq(outbox.state, 'pending'), sql`(${outbox.claimedUntil} is null or ${outbox.claimedUntil} <= ${at})`))
    .run();
  return claimed.changes > 0;
}

/** Gives rows back before their claim lapses, e.g. at shutdown, so the next process delivers them at once. */
export function releaseClaims(db: Db, ids: number[]): void {
  if (ids.length === 0) return;
  db.update(outbox).set({ claimedUntil: null }).where(and(inArray(outbox.id, ids), eq(outbox.state, 'pending'))).run();
}

export function markDelivered(db: Db, id: number, at: Date, note?: string): void {
  db.update(outbox)
    .set({ state: 'delivered', deliveredAt: at.toISOString(), lastError: note ?? null, claimedUntil: null })
    .where(and(eq(outbox.id, id), eq(outbox.state, 'pending')))
    .run();
}

/**
 * The posted card's address and the delivery mark commit together, so a retry never posts the card twice. A
 * top-level decision card in the committee channel is remembered as the thread for the exception's later rounds.
 */
export function markCardPosted(db: Db, row: OutboxRow, card: 'triage' | 'approval', ref: { channel: string; ts: string; topLevelIn?: string }, at: Date): void {
  db.transaction((tx) => {
    if (row.exceptionId !== null) {
      tx.update(exceptions)
        .set(
          card === 'triage'
            ? { triageChannel: ref.channel, triageTs: ref.ts }
            : { approvalChannel: ref.channel, approvalTs: ref.ts, ...(ref.topLevelIn ? { committeeTs: sql`coalesce(${exceptions.committeeTs}, ${ref.ts})` } : {}) },
        )
        .where(eq(exceptions.id, row.exceptionId))
        .run();
    }
    tx.update(outbox).set({ state: 'delivered', deliveredAt: at.toISOString(), lastError: null, claimedUntil: null }).where(eq(outbox.id, row.id)).run();
  });
}

/** Delivered, keeping where the message went in its payload, so a later notification can update that message. */
export function markMessageDelivered(db: Db, id: number, at: Date, posted: PostedMessage): void {
  db.update(outbox)
    .set({ state: 'delivered', deliveredAt: at.toISOString(), lastError: null, claimedUntil: null, payload: sql`json_set(${outbox.payload}, '$.posted', json(${JSON.stringify(posted)}))` })
    .where(and(eq(outbox.id, id), eq(outbox.state, 'pending')))
    .run();
}

/** Notices to one person that a job run queued for its one DM: pending, after `afterId`, with the same recipient and run. */
export function pendingForSameDm(db: Db, afterId: number, recipientId: string, run: string): OutboxRow[] {
  return db
    .select()
    .from(outbox)
    .where(
      and(
        eq(outbox.state, 'pending'),
        gt(outbox.id, afterId),
        inArray(outbox.kind, ['direct_message', 'reminder_digest', 'expiry_digest', 'checkin_question']),
        sql`json_extract(${outbox.payload}, '$.recipientId') = ${recipientId}`,
        sql`json_extract(${outbox.payload}, '$.run') = ${run}`,
      ),
    )
    .orderBy(asc(outbox.id))
    .all();
}

/** Several rows went out as one message: all are delivered, each keeping where it went, or none. */
export function markMessagesDelivered(db: Db, ids: readonly number[], at: Date, posted: PostedMessage): void {
  db.transaction(() => {
    for (const id of ids) markMessageDelivered(db, id, at, posted);
  });
}

/** Where a message went, and a digest of what it last showed, so re-rendering the same thing calls nobody. */
export interface PostedMessage {
  channel: string;
  ts: string;
  shown?: string;
  /** The audit event a DM answers (the send-back its Amend button is for): a later one leaves that DM behind. */
  answers?: number;
}

/**
 * Messages posted with buttons about an exception (DMs, needs-attention alerts, review posts, the requester's
 * sent-back DM), each with every row it holds, oldest first.
 */
export function postedMessagesAbout(db: Db, exceptionId: number): { posted: PostedMessage; payloads: string[] }[] {
  const refs = db
    .selectDistinct({ ts: sql<string>`json_extract(${outbox.payload}, '$.posted.ts')`, channel: sql<string>`json_extract(${outbox.payload}, '$.posted.channel')` })
    .from(outbox)
    .where(
      and(
        eq(outbox.state, 'delivered'),
        inArray(outbox.kind, ['reminder_digest', 'checkin_question', 'channel_post', 'direct_message']),
        sql`(${outbox.kind} != 'direct_message' or json_extract(${outbox.payload}, '$.message') = 'changes_requested')`,
        sql`json_extract(${outbox.payload}, '$.posted') is not null`,
        sql`(${outbox.exceptionId} = ${exceptionId}
          or exists (select 1 from json_each(${outbox.payload}, '$.items') where json_extract(value, '$.exceptionId') = ${exceptionId})
          or exists (select 1 from json_each(${outbox.payload}, '$.exceptionIds') where value = ${exceptionId}))`,
      ),
    )
    .all();
  return refs.map((ref) => {
    const rows = db
      .select({ payload: outbox.payload })
      .from(outbox)
      .where(and(eq(outbox.state, 'delivered'), sql`json_extract(${outbox.payload}, '$.posted.ts') = ${ref.ts}`, sql`json_extract(${outbox.payload}, '$.posted.channel') = ${ref.channel}`))
      .orderBy(asc(outbox.id))
      .all();
    const posted = JSON.parse(rows[0]?.payload ?? '{}').posted as PostedMessage | undefined;
    return { posted: posted ?? { channel: ref.channel, ts: ref.ts }, payloads: rows.map((r) => r.payload) };
  });
}

/** What a posted message shows now, after it was updated. */
export function recordShown(db: Db, posted: PostedMessage, shown: string): void {
  db.update(outbox)
    .set({ payload: sql`json_set(${outbox.payload}, '$.posted.shown', ${shown})` })
    .where(and(eq(outbox.state, 'delivered'), sql`json_extract(${outbox.payload}, '$.posted.ts') = ${posted.ts}`, sql`json_extract(${outbox.payload}, '$.posted.channel') = ${posted.channel}`))
    .run();
}

export function recordAttemptFailed(db: Db, id: number, failure: { attempts: number; error: string; nextAttemptAt: Date; dead: boolean }): void {
  db.update(outbox)
    .set({ attempts: failure.attempts, lastError: failure.error, nextAttemptAt: failure.nextAttemptAt.toISOString(), state: failure.dead ? 'dead' : 'pending', claimedUntil: null })
    .where(eq(outbox.id, id))
    .run();
}

export function outboxBacklog(db: Db): { pending: number; dead: number; oldestPendingSince: string | null } {
  const rows = db
    .select({ state: outbox.state, count: sql<number>`count(*)`, oldest: sql<string | null>`min(${outbox.createdAt})` })
    .from(outbox)
    .where(sql`${outbox.state} != 'delivered'`)
    .groupBy(outbox.state)
    .all();
  const of = (state: string) => rows.find((r) => r.state === state);
  return { pending: of('pending')?.count ?? 0, dead: of('dead')?.count ?? 0, oldestPendingSince: of('pending')?.oldest ?? null };
}
