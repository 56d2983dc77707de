import { createHmac, timingSafeEqual } from 'node:crypto';
import { copyFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../../src/slack/ids';
import { PEOPLE, startHarness, type Harness } from './harness';
import { assessRisk } from '../../src/services/assess-risk';
import { webhookCursor } from '../../src/db/schema';
import { assess, clickButton, decisionCard, submitRequest } from './flows';
import { runCapturing } from '../cli/run-cli';

const SECRET = 'webhook-secret-for-tests-0123';

interface Received {
  id: string;
  sequence: number;
  /** X-Exceptions-Event-Id, what a receiver drops repeats by. */
  eventId: string;
  kind: string;
  exceptionNow: { id: string; status: string; policy: string; affectedSystems: string | null; externalRef: string | null } | null;
  signatureValid: boolean;
}

let h: Harness;
let receiver: Server;
let received: Received[];
let failuresLeft: number;
/** While set, the receiver takes requests and never answers them, like a hung endpoint. */
let hanging: { on: boolean; held: { end(): void }[] };

beforeEach(async () => {
  received = [];
  failuresLeft = 0;
  hanging = { on: false, held: [] };
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (hanging.on) {
        hanging.held.push({ end: () => res.writeHead(503).end() });
        return;
      }
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(500).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${String(req.headers['x-exceptions-timestamp'])}.${body}`).digest('hex')}`;
      const given = String(req.headers['x-exceptions-signature'] ?? '');
      const signatureValid = given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
      received.push({ ...(JSON.parse(body) as Omit<Received, 'signatureValid' | 'eventId'>), eventId: String(req.headers['x-exceptions-event-id']), signatureValid });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  h = await startHarness({ env: { EXCEPTIONS_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`, EXCEPTIONS_WEBHOOK_SECRET: SECRET } });
});
afterEach(async () => {
  await h.close();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('the exceptions webhook', () => {
  it('POSTs every state change in order, signed with HMAC-SHA256, with the systems and reference to tag', async () => {
    await submitRequest(h, { affectedSystems: 'hr-app-01', externalRef: 'CHG-4711' });
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    expect(received.map((r) => r.kind)).toEqual(['exception.requested', 'exception.assessed', 'exception.approved']);
    expect(received.every((r) => r.signatureValid)).toBe(true);
    expect(received.at(-1)!.exceptionNow).toMatchObject({ id: 'EXC-0001', status: 'active', policy: 'MFA-01', affectedSystems: 'hr-app-01', externalRef: 'CHG-4711' });
    expect(received.map((r) => r.sequence)).toEqual([...received.map((r) => r.sequence)].sort((a, b) => a - b));
  });

  it('keeps the order and loses nothing while the receiver fails, and resumes after a restart', async () => {
    failuresLeft = 3;
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    expect(received).toEqual([]);
    await h.restart();
    for (let minute = 0; minute < 4; minute++) {
      h.clock.advance(60_000);
      await h.settle();
    }
    expect(failuresLeft).toBe(0);
    expect(received.map((r) => r.kind)).toEqual(['exception.requested', 'exception.assessed']);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    expect(received.map((r) => r.kind)).toEqual(['exception.requested', 'exception.assessed', 'exception.approved']);
  });
});

describe('the exceptions webhook at shutdown', () => {
  it('does not let a receiver that never answers hold up a stop, and sends that event again after the restart', async () => {
    await submitRequest(h);
    await h.settle();
    const sentBefore = received.length;
    hanging.on = true;
    // A state change made straight through the service, so nothing waits for delivery; the deliverer polls on its own.
    assessRisk(h.app.services, { exceptionId: 1, assessorId: PEOPLE.security, input: { likelihood: 2, impact: 2, rationale: 'Only 40 users, reachable from the VPN alone.' } });
    await expect.poll(() => hanging.held.length, { timeout: 5000 }).toBe(1);

    const started = performance.now();
    await h.restart();
    expect(performance.now() - started).toBeLessThan(6000);
    hanging.on = false;
    for (const held of hanging.held) held.end();
    // The event the hung receiver took was never recorded as sent, so the new process sends it.
    await expect.poll(() => received.length, { timeout: 5000 }).toBeGreaterThan(sentBefore);
    expect(received.at(-1)!.kind).toBe('exception.assessed');
    expect(h.app.register.db.select().from(webhookCursor).get()!.lastError).toBeNull();
  }, 20_000);
});

describe('event identifiers across a restore', () => {
  it('never sends an X-Exceptions-Event-Id twice, though a register restored from a backup hands its row ids out again', async () => {
    await submitRequest(h);
    const backup = join(dirname(h.databasePath), 'before-the-assessment.db');
    expect((await runCapturing(['backup', backup], { DATABASE_PATH: h.databasePath })).code).toBe(0);
    await assess(h, 'EXC-0001', 2, 2);
    await h.restart({
      whileStopped: () => {
        for (const suffix of ['-wal', '-shm']) rmSync(`${h.databasePath}${suffix}`, { force: true });
        copyFileSync(backup, h.databasePath);
      },
    });
    // Slack still shows the card as assessed; the restored register has it waiting, so the service is called directly.
    assessRisk(h.app.services, { exceptionId: 1, assessorId: PEOPLE.security2, input: { likelihood: 4, impact: 4, rationale: 'Assessed again after the restore, from the notes.' } });
    await h.settle();

    expect(received.map((r) => r.kind)).toEqual(['exception.requested', 'exception.assessed', 'exception.assessed']);
    expect(received[2]!.sequence).toBe(received[1]!.sequence);
    expect(new Set(received.map((r) => r.eventId)).size).toBe(3);
    expect(received.every((r) => r.eventId === r.id && /^[0-9a-f-]{36}$/.test(r.id))).toBe(true);
  });
});
