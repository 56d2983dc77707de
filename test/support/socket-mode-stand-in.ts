/**
 * Slack's side of Socket Mode, written from Slack's Socket Mode documentation: `apps.connections.open` (served by
 * the Web API stand-in, app-level token only) hands out a one-use WebSocket URL; a connection opens with `hello`;
 * every payload arrives in an envelope with an `envelope_id` that the app acks, with or without a response payload;
 * Slack sends `disconnect` with `refresh_requested` or `warning` before it recycles a connection, and sends events
 * again, with `retry_attempt` and `retry_reason`, when their ack does not come in time.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SlackStandIn } from './slack-stand-in.js';

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface Envelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface DeliveryResult {
  acked: boolean;
  /** The ack's payload; `{}` when the app acked with nothing. */
  payload?: Record<string, unknown>;
  /** Which connection carried the envelope that was acked (1 = the first the app opened). */
  connection?: number;
  ackMs?: number;
}

export interface SocketModeStandIn {
  appToken: string;
  /** Every envelope sent, in order, with whether and how it was acked. */
  envelopes: { envelope: Envelope; connection: number; ack?: Record<string, unknown>; ackMs?: number }[];
  /** How many connections the app has open (helloed and not closed). */
  openConnections(): number;
  /** Connection numbers, oldest first, of those open. */
  connectionIds(): number[];
  /** Times (ms since epoch) at which no connection was open, as [from, to] spans; an open span has `to` undefined. */
  gaps(): { from: number; to?: number }[];
  waitForConnections(count: number, timeoutMs?: number): Promise<void>;
  /** Sends an envelope on an open connection (the newest, as Slack prefers a fresh one) and waits for its ack. */
  deliver(type: EnvelopeType, payload: Record<string, unknown>, options?: { ackTimeoutMs?: number; waitForConnectionMs?: number; retryAttempt?: number; retryReason?: string }): Promise<DeliveryResult>;
  /** Events are sent again until acked: up to three retries, as Slack does, with `retry_attempt` counting them. */
  deliverEvent(payload: Record<string, unknown>, options?: { ackTimeoutMs?: number; retryDelaysMs?: number[] }): Promise<DeliveryResult & { attempts: number }>;
  /** Slack's announcement that it will recycle a connection: envelopes go to another one once there is one, and it is closed after `closeAfterMs` if the app has not closed it. */
  requestRefresh(connection?: number, reason?: 'refresh_requested' | 'warning', closeAfterMs?: number): void;
  /** The network drops every connection at once, with no close handshake. */
  dropAll(): void;
  close(): Promise<void>;
}

interface Link {
  id: number;
  socket: WebSocket;
  open: boolean;
  /** Slack has asked the app to replace this connection. */
  draining: boolean;
}

const TICKET_TTL_MS = 30_000;

