/**
 * Shared helpers for the adversarial suites: catching the requests Slack would send (so a test can replay them
 * byte for byte, or forge variants of them), snapshots of the whole register, and bounded concurrency.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { SIGNING_SECRET, type Harness } from '../e2e/harness';
import { createSlackDriver, type DriverResponse, type SlackDriver } from '../support/slack-driver';

/** One HTTP request exactly as Slack would have sent it, before any signature headers. */
export interface CapturedRequest {
  body: string;
  contentType: string;
}

/**
 * Builds a request with the project's Slack driver (real payload shapes, trigger ids and response URLs issued by
 * the stand-in), but catches it on a local sink instead of sending it to the app.
 */
export async function captureRequest(h: Harness, build: (driver: SlackDriver) => Promise<unknown>): Promise<CapturedRequest> {
  const caught: CapturedRequest[] = [];
  const sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      caught.push({ body: Buffer.concat(chunks).toString('utf8'), contentType: String(req.headers['content-type'] ?? '') });
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', () => resolve()));
  try {
    const { port } = sink.address() as AddressInfo;
    await build(createSlackDriver({ appUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, standIn: h.standIn }));
  } finally {
    sink.closeAllConnections();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
  if (caught.length !== 1) throw new Error(`captureRequest: expected one request, caught ${caught.length}`);
  return caught[0]!;
}

/**
 * Sends a caught request to the app, signed now with the real secret, as Slack does for the first delivery
 * (no `retryNum`) and for a retry (`X-Slack-Retry-Num`, with the same body).
 */
export function deliver(h: Harness, request: CapturedRequest, retryNum?: number): Promise<DriverResponse> {
  const headers: Record<string, string> = {
    'content-type': request.contentType,
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    ...h.driver.sign(request.body),
  };
  if (retryNum !== undefined && retryNum > 0) {
    headers['x-slack-retry-num'] = String(retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  return h.driver.raw(request.body, headers);
}

export interface TableState {
  rows: number;
  /** sha256 over every row, in rowid order: any insert, update or delete changes it. */
  digest: string;
}

/** Every table of the register file, read through a separate read-only connection (what is on disk, committed). */
export function registerSnapshot(databasePath: string): Record<string, TableState> {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name")
      .all() as { name: string }[];
    const snapshot: Record<string, TableState> = {};
    for (const { name } of tables) {
      const quoted = `"${name.replace(/"/g, '""')}"`;
      let rows: unknown[];
      try {
        rows = db.prepare(`select * from ${quoted} order by rowid`).all();
      } catch {
        rows = db.prepare(`select * from ${quoted}`).all(); // a WITHOUT ROWID table
      }
      const digest = createHash('sha256')
        .update(JSON.stringify(rows, (_key, value: unknown) => (Buffer.isBuffer(value) ? value.toString('base64') : typeof value === 'bigint' ? value.toString() : value)))
        .digest('hex');
      snapshot[name] = { rows: rows.length, digest };
    }
    return snapshot;
  } finally {
    db.close();
  }
}

/** Runs `work` over `items` with at most `limit` in flight; results keep the order of `items`. */
export async function withConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Seeded, so a failing forged request can be reproduced from its index. */
export { seededRandom } from '../support/seeded-random';

/** How many audit events of each kind the register holds. */
export function auditKinds(h: Harness): Record<string, number> {
  const rows = h.app.register.sqlite.prepare('select kind, count(*) as n from audit_events group by kind').all() as { kind: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
}

/** What changed between two count maps, leaving out what did not. */
export function countDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const change = (after[key] ?? 0) - (before[key] ?? 0);
    if (change !== 0) delta[key] = change;
  }
  return delta;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
