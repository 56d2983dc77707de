import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { JOB_NAMES } from '../../src/db/schema';
import { assess, clickButton, decisionCard, submitRequest, VALID_FORM } from './flows';
import { HEALTHZ_DETAILS, HEALTHZ_TOKEN, PEOPLE, SIGNING_SECRET, startHarness, type Harness } from './harness';
import { ACTION_IDS } from '../../src/slack/ids';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const entries = () => h.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
const handled = () => entries().filter((e) => e.message === 'slack request handled');

async function health(): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${h.app.port}/healthz`, { headers: HEALTHZ_DETAILS });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe('structured logs', () => {
  it('logs one JSON line per Slack request with its request ID, who sent it and the exception, never what was typed or a secret', async () => {
    h = await startHarness();
    await submitRequest(h);
    await h.settle();
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    await h.settle();

    const lines = handled();
    const submission = lines.find((e) => e.kind === 'view_submission' && e.exceptionId === 'EXC-0001' && e.user === PEOPLE.requester);
    expect(submission).toBeDefined();
    expect(submission!.slackRequestId).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    const approval = lines.find((e) => e.kind === 'block_actions' && e.action === ACTION_IDS.approve);
    expect(approval).toMatchObject({ exceptionId: 'EXC-0001', user: PEOPLE.ciso });
    expect(approval!.slackRequestId).not.toBe(submission!.slackRequestId);
    for (const line of lines) expect(typeof line.ms).toBe('number');

    const everything = h.logs.join('\n');
    expect(everything).not.toContain(h.standIn.botToken);
    expect(everything).not.toContain(SIGNING_SECRET);
    expect(everything).not.toContain(VALID_FORM.justification);
    expect(everything).not.toContain(VALID_FORM.compensatingControls);
    expect(everything).not.toContain('"payload"');
  });

  it('gives every line logged while handling a request that request ID, as a warning from deep inside the submission shows', async () => {
    h = await startHarness();
    h.standIn.fail({ status: 500, methods: ['users.info'] });
    await submitRequest(h);
    const warning = entries().find((e) => typeof e.message === 'string' && e.message.startsWith('could not check the owner'));
    expect(warning).toBeDefined();
    const request = handled().find((e) => e.kind === 'view_submission');
    expect(warning!.slackRequestId).toBe(request!.slackRequestId);
    expect(warning!.user).toBe(PEOPLE.requester);
  });
});

describe('structured logs, outside requests', () => {
  it("does not stamp a delivery started by a request with that request's ID: the delivery belongs to no one request", async () => {
    h = await startHarness();
    h.standIn.fail({ status: 500, methods: ['chat.postMessage'], times: 1 });
    await submitRequest(h);
    await h.settle();
    const retried = entries().find((e) => e.message === 'notification will be retried');
    expect(retried).toBeDefined();
    expect(retried!.slackRequestId).toBeUndefined();
    expect(retried!.user).toBeUndefined();
    expect(retried!.exceptionId).toBe('EXC-0001');
  });
});

describe('request signing, the timestamp', () => {
  it('refuses a request correctly signed with the timestamp "Infinity", which Bolt alone would let through for ever', async () => {
    h = await startHarness({ socketMode: false });
    const body = new URLSearchParams({ command: '/exception', text: 'help', user_id: PEOPLE.requester, team_id: h.standIn.teamId, channel_id: 'C0GENERAL' }).toString();
    const signature = `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:Infinity:${body}`).digest('hex')}`;
    const response = await h.driver.raw(body, { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-signature': signature, 'x-slack-request-timestamp': 'Infinity' });
    expect(response.status).toBe(401);
    expect(handled()).toEqual([]);
  });
});

describe('GET /healthz', () => {
  it('reports every job with its last run, so a monitor can tell a job that never ran', async () => {
    h = await startHarness();
    const before = await health();
    expect(before.scheduler).toEqual({ running: false });
    const jobs = before.jobs as Record<string, { lastFinishedAt: string | null }>;
    expect(Object.keys(jobs).sort()).toEqual([...JOB_NAMES].sort());
    expect(Object.values(jobs).every((job) => job.lastFinishedAt === null)).toBe(true);

    await h.runJobs();
    const after = (await health()).jobs as Record<string, { lastFinishedAt: string | null; lastResult: string | null; lastError: string | null }>;
    for (const job of JOB_NAMES) {
      expect(after[job]!.lastFinishedAt).toBe(h.clock.now.toISOString());
      expect(after[job]!.lastError).toBeNull();
    }
    expect(after.expiry_sweep!.lastResult).toBe('expired: none');
  });

  it('tells anyone ok and counts only; the details, which name exceptions, only to HEALTHZ_TOKEN (issue 10 §5)', async () => {
    h = await startHarness({ schedule: true });
    await submitRequest(h);
    await assess(h, 'EXC-0001', 1, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    h.clock.advance(91 * 24 * 60 * 60_000);
    await h.runJobs();
    const detailed = JSON.stringify(await health());
    expect(detailed).toContain('expired: EXC-0001');

    const url = `http://127.0.0.1:${h.app.port}/healthz`;
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer not-the-token-at-all' }, { authorization: HEALTHZ_TOKEN }, { authorization: `Basic ${HEALTHZ_TOKEN}` }];
    for (const headers of attempts) {
      const response = await fetch(url, { headers });
      expect(response.status).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toEqual({ ok: true, database: 'ok', outbox: { pending: 0, dead: 0 }, jobsFailing: 0, scheduler: { running: true, overdue: false, failures: 0 }, ...(h.socketMode ? { socketMode: { connected: true } } : {}), details: expect.stringContaining('HEALTHZ_TOKEN') });
      expect(JSON.stringify(body)).not.toContain('EXC-');
    }
  });

  it('shows no details to anyone when HEALTHZ_TOKEN is not set', async () => {
    h = await startHarness({ env: { HEALTHZ_TOKEN: '' } });
    const response = await fetch(`http://127.0.0.1:${h.app.port}/healthz`, { headers: HEALTHZ_DETAILS });
    expect(Object.keys((await response.json()) as object).sort()).toEqual(['database', 'details', 'jobsFailing', 'ok', 'outbox', 'scheduler', ...(h.socketMode ? ['socketMode'] : [])]);
  });

  it('shows the scheduler running, when it last ran and when it runs next, and not overdue after its start-up run', async () => {
    h = await startHarness({ schedule: true });
    const report = await health();
    const scheduler = report.scheduler as { lastRunAt: string; nextRunAt: string; overdue: boolean };
    expect(scheduler.overdue).toBe(false);
    expect(Date.parse(scheduler.lastRunAt)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(scheduler.nextRunAt)).toBeGreaterThan(Date.now());
    // The default EXPIRY_CRON is hourly: the next run is within the hour.
    expect(Date.parse(scheduler.nextRunAt) - Date.now()).toBeLessThanOrEqual(60 * 60_000);
  });
});
