/**
 * Helpers for the adversarial tests that run the real app as a child process (`node --import tsx src/main.ts`),
 * the way `npm start` does, against the Slack stand-in in the test process:
 *
 * - `spawnApp` starts a child, waits for "listening on port N" and keeps its logs; `stopAllApps` (afterEach) kills
 *   whatever is still running.
 * - `startSlackGate` is a small HTTP proxy between the app and the stand-in that can hold or delay Web API calls, before
 *   Slack sees them (Slack is slow) or after Slack accepted them (the answer is slow), so a test knows exactly which
 *   call was in flight when it killed the app.
 * - `postFresh` sends a signed request on a new TCP connection, so "connection refused" means the server refuses new
 *   connections, not that a pooled keep-alive socket was reused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCapturing } from '../cli/run-cli';
import type { SlackStandIn } from '../support/slack-stand-in';

export const SIGNING_SECRET = 'adversarial-signing-secret-0123456789';

export const ROLES = {
  security: 'U0SEC1',
  ciso: 'U0CISO',
  committee1: 'U0COM1',
  committee2: 'U0COM2',
} as const;
export const APPROVALS = 'C0APPROVALS';
export const COMMITTEE = 'C0COMMITTEE';

export const POLICIES_CSV = ['key,title,description', 'MFA-01,Multi-factor authentication,Every interactive login uses a second factor', 'NET-02,Network segmentation,Production zones are isolated'].join('\n');

/** The environment `npm start` would be given, pointed at `slackApiUrl` (the stand-in, or a gate in front of it). */
export function appEnv(o: { botToken: string; slackApiUrl: string; databasePath: string; extra?: Record<string, string> }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    SLACK_BOT_TOKEN: o.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: o.slackApiUrl,
    PORT: '0',
    DATABASE_PATH: o.databasePath,
    SECURITY_TEAM_IDS: ROLES.security,
    APPROVER_IDS: ROLES.ciso,
    COMMITTEE_IDS: `${ROLES.committee1},${ROLES.committee2}`,
    APPROVALS_CHANNEL: APPROVALS,
    COMMITTEE_CHANNEL: COMMITTEE,
    TZ: 'UTC',
    LOG_LEVEL: 'info',
    ...o.extra,
  };
}

/** Imports the policy catalogue with the command line, as an operator does before the first start. */
export async function importPoliciesWithCli(dir: string, databasePath: string): Promise<void> {
  const file = join(dir, 'policies.csv');
  writeFileSync(file, POLICIES_CSV);
  const result = await runCapturing(['policies', 'import', file], { DATABASE_PATH: databasePath });
  if (result.code !== 0) throw new Error(`policies import failed: ${result.err}`);
}

/** `exceptions audit verify` on the register. */
export function auditVerify(databasePath: string) {
  return runCapturing(['audit', 'verify'], { DATABASE_PATH: databasePath });
}

// ---- the app as a child process ---------------------------------------------------------------------------------

