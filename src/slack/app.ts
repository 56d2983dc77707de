import type { ServerResponse } from 'node:http';
import { App, LogLevel, webApi, type Authorize } from '@slack/bolt';
import type { Config } from '../config';
import type { StructuredLogger } from '../logger';
import { registerListeners } from './listeners';
import type { ListenerDeps } from './listeners/deps';

export interface SlackAppOptions {
  config: Config;
  logger: StructuredLogger;
  listeners: ListenerDeps;
  health: () => { ok: boolean; [key: string]: unknown };
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

/** The real Bolt app: one endpoint, POST /slack/events, with Slack's signature verification; Socket Mode with an app token. */
export function createSlackApp({ config, logger, listeners, health, client }: SlackAppOptions & { client: webApi.WebClient }): App {
  const healthRoute = {
    path: '/healthz',
    method: ['GET'],
    handler: (_req: unknown, res: ServerResponse) => {
      const report = health();
      res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(report));
    },
  };
  const app = new App({
    authorize: authorizeWithRetry(client, config.slack.botToken),
    signingSecret: config.slack.signingSecret,
    logger,
    logLevel: config.logLevel as LogLevel,
    clientOptions: { slackApiUrl: config.slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: 10_000 },
    customRoutes: [healthRoute],
    ...(config.slack.appToken ? { socketMode: true, appToken: config.slack.appToken, installerOptions: { port: config.port } } : {}),
  });
  registerListeners(app, listeners, config.channels.watch);
  app.error(async (error) => {
    logger.event(LogLevel.ERROR, 'unhandled error in a Slack listener', { error });
  });
  return app;
}
