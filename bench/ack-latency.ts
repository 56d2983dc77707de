/**
 * Acknowledgement latency of the app against a bare Bolt app (bench/bare-bolt-app.ts), both started as their own
 * processes on this machine and driven by the same open-loop load of correctly signed requests: a request is
 * sent on schedule whether or not the previous one was answered, as Slack does. The app runs as production runs it
 * (built, plain node); the bare app is bundled the same way. Each measurement alternates between the two in short
 * blocks, so both see the same machine: a shared machine's load drifts over seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ACTION_IDS, CALLBACK_IDS, INPUT_ACTION_ID, REQUEST_BLOCK_IDS as B } from '../src/slack/ids';
import { importPolicies } from '../src/services/policy-catalogue';
import { openRegister } from '../src/db/client';
import { createSlackDriver, type SlackDriver } from '../test/support/slack-driver';
import type { SlackStandIn } from '../test/support/slack-stand-in';
import { APP_COMMAND, buildApp, compileBenchProgram, cpuNanoseconds } from './compiled';

export interface LatencyRow {
  interaction: string;
  rate: number;
  requests: number;
  app: { p50: number; p99: number; max: number; errors: number };
  bare: { p50: number; p99: number; max: number; errors: number };
  /** Our p99 over the bare app's. */
  p99Ratio: number;
  /** CPU time each process spent per request while it was being driven (µs; the app's includes work after the ack). */
  cpuMicrosPerRequest: { app: number; bare: number };
  /** The machine's one-minute load average when the measurement ended: a shared machine's other work shows here. */
  loadAverage: number;
}

export const SIGNING_SECRET = 'bench-signing-secret-0123456789';
export const PEOPLE = { requester: 'U0REQUEST', owner: 'U0OWNER', security: 'U0SEC1', approver: 'U0CISO' };

export interface Started {
  child: ChildProcess;
  port: number;
  /** From spawning the process to its first answer on the HTTP port (/healthz 200 for the app). */
  startMs: number;
}

/** A port nobody listens on now, so the process can be told its port and polled there at any LOG_LEVEL. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Each app logs to a file of its own, as under a process manager: a pipe to this busy load generator would fill
 * and make the app's log writes wait, which the bare app, logging nothing, never does. It is ready once it answers
 * GET /healthz with 200 (the bare app, which has no such route, once it answers at all).
 */