export interface AppProcess {
  child: ChildProcess;
  port: number;
  eventsUrl: string;
  logs(): string;
  /** Resolves with the exit code (null when killed by a signal) and signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
}

const running = new Set<ChildProcess>();

/**
 * Shifts the child's wall clock forward: "the app comes back this much later". Used after a SIGKILL so that a
 * delivery claim the dead process held (one minute, `CLAIM_MS` in src/slack/notifier.ts) has lapsed, as it would
 * have for a restart a minute or more after the crash.
 */
function clockOffsetPreload(offsetMs: number): string {
  const source = [
    'const RealDate = Date;',
    `const offset = ${Math.trunc(offsetMs)};`,
    'class ShiftedDate extends RealDate {',
    '  constructor(...args) { if (args.length === 0) super(RealDate.now() + offset); else super(...args); }',
    '  static now() { return RealDate.now() + offset; }',
    '}',
    'globalThis.Date = ShiftedDate;',
  ].join('\n');
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

const MAIN = join(import.meta.dirname, '../../src/main.ts');

export async function spawnApp(env: Record<string, string>, options: { clockOffsetMs?: number; startTimeoutMs?: number } = {}): Promise<AppProcess> {
  const args = ['--import', 'tsx', ...(options.clockOffsetMs ? ['--import', clockOffsetPreload(options.clockOffsetMs)] : []), MAIN];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let logs = '';
  child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start within ${options.startTimeoutMs ?? 20_000} ms:\n${logs}`)), options.startTimeoutMs ?? 20_000);
    const check = () => {
      const match = /listening on port (\d+)/.exec(logs);
      if (match) {
        clearTimeout(timer);
        child.stderr!.off('data', check);
        resolve(Number(match[1]));
      }
    };
    child.stderr!.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the app exited (code ${code}, signal ${signal}) before listening:\n${logs}`));
    });
  });
  return {
    child,
    port,
    eventsUrl: `http://127.0.0.1:${port}/slack/events`,
    logs: () => logs,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** For afterEach: SIGKILL every child still running and wait for it to be gone. */
export async function stopAllApps(): Promise<void> {
  const children = [...running];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  running.clear();
}

// ---- a request on a fresh connection ------------------------------------------------------------------------------

export interface FreshResponse {
  status: number;
  text: string;
}

/** POSTs `body` to the app on a new TCP connection (no keep-alive pool); rejects with the socket error, e.g. ECONNREFUSED. */
export function postFresh(url: string, body: string, headers: Record<string, string>): Promise<FreshResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function errorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return undefined;
}

// ---- the gate between the app and Slack ---------------------------------------------------------------------------

export type GateMode =
  /** Slack is slow to receive: the call waits at the gate; Slack has not seen it. */
  | 'hold-before'
  /** Slack accepted the call, but its answer waits at the gate: the app does not know it succeeded. */
  | 'hold-after';

export interface GateRule {
  mode: GateMode;
  /** Which calls: by method, and optionally by their arguments. */
  match: (method: string, args: Record<string, string>) => boolean;
  /** Release automatically after this long (a slow Slack); without it the call waits until `releaseAll`. */
  delayMs?: number;
  /** Only this many calls are caught; later ones pass. */
  times?: number;
}

export interface GateCall {
  method: string;
  args: Record<string, string>;
  /** Where the call is: waiting before Slack, sent to Slack, Slack answered but the answer waits, answered. */
  phase: 'held-before' | 'forwarded' | 'held-after' | 'answered' | 'dropped';
  /** What Slack answered, once it did. */
  slackStatus?: number;
  slackBody?: string;
}

