import { and, asc, eq, sql } from 'drizzle-orm';
import { LogLevel, webApi } from '@slack/bolt';
import type { Db } from '../db/client';
import { exceptions, outbox } from '../db/schema';
import { tallyVotes } from '../domain/decision';
import type { Clock } from '../services/context';
import { loadExceptionRecord, type ExceptionRecord } from '../services/exception-record';
import type { Card, Notification } from '../services/notifications';
import type { StructuredLogger } from '../logger';
import { directMessage } from './views/direct-messages';
import { approvalCard, triageCard, type CardContext, type SlackMessage } from './views/exception-cards';

type WebClient = webApi.WebClient;

export interface NotifierDeps {
  db: Db;
  client: WebClient;
  clock: Clock;
  logger: StructuredLogger;
  cards: CardContext;
}

export interface Notifier {
  /** Delivers everything due now, in order per exception; resolves with how many were delivered. */
  deliverDue(): Promise<number>;
  /** Asks for a delivery run soon without waiting for it; runs never overlap. */
  wake(): void;
  /** Resolves once no delivery run is in progress. */
  idle(): Promise<void>;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

/** Slack refused the call itself (bad arguments, unknown channel): retrying a few times covers a race, not more. */
const MAX_REFUSED_ATTEMPTS = 10;
const MAX_BACKOFF_MS = 10 * 60_000;

type OutboxRow = typeof outbox.$inferSelect;

function retryDelayMs(error: unknown, attempts: number): number {
  const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
  if (typeof retryAfter === 'number' && retryAfter > 0) return retryAfter * 1000;
  return Math.min(1000 * 2 ** (attempts - 1), MAX_BACKOFF_MS);
}

/**
 * An outage (HTTP 5xx, 429, a network error) is waited out however long it lasts: a notification is never
 * given up because Slack was down. Only a call Slack keeps refusing is abandoned, and logged as an error.
 */
function isRefusal(error: unknown): boolean {
  return (error as { code?: unknown }).code === webApi.ErrorCode.PlatformError;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const platform = (error as { data?: { error?: string } }).data?.error;
    return platform ? `${error.message} (${platform})` : error.message;
  }
  return String(error);
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const { db, client, clock, logger } = deps;
  let running: Promise<number> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  function render(card: Card, record: ExceptionRecord, threaded: boolean): SlackMessage {
    if (card === 'triage') return triageCard(record, deps.cards);
    const tally = tallyVotes(record.decisions, record.route ?? 'committee', deps.cards.committeeQuorum);
    return approvalCard(record, tally, deps.cards, { threaded });
  }

  /** One top-level message per exception per channel: a decision asked in the triage channel goes in its thread. */
  function threadFor(card: Card, channel: string, record: ExceptionRecord): string | undefined {
    return card === 'approval' && record.triageMessage?.channel === channel ? record.triageMessage.ts : undefined;
  }

  function markDelivered(id: number, note?: string): void {
    db.update(outbox)
      .set({ state: 'delivered', deliveredAt: clock().toISOString(), lastError: note ?? null })
      .where(and(eq(outbox.id, id), eq(outbox.state, 'pending')))
      .run();
  }

