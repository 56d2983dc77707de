/**
 * Measures one generated register in a process of its own, so peak memory is the app's work on it and not the
 * generator's. Prints one JSON object. Usage: tsx bench/measure-register.ts FILE
 */
import { statSync } from 'node:fs';
import { verifyAuditChain } from '../src/db/audit-chain';
import { openRegister } from '../src/db/client';
import { loadConfig } from '../src/config';
import { runJobs } from '../src/jobs/run-jobs';
import { createServiceContext } from '../src/services/context';
import { expireDue } from '../src/services/expire-due';
import { csvLines, exportRegister } from '../src/services/export-register';
import { homeOverview } from '../src/services/home-overview';
import { showFor } from '../src/services/view-register';
import { gatherMetrics } from '../src/services/weekly-metrics';
import { appHome } from '../src/slack/views/app-home';
import { recordDetails } from '../src/slack/views/register-views';
import { BENCH_PEOPLE, HEAVY_USER } from './generate-register';

const file = process.argv[2];
const today = process.argv[3] ?? '2026-11-25';
if (!file) throw new Error('usage: measure-register.ts FILE [TODAY]');

/** Median of `runs` timings after one warm-up, in milliseconds. */
function time(runs: number, work: () => unknown): number {
  work();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    work();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return Number(samples[Math.floor(samples.length / 2)]!.toFixed(2));
}

function once(work: () => unknown): number {
  const started = performance.now();
  work();
  return Number((performance.now() - started).toFixed(2));
}

const config = loadConfig({
  SLACK_BOT_TOKEN: 'xoxb-bench',
  SLACK_SIGNING_SECRET: 'bench-secret',
  DATABASE_PATH: file,
  SECURITY_TEAM_IDS: BENCH_PEOPLE.security,
  // The person with 300 exceptions is also an approver: their home tab has the most to work out.
  APPROVER_IDS: [...BENCH_PEOPLE.approvers, HEAVY_USER].join(','),
  COMMITTEE_IDS: BENCH_PEOPLE.committee.join(','),
  APPROVALS_CHANNEL: 'C0APPROVALS',
  COMMITTEE_CHANNEL: 'C0COMMITTEE',
  TZ: 'UTC',
});
const register = openRegister(file);
let now = new Date(`${today}T12:00:00.000Z`);
const ctx = createServiceContext(register.db, () => now, config);
const cards = { approverIds: [...config.roles.approvers], committeeIds: [...config.roles.committee], committeeChannel: 'C0COMMITTEE', committeeQuorum: 2, committeeRiskThreshold: 12 };
const heavyException = (register.sqlite.prepare('select id from exceptions where owner_id = ? order by id desc limit 1').get(HEAVY_USER) as { id: number }).id;

const figures: Record<string, number> = {};
figures.metricsMs = time(5, () => gatherMetrics(ctx, now));
figures.sweepNothingDueMs = time(5, () => {
  if (expireDue(ctx, now).length > 0) throw new Error('the register had exceptions due today');
});
figures.appHomeMs = time(5, () => appHome(homeOverview(ctx, HEAVY_USER), cards));
figures.showMs = time(5, () => recordDetails(showFor(ctx, BENCH_PEOPLE.security, heavyException), cards));
let bytes = 0;
figures.exportCsvMs = once(() => {
  for (const line of csvLines(exportRegister(register.db))) bytes += line.length;
});
figures.exportCsvMegabytes = Number((bytes / 1e6).toFixed(1));
let events = 0;
figures.auditVerifyMs = once(() => {
  const verdict = verifyAuditChain(register.db);
  if (!verdict.ok) throw new Error(`the generated chain is broken at ${verdict.broken?.eventId}`);
  events = verdict.events;
});
figures.auditEvents = events;
// The first hourly run catches up on reminders and check-ins the generator left undone; the next has nothing new.
figures.hourlyJobsCatchUpMs = once(() => runJobs(ctx, now));
figures.hourlyJobsNothingDueMs = time(3, () => runJobs(ctx, now));
now = new Date(`${today}T00:00:00.000Z`);
now.setUTCDate(now.getUTCDate() + 1);
now.setUTCHours(12);
let expired = 0;
figures.sweep1000DueMs = once(() => {
  expired = expireDue(ctx, now).length;
});
figures.expiredInSweep = expired;
register.close();
figures.databaseMegabytes = Number(((statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0)) / 1e6).toFixed(1));
figures.peakRssMegabytes = Number((process.resourceUsage().maxRSS / 1024).toFixed(1));
process.stdout.write(`${JSON.stringify(figures)}\n`);
