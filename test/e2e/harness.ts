import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApplication, type Application } from '../../src/application';
import { runJobs, type JobReport } from '../../src/jobs/run-jobs';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { importPolicies } from '../../src/services/policy-catalogue';
import { createSlackDriver, type SlackDriver } from '../support/slack-driver';
import { startSlackStandIn, type SlackStandIn } from '../support/slack-stand-in';
import { startSocketModeStandIn, type SocketModeStandIn } from '../support/socket-mode-stand-in';

export const PEOPLE = {
  requester: 'U0REQUEST',
  owner: 'U0OWNER',
  security: 'U0SEC1',
  security2: 'U0SEC2',
  ciso: 'U0CISO',
  deputy: 'U0DEPUTY',
  committee1: 'U0COM1',
  committee2: 'U0COM2',
  committee3: 'U0COM3',
  bystander: 'U0BYSTAND',
} as const;

export const CHANNELS = { approvals: 'C0APPROVALS', committee: 'C0COMMITTEE' } as const;
export const SIGNING_SECRET = 'e2e-signing-secret-0123456789';
/** What a monitor sends to read /healthz's details: `Authorization: Bearer <HEALTHZ_TOKEN>`. */
export const HEALTHZ_TOKEN = 'e2e-healthz-token-0123456789';
export const HEALTHZ_DETAILS = { authorization: `Bearer ${HEALTHZ_TOKEN}` } as const;

export interface Harness {
  standIn: SlackStandIn;
  /** Set when the harness runs the app in Socket Mode: Slack's side of the WebSocket. */
  socketMode?: SocketModeStandIn;
  driver: SlackDriver;
  app: Application;
  config: Config;
  databasePath: string;
  logs: string[];
  /** The app's clock; tests move it explicitly. */
  clock: { now: Date; advance(ms: number): void };
  /** Waits until the app has finished handling requests and delivered everything due. */
  settle(): Promise<void>;
  /** Runs every scheduled job as of the harness clock (what cron and `jobs run` do), then delivers. */
  runJobs(): Promise<JobReport[]>;
  /** Stops the app and starts a new one on the same database file, as a restart would; `whileStopped` runs in between (e.g. a restore). */
  restart(options?: { schedule?: boolean; whileStopped?: () => void }): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  now?: Date;
  /** Start the real scheduler (cron plus the start-up catch-up run); tests otherwise call `runJobs` themselves. */
  schedule?: boolean;
  env?: Record<string, string>;
  policiesCsv?: string;
  /** Run the app in Socket Mode: the driver's payloads travel as envelopes over a WebSocket instead of signed HTTP. */
  socketMode?: boolean;
  /** Runs before the app first starts, e.g. to make Slack fail its start-up calls. */
  beforeStart?: (standIn: SlackStandIn) => void;
  /** Spacing between two posts to one channel; 0 (none) unless a test measures Slack's pace. */
  channelSpacingMs?: number;
}

export const DEFAULT_POLICIES = [
  'key,title,description',
  'MFA-01,Multi-factor authentication,Every interactive login uses a second factor',
  'NET-02,Network segmentation,Production systems sit in isolated network zones',
  'PATCH-03,Patch management,Critical patches are applied within 14 days',
].join('\n');

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'exceptions-e2e-'));
  const databasePath = join(dir, 'register.db');
  const standIn = await startSlackStandIn({
    users: Object.entries(PEOPLE).map(([name, id]) => ({ id, name, realName: name, tz: 'Europe/London' })),
  });
  // E2E_TRANSPORT=socket-mode plays every flow over Socket Mode (the `e2e over Socket Mode` test project).
  const socketMode = (options.socketMode ?? process.env.E2E_TRANSPORT === 'socket-mode') ? await startSocketModeStandIn(standIn) : undefined;
  const config = loadConfig({
    SLACK_BOT_TOKEN: standIn.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: standIn.url,
    PORT: '0',
    DATABASE_PATH: databasePath,
    SECURITY_TEAM_IDS: `${PEOPLE.security},${PEOPLE.security2}`,
    APPROVER_IDS: `${PEOPLE.ciso},${PEOPLE.deputy}`,
    COMMITTEE_IDS: `${PEOPLE.committee1},${PEOPLE.committee2},${PEOPLE.committee3}`,
    APPROVALS_CHANNEL: CHANNELS.approvals,
    COMMITTEE_CHANNEL: CHANNELS.committee,
    TZ: 'UTC',
    HEALTHZ_TOKEN,
    ...(socketMode ? { SLACK_APP_TOKEN: socketMode.appToken } : {}),
    ...options.env,
  });
  const clock = {
    now: options.now ?? new Date('2026-11-25T10:00:00Z'),
    advance(ms: number) {
      this.now = new Date(this.now.getTime() + ms);
    },
  };
  const logs: string[] = [];
  const logger = createLogger('debug', (line) => logs.push(line));
  const boot = (schedule = options.schedule ?? false) =>
    startApplication(config, { clock: () => clock.now, logger, deliveryIntervalMs: 20, schedule, channelSpacingMs: options.channelSpacingMs ?? 0, socketModeBackoff: { initialMs: 50, maxMs: 400 } });
  options.beforeStart?.(standIn);

  let app = await boot();
  importPolicies(app.register.db, () => clock.now, options.policiesCsv ?? DEFAULT_POLICIES, 'test');
  const driverFor = (application: Application) =>
    createSlackDriver({ appUrl: `http://127.0.0.1:${application.port}/slack/events`, signingSecret: SIGNING_SECRET, standIn, socketMode });

  const harness: Harness = {
    standIn,
    socketMode,
    driver: driverFor(app),
    app,
    config,
    databasePath,
    logs,
    clock,
    settle: () => harness.app.idle(),
    async runJobs() {
      const reports = runJobs(harness.app.services, clock.now);
      await harness.app.idle();
      return reports;
    },
    async restart(restartOptions = {}) {
      await harness.app.stop();
      restartOptions.whileStopped?.();
      app = await boot(restartOptions.schedule);
      harness.app = app;
      harness.driver = driverFor(app);
    },
    async close() {
      await harness.app.stop();
      await socketMode?.close();
      await standIn.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
