import { LogLevel, webApi } from '@slack/bolt';
import type { Db } from '../db/client';
import { claimForDelivery, markCardPosted, markDelivered, markMessageDelivered, outboxRow, pendingQueue, postedCheckinQuestion, recordAttemptFailed, releaseClaims, type OutboxRow, type QueuedRow } from '../db/outbox';
import { tallyVotes } from '../domain/decision';
import { formatExceptionRef } from '../domain/exception';
import { createDeliveryLoop } from '../delivery-loop';
import type { Clock } from '../services/context';
import { loadExceptionRecord, type ExceptionRecord } from '../services/exception-record';
import type { Card, Notification } from '../services/notifications';
import type { StructuredLogger } from '../logger';
import { renderMetricsChart } from '../charts/metrics-chart';
import type { Metrics } from '../domain/metrics';
import { directMessage } from './views/direct-messages';
import { metricsMessage } from './views/metrics-message';
import { approvalCard, triageCard, type CardContext, type SlackMessage } from './views/exception-cards';
import {
  checkinAlert,
  checkinQuestion,
  checkinSuperseded,
  expiryDigest,
  expirySummary,
  informalPointer,
  reminderDigest,
  renewalRequestedNote,
  reviewOverdue,
  reviewRegister,
  reviewSummary,
  stallEscalation,
  stallNudge,
} from './views/follow-up-messages';

