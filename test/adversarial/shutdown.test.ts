/**
 * SIGTERM with work in flight, on the real app as a child process (`node --import tsx src/main.ts`).
 *
 * main.ts promises: stop taking requests, finish what is in flight, keep what is undelivered in the outbox for the
 * next start, and exit 0 (within 9 seconds, or 1 after that). These tests press on it with submissions still being
 * handled and notifications still queued because Slack is failing or slow; then a new process on the same register,
 * with Slack recovered, delivers every notification exactly once.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CALLBACK_IDS } from '../../src/slack/ids';
import { requestValues, VALID_FORM, type RequestForm } from '../e2e/flows';
import { createSlackDriver, type DriverResponse, type SlackDriver } from '../support/slack-driver';
import { startSlackStandIn, type SlackCall, type SlackStandIn } from '../support/slack-stand-in';
import {
  appEnv,
  auditVerify,
  daysFromToday,
  errorCode,
  eventually,
  importPoliciesWithCli,
  outboxCounts,
  postFresh,
  readRegister,
  ROLES,
  SIGNING_SECRET,
  spawnApp,
  startSlackGate,
  stopAllApps,
  type AppProcess,
  type SlackGate,
} from './process-support';

// Five different people, so each submission's owner is new to the app and looked up with users.info (answers are kept).
const REQUESTERS = ['U0REQA', 'U0REQB', 'U0REQC', 'U0REQD', 'U0REQE', 'U0REQF'] as const;
const SHUTDOWN_BAR_MS = 10_000;

let dir: string;
let databasePath: string;
let standIn: SlackStandIn;
let gate: SlackGate;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-sigterm-'));
  databasePath = join(dir, 'register.db');
  standIn = await startSlackStandIn({
    users: [...REQUESTERS, ...Object.values(ROLES)].map((id) => ({ id, name: id.toLowerCase(), realName: id, tz: 'UTC' })),
  });
  gate = await startSlackGate(standIn);
  await importPoliciesWithCli(dir, databasePath);
});

afterEach(async () => {
  await stopAllApps();
  await gate.close();
  await standIn.close();
  rmSync(dir, { recursive: true, force: true });
});

const ref = (id: number) => `EXC-${String(id).padStart(4, '0')}`;
const identity = (call: SlackCall) => `${String(call.response.channel ?? call.args.channel)} | ${String(call.args.text)}`;
const env = () => appEnv({ botToken: standIn.botToken, slackApiUrl: gate.url, databasePath });

function form(n: number, userId: string): RequestForm {
  return {
    ...VALID_FORM,
    title: `Shutdown request ${n}`,
    justification: `${VALID_FORM.justification} (request ${n})`,
    owner: userId,
    expiresOn: daysFromToday(30),
  };
}

function submit(driver: SlackDriver, n: number): Promise<DriverResponse> {
  const userId = REQUESTERS[n % REQUESTERS.length]!;
  return driver.viewSubmission({ userId, callbackId: CALLBACK_IDS.request, viewId: `VSIGTERM${n}`, values: requestValues(form(n, userId)) });
}

/** A harmless signed command on a new connection: how a request that arrives after SIGTERM is received. */
async function newRequest(app: AppProcess, driver: SlackDriver): Promise<{ refused: boolean; status?: number; code?: string }> {
  const body = new URLSearchParams({ command: '/exception', text: 'help', user_id: 'U0REQA', team_id: standIn.teamId, channel_id: 'C0GENERAL', trigger_id: standIn.issueTriggerId({ userId: 'U0REQA' }), response_url: standIn.responseUrl() }).toString();
  try {
    const response = await postFresh(app.eventsUrl, body, { 'content-type': 'application/x-www-form-urlencoded', ...driver.sign(body) });
    return { refused: false, status: response.status };
  } catch (error) {
    return { refused: errorCode(error) === 'ECONNREFUSED', code: errorCode(error) };
  }
}

function exceptionsInRegister(): { id: number; submission_key: string; status: string }[] {
  return readRegister(databasePath, (db) => db.prepare('select id, submission_key, status from exceptions order by id').all() as { id: number; submission_key: string; status: string }[]);
}

/** Outbox rows still to deliver, as notification payloads. */
function pendingNotifications(): { kind: string; exceptionId?: number; card?: string; message?: string }[] {
  return readRegister(databasePath, (db) => (db.prepare("select payload from outbox where state = 'pending' order by id").all() as { payload: string }[]).map((r) => JSON.parse(r.payload)));
}

/** The register was closed by its last connection: SQLite checkpointed the WAL into the database file and removed it. */
function expectClosedCleanly() {
  const wal = `${databasePath}-wal`;
  expect(existsSync(wal) ? statSync(wal).size : 0, 'WAL checkpointed on close').toBe(0);
  const integrity = readRegister(databasePath, (db) => db.pragma('integrity_check', { simple: true }));
  expect(integrity).toBe('ok');
}

