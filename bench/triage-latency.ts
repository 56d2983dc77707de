/**
 * Time from a request submission's ack to its triage card being posted in the approvals channel, p50/p99, quiet and
 * with a flood in a watched channel: fifteen "waiver" messages, from fifteen people, sent just before each submission.
 * The app runs as production runs it (built, plain node, Slack's one post a second per channel); the Slack stand-in
 * records when each call arrived. Submissions are a little over a second apart, so the approvals channel's own pace
 * is not what is measured. Each flood is in a channel of its own, as pointers are rationed per channel and person.
 *
 *   npx tsx bench/triage-latency.ts [--samples 20]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { openRegister } from '../src/db/client';
import { importPolicies } from '../src/services/policy-catalogue';
import { CALLBACK_IDS } from '../src/slack/ids';
import { createSlackDriver } from '../test/support/slack-driver';
import { startSlackStandIn } from '../test/support/slack-stand-in';
import { PEOPLE, requestValues, SIGNING_SECRET, startProcess } from './ack-latency';
import { APP_COMMAND, buildApp } from './compiled';

export interface TriageLatencyRow {
  scenario: 'quiet' | 'flood in a watched channel';
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

const APPROVALS = 'C0APPROVALS';
const FLOOD = 15;
/** Longer than Slack's spacing of one post a second per channel, so each card finds the approvals channel ready. */
const BETWEEN_SUBMISSIONS_MS = 1100;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureTriageLatency(options: { samples: number }): Promise<TriageLatencyRow[]> {
  buildApp();
  const dir = mkdtempSync(join(tmpdir(), 'exceptions-bench-triage-'));
  const standIn = await startSlackStandIn({ users: Object.entries(PEOPLE).map(([name, id]) => ({ id, name })) });
  const databasePath = join(dir, 'register.db');
  const seed = openRegister(databasePath);
  importPolicies(seed.db, () => new Date(), 'key,title,description\nMFA-01,Multi-factor authentication,Every login uses a second factor', 'bench');
  seed.close();
  const watched = Array.from({ length: options.samples }, (_, i) => `C0WATCH${String(i).padStart(3, '0')}`);
  const app = await startProcess(
    APP_COMMAND,
    {
      SLACK_BOT_TOKEN: standIn.botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: standIn.url,
      DATABASE_PATH: databasePath,
      SECURITY_TEAM_IDS: PEOPLE.security,
      APPROVER_IDS: PEOPLE.approver,
      COMMITTEE_IDS: 'U0COM1,U0COM2',
      APPROVALS_CHANNEL: APPROVALS,
      COMMITTEE_CHANNEL: 'C0COMMITTEE',
      WATCH_CHANNELS: watched.join(','),
      TZ: 'UTC',
    },
    join(dir, 'app.log'),
  );
  const driver = createSlackDriver({ appUrl: `http://127.0.0.1:${app.port}/slack/events`, signingSecret: SIGNING_SECRET, standIn });
  const expiresOn = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  let submitted = 0;

  /** One submission: its ack, then the wait for its card; the milliseconds in between. */
  async function sample(flood?: string): Promise<number> {
    if (flood) {
      for (let i = 0; i < FLOOD; i++) {
        await driver.event({ type: 'message', channel: flood, user: `U0${flood.slice(2)}P${i}`, text: `can I get a waiver for kiosk ${i}?`, ts: `${Math.floor(Date.now() / 1000)}.${String(i).padStart(6, '0')}` });
      }
    }
    const title = `Triage latency sample ${++submitted}`;
    const response = await driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId: `V${randomBytes(6).toString('hex').toUpperCase()}`, values: requestValues(expiresOn, title) });
    const ackedAt = Date.now();
    if (response.status !== 200) throw new Error(`the submission was answered HTTP ${response.status}`);
    const card = () => standIn.calls.find((call) => call.method === 'chat.postMessage' && call.args.channel === APPROVALS && JSON.stringify(call.args).includes(title));
    await standIn.waitFor(() => card() !== undefined, 60_000);
    const latency = card()!.at - ackedAt;
    await sleep(BETWEEN_SUBMISSIONS_MS);
    return latency;
  }

  const rows: TriageLatencyRow[] = [];
  try {
    for (const scenario of ['quiet', 'flood in a watched channel'] as const) {
      const latencies: number[] = [];
      for (let i = 0; i < options.samples; i++) latencies.push(await sample(scenario === 'quiet' ? undefined : watched[i]));
      const sorted = latencies.sort((a, b) => a - b);
      rows.push({ scenario, samples: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! });
    }
  } finally {
    app.child.kill('SIGTERM');
    await new Promise((resolve) => app.child.once('exit', resolve));
    await standIn.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const samples = Number(process.argv.includes('--samples') ? process.argv[process.argv.indexOf('--samples') + 1] : 20);
  const rows = await measureTriageLatency({ samples });
  console.log('submission ack → triage card posted (ms)');
  console.table(rows);
}
