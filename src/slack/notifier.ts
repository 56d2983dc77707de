import { LogLevel, webApi } from '@slack/bolt';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { outbox } from '../db/schema';
import { createHash } from 'node:crypto';
import {
  claimForDelivery,
  markCardPosted,
  markDelivered,
  markMessageDelivered,
  markMessagesDelivered,
  outboxRow,
  pendingForSameDm,
  pendingQueue,
  postedMessagesAbout,
  recordAttemptFailed,
  recordShown,
  releaseClaims,
  type OutboxRow,
  type PostedMessage,
  type QueuedRow,
} from '../db/outbox';
import { calendarDateIn } from '../domain/calendar';
import { checkinStates } from '../services/answer-checkin';
import { tallyVotes } from '../domain/decision';
import { formatExceptionRef } from '../domain/exception';
import { createDeliveryLoop } from '../delivery-loop';
import type { Clock, ServiceContext } from '../services/context';
import { homeOverview, homesConcerned } from '../services/home-overview';
import { appHome } from './views/app-home';
import { loadExceptionRecord, type ExceptionRecord } from '../services/exception-record';
import type { Card, Notification } from '../services/notifications';
import type { StructuredLogger } from '../logger';
import { renderWeeklyCharts } from '../charts/metrics-chart';
import type { AuditAnchor } from '../domain/audit-anchor';
import { completeMetrics, type Metrics, type WeekPoint } from '../domain/metrics';
import type { ChartReference } from '../charts/metrics-chart';
import { directMessage } from './views/direct-messages';
import { isStandingMessage, sentBackDecisionMessage, sentBackMessageNow, standingMessage } from './views/amendment-messages';
import { withdrawnNote } from './views/withdrawal-messages';
import { isWithdrawn } from '../domain/withdrawal';
import { sentBackAnswered } from '../services/amend-request';
import { metricsMessage, type ChartFiles } from './views/metrics-message';
import { approvalCard, triageCard, type CardContext, type SlackMessage } from './views/exception-cards';
import { personalDigest, type OrgCalendar, type PersonalNotices } from './views/personal-digest';
import {
  checkinAlert,
  expirySummary,
  informalPointer,
  amendmentRequestedNote, renewalRequestedNote,
} from './views/follow-up-messages';
import { reviewOverdue, reviewRegister, reviewSummary, type ReviewContext } from './views/quarterly-review-messages';
import { latestReviewQuarter } from '../services/quarterly-review';
import { stallEscalation, stallNotice, stallNudge } from './views/stall-messages';
import { driftReport } from './views/drift-report';
import { integrationDoneNote, integrationFailureAlert } from './views/integration-alerts';

