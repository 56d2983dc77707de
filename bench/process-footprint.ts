/**
 * What running the compiled build changed (issue 9 §3): the time from starting the app to its first /healthz 200 and
 * its resident memory once idle, the old way (TypeScript through tsx) and the new (plain node on the esbuild bundle).
 * The peak memory at 100,000 exceptions is measured with the register (bench/run.ts), both ways too.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegister } from '../src/db/client';
import { appEnv } from '../test/support/app-env';
import { startSlackStandIn } from '../test/support/slack-stand-in';
import { startProcess } from './ack-latency';
import { APP_COMMAND, ROOT, TSX_APP_COMMAND, buildApp } from './compiled';

export interface FootprintRow {
  runtime: string;
  command: string;
  /** Median over the starts, from spawning the process to the first /healthz 200 (ms). */
  startMs: number;
  /** Median resident memory two seconds after that, nothing asked of the app (MB). */
  idleRssMegabytes: number;
}

const STARTS = 5;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const megabytes = (kilobytes: number) => Number((kilobytes / 1024).toFixed(1));

function residentKilobytes(pid: number | undefined): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}

const RUNTIMES = [
  { runtime: 'before: tsx', args: TSX_APP_COMMAND },
  { runtime: 'after: node dist/main.js', args: APP_COMMAND.filter((arg) => arg !== '--enable-source-maps') },
  { runtime: 'after, as npm start', args: APP_COMMAND },
];

/** Starts the app each way `STARTS` times on a register that exists already (its migrations applied) and measures. */
export async function measureFootprint(): Promise<FootprintRow[]> {
  buildApp();
  const dir = mkdtempSync(join(tmpdir(), 'exceptions-bench-footprint-'));
  const standIn = await startSlackStandIn();
  const databasePath = join(dir, 'register.db');
  openRegister(databasePath).close();
  const env = appEnv(standIn, databasePath);
  const rows: FootprintRow[] = [];
  try {
    const samples = new Map<string, { startMs: number[]; rssKb: number[] }>(RUNTIMES.map((r) => [r.runtime, { startMs: [], rssKb: [] }]));
    // Interleaved, so that a busy spell on a shared machine does not fall on one runtime only.
    for (let i = 0; i < STARTS; i++) {
      for (const { runtime, args } of RUNTIMES) {
        const started = await startProcess(args, env, join(dir, 'app.log'));
        await new Promise((resolve) => setTimeout(resolve, 2000));
        samples.get(runtime)!.startMs.push(started.startMs);
        samples.get(runtime)!.rssKb.push(residentKilobytes(started.child.pid));
        const exited = new Promise((resolve) => started.child.once('exit', resolve));
        started.child.kill('SIGTERM');
        await exited;
      }
    }
    for (const { runtime, args } of RUNTIMES) {
      const sample = samples.get(runtime)!;
      rows.push({ runtime, command: `node ${args.map((arg) => arg.replace(`${ROOT}/`, '')).join(' ')}`, startMs: Math.round(median(sample.startMs)), idleRssMegabytes: megabytes(median(sample.rssKb)) });
    }
  } finally {
    await standIn.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