export interface NotifierDeps {
  db: Db;
  client: webApi.WebClient;
  clock: Clock;
  logger: StructuredLogger;
  cards: CardContext;
  /** Slack allows about one message per second per channel; posts to one channel are spaced this far apart. */
  channelSpacingMs?: number;
  /** Real elapsed time and waiting (only once every row left is in a channel cooling down), for that spacing; replaceable in tests. */
  monotonic?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface Notifier {
  /** Delivers everything due now, in order per message; resolves with how many were delivered. */
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
/** Longer than any single delivery (each call times out after ten seconds). */
const CLAIM_MS = 60_000;
/** Platform errors that mean "Slack is having trouble", not "Slack says no". */
const TRANSIENT_PLATFORM_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited']);

function retryDelayMs(error: unknown, attempts: number): number {
  const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
  if (typeof retryAfter === 'number' && retryAfter > 0) return retryAfter * 1000;
  return Math.min(1000 * 2 ** (attempts - 1), MAX_BACKOFF_MS);
}

function platformError(error: unknown): string | undefined {
  if ((error as { code?: unknown }).code !== webApi.ErrorCode.PlatformError) return undefined;
  return (error as { data?: { error?: string } }).data?.error ?? 'unknown';
}

/**
 * An outage (HTTP 5xx, 429, a network error, Slack's own internal errors) is waited out however long it lasts:
 * a notification is never given up because Slack was down. Only a call Slack keeps refusing is abandoned.
 */
function isRefusal(error: unknown): boolean {
  const code = platformError(error);
  return code !== undefined && !TRANSIENT_PLATFORM_ERRORS.has(code);
}

function isRateLimited(error: unknown): boolean {
  return (error as { code?: unknown }).code === webApi.ErrorCode.RateLimitedError;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = platformError(error);
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

/**
 * Notifications about the same message keep their order (a card is posted before it is updated, and the approval
 * card is threaded under the triage card); a DM that cannot be delivered does not hold the cards back.
 */
/** An expiry notice names the day that ended, even when a renewal approved since has moved the record's date on. */
function asExpired(records: ExceptionRecord[], expiredOn: Record<number, string> | undefined): ExceptionRecord[] {
  return records.map((record) => ({ ...record, expiresOn: expiredOn?.[record.id] ?? record.expiresOn }));
}

function orderingKey(notification: Notification): string {
  switch (notification.kind) {
    case 'direct_message':
    case 'reminder_digest':
    case 'expiry_digest':
    case 'checkin_question':
      return `dm:${notification.recipientId}`;
    case 'channel_post':
    case 'informal_pointer':
      return `channel:${notification.channel}`;
    default:
      return `${notification.exceptionId}:cards`;
  }
}

/** Thrown instead of posting once stop() has begun: the row stays pending, with no attempt counted against it. */
class DeliveryStopped extends Error {}

/** Thrown instead of posting too soon after the channel's last post: the row waits its turn, with no attempt counted. */
class ChannelCooling extends Error {
  constructor(readonly until: number) {
    super('the channel is cooling down');
  }
}

/** What a pass left waiting for a channel to cool down: the next pass before then skips these keys' rows. */
interface Waiting {
  blocked: Set<string>;
  /** When the first of them may go (monotonic ms). */
  soonest: number;
  /** The last row the passes so far have read. */
  throughId: number;
}

/** How long stop() waits for a call already with Slack before it leaves it (and its row) behind. */
const STOP_WAIT_MS = 3000;

export function createNotifier(deps: NotifierDeps): Notifier {
  const { db, client, clock, logger } = deps;
  // Slack's rate limits apply to the whole app: after a 429 nothing is sent until Retry-After has passed.
  let pausedUntil = 0;
  const spacingMs = deps.channelSpacingMs ?? 1000;
  const monotonic = deps.monotonic ?? (() => performance.now());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const lastPostAt = new Map<string, number>();
  // A person's DM channel, once opened, so that a DM to someone just written to waits without asking Slack again.
  const dmChannels = new Map<string, string>();
  let interruptPause: (() => void) | undefined;
  // Set by wake(): something queued during a pass is not in the rows that pass read, so no pause before the next.
  let wokenDuringPass = false;
  // Once stopping, nothing new is claimed or posted, and what is left stays in the outbox for the next start.
  const loop = createDeliveryLoop({ runOnce, logger, failure: 'notification delivery failed' });
  const claimed = new Set<number>();
  // The notifications of the pending rows read so far, and the newest of them: what a pass need not read again.
  const readRows = new Map<number, Notification>();
  let readThrough = 0;

  /** When the channel may be posted to again, if not yet. */
  function coolingUntil(channel: string | undefined): number | undefined {
    const last = channel === undefined ? undefined : lastPostAt.get(channel);
    return last !== undefined && monotonic() - last < spacingMs ? last + spacingMs : undefined;
  }

  /** Where a notification will be posted, when that is known without loading anything. */
  function destination(notification: Notification): string | undefined {
    switch (notification.kind) {
      case 'post_card':
      case 'channel_post':
      case 'informal_pointer':
        return notification.channel;
      case 'direct_message':
      case 'reminder_digest':
      case 'expiry_digest':
      case 'checkin_question':
        return dmChannels.get(notification.recipientId);
      default:
        return undefined;
    }
  }

  /** Posts a message, keeping at least `spacingMs` between two posts to the same channel: one too soon is not sent. */
  async function post(args: webApi.ChatPostMessageArguments): Promise<webApi.ChatPostMessageResponse> {
    const cooling = coolingUntil(args.channel);
    if (cooling !== undefined) throw new ChannelCooling(cooling);
    if (loop.stopping()) throw new DeliveryStopped();
    lastPostAt.set(args.channel, monotonic());
    return client.chat.postMessage(args);
  }

  function render(card: Card, record: ExceptionRecord, threaded: boolean): SlackMessage {
    if (card === 'triage' || !record.route) return triageCard(record, deps.cards);
    const tally = tallyVotes(record.decisions, record.route, deps.cards.committeeQuorum);
    return approvalCard(record, tally, deps.cards, { threaded });
  }

  /**
   * One top-level message per exception per channel: a decision asked in the triage channel goes in the triage
   * card's thread, and a later round in the committee channel goes in the thread of the first committee card.
   */
  function threadFor(card: Card, channel: string, record: ExceptionRecord): string | undefined {
    if (card !== 'approval') return undefined;
    if (record.triageMessage?.channel === channel) return record.triageMessage.ts;
    if (channel === deps.cards.committeeChannel && record.committeeThreadTs && record.approvalMessage?.ts !== record.committeeThreadTs) return record.committeeThreadTs;
    return undefined;
  }

  function channelMessage(notification: Extract<Notification, { kind: 'channel_post' }>): SlackMessage | undefined {
    if (notification.message === 'review_summary') return reviewSummary(notification.quarter, notification.counts, notification.overdue);
    if (notification.message === 'weekly_metrics') return metricsMessage(notification.metrics, notification.anchor);
    const listed = records(notification.exceptionIds);
    if (listed.length === 0) return undefined;
    switch (notification.message) {
      case 'expiry_summary':
        return expirySummary(asExpired(listed, notification.expiredOn));
      case 'stall_escalation':
        return stallEscalation(listed, notification.workingDays);
      case 'checkin_alert':
        return checkinAlert(listed, notification.reason, deps.cards.approverIds);
      case 'review_overdue':
        return reviewOverdue(listed);
      case 'review_register':
        return reviewRegister(listed);
    }
  }

  /** The chart goes in the post's thread; if it cannot be drawn or uploaded, the figures have gone out regardless. */
  async function attachChart(channel: string, threadTs: string | undefined, metrics: Metrics): Promise<void> {
    try {
      const png = await renderMetricsChart(metrics);
      const file = { file: png, filename: `exception-metrics-${metrics.week}.png`, title: `Active exceptions and their ages, week ${metrics.week}` };
      await client.filesUploadV2(threadTs ? { channel_id: channel, thread_ts: threadTs, ...file } : { channel_id: channel, ...file });
    } catch (error) {
      logger.event(LogLevel.WARN, 'the weekly chart could not be attached; the figures were posted without it', { week: metrics.week, error });
    }
  }

  async function postDirect(recipientId: string, message: SlackMessage): Promise<webApi.ChatPostMessageResponse> {
    const opened = await client.conversations.open({ users: recipientId });
    const channel = opened.channel?.id ?? recipientId;
    dmChannels.set(recipientId, channel);
    return post({ channel, ...message, unfurl_links: false, unfurl_media: false });
  }

  /** An older question loses its buttons before the next is asked; one Slack no longer has is left as it is. */
  async function closeCheckinQuestions(record: ExceptionRecord, checkinIds: readonly number[]): Promise<void> {
    for (const checkinId of checkinIds) {
      const posted = postedCheckinQuestion(db, record.id, checkinId);
      if (!posted) continue;
      try {
        await client.chat.update({ channel: posted.channel, ts: posted.ts, ...checkinSuperseded(record) });
      } catch (error) {
        if (!isRefusal(error)) throw error;
        logger.event(LogLevel.WARN, 'an earlier check-in question could not be closed; asking the new one regardless', { exceptionId: record.ref, checkinId, error: describe(error) });
      }
    }
  }

  function records(ids: number[]): ExceptionRecord[] {
    return ids.map((id) => loadExceptionRecord(db, id)).filter((r): r is ExceptionRecord => r !== undefined);
  }

  /** Where a reply about a card goes: the thread the card starts, or the thread it already sits in. */
  function threadOf(card: Card, record: ExceptionRecord): { channel: string; ts: string } | null {
    if (card === 'triage') return record.triageMessage;
    const approval = record.approvalMessage;
    if (!approval) return null;
    const parent = threadFor('approval', approval.channel, record);
    return parent ? { channel: approval.channel, ts: parent } : approval;
  }

  /** Returns a note when there was nothing to send, e.g. the exception or its message no longer exists. */
  async function deliver(row: OutboxRow, notification: Notification): Promise<string | undefined> {
    switch (notification.kind) {
      case 'post_card': {
        const record = loadExceptionRecord(db, notification.exceptionId);
        if (!record) return 'exception no longer exists';
        const threadTs = threadFor(notification.card, notification.channel, record);
        const posted = await post({
          channel: notification.channel,
          ...render(notification.card, record, threadTs !== undefined),
          ...(threadTs ? { thread_ts: threadTs } : {}),
          unfurl_links: false,
          unfurl_media: false,
        });
        const topLevelIn = !threadTs && notification.channel === deps.cards.committeeChannel ? notification.channel : undefined;
        markCardPosted(db, row, notification.card, { channel: posted.channel ?? notification.channel, ts: posted.ts ?? '', topLevelIn }, clock());
        return undefined;
      }
      case 'refresh_card': {
        const record = loadExceptionRecord(db, notification.exceptionId);
        const ref = record && (notification.card === 'triage' ? record.triageMessage : record.approvalMessage);
        if (!record || !ref) return `no ${notification.card} message to update`;
        const threaded = threadFor(notification.card, ref.channel, record) !== undefined;
        await client.chat.update({ channel: ref.channel, ts: ref.ts, ...render(notification.card, record, threaded) });
        break;
      }
      case 'direct_message': {
        const record = loadExceptionRecord(db, notification.exceptionId);
        if (!record) return 'exception no longer exists';
        const asOfNotice = notification.expiredOn ? asExpired([record], { [record.id]: notification.expiredOn })[0]! : record;
        await postDirect(notification.recipientId, directMessage(notification.message, asOfNotice));
        break;
      }
      case 'thread_reply': {
        const record = loadExceptionRecord(db, notification.exceptionId);
        const thread = record && threadOf(notification.card, record);
        if (!record || !thread) return `no ${notification.card} message to reply to`;
        const reply = notification.message === 'stall_nudge' ? stallNudge(record, notification.mentions, notification.workingDays) : renewalRequestedNote(record, notification.mentions);
        await post({ channel: thread.channel, thread_ts: thread.ts, ...reply, unfurl_links: false });
        break;
      }
      case 'reminder_digest': {
        // Delivered late (after an outage) an item may be stale: renewed, closed or expired meanwhile.
        const items = notification.items.flatMap(({ exceptionId, daysLeft, expiresOn }) =>
          records([exceptionId])
            .filter((record) => record.status === 'active' && record.expiresOn === expiresOn)
            .map((record) => ({ record, daysLeft })),
        );
        if (items.length === 0) return 'no exceptions left to remind about';
        await postDirect(notification.recipientId, reminderDigest(items));
        break;
      }
      case 'expiry_digest': {
        const expired = records(notification.exceptionIds);
        if (expired.length === 0) return 'no exceptions left to list';
        await postDirect(notification.recipientId, expiryDigest(asExpired(expired, notification.expiredOn)));
        break;
      }
      case 'informal_pointer': {
        await post({ channel: notification.channel, thread_ts: notification.threadTs, ...informalPointer(notification.askedBy, notification.askId), unfurl_links: false });
        break;
      }
      case 'checkin_question': {
        const record = loadExceptionRecord(db, notification.exceptionId);
        if (!record || record.status !== 'active') return 'exception no longer active';
        await closeCheckinQuestions(record, notification.supersedes ?? []);
        const posted = await postDirect(notification.recipientId, checkinQuestion(record, notification.checkinId));
        markMessageDelivered(db, row.id, clock(), { channel: posted.channel ?? notification.recipientId, ts: posted.ts ?? '' });
        return undefined;
      }
      case 'channel_post': {
        const message = channelMessage(notification);
        if (!message) return 'no exceptions left to list';
        const posted = await post({ channel: notification.channel, ...message, unfurl_links: false, unfurl_media: false });
        if (notification.message === 'weekly_metrics') await attachChart(notification.channel, posted.ts, notification.metrics);
        break;
      }
    }
    markDelivered(db, row.id, clock());
    return undefined;
  }

  function recordFailure(row: OutboxRow, error: unknown): void {
    const attempts = row.attempts + 1;
    const dead = isRefusal(error) && attempts >= MAX_REFUSED_ATTEMPTS;
    const nextAttemptAt = new Date(clock().getTime() + retryDelayMs(error, attempts));
    recordAttemptFailed(db, row.id, { attempts, error: describe(error), nextAttemptAt, dead });
    if (isRateLimited(error)) pausedUntil = nextAttemptAt.getTime();
    logger.event(dead ? LogLevel.ERROR : LogLevel.WARN, dead ? 'notification abandoned: Slack keeps refusing it' : 'notification will be retried', {
      outboxId: row.id,
      exceptionId: row.exceptionId === null ? undefined : formatExceptionRef(row.exceptionId),
      kind: row.kind,
      attempts,
      nextAttemptAt: dead ? undefined : nextAttemptAt.toISOString(),
      error: describe(error),
    });
  }

  /** Waits until `ms` have passed, or less when something new is queued (wake) or the notifier stops. */
  function pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      interruptPause = resolve;
      void sleep(Math.max(0, ms)).then(resolve);
    }).finally(() => {
      interruptPause = undefined;
    });
  }

