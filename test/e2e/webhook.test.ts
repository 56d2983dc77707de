import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../../src/slack/ids';
import { PEOPLE, startHarness, type Harness } from './harness';
import { assess, clickButton, decisionCard, submitRequest } from './flows';

const SECRET = 'webhook-secret-for-tests-0123';

interface Received {
  id: number;
  kind: string;
  exceptionNow: { id: string; status: string; policy: string; affectedSystems: string | null; externalRef: string | null } | null;
  signatureValid: boolean;
}

let h: Harness;
let receiver: Server;
let received: Received[];
let failuresLeft: number;

beforeEach(async () => {
  received = [];
  failuresLeft = 0;
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(500).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${String(req.headers['x-exceptions-timestamp'])}.${body}`).digest('hex')}`;
      const given = String(req.headers['x-exceptions-signature'] ?? '');
      const signatureValid = given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
      received.push({ ...(JSON.parse(body) as Omit<Received, 'signatureValid'>), signatureValid });
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
    expect(received.map((r) => r.id)).toEqual([...received.map((r) => r.id)].sort((a, b) => a - b));
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
