import type { ServerResponse } from 'node:http';
import { App, LogLevel } from '@slack/bolt';
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

/** The real Bolt app: one endpoint, POST /slack/events, with Slack's signature verification; Socket Mode with an app token. */
export function createSlackApp({ config, logger, listeners, health }: SlackAppOptions): App {
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
    token: config.slack.botToken,
    signingSecret: config.slack.signingSecret,
    logger,
    logLevel: config.logLevel as LogLevel,
    // Delivery retries belong to the outbox, which survives restarts; the client itself must not retry or sleep.
    clientOptions: { slackApiUrl: config.slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true },
    customRoutes: [healthRoute],
    ...(config.slack.appToken ? { socketMode: true, appToken: config.slack.appToken, installerOptions: { port: config.port } } : {}),
  });
  registerListeners(app, listeners);
  app.error(async (error) => {
    logger.event(LogLevel.ERROR, 'unhandled error in a Slack listener', { error });
  });
  return app;
}
