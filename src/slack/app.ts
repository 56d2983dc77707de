import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, HTTPReceiver, LogLevel, webApi, type Authorize, type CustomRoute } from '@slack/bolt';
import type { Config } from '../config';
import { publicHealthReport, type HealthReport } from '../health';
import type { StructuredLogger } from '../logger';
import { registerListeners } from './listeners';
import { requestLog } from './request-log';
import type { ListenerDeps } from './listeners/deps';
import { ResilientSocketModeReceiver, type SocketModeHealth } from './socket-mode-receiver';

export interface SlackAppOptions {
  config: Config;
  logger: StructuredLogger;
  listeners: ListenerDeps;
  health: (socketMode: SocketModeHealth | undefined) => HealthReport;
  /** True once shutdown has begun: a request still arriving on a kept-alive connection is the last on it. */
  stopping: () => boolean;
  socketModeBackoff?: { initialMs: number; maxMs: number };
}

/** Delivery retries belong to the outbox, which survives restarts; the client itself must not retry or sleep. */
export function createWebClient(config: Config, logger: StructuredLogger): webApi.WebClient {
  // A hung call would stall every delivery behind it, so each one gets ten seconds.
  return new webApi.WebClient(config.slack.botToken, { slackApiUrl: config.slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: 10_000, logger });
}

/**
 * Bolt's single-token mode calls auth.test once and caches the promise, so one failure at start-up would refuse
 * every request until a restart. This caches only a success and asks again after a failure.
 */
function authorizeWithRetry(client: webApi.WebClient, botToken: string): Authorize<boolean> {
  let identity: Promise<{ botId?: string; botUserId?: string }> | undefined;
  return async () => {
    identity ??= client.auth.test().then((result) => ({ botId: result.bot_id, botUserId: result.user_id }));
    try {
      return { botToken, ...(await identity) };
    } catch (error) {
      identity = undefined;
      throw error;
    }
  };
}

/** Slack signs the time it sent a request; five minutes either way is all it allows. */
const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/**
 * Bolt's own receiver, with Slack's signature verification. Bolt refuses a request signed more than five minutes
 * ago but not one dated in the future, which would let a request signed ahead of time be used later; those are
 * refused here, before Bolt reads them.
 */
function httpReceiver(signingSecret: string, logger: StructuredLogger, logLevel: LogLevel, customRoutes: CustomRoute[], stopping: () => boolean): HTTPReceiver {
  const receiver = new HTTPReceiver({ signingSecret, logger, logLevel, customRoutes });
  const verified = receiver.requestListener;
  receiver.requestListener = (req, res) => {
    // Slack retries events but not clicks, commands or submissions, so a request already on a kept-alive connection
    // is still handled during shutdown; the connection is closed after it, so none follows on it.
    if (stopping()) res.setHeader('connection', 'close');
    const header = req.headers['x-slack-request-timestamp'];
    const signedAt = Number(header);
    // Bolt lets any timestamp through that is not in the past, "Infinity" included; only whole seconds up to five
    // minutes ahead are let through here. (A missing header is Bolt's to refuse.)
    if (req.method === 'POST' && header !== undefined && (!Number.isSafeInteger(signedAt) || signedAt - Date.now() / 1000 > MAX_CLOCK_SKEW_SECONDS)) {
      logger.event(LogLevel.DEBUG, 'refused a Slack request dated in the future or not at all', { path: req.url });
      res.writeHead(401).end();
      return;
    }
    verified(req, res);
  };
  return receiver;
}

/** Whether a /healthz request may see the details, which name exceptions (job results, errors): only with HEALTHZ_TOKEN. */
function mayReadHealthDetails(req: IncomingMessage, token: string | undefined): boolean {
  const sent = req.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
  if (!token || sent === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(sent), digest(token));
}

/** The real Bolt app: one endpoint, POST /slack/events, with Slack's signature verification; Socket Mode with an app token. */
export function createSlackApp({ config, logger, listeners, health, client, stopping, socketModeBackoff }: SlackAppOptions & { client: webApi.WebClient }): { app: App; socketMode?: ResilientSocketModeReceiver } {
  let socketMode: ResilientSocketModeReceiver | undefined = undefined;
  // The port may be public (Slack calls it in HTTP mode): anyone sees ok and counts, the token holder everything.
  const serveHealth = (req: IncomingMessage, res: ServerResponse) => {
    const report = health(socketMode?.health());
    res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(mayReadHealthDetails(req, config.healthToken) ? report : publicHealthReport(report)));
  };
  const healthRoute: CustomRoute = { path: '/healthz', method: ['GET'], handler: (req, res) => serveHealth(req, res) };
  if (config.slack.appToken) {
    socketMode = new ResilientSocketModeReceiver({
      appToken: config.slack.appToken,
      apiUrl: config.slack.apiUrl,
      logger,
      backoff: socketModeBackoff,
      serveHttp: (req, res) => {
        if (req.method === 'GET' && new URL(req.url ?? '/', 'http://localhost').pathname === '/healthz') return serveHealth(req, res);
        res.writeHead(404).end();
      },
    });
  }
  const app = new App({
    authorize: authorizeWithRetry(client, config.slack.botToken),
    logger,
    logLevel: config.logLevel as LogLevel,
    clientOptions: { slackApiUrl: config.slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: 10_000 },
    receiver: socketMode ?? httpReceiver(config.slack.signingSecret, logger, config.logLevel as LogLevel, [healthRoute], stopping),
    // No listener keeps conversation state, so Bolt's store would only be one more lookup before every ack.
    convoStore: false,
  });
  app.use(requestLog(logger));
  registerListeners(app, listeners, config.channels.watch);
  app.error(async (error) => {
    logger.event(LogLevel.ERROR, 'unhandled error in a Slack listener', { error });
  });
  return { app, socketMode };
}
