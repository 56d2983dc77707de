/**
 * `npm run bench`: acknowledgement latency against a bare Bolt app, the register at 10,000 and 100,000 exceptions,
 * and the process's start-up time and memory before and after it ran compiled. Prints tables and writes
 * bench/results.json. Never part of `npm test`: these machines are shared.
 *
 *   npm run bench                       everything (about fifteen minutes)
 *   npm run bench -- --only ack         acknowledgement latency only (--runs 3: three runs; --rates 200; --seconds 10)
 *                                       (--match help: only the interactions whose name has that text)
 *   npm run bench -- --only register    register scale only
 *   npm run bench -- --only footprint   start-up time and idle memory only
 *   npm run bench -- --only integrations  bypass memberships and reconciliation against the Okta and Entra stand-ins
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { measureAckLatency, type LatencyRow } from './ack-latency';
import { ROOT, compileBenchProgram } from './compiled';
import { generateRegister, type GeneratedRegister } from './generate-register';
import { measureIntegrations, printIntegrations, type IntegrationRow } from './integrations';
import { measureFootprint, type FootprintRow } from './process-footprint';

const TODAY = '2026-11-25';
const SIZES = [10_000, 100_000];
const TARGETS = { metricsMs: 100, sweepNothingDueMs: 50, appHomeMs: 50, exportCsvMs: 3000, peakRssMegabytes: 200 } as const;
/** p99 over the bare Bolt app's at 200 requests a second (issue 9 §6). */
const RATIO_TARGETS: Record<string, number> = { '/exception help (answered in the ack)': 1.15 };
const RATIO_TARGET_OTHERS = 1.5;

const option = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const only = option('--only');
const runs = Number(option('--runs') ?? 1);
const rates = (option('--rates') ?? '50,200,500').split(',').map(Number);
const seconds = Number(option('--seconds') ?? 10);
const match = option('--match');

interface RegisterResult extends GeneratedRegister {
  generateMs: number;
  figures: Record<string, number>;
  /** The same measurement run the old way, TypeScript through tsx: only its peak memory is kept (MB). */
  peakRssMegabytesUnderTsx?: number;
}

