/**
 * SIGKILL in the middle of a stream of signed request submissions, then a restart on the same register.
 *
 * The app runs as `node --import tsx src/main.ts` (what `npm start` runs) against the Slack stand-in, through a gate
 * that can hold Web API calls, so each round knows what was in flight when the process died. After the kill:
 * every acknowledged submission is in the register, every exception row is complete and has its `requested` audit
 * event and its queued notifications, and `exceptions audit verify` passes. After the restart the outbox drains:
 * each exception's triage card and receipt DM reach Slack exactly once across both lives, except for the one
 * allowance the README states (delivery is at least once): a message Slack accepted just before the kill, before
 * the register recorded it, may be sent once more. The notifier delivers one row at a time, so that is at most one
 * message, and it must be the last one Slack accepted from the first life.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CALLBACK_IDS } from '../../src/slack/ids';
import { requestValues, VALID_FORM, type RequestForm } from '../e2e/flows';
import { createSlackDriver } from '../support/slack-driver';
import { startSlackStandIn, type SlackCall, type SlackStandIn } from '../support/slack-stand-in';
import {
  APPROVALS,
  appEnv,
  auditVerify,
  daysFromToday,
  eventually,
  importPoliciesWithCli,
  outboxCounts,
  readRegister,
  ROLES,
  SIGNING_SECRET,
  spawnApp,
  startSlackGate,
  stopAllApps,
  type GateRule,
  type SlackGate,
} from './process-support';

const REQUESTERS = ['U0REQA', 'U0REQB', 'U0REQC'] as const;
const SUBMISSIONS = 8;
const CONCURRENCY = 3;
/** Longer than the one-minute delivery claim a killed process may leave behind (CLAIM_MS in src/slack/notifier.ts). */
const RESTART_LATER_MS = 65_000;

let dir: string;
let standIn: SlackStandIn;
let gate: SlackGate;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-kill-'));
  standIn = await startSlackStandIn({
    users: [...REQUESTERS, ...Object.values(ROLES)].map((id) => ({ id, name: id.toLowerCase(), realName: id, tz: 'UTC' })),
  });
  gate = await startSlackGate(standIn);
});