/** Restarts on the same register with Slack healthy and waits until the outbox is empty; every message once. */
async function restartAndDrain(expectedIds: number[]) {
  const app = await spawnApp(env());
  const posts = () => standIn.callsTo('chat.postMessage');
  await eventually(
    () => outboxCounts(databasePath).pending === 0,
    25_000,
    () => `outbox ${JSON.stringify(outboxCounts(databasePath))}; posted ${posts().length}\n${app.logs()}`,
  );
  expect(outboxCounts(databasePath).dead).toBe(0);
  expect(standIn.rejected().filter((c) => c.httpStatus === 200)).toEqual([]);
  const texts = posts().map((c) => String(c.args.text));
  for (const id of expectedIds) {
    expect(texts.filter((t) => t.startsWith(`${ref(id)} requested:`)), `${ref(id)}'s triage card, once`).toHaveLength(1);
    expect(texts.filter((t) => t === `Your exception request ${ref(id)} was received.`), `${ref(id)}'s receipt, once`).toHaveLength(1);
  }
  const counts = new Map<string, number>();
  for (const call of posts()) counts.set(identity(call), (counts.get(identity(call)) ?? 0) + 1);
  expect([...counts].filter(([, n]) => n > 1), 'no message delivered twice').toEqual([]);
  app.child.kill('SIGTERM');
  expect((await app.exited).code).toBe(0);
}

