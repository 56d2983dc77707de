import { createHmac } from 'node:crypto';
import { LogLevel } from '@slack/bolt';
import { and, asc, eq, gt, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/client';
import { createDeliveryLoop } from '../delivery-loop';
import { auditEvents, exceptions, policies, webhookCursor } from '../db/schema';
import { formatExceptionRef } from '../domain/exception';
import { withoutUrlSecrets, type StructuredLogger } from '../logger';
import type { Clock } from '../services/context';

export interface WebhookDeps {
  db: Db;
  url: string;
  secret: string;
  clock: Clock;
  logger: StructuredLogger;
  fetch?: typeof fetch;
}

const MAX_BACKOFF_MS = 10 * 60_000;
const BATCH = 100;
/** How long stop() waits for a POST already sent before it leaves it behind. */
const STOP_WAIT_MS = 3000;

/** `X-Exceptions-Signature: sha256=HMAC(secret, "<timestamp>.<body>")`, as Slack signs its own requests. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Delivers every state change in the audit trail to EXCEPTIONS_WEBHOOK_URL, in order, each exactly where it stands
 * in the chain. The audit trail is the outbox: a change exists, and will be sent, exactly when its event does; the
 * cursor only moves past an event once the receiver accepted it, so an outage delays and loses nothing.
 */
export function createWebhookDeliverer(deps: WebhookDeps) {
  const post = deps.fetch ?? fetch;
  // Once stopping, no further event is sent; the cursor says where the next start carries on.
  const loop = createDeliveryLoop({ runOnce, more: (sent) => sent === BATCH, logger: deps.logger, failure: 'webhook delivery failed' });

  function cursor() {
    deps.db.insert(webhookCursor).values({ id: 1 }).onConflictDoNothing().run();
    return deps.db.select().from(webhookCursor).where(eq(webhookCursor.id, 1)).get()!;
  }

  function pending(after: number) {
    return deps.db
      .select({ event: auditEvents, ref: exceptions.id, status: exceptions.status, ownerId: exceptions.ownerId, expiresOn: exceptions.expiresOn, affectedSystems: exceptions.affectedSystems, externalRef: exceptions.externalRef, policyKey: policies.key })
      .from(auditEvents)
      .leftJoin(exceptions, eq(exceptions.id, auditEvents.exceptionId))
      .leftJoin(policies, eq(policies.id, exceptions.policyId))
      .where(and(gt(auditEvents.id, after), isNotNull(auditEvents.exceptionId)))
      .orderBy(asc(auditEvents.id))
      .limit(BATCH)
      .all();
  }

  async function runOnce(): Promise<number> {
    const state = cursor();
    const now = deps.clock();
    if (state.nextAttemptAt && state.nextAttemptAt > now.toISOString()) return 0;
    let delivered = 0;
    let last = state.lastEventId;
    for (const row of pending(last)) {
      if (loop.stopping()) break;
      const body = JSON.stringify({
        // The uid, not the row id: a register restored from a backup hands its row ids out again.
        id: row.event.uid,
        sequence: row.event.id,
        kind: row.event.kind,
        occurredAt: row.event.occurredAt,
        actor: row.event.actorId,
        // The register as it stands when this is sent; `kind` and `details` say what happened at the time.
        exceptionNow: row.ref
          ? { id: formatExceptionRef(row.ref), status: row.status, policy: row.policyKey, owner: row.ownerId, expiresOn: row.expiresOn, affectedSystems: row.affectedSystems, externalRef: row.externalRef }
          : null,
        details: JSON.parse(row.event.payload) as unknown,
        hash: row.event.hash,
      });
      const timestamp = String(Math.floor(deps.clock().getTime() / 1000));
      try {
        const response = await post(deps.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-exceptions-timestamp': timestamp, 'x-exceptions-signature': signWebhook(deps.secret, timestamp, body), 'x-exceptions-event-id': row.event.uid },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        if (!response.ok) throw new Error(`the webhook answered HTTP ${response.status}`);
      } catch (error) {
        const attempts = state.attempts + 1;
        const next = new Date(now.getTime() + Math.min(1000 * 2 ** (attempts - 1), MAX_BACKOFF_MS));
        // fetch names the URL it could not use; the register and the log keep where it pointed, never its secrets.
        const reason = withoutUrlSecrets(error instanceof Error ? error.message : String(error));
        deps.db.update(webhookCursor).set({ lastEventId: last, attempts, nextAttemptAt: next.toISOString(), lastError: reason }).where(eq(webhookCursor.id, 1)).run();
        // Every later event waits behind this one, so a receiver that keeps refusing needs a person's attention.
        deps.logger.event(attempts >= 10 ? LogLevel.ERROR : LogLevel.WARN, 'webhook delivery will be retried; later events wait behind it', { eventId: row.event.id, attempts, nextAttemptAt: next.toISOString(), error: reason });
        return delivered;
      }
      last = row.event.id;
      delivered++;
      deps.db.update(webhookCursor).set({ lastEventId: last, attempts: 0, nextAttemptAt: null, lastError: null }).where(eq(webhookCursor.id, 1)).run();
    }
    return delivered;
  }

  return {
    deliverDue: loop.deliverDue,
    wake: loop.wake,
    start: loop.start,
    // A receiver that hangs must not hold up shutdown; an event it took but we could not record is sent again.
    stop: () => loop.stop(STOP_WAIT_MS),
  };
}

export type WebhookDeliverer = ReturnType<typeof createWebhookDeliverer>;