function measureRegister(args: string[]): Record<string, number> {
  // A fresh process, so its peak memory is the app's work on the register and nothing else.
  const output = execFileSync(process.execPath, [...args, TODAY], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, number>;
}

function registerScale(): RegisterResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'exceptions-bench-register-'));
  // Measured as production runs the code: bundled, plain node.
  const compiled = compileBenchProgram('measure-register.ts');
  try {
    return SIZES.map((size) => {
      const file = join(dir, `register-${size}.db`);
      const started = performance.now();
      const generated = generateRegister(file, { exceptions: size, today: TODAY });
      const generateMs = Math.round(performance.now() - started);
      process.stderr.write(`generated ${size} exceptions and ${generated.auditEvents} audit events in ${generateMs} ms; measuring…\n`);
      // The measurement writes (a catch-up run, a sweep): the old way gets a copy of the register as generated.
      const copy = join(dir, `register-${size}-tsx.db`);
      if (size === SIZES.at(-1)) copyFileSync(file, copy);
      const figures = measureRegister([compiled, file]);
      const peakRssMegabytesUnderTsx = size === SIZES.at(-1) ? measureRegister(['--import', 'tsx', join(import.meta.dirname, 'measure-register.ts'), copy]).peakRssMegabytes : undefined;
      rmSync(copy, { force: true });
      return { ...generated, generateMs, figures, peakRssMegabytesUnderTsx };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printLatency(rows: LatencyRow[]): void {
  console.log('\nAcknowledgement latency (ms), open-loop load of signed requests; app vs bare Bolt app; CPU µs per request');
  console.log('interaction                              rate/s   app p50   app p99  bare p50  bare p99  p99 ratio  errors  app cpu  bare cpu  load');
  for (const r of rows) {
    console.log(
      `${r.interaction.padEnd(40)} ${String(r.rate).padStart(6)} ${r.app.p50.toFixed(2).padStart(9)} ${r.app.p99.toFixed(2).padStart(9)} ${r.bare.p50.toFixed(2).padStart(9)} ${r.bare.p99.toFixed(2).padStart(9)} ${r.p99Ratio.toFixed(2).padStart(10)} ${String(r.app.errors + r.bare.errors).padStart(7)} ${String(r.cpuMicrosPerRequest.app).padStart(8)} ${String(r.cpuMicrosPerRequest.bare).padStart(9)} ${r.loadAverage.toFixed(1).padStart(5)}`,
    );
  }
}

/** The p99 ratio of each interaction at 200 a second in each run, against its target. */
function printRatios(allRuns: LatencyRow[][]): void {
  const at200 = allRuns.map((rows) => rows.filter((r) => r.rate === 200));
  if (at200[0]?.length === 0) return;
  console.log(`\np99 ratio to the bare app at 200/s, ${allRuns.length} run${allRuns.length === 1 ? '' : 's'}`);
  console.log(`${'interaction'.padEnd(40)}${allRuns.map((_, i) => `run ${i + 1}`.padStart(8)).join('')}   target`);
  for (const { interaction } of at200[0] ?? []) {
    const target = RATIO_TARGETS[interaction] ?? RATIO_TARGET_OTHERS;
    const ratios = at200.map((rows) => rows.find((r) => r.interaction === interaction)?.p99Ratio ?? NaN);
    console.log(`${interaction.padEnd(40)}${ratios.map((ratio) => `${ratio.toFixed(2)}${ratio <= target ? ' ' : '!'}`.padStart(8)).join('')}   ≤ ${target}`);
  }
}

function printFootprint(rows: FootprintRow[], register: RegisterResult[] | undefined): void {
  console.log('\nThe process: start-up to the first /healthz 200 (median of 5), resident memory idle, and at 100,000 exceptions');
  console.log(`${'runtime'.padEnd(38)}${'start-up ms'.padStart(12)}${'idle RSS MB'.padStart(13)}${'100k peak RSS MB'.padStart(18)}  command`);
  const largest = register?.at(-1);
  for (const r of rows) {
    const peak = !largest ? '' : r.runtime.startsWith('before') ? String(largest.peakRssMegabytesUnderTsx ?? '') : r.runtime === 'after: node dist/main.js' ? String(largest.figures.peakRssMegabytes ?? '') : '';
    console.log(`${r.runtime.padEnd(38)}${String(r.startMs).padStart(12)}${r.idleRssMegabytes.toFixed(1).padStart(13)}${peak.padStart(18)}  ${r.command}`);
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
interface Results {
  machine: Record<string, unknown>;
  ackLatency?: LatencyRow[];
  /** Every run of the last `--runs N`: the ratios at 200/s of each. */
  ackLatencyRuns?: LatencyRow[][];
  register?: RegisterResult[];
  footprint?: FootprintRow[];
  integrations?: IntegrationRow[];
}
// A partial run (--only) replaces its own section and keeps the others from the last run.
const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<Results>) : {};
const results: Results = {
  ...previous,
  machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), ranAt: new Date().toISOString(), loadAverageAtStart: Number(loadavg()[0]!.toFixed(2)) },
};
if (!only || only === 'ack') {
  const allRuns: LatencyRow[][] = [];
  for (let run = 0; run < runs; run++) {
    allRuns.push(await measureAckLatency({ rates, seconds, match }));
    printLatency(allRuns.at(-1)!);
  }
  results.ackLatency = allRuns.at(-1);
  results.ackLatencyRuns = allRuns;
  printRatios(allRuns);
}
if (!only || only === 'register') {
  results.register = registerScale();
  printRegister(results.register);
}
if (!only || only === 'footprint') {
  results.footprint = await measureFootprint();
}
if (results.footprint) printFootprint(results.footprint, results.register);
if (!only || only === 'integrations') {
  results.integrations = await measureIntegrations();
  printIntegrations(results.integrations);
}
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nWritten to ${file}`);