export interface SlackGate {
  url: string;
  calls: GateCall[];
  addRule(rule: GateRule): void;
  clearRules(): void;
  /** Lets every held call go on (to Slack, or its answer back to the app). */
  releaseAll(): void;
  /**
   * Waits (up to 2 s) until the gate has seen every held call's connection close. After a kill, the process's exit
   * can be reported before its sockets' close: released then, a held call would still reach Slack from a dead app.
   */
  awaitHeldClientsGone(): Promise<void>;
  /** Calls Slack has accepted whose answer never reached the app (held, or the app died first). */
  acceptedButUnanswered(): GateCall[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function formArgs(contentType: string, body: Buffer): Record<string, string> {
  if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) return {};
  return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
}

/** A proxy for the Web API (`/api/…`) in front of the stand-in. */
export async function startSlackGate(standIn: SlackStandIn): Promise<SlackGate> {
  const target = standIn.url.replace(/\/api\/$/, '');
  const rules: (GateRule & { caught: number })[] = [];
  const calls: GateCall[] = [];
  const waiting = new Set<() => void>();

  const hold = (rule: GateRule) =>
    new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const release = () => {
        if (timer) clearTimeout(timer);
        waiting.delete(release);
        resolve();
      };
      waiting.add(release);
      if (rule.delayMs !== undefined) timer = setTimeout(release, rule.delayMs);
    });

  const heldClients = new WeakMap<GateCall, () => boolean>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const body = await readBody(req);
      const path = new URL(req.url ?? '/', 'http://gate.local').pathname;
      const method = decodeURIComponent(path.replace(/^\/api\//, ''));
      const contentType = String(req.headers['content-type'] ?? '');
      const call: GateCall = { method, args: formArgs(contentType, body), phase: 'forwarded' };
      calls.push(call);
      const rule = rules.find((r) => (r.times === undefined || r.caught < r.times) && r.match(method, call.args));
      if (rule) rule.caught++;
      let clientGone = false;
      res.on('close', () => {
        if (!res.writableFinished) clientGone = true;
      });
      heldClients.set(call, () => clientGone);

      if (rule?.mode === 'hold-before') {
        call.phase = 'held-before';
        await hold(rule);
        if (clientGone) {
          call.phase = 'dropped';
          return;
        }
        call.phase = 'forwarded';
      }
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'authorization']) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      let upstream: Response;
      try {
        upstream = await fetch(`${target}${req.url ?? '/'}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : new Uint8Array(body) });
      } catch (error) {
        call.phase = 'answered';
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(error));
        return;
      }
      const answer = Buffer.from(await upstream.arrayBuffer());
      call.slackStatus = upstream.status;
      call.slackBody = answer.toString('utf8');
      if (rule?.mode === 'hold-after') {
        call.phase = 'held-after';
        await hold(rule);
      }
      if (clientGone || res.destroyed) return; // the app died waiting: the phase stays "forwarded"/"held-after"
      const out: Record<string, string> = {};
      for (const [name, value] of upstream.headers) if (['content-type', 'retry-after'].includes(name)) out[name] = value;
      res.writeHead(upstream.status, out);
      res.end(answer, () => {
        call.phase = 'answered';
      });
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${address.port}/api/`,
    calls,
    addRule: (rule) => rules.push({ ...rule, caught: 0 }),
    clearRules: () => {
      rules.length = 0;
    },
    releaseAll: () => {
      for (const release of [...waiting]) release();
    },
    async awaitHeldClientsGone() {
      const held = () => calls.filter((c) => (c.phase === 'held-before' || c.phase === 'held-after') && !heldClients.get(c)?.());
      const until = Date.now() + 2000;
      while (held().length > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    acceptedButUnanswered: () => calls.filter((c) => (c.phase === 'held-after' || c.phase === 'forwarded') && c.slackStatus !== undefined),
    async close() {
      for (const release of [...waiting]) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- reading the register from the test process --------------------------------------------------------------------

/** Runs `read` on a read-only connection that is closed straight after, so the app's connection stays the last one. */
export function readRegister<T>(databasePath: string, read: (db: Database.Database) => T): T {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 2000');
    return read(db);
  } finally {
    db.close();
  }
}

export interface OutboxCounts {
  pending: number;
  delivered: number;
  dead: number;
}

export function outboxCounts(databasePath: string): OutboxCounts {
  return readRegister(databasePath, (db) => {
    const rows = db.prepare('select state, count(*) as n from outbox group by state').all() as { state: string; n: number }[];
    const of = (state: string) => rows.find((r) => r.state === state)?.n ?? 0;
    return { pending: of('pending'), delivered: of('delivered'), dead: of('dead') };
  });
}

/** Polls until `predicate` holds, with real time (the app runs in another process). */
export async function eventually(predicate: () => boolean, timeoutMs: number, describe: () => string, intervalMs = 50): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let error: unknown;
    try {
      if (predicate()) return;
    } catch (e) {
      error = e;
    }
    if (performance.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${describe()}${error instanceof Error ? `\n(last error: ${error.message})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A date `days` from today (UTC), for expiry dates that stay valid whenever the suite runs. */
export function daysFromToday(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}