describe('SIGTERM with work in flight', () => {
  it('finishes the submissions in flight, refuses new connections, exits 0 and leaves what Slack did not take in the outbox', async () => {
    // Slack is down for posts and DMs: every notification stays queued.
    standIn.fail({ status: 500, methods: ['chat.postMessage', 'conversations.open', 'chat.update', 'files.getUploadURLExternal'] });
    const app = await spawnApp(env());
    const driver = createSlackDriver({ appUrl: app.eventsUrl, signingSecret: SIGNING_SECRET, standIn });

    for (const n of [1, 2]) {
      const response = await submit(driver, n);
      expect(response.status).toBe(200);
      expect(response.text).toBe('');
    }
    // Three more are being handled (waiting on the owner lookup) when SIGTERM arrives.
    gate.addRule({ mode: 'hold-before', match: (method) => method === 'users.info' });
    const inFlight = [3, 4, 5].map((n) => submit(driver, n));
    await eventually(() => gate.calls.filter((c) => c.method === 'users.info' && c.phase === 'held-before').length === 3, 5000, () => JSON.stringify(gate.calls.map((c) => c.method)));

    const started = performance.now();
    app.child.kill('SIGTERM');
    // New connections are refused while the process is still finishing the three.
    let settled = 0;
    for (const p of inFlight) void p.then(() => settled++, () => settled++);
    let refusal: Awaited<ReturnType<typeof newRequest>> | undefined;
    let stillFinishing = false;
    const attempts: typeof refusal[] = [];
    while (performance.now() - started < 3000) {
      const aliveBefore = app.alive() && settled < inFlight.length;
      refusal = await newRequest(app, driver);
      attempts.push(refusal);
      if (refusal.refused) {
        stillFinishing = aliveBefore && app.alive();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(refusal?.refused, `a new connection after SIGTERM: ${JSON.stringify(attempts)}`).toBe(true);
    expect(stillFinishing, 'refused while the app was still finishing the requests in flight').toBe(true);
    gate.releaseAll();
    const responses = await Promise.all(inFlight);
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.text).toBe('');
    }
    const { code } = await app.exited;
    expect(code, app.logs()).toBe(0);
    expect(performance.now() - started).toBeLessThan(SHUTDOWN_BAR_MS);

    // The register: closed cleanly, all five exceptions, an intact audit trail, and nothing was delivered.
    expectClosedCleanly();
    const stored = exceptionsInRegister();
    expect(stored.map((e) => e.submission_key).sort()).toEqual([1, 2, 3, 4, 5].map((n) => `VSIGTERM${n}`));
    expect(stored.every((e) => e.status === 'requested')).toBe(true);
    const verified = await auditVerify(databasePath);
    expect(verified.code, verified.err).toBe(0);
    expect(standIn.callsTo('chat.postMessage')).toEqual([]);
    // Every notification Slack did not take is still queued: each exception's triage card and receipt.
    const pending = pendingNotifications();
    for (const e of stored) {
      expect(pending.filter((p) => p.exceptionId === e.id && p.kind === 'post_card' && p.card === 'triage'), `${ref(e.id)}'s triage card is still queued`).toHaveLength(1);
      expect(pending.filter((p) => p.exceptionId === e.id && p.kind === 'direct_message' && p.message === 'receipt'), `${ref(e.id)}'s receipt is still queued`).toHaveLength(1);
    }
    expect(outboxCounts(databasePath).dead).toBe(0);

    // Slack recovers; a new process on the same register delivers all of it, once.
    standIn.clearFailures();
    gate.clearRules();
    await restartAndDrain(stored.map((e) => e.id));
  }, 45_000);

  it('with Slack slow, stops delivering at SIGTERM, exits 0 within 10 s and leaves the rest queued without a claim', async () => {
    // Every post takes 1.5 s to reach Slack: 13 posts are queued (six triage cards, six receipts, the weekly figures),
    // far more than could be sent before the 9-second deadline in main.ts.
    gate.addRule({ mode: 'hold-before', delayMs: 1500, match: (method) => method === 'chat.postMessage' });
    const app = await spawnApp(env());
    const driver = createSlackDriver({ appUrl: app.eventsUrl, signingSecret: SIGNING_SECRET, standIn });
    for (const n of [1, 2, 3, 4, 5, 6]) {
      const response = await submit(driver, n);
      expect(response.status).toBe(200);
      expect(response.text).toBe('');
    }
    // A post is on its way to Slack when SIGTERM arrives.
    await eventually(() => gate.calls.some((c) => c.method === 'chat.postMessage' && c.phase === 'held-before'), 5000, () => JSON.stringify(gate.calls.map((c) => c.method)));
    const started = performance.now();
    app.child.kill('SIGTERM');
    const { code } = await app.exited;
    const tookMs = performance.now() - started;
    expect.soft(code, `exit code after ${Math.round(tookMs)} ms\n${app.logs().split('\n').filter((l) => /shutdown|error/i.test(l)).join('\n')}`).toBe(0);
    expect.soft(tookMs).toBeLessThan(SHUTDOWN_BAR_MS);

    expectClosedCleanly();
    const stored = exceptionsInRegister();
    expect(stored).toHaveLength(6);
    expect((await auditVerify(databasePath)).code).toBe(0);
    // What Slack did not get is still queued, and no row is left claimed by the process that has gone.
    const pending = pendingNotifications();
    expect(pending.length, 'undelivered notifications stay in the outbox').toBeGreaterThan(0);
    const claimed = readRegister(databasePath, (db) => (db.prepare("select count(*) as n from outbox where state = 'pending' and claimed_until is not null").get() as { n: number }).n);
    expect(claimed, 'no pending row is left claimed').toBe(0);
    const posted = standIn.callsTo('chat.postMessage').map((c) => String(c.args.text));
    for (const e of stored) {
      const triageSent = posted.filter((t) => t.startsWith(`${ref(e.id)} requested:`)).length;
      const triageQueued = pending.filter((p) => p.exceptionId === e.id && p.kind === 'post_card').length;
      expect(triageSent + triageQueued, `${ref(e.id)}'s triage card: sent or queued, not both`).toBe(1);
    }

    gate.clearRules();
    gate.releaseAll();
    await restartAndDrain(stored.map((e) => e.id));
  }, 60_000);

  it('does not take new requests on a connection Slack kept alive from before SIGTERM', async () => {
    const app = await spawnApp(env());
    const driver = createSlackDriver({ appUrl: app.eventsUrl, signingSecret: SIGNING_SECRET, standIn });
    // One submission is being handled (the owner lookup is slow) when SIGTERM arrives; its connection stays open.
    gate.addRule({ mode: 'hold-before', delayMs: 400, match: (method) => method === 'users.info' });
    const first = submit(driver, 1);
    await eventually(() => gate.calls.some((c) => c.method === 'users.info'), 5000, () => 'the submission reached the app');
    const started = performance.now();
    app.child.kill('SIGTERM');
    const response = await first;
    expect(response.status).toBe(200);
    expect(response.text).toBe('');

    // Slack goes on sending on the connection it already has open (fetch keeps connections alive, as HTTP clients do).
    const after: { n: number; outcome: string }[] = [];
    for (let n = 2; n <= 7 && app.alive(); n++) {
      try {
        const late = await submit(driver, n);
        after.push({ n, outcome: `${late.status} ${late.text}` });
      } catch (error) {
        after.push({ n, outcome: `refused: ${errorCode(error) ?? String(error)}` });
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const { code } = await app.exited;
    const tookMs = performance.now() - started;

    const stored = exceptionsInRegister().map((e) => e.submission_key);
    expect(stored, 'the submission in flight at SIGTERM was finished').toContain('VSIGTERM1');
    expect(
      stored.filter((key) => key !== 'VSIGTERM1'),
      `requests sent after SIGTERM must not be taken on; what they got: ${JSON.stringify(after)}`,
    ).toEqual([]);
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(SHUTDOWN_BAR_MS);
    expectClosedCleanly();
  }, 30_000);

  it('shuts down cleanly on a SIGTERM that arrives the moment the app says it is listening', async () => {
    // A process manager may stop the app as soon as it reports ready (a deploy rolled back, a scale-in).
    for (let round = 1; round <= 2; round++) {
      const app = await spawnApp(env());
      app.child.kill('SIGTERM');
      const exit = await app.exited;
      expect(exit, `round ${round}: exit after SIGTERM right at "listening"`).toEqual({ code: 0, signal: null });
      expectClosedCleanly();
    }
  }, 30_000);
});
