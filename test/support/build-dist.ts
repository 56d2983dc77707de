import { execFileSync } from 'node:child_process';

/** Tests that start `bin/exceptions.js` or `dist/main.js` run what production runs, built from the sources under test. */
export default function buildDist(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: new URL('../..', import.meta.url), stdio: 'inherit' });
}