export interface NotifierDeps {
  db: Db;
  client: webApi.WebClient;
  clock: Clock;
  logger: StructuredLogger;
  cards: CardContext;
  /** For App Home, which is built for each reader; without it, App Home waits for its tab to be opened. */
  services?: ServiceContext;
  /** The organisation's time zone (TZ), where expiry days end. */
  timeZone?: string;
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

/** A notice to one person that joins the others of its job run in one DM. */
type PersonalNotice = Extract<Notification, { kind: 'reminder_digest' | 'expiry_digest' | 'checkin_question' }> | (Extract<Notification, { kind: 'direct_message' }> & { message: 'expired' });

function isPersonal(notification: Notification): notification is PersonalNotice {
  return notification.kind === 'reminder_digest' || notification.kind === 'expiry_digest' || notification.kind === 'checkin_question' || (notification.kind === 'direct_message' && notification.message === 'expired');
}

/** What a message shows, in a few characters: a refresh that would show the same calls nobody. */
function shownAs(message: SlackMessage): string {
  return createHash('sha256').update(JSON.stringify(message)).digest('base64url').slice(0, 22);
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
  // For each person, the newest outbox row their last published App Home already reflected.
  const homeCovers = new Map<string, number>();
  let interruptPause: (() => void) | undefined;
  // Set by wake(): something queued during a pass is not in the rows that pass read, so no pause before the next.
  let wokenDuringPass = false;
  // Once stopping, nothing new is claimed or posted, and what is left stays in the outbox for the next start.
  const loop = createDeliveryLoop({ runOnce, logger, failure: 'notification delivery failed' });
  const claimed = new Set<number>();
  // The notifications of the pending rows read so far, and the newest of them: what a pass need not read again.
  const readRows = new Map<number, Notification>();
  // Rows this pass delivered along with an earlier one in the same DM: skipped, not mistaken for another process's.
  const deliveredAlong = new Set<number>();
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
    // A decision message whose request was sent back at its decision keeps saying so; the amended one gets its own.
    if (card === 'approval' && !record.route && (record.sentBack || record.amended || isWithdrawn(record))) return sentBackDecisionMessage(record);
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
    if (notification.message === 'weekly_metrics') return metricsMessage(completeMetrics(notification.metrics), notification.anchor);
    if (notification.message === 'review_summary') return reviewSummary(notification.quarter, notification.counts, notification.overdue, notification.reviewed);
    if (notification.message === 'drift_report') return driftReport(notification.findings, notification.total);
    const listed = records(notification.exceptionIds);
    if (listed.length === 0) return undefined;
    switch (notification.message) {
      case 'expiry_summary':
        return expirySummary(asExpired(listed, notification.expiredOn), calendar());
      case 'stall_escalation':
        return stallEscalation(listed, notification.workingDays, notification.to ?? 'committee', deps.cards);
      case 'checkin_alert':
        return checkinAlert(listed, notification.reason, deps.cards.approverIds, calendar());
      case 'review_overdue':
        return reviewOverdue(listed, notification.quarter, reviewContext());
      case 'review_register':
        return reviewRegister(listed, reviewContext());
      case 'integration_alert':
        return notification.outcome === 'failing' ? integrationFailureAlert(listed[0]!, notification) : integrationDoneNote(listed[0]!, notification);
    }
  }

  /**
   * The chart panels, uploaded without sharing them to any channel: the post shows them through image blocks, in
   * the post itself. If they cannot be drawn or uploaded, the figures go out without them.
   */
  async function uploadCharts(name: string, points: readonly WeekPoint[], reference: ChartReference | null): Promise<ChartFiles | undefined> {
    try {
      const charts = await renderWeeklyCharts(points, reference);
      const filename = (panel: keyof ChartFiles) => `${name}-${panel}.png`;
      const uploaded = await client.filesUploadV2({
        file_uploads: (['active', 'ages'] as const).map((panel) => ({ file: charts[panel], filename: filename(panel), title: `${panel === 'active' ? 'Active exceptions' : 'Age since first approval'}, ${name}` })),
      });
      const files = (uploaded.files as { files?: { id?: string; name?: string }[] }[]).flatMap((completion) => completion.files ?? []);
      const idOf = (panel: keyof ChartFiles) => files.find((f) => f.name === filename(panel))?.id;
      const active = idOf('active');
      const ages = idOf('ages');
      if (!active || !ages) throw new Error('Slack did not return both chart files');
      return { active, ages };
    } catch (error) {
      logger.event(LogLevel.WARN, 'the chart could not be attached; the figures were posted without it', { chart: name, error });
      return undefined;
    }
  }

  /**
   * Slack finishes an upload asynchronously and may refuse an image block naming the file for a moment: one more try
   * after a pause, then the figures go out without the charts rather than not at all.
   */
  async function postWithCharts(channel: string, charts: ChartFiles | undefined, render: (charts?: ChartFiles) => SlackMessage): Promise<void> {
    const message = (withCharts: boolean) => ({ channel, ...render(withCharts ? charts : undefined), unfurl_links: false, unfurl_media: false });
    if (!charts) {
      await post(message(false));
      return;
    }
    for (const attempt of [1, 2]) {
      try {
        await (attempt === 1 ? post(message(true)) : client.chat.postMessage(message(true)));
        return;
      } catch (error) {
        if (platformError(error) !== 'invalid_blocks') throw error;
        await sleep(Math.max(spacingMs, 2000));
      }
    }
    logger.event(LogLevel.WARN, 'Slack refused the chart; the figures were posted without it', { channel });
    await client.chat.postMessage(message(false));
  }

