import type { Server } from 'node:http';
import { LogLevel, type App } from '@slack/bolt';
import { ConfigError, type Config } from './config';
import { sealAuditTrail, useAuditKey } from './db/audit-chain';
import { openRegister, type Register } from './db/client';
import { createLogger, withoutLogFields, type StructuredLogger } from './logger';
import { createServiceContext, type Clock, type ServiceContext } from './services/context';
import { createSlackApp, createWebClient } from './slack/app';
import { healthReport } from './health';
import { startScheduler, type Scheduler } from './jobs/scheduler';
import { createNotifier, type Notifier } from './slack/notifier';
import { createWebhookDeliverer } from './webhooks/webhook-deliverer';
import { createChangeApplier } from './integrations/apply-changes';

export interface Application {
  app: App;
  register: Register;
  services: ServiceContext;
  notifier: Notifier;
  /** The bound HTTP port (useful when started on port 0). */
  port: number;
  /** Resolves when no Slack request is being handled and nothing due is waiting in the outbox. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface ApplicationOptions {
  clock?: Clock;
  logger?: StructuredLogger;
  /** How often the outbox is polled for retries, in milliseconds. */
  deliveryIntervalMs?: number;
  /** Tests drive the jobs themselves with `runJobs`; production schedules them. */
  schedule?: boolean;
  /** Spacing between two posts to one channel (Slack's one message per second); tests that do not measure it use 0. */
  channelSpacingMs?: number;
  /** Waits between attempts to open a Socket Mode connection (default 1 s doubling to 60 s); tests shorten them. */
  socketModeBackoff?: { initialMs: number; maxMs: number };
}

/** How long shutdown lets clients finish their requests before it cuts their connections. */
const STOP_GRACE_MS = 2000;
/** How long shutdown waits for handlers (a Slack call in one may take up to its ten-second timeout). */
const HANDLERS_DEADLINE_MS = 3000;

/** Composition root: configuration → register → services → Slack app → delivery. Only here is the real clock read. */
export async function startApplication(config: Config, options: ApplicationOptions = {}): Promise<Application> {
  const clock = options.clock ?? (() => new Date());
  const logger = options.logger ?? createLogger(config.logLevel);
  const register = openRegister(config.databasePath);
  useAuditKey(register.db, config.auditKey);
  const keyProblem = sealAuditTrail(register.db, clock());
  if (keyProblem) {
    register.close();
    throw new ConfigError([keyProblem]);
  }
  const services = createServiceContext(register.db, clock, config);
  const cards = {
    approverIds: [...config.roles.approvers],
    committeeIds: [...config.roles.committee],
    committeeChannel: config.channels.committee,
    committeeQuorum: config.rules.committeeQuorum,
    committeeRiskThreshold: config.rules.committeeRiskThreshold,
  };

  // Started once the app listens; /healthz reports on it from then on.
  let scheduler: Scheduler | undefined = undefined;
  let stopping = false;
  const client = createWebClient(config, logger);
  const { app, socketMode } = createSlackApp({
    config,
    client,
    logger,
    listeners: { services, logger, cards, wakeNotifier: () => withoutLogFields(deliverSoon) },
    health: (socket) => healthReport(register.db, scheduler, new Date(), socket),
    stopping: () => stopping,
    socketModeBackoff: options.socketModeBackoff,
  });
  // Counted so that shutdown (and tests) can wait for work that started after ack() to finish.
  let inFlight = 0;
  app.use(async ({ next }) => {
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  });
  const notifier = createNotifier({ db: register.db, client, clock, logger, cards, services, timeZone: config.timeZone, channelSpacingMs: options.channelSpacingMs });

  // Both receivers answer /healthz on the HTTP port; in Socket Mode Slack's requests come over the WebSocket instead.
  let server: Server;
  try {
    server = (await app.start(config.port)) as Server;
  } catch (error) {
    register.close();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // Every state change is also sent to the webhook, when one is configured, straight from the audit trail.
  const webhooks = config.webhook ? createWebhookDeliverer({ db: register.db, url: config.webhook.url, secret: config.webhook.secret, clock, logger }) : undefined;
  // An approved exception is applied in the identity provider and Jira, and taken away again, from the same trail.
  const { connectors } = services;
  const changes =
    Object.keys(connectors.identity).length > 0 || connectors.change
      ? createChangeApplier({ db: register.db, connectors, clock, logger, approvalsChannel: config.channels.approvals, notified: () => notifier.wake() })
      : undefined;
  const deliverSoon = () => {
    notifier.wake();
    webhooks?.wake();
    changes?.wake();
  };
  notifier.start(options.deliveryIntervalMs ?? 5000);
  webhooks?.start(options.deliveryIntervalMs ?? 5000);
  changes?.start(options.deliveryIntervalMs ?? 5000);
  // Whatever was queued before a crash or restart goes out now; whatever fell due meanwhile is done now.
  deliverSoon();
  scheduler =
    options.schedule === false
      ? undefined
      : startScheduler({ ctx: services, schedules: config.schedules, timeZone: config.timeZone, logger, afterRun: deliverSoon });
  logger.info(`exception register listening on port ${port}${socketMode ? ' (Slack over Socket Mode)' : ''}`);

  const handlersDone = async (deadlineMs = Number.POSITIVE_INFINITY) => {
    const until = Date.now() + deadlineMs;
    while (inFlight > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
    if (inFlight > 0) logger.event(LogLevel.WARN, 'stopping with Slack requests still being handled', { inFlight });
  };

  return {
    app,
    register,
    services,
    notifier,
    port,
    async idle() {
      await handlersDone();
      // Before the outbox: what a vendor did (or refused) queues card refreshes and alerts.
      await changes?.deliverDue();
      await notifier.deliverDue();
      await webhooks?.deliverDue();
      await notifier.idle();
    },
    async stop() {
      stopping = true;
      await scheduler?.stop();
      const closed = app.stop().then(
        () => true,
        () => true,
      );
      // A connection Slack keeps alive would hold the server open for its whole keep-alive time: it goes once idle,
      // and after a grace period whatever is left (a slow or half-open client) is cut.
      const graceEnds = Date.now() + STOP_GRACE_MS;
      while (!(await Promise.race([closed, new Promise<false>((resolve) => setTimeout(() => resolve(false), 50))]))) {
        if (Date.now() < graceEnds) server.closeIdleConnections();
        else server.closeAllConnections();
      }
      // Only now can no request be on its way in: every one that was accepted is waited for before the register closes.
      await handlersDone(HANDLERS_DEADLINE_MS);
      await Promise.all([notifier.stop(), webhooks?.stop(), changes?.stop()]);
      register.close();
    },
  };
}