export async function startProcess(args: string[], env: Record<string, string>, logFile: string, ready: (status: number) => boolean = (status) => status === 200): Promise<Started> {
  const port = await freePort();
  const log = openSync(logFile, 'w');
  const started = performance.now();
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', log] });
  closeSync(log);
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status !== 0 && ready(status)) return { child, port, startMs: performance.now() - started };
    if (performance.now() - started > 30_000 || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`${args.join(' ')} did not start:\n${readFileSync(logFile, 'utf8')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface RemoteStandIn {
  child: ChildProcess;
  url: string;
  botToken: string;
  /** Enough of the stand-in's interface for the request driver, with IDs fetched ahead from the other process. */
  forDriver: SlackStandIn;
  refill(rate: number, requests: number): Promise<void>;
  refused(): Promise<{ refused: number; calls: number }>;
  stop(): void;
}

/**
 * The stand-in runs in a process of its own, as Slack is elsewhere: otherwise the work the app asks of Slack would
 * slow the load generator and be counted against the app. Trigger IDs live three seconds, so they are fetched a
 * little at a time, just ahead of use.
 */
async function startRemoteStandIn(users: { id: string; name: string }[]): Promise<RemoteStandIn> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'stand-in-process.ts')], {
    env: { PATH: process.env.PATH ?? '', STAND_IN_USERS: JSON.stringify(users) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await new Promise<{ url: string; control: string; appId: string; teamId: string; botId: string; botUserId: string; botToken: string }>((resolve) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolve(JSON.parse(output.split('\n')[0]!));
    });
  });
  const get = async <T>(path: string): Promise<T> => (await fetch(`${info.control}${path}`)).json() as Promise<T>;
  const triggers: { id: string; at: number }[] = [];
  let responseUrls: string[] = [];
  let refilling: NodeJS.Timeout | undefined;
  const forDriver = {
    appId: info.appId,
    teamId: info.teamId,
    botId: info.botId,
    botUserId: info.botUserId,
    views: [],
    messages: () => [],
    user: (id: string) => users.find((u) => u.id === id),
    issueTriggerId: () => {
      while (triggers.length > 0 && performance.now() - triggers[0]!.at > 2000) triggers.shift();
      const next = triggers.shift();
      if (!next) throw new Error('the trigger ID pool ran dry');
      return next.id;
    },
    responseUrl: () => responseUrls.pop() ?? '',
  } as unknown as SlackStandIn;
  return {
    child,
    url: info.url,
    botToken: info.botToken,
    forDriver,
    async refill(rate, requests) {
      if (refilling) clearInterval(refilling);
      responseUrls = await get<string[]>(`/response-urls?n=${requests + 100}`);
      const top = async () => {
        const at = performance.now();
        for (const id of await get<string[]>(`/triggers?n=${Math.ceil(rate / 2) + 20}`)) triggers.push({ id, at });
      };
      await top();
      refilling = setInterval(() => void top(), 250);
    },
    refused: () => get('/refused'),
    stop() {
      if (refilling) clearInterval(refilling);
      child.kill('SIGTERM');
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (ms: number) => Number(ms.toFixed(2));

interface Driven {
  latencies: number[];
  errors: number;
}

/** Sends `rate` requests a second for `seconds`, on schedule, and returns each one's time to the HTTP answer. */
async function drive(rate: number, seconds: number, send: (i: number) => Promise<{ status: number }>): Promise<Driven> {
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    inFlight.push(
      send(i).then(
        (response) => {
          latencies.push(performance.now() - sent);
          if (response.status !== 200) errors++;
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return { latencies, errors };
}

function summary(driven: Driven): LatencyRow['app'] {
  const sorted = [...driven.latencies].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? NaN), errors: driven.errors };
}

/** The request form as Slack submits it, filled in validly; the benches differ only in its title and expiry. */
export function requestValues(expiresOn: string, title = 'Legacy HR system without MFA'): Record<string, Record<string, unknown>> {
  const text = (value: string) => ({ type: 'plain_text_input', value });
  return {
    [B.policy]: { [ACTION_IDS.policyPicker]: { type: 'external_select', selected_option: { text: { type: 'plain_text', text: 'MFA-01' }, value: 'MFA-01' } } },
    [B.title]: { [INPUT_ACTION_ID]: text(title) },
    [B.scope]: { [INPUT_ACTION_ID]: text('The HR payroll application hr-app-01 and its 40 users') },
    [B.justification]: { [INPUT_ACTION_ID]: text('The quarterly close runs through a system that cannot do MFA; it is replaced in Q4.') },
    [B.compensatingControls]: { [INPUT_ACTION_ID]: text('Access only from the corporate VPN with device certificates; logins reviewed weekly.') },
    [B.owner]: { [INPUT_ACTION_ID]: { type: 'users_select', selected_user: PEOPLE.owner } },
    [B.expiresOn]: { [INPUT_ACTION_ID]: { type: 'datepicker', selected_date: expiresOn } },
    [B.affectedSystems]: { [INPUT_ACTION_ID]: text('') },
    [B.externalRef]: { [INPUT_ACTION_ID]: text('') },
    [B.structural]: { [INPUT_ACTION_ID]: { type: 'checkboxes', selected_options: [] } },
    [B.structuralReason]: { [INPUT_ACTION_ID]: text('') },
  };
}

type Interaction = (driver: SlackDriver, i: number) => Promise<{ status: number }>;

/** Each measurement is this many blocks, alternating between the two apps (ABBA…), each a fifth of the time. */
const BLOCKS = 10;

export async function measureAckLatency(options: { rates: number[]; seconds: number; match?: string }): Promise<LatencyRow[]> {
  buildApp();
  const bareApp = compileBenchProgram('bare-bolt-app.ts');
  const dir = mkdtempSync(join(tmpdir(), 'exceptions-bench-ack-'));
  const standIn = await startRemoteStandIn(Object.entries(PEOPLE).map(([name, id]) => ({ id, name })));
  const databasePath = join(dir, 'register.db');
  const seed = openRegister(databasePath);
  importPolicies(seed.db, () => new Date(), 'key,title,description\nMFA-01,Multi-factor authentication,Every login uses a second factor', 'bench');
  seed.close();
  const env = {
    SLACK_BOT_TOKEN: standIn.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: standIn.url,
    DATABASE_PATH: databasePath,
    SECURITY_TEAM_IDS: PEOPLE.security,
    APPROVER_IDS: PEOPLE.approver,
    COMMITTEE_IDS: 'U0COM1,U0COM2',
    APPROVALS_CHANNEL: 'C0APPROVALS',
    COMMITTEE_CHANNEL: 'C0COMMITTEE',
    TZ: 'UTC',
  };
  const app = await startProcess(APP_COMMAND, env, join(dir, 'app.log'));
  const bare = await startProcess([bareApp], env, join(dir, 'bare.log'), () => true);
  const processes = { app, bare };
  const drivers = {
    app: createSlackDriver({ appUrl: `http://127.0.0.1:${app.port}/slack/events`, signingSecret: SIGNING_SECRET, standIn: standIn.forDriver }),
    bare: createSlackDriver({ appUrl: `http://127.0.0.1:${bare.port}/slack/events`, signingSecret: SIGNING_SECRET, standIn: standIn.forDriver }),
  };
  const expiresOn = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  const submit: Interaction = (driver) =>
    driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId: `V${randomBytes(6).toString('hex').toUpperCase()}`, values: requestValues(expiresOn) });
  // One real exception waits for a decision; every click after the first is told it was already decided.
  await standIn.refill(50, 400);
  await submit(drivers.app, 0);
  const interactions: Record<string, Interaction> = {
    '/exception help (answered in the ack)': (driver) => driver.slashCommand({ userId: PEOPLE.requester, text: 'help' }),
    '/exception request (opens the modal)': (driver) => driver.slashCommand({ userId: PEOPLE.requester, text: 'request' }),
    'Approve button': (driver) =>
      driver.blockAction({ userId: PEOPLE.approver, actionId: ACTION_IDS.approve, value: '1', message: { channel: 'C0APPROVALS', ts: '1700000000.000100' } }),
    'request modal submission': submit,
  };

  const rows: LatencyRow[] = [];
  try {
    for (const [interaction, send] of Object.entries(interactions).filter(([name]) => !options.match || name.includes(options.match))) {
      // Both processes warm up (JIT, first auth.test) before each interaction is measured, and only then: fifty
      // submissions up front would leave the app delivering their cards, at Slack's pace, through the measurements
      // of the others.
      for (const driver of Object.values(drivers)) await drive(50, 1, (i) => send(driver, i));
      for (const rate of options.rates) {
        const driven = { app: { latencies: [] as number[], errors: 0 }, bare: { latencies: [] as number[], errors: 0 } };
        const cpu = { app: 0, bare: 0 };
        const blockSeconds = options.seconds / (BLOCKS / 2);
        for (let block = 0; block < BLOCKS; block++) {
          // ABBA: each goes first as often as second, so neither always runs on a machine busy with the other's tail.
          const which = (block % 4 === 0 || block % 4 === 3) === (rows.length % 2 === 0) ? 'bare' : 'app';
          await standIn.refill(rate, Math.ceil(rate * blockSeconds));
          const before = cpuNanoseconds(processes[which].child.pid);
          const result = await drive(rate, blockSeconds, (i) => send(drivers[which], i));
          await new Promise((resolve) => setTimeout(resolve, 500));
          cpu[which] += cpuNanoseconds(processes[which].child.pid) - before;
          driven[which].latencies.push(...result.latencies);
          driven[which].errors += result.errors;
        }
        const requests = Math.round(rate * options.seconds);
        const result = { app: summary(driven.app), bare: summary(driven.bare) };
        rows.push({
          interaction,
          rate,
          requests,
          ...result,
          p99Ratio: round(result.app.p99 / result.bare.p99),
          cpuMicrosPerRequest: { app: Math.round(cpu.app / 1000 / requests), bare: Math.round(cpu.bare / 1000 / requests) },
          loadAverage: round(loadavg()[0]!),
        });
        process.stderr.write(`${interaction} at ${rate}/s: app p99 ${result.app.p99} ms, bare p99 ${result.bare.p99} ms (load ${loadavg()[0]!.toFixed(2)})\n`);
      }
    }
    const { refused, calls } = await standIn.refused();
    process.stderr.write(`the Slack stand-in answered ${calls} calls from the app and refused ${refused}\n`);
  } finally {
    for (const { child } of [app, bare]) child.kill('SIGTERM');
    standIn.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