  /** Waits its turn before drawing and uploading anything: a post put back for later would upload its charts again. */
  function awaitTurn(channel: string): void {
    const cooling = coolingUntil(channel);
    if (cooling !== undefined) throw new ChannelCooling(cooling);
  }

  async function postWeekly(channel: string, queued: Metrics, anchor: AuditAnchor | undefined): Promise<void> {
    awaitTurn(channel);
    const metrics = completeMetrics(queued);
    const charts = metrics.series.length === 0 ? undefined : await uploadCharts(`exception-metrics-${metrics.week}`, metrics.series, metrics.quarterAgo && { ...metrics.quarterAgo, label: 'the same week last quarter' });
    const named = new Map(records([...metrics.stillAppliedItems, ...metrics.waitingItems, ...metrics.expiringItems].map((i) => i.exceptionId)).map((r) => [r.id, r]));
    await postWithCharts(channel, charts, (shown) => metricsMessage(metrics, anchor, { anchor, records: named, ...(shown ? { charts: shown } : {}) }));
  }

  async function postReviewSummary(notification: Extract<Notification, { message: 'review_summary' }>): Promise<void> {
    awaitTurn(notification.channel);
    const { reviewed } = notification;
    const charts = reviewed && reviewed.series.some((p) => p.active !== null)
      ? await uploadCharts(`exception-review-${reviewed.quarter}`, reviewed.series, reviewed.start && { ...reviewed.start, label: `the first week of ${reviewed.quarter}` })
      : undefined;
    await postWithCharts(notification.channel, charts, (shown) => reviewSummary(notification.quarter, notification.counts, notification.overdue, reviewed, shown));
  }

  async function postDirect(recipientId: string, message: SlackMessage): Promise<webApi.ChatPostMessageResponse> {
    const opened = await client.conversations.open({ users: recipientId });
    const channel = opened.channel?.id ?? recipientId;
    dmChannels.set(recipientId, channel);
    return post({ channel, ...message, unfurl_links: false, unfurl_media: false });
  }

  function reviewContext(): ReviewContext {
    return { ...calendar(), committeeRiskThreshold: deps.cards.committeeRiskThreshold, latestQuarter: latestReviewQuarter(db) };
  }

  function calendar(): OrgCalendar {
    const timeZone = deps.timeZone ?? 'UTC';
    return { today: calendarDateIn(clock(), timeZone), timeZone };
  }

  /**
   * A person's notices from one DM's rows, each item as it stands now. On first posting, what has moved on since
   * it was queued (renewed, closed, expired) is left out; a message already posted keeps every item and says what became of it.
   */
  function personalNotices(notices: readonly PersonalNotice[], firstPost: boolean): PersonalNotices {
    const out: PersonalNotices = { reminders: [], checkins: [], expired: [] };
    const states = checkinStates(
      db,
      notices.flatMap((n) => (n.kind === 'checkin_question' ? [n.checkinId] : [])),
    );
    for (const n of notices) {
      if (n.kind === 'reminder_digest') {
        for (const item of n.items) {
          const record = loadExceptionRecord(db, item.exceptionId);
          if (!record || (firstPost && (record.status !== 'active' || record.expiresOn !== item.expiresOn))) continue;
          out.reminders.push({ record, expiresOn: item.expiresOn });
        }
      } else if (n.kind === 'checkin_question') {
        const record = loadExceptionRecord(db, n.exceptionId);
        const checkin = states.get(n.checkinId);
        if (!record || !checkin || (firstPost && record.status !== 'active')) continue;
        out.checkins.push({ record, checkin });
      } else if (n.kind === 'expiry_digest') {
        out.expired.push(...asExpired(records(n.exceptionIds), n.expiredOn));
      } else {
        const record = loadExceptionRecord(db, n.exceptionId);
        if (record) out.expired.push(...asExpired([record], n.expiredOn ? { [record.id]: n.expiredOn } : undefined));
      }
    }
    return out;
  }

