import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './support/slack-stand-in';
import { appEnv } from './support/app-env';
import { startSocketModeStandIn, type SocketModeStandIn } from './support/socket-mode-stand-in';

// Issue 9 §3 and §2: production runs the compiled build with plain node, under `npm start` or directly, and stops
// cleanly whichever process a supervisor signals.

const ROOT = join(import.meta.dirname, '..');
let dir: string;
let standIn: SlackStandIn;
let socketMode: SocketModeStandIn | undefined;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-production-'));
  standIn = await startSlackStandIn();
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await socketMode?.close();
  socketMode = undefined;
  await standIn.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, ...appEnv(standIn, join(dir, 'register.db'), extra) };
}

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a command in a process group of its own, as a supervisor would, and waits for the app to listen. */
async function start(command: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Started> {
  const child = spawn(command, args, { cwd: ROOT, env: env(extraEnv), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start:\n${output}`)), 15_000);
    const check = setInterval(() => {
      const match = /listening on port (\d+)/.exec(output);
      if (match) {
        clearInterval(check);
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    }, 20);
    void exited.then(() => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`exited before listening:\n${output}`));
    });
  });
  return { child, port, output: () => output, exited };
}

const reachable = (port: number) =>
  fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => true,
    () => false,
  );

/** The app's process: npm's child (npm runs the start script with `exec`, so no shell sits between). */
function appProcessCommand(npmPid: number): string {
  const children = readFileSync(`/proc/${npmPid}/task/${npmPid}/children`, 'utf8').trim().split(/\s+/);
  return children.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()).join('\n');
}

describe('npm start runs the compiled build', () => {
  // --ignore-scripts skips the prestart build here: the suite built dist/ once, and other tests are running it.
  it('runs dist/main.js with plain node, no tsx, and stops cleanly when the supervisor signals the process group', async () => {
    for (let run = 1; run <= 3; run++) {
      const app = await start('npm', ['start', '--ignore-scripts', '--silent']);
      expect(appProcessCommand(app.child.pid!)).toMatch(/^\S*node --enable-source-maps dist\/main\.js$/);
      process.kill(-app.child.pid!, 'SIGTERM');
      expect(await app.exited).toEqual({ code: 0, signal: null });
      expect(app.output()).toContain('stopped: the register is closed');
      expect(await reachable(app.port)).toBe(false);
    }
  });

  it('stops the app, leaving no orphan, when only npm is signalled', async () => {
    const app = await start('npm', ['start', '--ignore-scripts', '--silent']);
    app.child.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.output()).toContain('stopped: the register is closed');
    expect(await reachable(app.port)).toBe(false);
  });

  it('runs as `node dist/main.js` directly, the documented production command', async () => {
    const app = await start(process.execPath, ['dist/main.js']);
    expect(await reachable(app.port)).toBe(true);
    app.child.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });
});

describe('Socket Mode in the real process', () => {
  it('stops start-up with one line naming SLACK_APP_TOKEN when Slack refuses the app-level token', async () => {
    socketMode = await startSocketModeStandIn(standIn);
    const child = spawn(process.execPath, ['dist/main.js'], { cwd: ROOT, env: env({ SLACK_APP_TOKEN: 'xapp-1-A0STANDAPP-revoked-token' }), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^SLACK_APP_TOKEN: Slack refused the app-level token \(invalid_auth\)\. .*connections:write/);
  });

  it('connects with the right app-level token and reports the connection in /healthz', async () => {
    socketMode = await startSocketModeStandIn(standIn);
    const app = await start(process.execPath, ['dist/main.js'], { SLACK_APP_TOKEN: socketMode.appToken });
    await socketMode.waitForConnections(1);
    const health = (await (await fetch(`http://127.0.0.1:${app.port}/healthz`)).json()) as { socketMode?: { connected: boolean } };
    expect(health.socketMode).toMatchObject({ connected: true });
    app.child.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await standIn.waitFor(() => socketMode!.openConnections() === 0);
  });
});
