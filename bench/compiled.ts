/**
 * How the bench runs code: the app as production runs it (`npm run build`, then plain node on dist/main.js, no tsx),
 * and the bench's own programs (the bare Bolt app, the register measurement) bundled the same way, so every process
 * compared runs on the same footing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

export const ROOT = join(import.meta.dirname, '..');

/** What `npm start` runs once the build is done (package.json "start"). */
export const APP_COMMAND = ['--enable-source-maps', join(ROOT, 'dist/main.js')];

/** How the app ran before it was compiled, for comparison: TypeScript loaded through tsx at start-up. */
export const TSX_APP_COMMAND = ['--import', 'tsx', join(ROOT, 'src/main.ts')];

/** Builds dist/ from the sources, as `npm start` does first. */
export function buildApp(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/**
 * Bundles one bench program as `npm run build` bundles the app (packages left to node_modules) and returns the file.
 * It is written under node_modules/.cache, so that its packages and the migrations beside package.json are found.
 */
export function compileBenchProgram(entry: string): string {
  const outfile = join(ROOT, 'node_modules/.cache/exceptions-bench', entry.replace(/\.ts$/, '.js'));
  buildSync({ entryPoints: [join(ROOT, 'bench', entry)], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
  return outfile;
}

/** CPU time the process has used so far, in nanoseconds (Linux); NaN where /proc is not there. */
export function cpuNanoseconds(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}