  /**
   * One DM per person per job run: the first of the run's notices to them takes the rest still queued along, and
   * all are marked delivered with the one message, or none are.
   */
  async function deliverPersonal(row: OutboxRow, notification: PersonalNotice): Promise<string | undefined> {
    const along = notification.run ? pendingForSameDm(db, row.id, notification.recipientId, notification.run).filter((r) => claimForDelivery(db, r.id, clock(), CLAIM_MS)) : [];
    for (const r of along) claimed.add(r.id);
    try {
      const notices = [notification, ...along.map((r) => JSON.parse(r.payload) as PersonalNotice)];
      // A question this one replaces loses its buttons first, wherever it was posted.
      for (const n of notices) if (n.kind === 'checkin_question' && (n.supersedes ?? []).length > 0) await refreshMessagesAbout(n.exceptionId);
      const message = personalDigest(personalNotices(notices, true), calendar());
      const ids = [row.id, ...along.map((r) => r.id)];
      if (!message) {
        for (const r of along) markDelivered(db, r.id, clock(), 'nothing left to tell');
        for (const r of along) deliveredAlong.add(r.id);
        return 'nothing left to tell';
      }
      const posted = await postDirect(notification.recipientId, message);
      markMessagesDelivered(db, ids, clock(), { channel: posted.channel ?? notification.recipientId, ts: posted.ts ?? '', shown: shownAs(message) });
      for (const r of along) deliveredAlong.add(r.id);
      return undefined;
    } catch (error) {
      releaseClaims(db, along.map((r) => r.id));
      throw error;
    } finally {
      for (const r of along) claimed.delete(r.id);
    }
  }

  /**
   * Messages stay true: every DM and needs-attention alert that showed buttons for the exception is drawn again from
   * the register, and updated only where it now reads differently. One Slack no longer has is left as it is.
   */
  async function refreshMessagesAbout(exceptionId: number): Promise<void> {
    for (const { posted, payloads } of postedMessagesAbout(db, exceptionId)) {
      const message = postedMessage(payloads.map((p) => JSON.parse(p) as Notification), posted);
      if (!message) continue;
      const shown = shownAs(message);
      if (shown === posted.shown) continue;
      try {
        await client.chat.update({ channel: posted.channel, ts: posted.ts, ...message });
      } catch (error) {
        if (!isRefusal(error)) throw error;
        logger.event(LogLevel.WARN, 'a message about an exception could not be brought up to date; left as it is', { exceptionId: formatExceptionRef(exceptionId), error: describe(error) });
        continue;
      }
      recordShown(db, posted, shown);
    }
  }