afterEach(async () => {
  await stopAllApps();
  await gate.close();
  await standIn.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Submission {
  n: number;
  key: string;
  userId: string;
  form: RequestForm;
  outcome: 'not sent' | 'in flight' | 'acknowledged' | 'failed';
  detail?: string;
}

interface ExceptionRow {
  id: number;
  submission_key: string | null;
  title: string;
  scope: string;
  justification: string;
  compensating_controls: string;
  requester_id: string;
  owner_id: string;
  requested_expires_on: string;
  status: string;
  policy_id: number;
  created_at: string;
}

const ref = (id: number) => `EXC-${String(id).padStart(4, '0')}`;
/** A message as Slack shows it: where, and its text. Two posts with the same identity are the same message twice. */
const identity = (call: SlackCall) => `${String(call.response.channel ?? call.args.channel)} | ${String(call.args.text)}`;
const posts = () => standIn.callsTo('chat.postMessage');

function formFor(round: string, n: number, userId: string): RequestForm {
  return {
    ...VALID_FORM,
    title: `Kill ${round} request ${n}`,
    scope: `Scope of kill-round ${round} request number ${n}: the batch host batch-${n}`,
    justification: `${VALID_FORM.justification} (round ${round}, request ${n})`,
    compensatingControls: `${VALID_FORM.compensatingControls} Request ${n}.`,
    owner: userId,
    expiresOn: daysFromToday(30),
  };
}

interface Round {
  name: string;
  /** Kill once this many submissions were acknowledged... */
  killAfterAcks: number;
  /** ...and, if given, once the gate holds a call this rule caught. */
  rule?: GateRule;
  /** How many messages the rule makes Slack accept without the app hearing back. */
  expectDuplicates: 'none' | 'exactly one' | 'at most one';
}

const ROUNDS: Round[] = [
  { name: 'mid-stream, whatever is in flight', killAfterAcks: 2, expectDuplicates: 'at most one' },
  {
    name: 'while Slack has accepted a triage card but its answer has not reached the app',
    killAfterAcks: 4,
    rule: { mode: 'hold-after', times: 1, match: (method, args) => method === 'chat.postMessage' && args.channel === APPROVALS },
    expectDuplicates: 'exactly one',
  },
  {
    name: 'while a post waits to reach a slow Slack',
    killAfterAcks: 5,
    rule: { mode: 'hold-before', match: (method) => method === 'chat.postMessage' },
    expectDuplicates: 'none',
  },
];

async function runRound(round: Round) {
  const databasePath = join(dir, 'register.db');
  await importPoliciesWithCli(dir, databasePath);
  const env = appEnv({ botToken: standIn.botToken, slackApiUrl: gate.url, databasePath });
  // The owner lookup takes a moment, so submissions are still being handled when the kill lands.
  gate.addRule({ mode: 'hold-before', delayMs: 150, match: (method) => method === 'users.info' });
  if (round.rule) gate.addRule(round.rule);

  const first = await spawnApp(env);
  const driver = createSlackDriver({ appUrl: first.eventsUrl, signingSecret: SIGNING_SECRET, standIn });
  const submissions: Submission[] = Array.from({ length: SUBMISSIONS }, (_, n) => {
    const userId = REQUESTERS[n % REQUESTERS.length]!;
    return { n, key: `VKILL${round.killAfterAcks}N${n}`, userId, form: formFor(String(round.killAfterAcks), n, userId), outcome: 'not sent' };
  });

  // The stream: a few submissions at a time, until the kill.
  let killed = false;
  let next = 0;
  const heldByRule = () => gate.calls.some((c) => round.rule && round.rule.match(c.method, c.args) && (c.phase === 'held-after' || c.phase === 'held-before'));
  const worker = async () => {
    while (!killed && next < submissions.length) {
      const s = submissions[next++]!;
      // With a gate rule, the stream waits for the rule to catch its call before the last few, so the kill still
      // lands mid-stream however long the app takes to get to that call.
      if (round.rule && s.n > round.killAfterAcks) await eventually(() => killed || heldByRule(), 15_000, () => 'the gate rule caught a call', 5);
      // One more goes out once the rule holds its call, and the rest only after the kill (so never): with owners
      // remembered, the app acknowledges the last few faster than the killer polls, and the kill would land after them.
      if (round.rule && s.n > round.killAfterAcks + 1) await eventually(() => killed, 15_000, () => 'the kill', 5);
      if (killed) return;
      s.outcome = 'in flight';
      try {
        const response = await driver.viewSubmission({ userId: s.userId, callbackId: CALLBACK_IDS.request, viewId: s.key, values: requestValues(s.form) });
        s.outcome = response.status === 200 && response.text === '' ? 'acknowledged' : 'failed';
        s.detail = `${response.status} ${response.text}`;
      } catch (error) {
        s.outcome = 'failed';
        s.detail = String(error);
      }
    }
  };
  const acked = () => submissions.filter((s) => s.outcome === 'acknowledged').length;
  const killer = (async () => {
    await eventually(() => acked() >= round.killAfterAcks && (!round.rule || heldByRule()), 15_000, () => `kill point: ${acked()} acknowledged, gate: ${JSON.stringify(gate.calls.map((c) => `${c.method}:${c.phase}`))}\n${first.logs()}`, 5);
    first.child.kill('SIGKILL');
    killed = true;
  })();
  const workers = Array.from({ length: CONCURRENCY }, worker);
  await killer;
  await Promise.all(workers);
  const death = await first.exited;
  expect(death.signal).toBe('SIGKILL');

  // What the first life left in Slack, and what Slack accepted without the app hearing back.
  const firstLifePosts = posts();
  const unanswered = gate.acceptedButUnanswered().filter((c) => c.method === 'chat.postMessage');
  gate.clearRules();
  await gate.awaitHeldClientsGone();
  gate.releaseAll();

  // ---- the register after the kill ----
  const byKey = new Map(submissions.map((s) => [s.key, s]));
  const rows = readRegister(databasePath, (db) => db.prepare('select * from exceptions order by id').all() as ExceptionRow[]);
  const acknowledged = submissions.filter((s) => s.outcome === 'acknowledged');
  expect(acknowledged.length).toBeGreaterThanOrEqual(round.killAfterAcks);
  // A valid submission is only ever lost to the kill itself (the connection dies), never answered with an error.
  for (const s of submissions.filter((x) => x.outcome === 'failed')) expect(s.detail, `submission ${s.key}`).toMatch(/^TypeError: fetch failed/);
  expect(acknowledged.length, 'the kill landed mid-stream: not everything was acknowledged').toBeLessThan(SUBMISSIONS);
  for (const s of acknowledged) expect(rows.map((r) => r.submission_key), `acknowledged submission ${s.key} is in the register`).toContain(s.key);
  // Row ids are the public numbers: handed out without gaps, whatever the kill interrupted.
  expect(rows.map((r) => r.id)).toEqual(rows.map((_, i) => i + 1));

  const audit = readRegister(databasePath, (db) => db.prepare("select exception_id as id, count(*) as n from audit_events where kind = 'exception.requested' group by exception_id").all() as { id: number; n: number }[]);
  const outbox = readRegister(databasePath, (db) => db.prepare('select exception_id as id, kind, payload from outbox where exception_id is not null').all() as { id: number; kind: string; payload: string }[]);
  for (const row of rows) {
    const s = byKey.get(row.submission_key ?? '');
    expect(s, `${ref(row.id)} comes from a submission that was sent`).toBeDefined();
    expect(s!.outcome, `${ref(row.id)} comes from a submission that was sent`).not.toBe('not sent');
    expect(row, `${ref(row.id)} is complete`).toMatchObject({
      title: s!.form.title,
      scope: s!.form.scope,
      justification: s!.form.justification,
      compensating_controls: s!.form.compensatingControls,
      requester_id: s!.userId,
      owner_id: s!.userId,
      requested_expires_on: s!.form.expiresOn,
      status: 'requested',
    });
    expect(row.policy_id).toBeGreaterThan(0);
    expect(row.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(audit.find((a) => a.id === row.id)?.n, `${ref(row.id)} has exactly one 'requested' audit event`).toBe(1);
    const queued = outbox.filter((o) => o.id === row.id).map((o) => JSON.parse(o.payload) as { kind: string; card?: string; message?: string });
    expect(queued.filter((q) => q.kind === 'post_card' && q.card === 'triage'), `${ref(row.id)}'s triage card is queued`).toHaveLength(1);
    expect(queued.filter((q) => q.kind === 'direct_message' && q.message === 'receipt'), `${ref(row.id)}'s receipt is queued`).toHaveLength(1);
  }
  // No audit event for an exception that does not exist.
  expect(audit.map((a) => a.id).sort((a, b) => a - b)).toEqual(rows.map((r) => r.id));

  const verified = await auditVerify(databasePath);
  expect(verified.err).toBe('');
  expect(verified.code).toBe(0);
  const events = readRegister(databasePath, (db) => (db.prepare('select count(*) as n from audit_events').get() as { n: number }).n);
  expect(verified.out).toContain(`${events} events`);

  // ---- the second life: the outbox drains ----
  const second = await spawnApp(env, { clockOffsetMs: RESTART_LATER_MS });
  const delivered = (id: number) => {
    const texts = posts().map((c) => String(c.args.text));
    return texts.some((t) => t.startsWith(`${ref(id)} requested:`)) && texts.includes(`Your exception request ${ref(id)} was received.`);
  };
  await eventually(
    () => rows.every((r) => delivered(r.id)) && outboxCounts(databasePath).pending === 0,
    25_000,
    () => `outbox ${JSON.stringify(outboxCounts(databasePath))}; posted ${posts().length}\n${second.logs()}`,
  );
  expect(outboxCounts(databasePath).dead).toBe(0);
  expect(standIn.rejected()).toEqual([]);

  // ---- exactly once, but for the one message in flight at the kill ----
  const counts = new Map<string, number>();
  for (const call of posts()) counts.set(identity(call), (counts.get(identity(call)) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1);
  for (const row of rows) {
    const triage = posts().filter((c) => String(c.args.text).startsWith(`${ref(row.id)} requested:`)).length;
    const receipts = posts().filter((c) => c.args.text === `Your exception request ${ref(row.id)} was received.`).length;
    expect(triage + receipts, `${ref(row.id)}: triage card and receipt, once each (one repeat allowed only for the message in flight at the kill)`).toBeGreaterThanOrEqual(2);
    expect(triage).toBeGreaterThanOrEqual(1);
    expect(receipts).toBeGreaterThanOrEqual(1);
  }
  expect(duplicates.length, `repeated messages: ${JSON.stringify(duplicates)}`).toBeLessThanOrEqual(1);
  for (const [, n] of duplicates) expect(n).toBe(2);
  if (duplicates.length === 1) {
    // The repeat is the last message Slack accepted from the first life: the delivery the kill interrupted.
    expect(firstLifePosts.length).toBeGreaterThan(0);
    expect(duplicates[0]![0]).toBe(identity(firstLifePosts.at(-1)!));
  }
  if (round.expectDuplicates === 'none') {
    expect(unanswered).toEqual([]);
    expect(duplicates).toEqual([]);
  }
  if (round.expectDuplicates === 'exactly one') {
    // Slack accepted the held triage card; the app died before recording it, so the restart posts it again.
    expect(unanswered).toHaveLength(1);
    expect(duplicates).toHaveLength(1);
    expect(duplicates[0]![0]).toMatch(new RegExp(`^${APPROVALS} \\| EXC-\\d{4} requested:`));
    expect(String(unanswered[0]!.args.text)).toBe(duplicates[0]![0].split(' | ')[1]);
  }
  second.child.kill('SIGTERM');
  expect((await second.exited).code).toBe(0);
}

describe('SIGKILL mid-stream, then a restart on the same register', () => {
  for (const round of ROUNDS) {
    it(`keeps every acknowledged request whole and delivers each message once: kill ${round.name}`, async () => {
      await runRound(round);
    }, 60_000);
  }
});