  /**
   * Passes over the outbox until nothing is left that can go: a row for a channel that is cooling down waits (with
   * what is queued behind it for the same message, person or channel) while every other channel and DM goes on.
   * A wake while rows wait reads only what was queued since, with the waiting keys still held back: re-reading the
   * whole backlog on every new request made a flood of requests quadratic (6 ms of CPU each behind 1,000 cards).
   */
  async function runOnce(): Promise<number> {
    let delivered = 0;
    let waiting: Waiting | undefined;
    for (;;) {
      wokenDuringPass = false;
      const cooled = waiting?.soonest !== undefined && monotonic() >= waiting.soonest;
      const pass = await deliverPass(cooled ? undefined : waiting);
      delivered += pass.delivered;
      waiting = pass.waiting;
      if (waiting?.soonest === undefined || loop.stopping()) return delivered;
      if (!wokenDuringPass) await pause(waiting.soonest - monotonic());
    }
  }

  /** `since`: the keys an earlier pass left waiting, and the last row it read; only newer rows are read. */
  async function deliverPass(since?: Waiting): Promise<{ delivered: number; waiting?: Waiting }> {
    const now = clock();
    if (now.getTime() < pausedUntil) return { delivered: 0 };
    const blocked = new Set<string>(since?.blocked);
    let delivered = 0;
    let soonest = since?.soonest;
    let throughId = since?.throughId ?? 0;
    const waitFor = (key: string, until: number) => {
      blocked.add(key);
      soonest = Math.min(soonest ?? until, until);
    };
    const seen = since ? undefined : new Set<number>();
    const nowIso = now.toISOString();
    for (const queued of pendingQueue(db, throughId, readThrough)) {
      if (loop.stopping()) break;
      throughId = queued.id;
      seen?.add(queued.id);
      const notification = queuedNotification(queued);
      if (!notification) continue;
      const key = orderingKey(notification);
      if (blocked.has(key)) continue;
      if (queued.nextAttemptAt > nowIso) {
        blocked.add(key);
        continue;
      }
      const cooling = coolingUntil(destination(notification));
      if (cooling !== undefined) {
        waitFor(key, cooling);
        continue;
      }
      // Another process on the same register may be delivering this row right now.
      if (!claimForDelivery(db, queued.id, clock(), CLAIM_MS)) {
        blocked.add(key);
        continue;
      }
      const row = outboxRow(db, queued.id);
      if (!row) continue;
      claimed.add(row.id);
      try {
        const nothingToSend = await deliver(row, JSON.parse(row.payload) as Notification);
        if (nothingToSend) markDelivered(db, row.id, clock(), nothingToSend);
        else delivered++;
        readRows.delete(row.id);
      } catch (error) {
        if (error instanceof DeliveryStopped) {
          releaseClaims(db, [row.id]);
          break;
        }
        if (error instanceof ChannelCooling) {
          releaseClaims(db, [row.id]);
          waitFor(key, error.until);
          continue;
        }
        recordFailure(row, error);
        blocked.add(key);
        if (isRateLimited(error)) return { delivered };
      } finally {
        claimed.delete(row.id);
      }
    }
    // A row gone from the queue was delivered, here or by another process: its notification need not be kept.
    if (seen && !loop.stopping()) for (const id of readRows.keys()) if (!seen.has(id)) readRows.delete(id);
    return { delivered, waiting: soonest === undefined ? undefined : { blocked, soonest, throughId } };
  }

  /** A queued row's notification, read once while it waits: passes over a backlog only look up where each goes. */
  function queuedNotification(queued: QueuedRow): Notification | undefined {
    let notification = readRows.get(queued.id);
    if (!notification) {
      const payload = queued.payload ?? outboxRow(db, queued.id)?.payload;
      if (payload === undefined) return undefined;
      notification = JSON.parse(payload) as Notification;
      readRows.set(queued.id, notification);
    }
    readThrough = Math.max(readThrough, queued.id);
    return notification;
  }

  return {
    deliverDue: loop.deliverDue,
    // Something new goes out now, not after the wait for a channel that is cooling down.
    wake() {
      wokenDuringPass = true;
      interruptPause?.();
      loop.wake();
    },
    idle: loop.idle,
    start: loop.start,
    async stop() {
      const stopped = loop.stop(STOP_WAIT_MS);
      interruptPause?.();
      await stopped;
      // Whatever this process still holds goes back to the outbox now, not when the claim would lapse.
      releaseClaims(db, [...claimed]);
    },
  };
}