  function postedMessage(notices: Notification[], posted: PostedMessage): SlackMessage | undefined {
    const first = notices[0];
    if (first?.kind === 'direct_message' && first.message === 'changes_requested') {
      const record = loadExceptionRecord(db, first.exceptionId);
      const answered = posted.answers === undefined ? undefined : sentBackAnswered(db, first.exceptionId, posted.answers);
      return record && answered ? sentBackMessageNow(record, answered) : undefined;
    }
    if (first?.kind === 'channel_post') return first.message === 'checkin_alert' || first.message === 'review_overdue' ? channelMessage(first) : undefined;
    return personalDigest(personalNotices(notices.filter(isPersonal), false), calendar());
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

  /**
   * App Home of everyone concerned, built for each as if they had opened it. A person Slack will not publish for
   * (left the workspace) is skipped; anything else fails the row, which is retried whole (publishing is idempotent).
   */
  async function publishHomes(row: OutboxRow, exceptionId: number): Promise<string | undefined> {
    const services = deps.services;
    if (!services) return 'App Home is published when its tab is opened';
    for (const userId of homesConcerned(services, exceptionId)) {
      if (loop.stopping()) throw new DeliveryStopped();
      // A home built since this row was queued already shows its change: a flood of requests publishes each home once.
      if ((homeCovers.get(userId) ?? 0) >= row.id) continue;
      const covers = db.select({ id: sql<number>`max(${outbox.id})` }).from(outbox).get()?.id ?? row.id;
      try {
        await client.views.publish({ user_id: userId, view: appHome(homeOverview(services, userId), deps.cards) });
        homeCovers.set(userId, covers);
      } catch (error) {
        if (!isRefusal(error)) throw error;
        logger.event(LogLevel.WARN, 'App Home could not be published for one person; the others were', { exceptionId: formatExceptionRef(exceptionId), user: userId, error: describe(error) });
      }
    }
    markDelivered(db, row.id, clock());
    return undefined;
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
        if (notification.card === 'home') return publishHomes(row, notification.exceptionId);
        // Every change that moves an exception refreshes its triage card: its DMs and alerts follow.
        if (notification.card === 'triage') await refreshMessagesAbout(notification.exceptionId);
        const record = loadExceptionRecord(db, notification.exceptionId);
        const ref = record && (notification.card === 'triage' ? record.triageMessage : record.approvalMessage);
        if (!record || !ref) return `no ${notification.card} message to update`;
        const threaded = threadFor(notification.card, ref.channel, record) !== undefined;
        await client.chat.update({ channel: ref.channel, ts: ref.ts, ...render(notification.card, record, threaded) });
        break;
      }
      case 'direct_message': {
        if (isPersonal(notification)) return deliverPersonal(row, notification);
        const record = loadExceptionRecord(db, notification.exceptionId);
        if (!record) return 'exception no longer exists';
        if (notification.message === 'stall_notice') {
          const notice = stallNotice(record, notification, deps.cards);
          if (!notice) return 'the request no longer waits where the notice would say';
          await postDirect(notification.recipientId, notice);
          break;
        }
        if (isStandingMessage(notification.message)) {
          const standing = standingMessage(notification.message, record, deps.cards);
          if (!standing) return 'the request no longer stands where the message would say';
          const posted = await postDirect(notification.recipientId, standing);
          // Its Amend button goes once the request moves on: where it went, and the send-back it answers, are kept.
          if (notification.message === 'changes_requested' && record.sentBack) {
            markMessageDelivered(db, row.id, clock(), { channel: posted.channel ?? notification.recipientId, ts: posted.ts ?? '', shown: shownAs(standing), answers: record.sentBack.eventId });
            return undefined;
          }
          break;
        }
        await postDirect(notification.recipientId, directMessage(notification.message, record, calendar()));
        break;
      }
      case 'thread_reply': {
        const record = loadExceptionRecord(db, notification.exceptionId);
        const thread = record && threadOf(notification.card, record);
        if (!record || !thread) return `no ${notification.card} message to reply to`;
        const reply =
          notification.message === 'request_withdrawn'
            ? withdrawnNote(record, notification.mentions)
            : notification.message === 'renewal_requested'
              ? renewalRequestedNote(record, notification.mentions)
              : notification.message === 'amendment_requested'
                ? amendmentRequestedNote(record, notification.mentions)
              : stallNudge(record, notification.mentions, notification.workingDays, { again: notification.message === 'stall_nudge_again' });
        await post({ channel: thread.channel, thread_ts: thread.ts, ...reply, unfurl_links: false });
        break;
      }
      case 'reminder_digest':
      case 'expiry_digest':
      case 'checkin_question':
        return deliverPersonal(row, notification);
      case 'informal_pointer': {
        await post({ channel: notification.channel, thread_ts: notification.threadTs, ...informalPointer(notification.askedBy, notification.askId), unfurl_links: false });
        break;
      }
      case 'channel_post': {
        if (notification.message === 'weekly_metrics') {
          await postWeekly(notification.channel, notification.metrics, notification.anchor);
          break;
        }
        if (notification.message === 'review_summary') {
          await postReviewSummary(notification);
          break;
        }
        const message = channelMessage(notification);
        if (!message) return 'no exceptions left to list';
        const posted = await post({ channel: notification.channel, ...message, unfurl_links: false, unfurl_media: false });
        // The alert's Revoke and the review's Re-approve go once each exception has moved on: where it went is kept to update it.
        if (notification.message === 'checkin_alert' || notification.message === 'review_overdue') {
          markMessageDelivered(db, row.id, clock(), { channel: posted.channel ?? notification.channel, ts: posted.ts ?? '', shown: shownAs(message) });
          return undefined;
        }
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
    deliveredAlong.clear();
    const nowIso = now.toISOString();
    for (const queued of pendingQueue(db, throughId, readThrough)) {
      if (loop.stopping()) break;
      throughId = queued.id;
      seen?.add(queued.id);
      const notification = queuedNotification(queued);
      if (!notification || deliveredAlong.has(queued.id)) continue;
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
