import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './support/slack-stand-in';
import { appEnv } from './support/app-env';

let dir: string;
let standIn: SlackStandIn;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-shutdown-'));
  standIn = await startSlackStandIn();
});
afterEach(async () => {
  await standIn.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start and SIGTERM', () => {
  it('starts, then on SIGTERM stops taking requests, closes the register and exits 0 within 10 seconds', async () => {
    const databasePath = join(dir, 'register.db');
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../src/main.ts')], {
      env: { PATH: process.env.PATH ?? '', ...appEnv(standIn, databasePath) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the app did not start:\n${logs}`)), 15_000);
      child.stderr.on('data', () => {
        const match = /listening on port (\d+)/.exec(logs);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);

    const started = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    // The register was closed cleanly: it opens, and its migrations are all recorded.
    const register = new Database(databasePath);
    expect((register.prepare('select count(*) as n from __drizzle_migrations').get() as { n: number }).n).toBeGreaterThanOrEqual(4);
    register.close();
  });
});