export async function startSocketModeStandIn(web: SlackStandIn, options: { appToken?: string } = {}): Promise<SocketModeStandIn> {
  const appToken = options.appToken ?? `xapp-1-${web.appId}-${randomBytes(6).toString('hex')}`;
  const tickets = new Map<string, number>();
  const links: Link[] = [];
  const waiting = new Map<string, (ack: Record<string, unknown>) => void>();
  const envelopes: SocketModeStandIn['envelopes'] = [];
  const gaps: { from: number; to?: number }[] = [{ from: Date.now() }];
  let nextConnection = 1;

  const http = createServer((_req, res) => res.writeHead(426).end());
  const sockets = new Set<Socket>();
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const ticket = new URL(req.url ?? '/', 'http://stand-in.local').searchParams.get('ticket') ?? '';
    const issued = tickets.get(ticket);
    tickets.delete(ticket);
    if (issued === undefined || Date.now() - issued > TICKET_TTL_MS) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const port = (http.address() as AddressInfo).port;

  web.serveAppLevelMethod('apps.connections.open', appToken, () => {
    const ticket = randomBytes(16).toString('hex');
    tickets.set(ticket, Date.now());
    return { url: `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${web.appId}` };
  });

  const openLinks = () => links.filter((link) => link.open);
  const noteOpenCount = () => {
    const open = openLinks().length;
    const last = gaps.at(-1);
    if (open === 0 && (last === undefined || last.to !== undefined)) gaps.push({ from: Date.now() });
    if (open > 0 && last && last.to === undefined) last.to = Date.now();
  };

  function accept(socket: WebSocket): void {
    const link: Link = { id: nextConnection++, socket, open: true, draining: false };
    links.push(link);
    socket.on('message', (data) => {
      let message: { envelope_id?: unknown; payload?: unknown };
      try {
        message = JSON.parse(data.toString()) as typeof message;
      } catch {
        return;
      }
      if (typeof message.envelope_id !== 'string') return;
      waiting.get(message.envelope_id)?.((message.payload ?? {}) as Record<string, unknown>);
    });
    socket.on('close', () => {
      link.open = false;
      noteOpenCount();
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: openLinks().length,
        debug_info: { host: 'applink-stand-in', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: web.appId },
      }),
    );
    noteOpenCount();
  }

  // A connection Slack asked to refresh still carries envelopes until it closes, but only while it is the only one.
  const routable = () => {
    const open = openLinks();
    const fresh = open.filter((link) => !link.draining);
    return fresh.length > 0 ? fresh : open;
  };

  async function waitForRoutable(timeoutMs: number): Promise<Link | undefined> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const link = routable().at(-1);
      if (link || performance.now() >= until) return link;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  const standIn: SocketModeStandIn = {
    appToken,
    envelopes,
    openConnections: () => openLinks().length,
    connectionIds: () => openLinks().map((link) => link.id),
    gaps: () => gaps.map((gap) => ({ ...gap })),

    async waitForConnections(count, timeoutMs = 10_000) {
      const until = performance.now() + timeoutMs;
      while (openLinks().length < count) {
        if (performance.now() >= until) throw new Error(`waitForConnections: ${openLinks().length} of ${count} connections open after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },

    async deliver(type, payload, o = {}) {
      const link = await waitForRoutable(o.waitForConnectionMs ?? 0);
      if (!link) return { acked: false };
      const envelope: Envelope = {
        envelope_id: randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'),
        type,
        payload,
        accepts_response_payload: type !== 'events_api',
        ...(type === 'events_api' ? { retry_attempt: o.retryAttempt ?? 0, retry_reason: o.retryReason ?? '' } : {}),
      };
      const record: SocketModeStandIn['envelopes'][number] = { envelope, connection: link.id };
      envelopes.push(record);
      const sentAt = performance.now();
      const ack = new Promise<Record<string, unknown> | undefined>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(envelope.envelope_id);
          resolve(undefined);
        }, o.ackTimeoutMs ?? 3000);
        waiting.set(envelope.envelope_id, (answer) => {
          clearTimeout(timer);
          waiting.delete(envelope.envelope_id);
          resolve(answer);
        });
      });
      link.socket.send(JSON.stringify(envelope));
      const answer = await ack;
      if (answer === undefined) return { acked: false, connection: link.id };
      record.ack = answer;
      record.ackMs = performance.now() - sentAt;
      return { acked: true, payload: answer, connection: link.id, ackMs: record.ackMs };
    },

    async deliverEvent(payload, o = {}) {
      const delays = o.retryDelaysMs ?? [50, 200, 500];
      for (let attempt = 0; ; attempt++) {
        const result = await standIn.deliver('events_api', payload, { ackTimeoutMs: o.ackTimeoutMs, retryAttempt: attempt, retryReason: attempt === 0 ? '' : 'timeout', waitForConnectionMs: attempt === 0 ? 0 : 1000 });
        if (result.acked || attempt >= delays.length) return { ...result, attempts: attempt + 1 };
        await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
      }
    },

    requestRefresh(connection, reason = 'refresh_requested', closeAfterMs = 10_000) {
      const link = connection === undefined ? openLinks()[0] : openLinks().find((l) => l.id === connection);
      if (!link) throw new Error(`requestRefresh: connection ${connection ?? '(oldest)'} is not open`);
      link.draining = true;
      link.socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-stand-in' } }));
      setTimeout(() => link.socket.terminate(), closeAfterMs).unref();
    },

    dropAll() {
      for (const link of openLinks()) link.socket.terminate();
    },

    async close() {
      for (const link of links) link.socket.terminate();
      for (const socket of sockets) socket.destroy();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  return standIn;
}