  async function deliver(row: OutboxRow, notification: Notification, record: ExceptionRecord): Promise<void> {
    switch (notification.kind) {
      case 'post_card': {
        const threadTs = threadFor(notification.card, notification.channel, record);
        const message = render(notification.card, record, threadTs !== undefined);
        const posted = await client.chat.postMessage({
          channel: notification.channel,
          ...message,
          ...(threadTs ? { thread_ts: threadTs } : {}),
          unfurl_links: false,
          unfurl_media: false,
        });
        const ref = { channel: posted.channel ?? notification.channel, ts: posted.ts ?? '' };
        // The message reference and the delivery mark commit together: a card is never posted twice by a retry.
        db.transaction((tx) => {
          tx.update(exceptions)
            .set(notification.card === 'triage' ? { triageChannel: ref.channel, triageTs: ref.ts } : { approvalChannel: ref.channel, approvalTs: ref.ts })
            .where(eq(exceptions.id, record.id))
            .run();
          tx.update(outbox).set({ state: 'delivered', deliveredAt: clock().toISOString() }).where(eq(outbox.id, row.id)).run();
        });
        return;
      }
      case 'refresh_card': {
        const ref = notification.card === 'triage' ? record.triageMessage : record.approvalMessage;
        if (!ref) {
          markDelivered(row.id, `no ${notification.card} message to update`);
          return;
        }
        const threaded = threadFor(notification.card, ref.channel, record) !== undefined;
        await client.chat.update({ channel: ref.channel, ts: ref.ts, ...render(notification.card, record, threaded) });
        markDelivered(row.id);
        return;
      }
      case 'direct_message': {
        const opened = await client.conversations.open({ users: notification.recipientId });
        const channel = opened.channel?.id ?? notification.recipientId;
        await client.chat.postMessage({ channel, ...directMessage(notification.message, record), unfurl_links: false, unfurl_media: false });
        markDelivered(row.id);
        return;
      }
    }
  }

  function recordFailure(row: OutboxRow, error: unknown): void {
    const attempts = row.attempts + 1;
    const dead = isRefusal(error) && attempts >= MAX_REFUSED_ATTEMPTS;
    const next = new Date(clock().getTime() + retryDelayMs(error, attempts));
    db.update(outbox)
      .set({ attempts, lastError: describe(error), nextAttemptAt: next.toISOString(), state: dead ? 'dead' : 'pending' })
      .where(eq(outbox.id, row.id))
      .run();
    logger.event(dead ? LogLevel.ERROR : LogLevel.WARN, dead ? 'notification abandoned' : 'notification will be retried', {
      outboxId: row.id,
      exceptionId: row.exceptionId,
      kind: row.kind,
      attempts,
      nextAttemptAt: dead ? undefined : next.toISOString(),
      error: describe(error),
    });
  }

  async function runOnce(): Promise<number> {
    const now = clock().toISOString();
    const rows = db.select().from(outbox).where(eq(outbox.state, 'pending')).orderBy(asc(outbox.id)).all();
    // A later notification about an exception waits for the earlier ones: an update never overtakes its post.
    const blocked = new Set<number | null>();
    let delivered = 0;
    for (const row of rows) {
      const key = row.exceptionId;
      if (key !== null && blocked.has(key)) continue;
      if (row.nextAttemptAt > now) {
        blocked.add(key);
        continue;
      }
      const notification = JSON.parse(row.payload) as Notification;
      const record = loadExceptionRecord(db, notification.exceptionId);
      if (!record) {
        markDelivered(row.id, 'exception no longer exists');
        continue;
      }
      try {
        await deliver(row, notification, record);
        delivered++;
      } catch (error) {
        recordFailure(row, error);
        blocked.add(key);
      }
    }
    return delivered;
  }

  async function deliverDue(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      do {
        again = false;
        total += await runOnce();
      } while (again);
      return total;
    })();
    try {
      return await running;
    } finally {
      running = undefined;
    }
  }

  return {
    deliverDue,
    wake() {
      deliverDue().catch((error: unknown) => logger.event(LogLevel.ERROR, 'notification delivery failed', { error: describe(error) }));
    },
    async idle() {
      while (running) await running.catch(() => undefined);
    },
    start(intervalMs) {
      timer = setInterval(() => this.wake(), intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await this.idle();
    },
  };
}

export function outboxBacklog(db: Db): { pending: number; dead: number } {
  const rows = db.select({ state: outbox.state, count: sql<number>`count(*)` }).from(outbox).groupBy(outbox.state).all();
  const count = (state: string) => rows.find((r) => r.state === state)?.count ?? 0;
  return { pending: count('pending'), dead: count('dead') };
}
