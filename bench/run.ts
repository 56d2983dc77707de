/**
 * `npm run bench`: acknowledgement latency against a bare Bolt app, and the register at 10,000 and 100,000
 * exceptions. Prints tables and writes bench/results.json. Never part of `npm test`: these machines are shared.
 *
 *   npm run bench                    everything (about eight minutes)
 *   npm run bench -- --only ack      acknowledgement latency only
 *   npm run bench -- --only register register scale only
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { measureAckLatency, type LatencyRow } from './ack-latency';
import { generateRegister, type GeneratedRegister } from './generate-register';

const TODAY = '2026-11-25';
const SIZES = [10_000, 100_000];
const TARGETS = { metricsMs: 100, sweepNothingDueMs: 50, appHomeMs: 50, exportCsvMs: 3000, peakRssMegabytes: 200 } as const;

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

interface RegisterResult extends GeneratedRegister {
  generateMs: number;
  figures: Record<string, number>;
}

function registerScale(): RegisterResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'exceptions-bench-register-'));
  try {
    return SIZES.map((size) => {
      const file = join(dir, `register-${size}.db`);
      const started = performance.now();
      const generated = generateRegister(file, { exceptions: size, today: TODAY });
      const generateMs = Math.round(performance.now() - started);
      process.stderr.write(`generated ${size} exceptions and ${generated.auditEvents} audit events in ${generateMs} ms; measuring…\n`);
      // A fresh process, so its peak memory is the app's work on the register and nothing else.
      const output = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'measure-register.ts'), file, TODAY], { encoding: 'utf8' });
      return { ...generated, generateMs, figures: JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, number> };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printLatency(rows: LatencyRow[]): void {
  console.log('\nAcknowledgement latency (ms), open-loop load of signed requests; app vs bare Bolt app');
  console.log('interaction                              rate/s   app p50   app p99  bare p50  bare p99  p99 ratio  errors');
  for (const r of rows) {
    console.log(
      `${r.interaction.padEnd(40)} ${String(r.rate).padStart(6)} ${r.app.p50.toFixed(2).padStart(9)} ${r.app.p99.toFixed(2).padStart(9)} ${r.bare.p50.toFixed(2).padStart(9)} ${r.bare.p99.toFixed(2).padStart(9)} ${r.p99Ratio.toFixed(2).padStart(10)} ${String(r.app.errors + r.bare.errors).padStart(7)}`,
    );
  }
}

function printRegister(results: RegisterResult[]): void {
  console.log('\nRegister scale (ms unless named)');
  const keys = Object.keys(results[0]?.figures ?? {});
  console.log(`${'figure'.padEnd(26)}${results.map((r) => `${r.exceptions.toLocaleString('en')} exc.`.padStart(16)).join('')}   growth   target`);
  for (const key of keys) {
    const values = results.map((r) => r.figures[key]!);
    const growth = values.length > 1 && values[0]! > 0 ? `${(values.at(-1)! / values[0]!).toFixed(1)}×` : '';
    const target = key in TARGETS ? `≤ ${TARGETS[key as keyof typeof TARGETS]}` : '';
    console.log(`${key.padEnd(26)}${values.map((v) => String(v).padStart(16)).join('')}   ${growth.padStart(6)}   ${target}`);
  }
}

const file = join(import.meta.dirname, 'results.json');
// A partial run (--only) replaces its own section and keeps the other from the last run.
const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { ackLatency?: LatencyRow[]; register?: RegisterResult[] }) : {};
const results: { machine: Record<string, unknown>; ackLatency?: LatencyRow[]; register?: RegisterResult[] } = {
  ...previous,
  machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), ranAt: new Date().toISOString() },
};
if (!only || only === 'ack') {
  results.ackLatency = await measureAckLatency({ rates: [50, 200, 500], seconds: 10 });
  printLatency(results.ackLatency);
}
if (!only || only === 'register') {
  results.register = registerScale();
  printRegister(results.register);
}
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nWritten to ${file}`);
