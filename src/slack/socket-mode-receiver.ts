import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LogLevel, ReceiverMultipleAckError, webApi, type App, type Receiver, type ReceiverEvent } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import type { StructuredLogger } from '../logger';

/** What /healthz says about the link to Slack: a Socket Mode app with no open connection hears nothing. */
export interface SocketModeHealth {
  connected: boolean;
  /** When `connected` last changed (or the receiver started). */
  since: string;
  connections: number;
  reconnects: number;
  lastError: { at: string; message: string } | null;
}

/** Slack refused the app-level token itself: retrying cannot help, so start-up stops and names the variable. */
export class AppTokenRefusedError extends Error {
  readonly code = 'app_token_refused';
  readonly variable = 'SLACK_APP_TOKEN';
  constructor(readonly slackError: string) {
    super(
      `Slack refused the app-level token (${slackError}). Create one under Basic Information → App-Level Tokens with the connections:write scope, turn on Socket Mode, and set it; or unset SLACK_APP_TOKEN to run over HTTP.`,
    );
    this.name = 'AppTokenRefusedError';
  }
}

export interface SocketModeReceiverOptions {
  appToken: string;
  apiUrl: string;
  logger: StructuredLogger;
  /** Answers the HTTP port's requests (only GET /healthz in Socket Mode). */
  serveHttp: (req: IncomingMessage, res: ServerResponse) => void;
  /** First and longest wait between attempts to open a connection; tests shorten them. */
  backoff?: { initialMs: number; maxMs: number };
  /** How long a new connection may take to say hello before it is given up and tried again. */
  helloTimeoutMs?: number;
}

// Errors of apps.connections.open that mean the token itself is wrong; everything else (5xx, 429, the network) passes.
const REFUSED_TOKEN_ERRORS = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_allowed_token_type', 'missing_scope', 'forbidden_team', 'no_permission']);
// Slack asks for an envelope's ack within three seconds; work still unacknowledged after that has failed anyway.
const ACK_DEADLINE_MS = 3000;
// Slack keeps a connection it warned about for about ten seconds: the replacement must be up well within that.
const RETIRE_DEADLINE_MS = 8000;
const DISCONNECT_WAIT_MS = 1000;

interface Connection {
  client: SocketModeClient;
  open: boolean;
  /** Envelopes received on this connection whose ack has not been sent yet. */
  unacked: number;
  retiring: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function describe(error: unknown): string {
  const { code, statusCode, retryAfter } = (error ?? {}) as { code?: string; statusCode?: number; retryAfter?: number };
  if (code === webApi.ErrorCode.HTTPError) return `HTTP ${statusCode} from apps.connections.open`;
  if (code === webApi.ErrorCode.RateLimitedError) return `rate limited by Slack for ${retryAfter} s`;
  if (error instanceof Error) return error.message;
  return error === undefined ? 'the connection closed before Slack said hello' : String(error);
}

/** Slack's Retry-After on a 429, in milliseconds. */
function retryAfterMs(error: unknown): number {
  const { code, retryAfter } = (error ?? {}) as { code?: string; retryAfter?: number };
  return code === webApi.ErrorCode.RateLimitedError && Number.isFinite(retryAfter) ? Number(retryAfter) * 1000 : 0;
}

/** The Slack error code of a refused call, if it was one. */
function platformError(error: unknown): string | undefined {
  const { code, data } = (error ?? {}) as { code?: string; data?: { error?: unknown } };
  return code === webApi.ErrorCode.PlatformError && typeof data?.error === 'string' ? data.error : undefined;
}

function disconnectReason(data: unknown, isBinary: boolean): string | undefined {
  if (isBinary) return undefined;
  try {
    const message = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer)) as { type?: unknown; reason?: unknown };
    return message.type === 'disconnect' ? String(message.reason ?? 'unknown') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Bolt's Socket Mode receiver hands our no-retry Web API settings to its connection, so one HTTP 503 from
 * apps.connections.open rejected start() or, at Slack's routine refresh, left an unhandled rejection that ended the
 * process; and it closed a connection Slack asked to refresh before opening the next, leaving seconds with nowhere
 * for a click to go. This one retries with backoff for as long as it takes, opens the replacement before it lets
 * the old connection go, and sends every ack it owes before any connection closes.
 */
export class ResilientSocketModeReceiver implements Receiver {
  private app: App | undefined;
  private readonly connections = new Set<Connection>();
  private connecting: Promise<void> | undefined;
  private stopping = false;
  private everConnected = false;
  private onFirstFailure: (() => void) | undefined;
  private server: Server | undefined;
  private readonly state: SocketModeHealth = { connected: false, since: new Date().toISOString(), connections: 0, reconnects: 0, lastError: null };
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly helloTimeoutMs: number;

  constructor(private readonly options: SocketModeReceiverOptions) {
    this.backoff = options.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  }

  init(app: App): void {
    this.app = app;
  }

  health(): SocketModeHealth {
    return { ...this.state, lastError: this.state.lastError && { ...this.state.lastError } };
  }

  /**
   * Listens for /healthz first, so a monitor can see Slack being unreachable, then makes the first attempt to connect.
   * A refused token stops start-up; Slack being down does not: the app starts (jobs, deliveries) and keeps trying.
   */
  async start(port: number): Promise<Server> {
    this.stopping = false;
    const server = createServer(this.options.serveHttp);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => resolve());
    });
    let firstAttemptFailed: () => void = () => undefined;
    const firstAttempt = new Promise<void>((resolve) => (firstAttemptFailed = resolve));
    this.onFirstFailure = firstAttemptFailed;
    try {
      await Promise.race([this.ensureConnected(), firstAttempt]);
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    }
    return server;
  }

  /** Acks what is in hand (a submission already stored must not show the person an error), then closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.acksSent([...this.connections], ACK_DEADLINE_MS);
    await Promise.all([...this.connections].map((connection) => this.close(connection)));
    await new Promise<void>((resolve) => (this.server?.listening ? this.server.close(() => resolve()) : resolve()));
  }

  private ensureConnected(): Promise<void> {
    this.connecting ??= this.connectWithBackoff().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectWithBackoff(): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await this.openConnection();
        return;
      } catch (error) {
        const refused = platformError(error);
        if (refused && REFUSED_TOKEN_ERRORS.has(refused)) {
          this.recordError(`Slack refused the app-level token (${refused})`);
          // At start-up this stops the process; later (a token revoked while running) it is reported and retried slowly.
          if (!this.everConnected) throw new AppTokenRefusedError(refused);
        } else {
          this.recordError(describe(error));
        }
        const exponential = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(attempt, 16));
        const waitMs = Math.max(retryAfterMs(error), exponential / 2 + Math.random() * (exponential / 2));
        this.options.logger.event(LogLevel.WARN, 'cannot open a Socket Mode connection to Slack; trying again', { error: describe(error), retryInMs: Math.round(waitMs), attempt: attempt + 1 });
        this.onFirstFailure?.();
        this.onFirstFailure = undefined;
        await sleep(waitMs);
      }
    }
  }

  private async openConnection(): Promise<void> {
    const { appToken, apiUrl, logger } = this.options;
    const client = new SocketModeClient({
      appToken,
      // The library's own warnings repeat, less clearly, what this receiver logs about the same failure.
      logger: { ...logger, info: logger.debug, warn: logger.debug, error: logger.debug },
      // Reconnecting is done here, with backoff and a replacement opened first; the library would close first.
      autoReconnectEnabled: false,
      clientOptions: { slackApiUrl: apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: 10_000 },
    });
    const connection: Connection = { client, open: false, unacked: 0, retiring: false };
    this.interceptDisconnectNotices(connection);
    client.on('slack_event', (args: SlackEventArgs) => void this.dispatch(connection, args));
    client.on('error', () => undefined);
    client.on('disconnected', () => this.closed(connection));

    let timer: NodeJS.Timeout | undefined;
    const hello = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`Slack did not say hello within ${this.helloTimeoutMs} ms`)), this.helloTimeoutMs);
    });
    try {
      await Promise.race([client.start(), hello]);
    } catch (error) {
      void client.disconnect().catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (this.stopping) {
      void client.disconnect().catch(() => undefined);
      return;
    }
    const wasConnected = this.state.connected;
    connection.open = true;
    this.everConnected = true;
    this.connections.add(connection);
    this.state.connections = this.openCount();
    if (!wasConnected) {
      this.state.connected = true;
      this.state.since = new Date().toISOString();
    }
    this.options.logger.event(LogLevel.INFO, 'connected to Slack over Socket Mode', { connections: this.state.connections });
  }

  /**
   * Slack announces a refresh ("refresh_requested", or "warning" some seconds before it closes the connection) with
   * a disconnect message, on which the library closes at once. The message is held back here until a replacement
   * is connected and every ack owed on the old connection has been sent.
   */
  private interceptDisconnectNotices(connection: Connection): void {
    const { client } = connection;
    const handlers = client.listeners('ws_message') as ((data: unknown, isBinary: boolean) => void)[];
    client.removeAllListeners('ws_message');
    const handle = (data: unknown, isBinary: boolean) => handlers.forEach((handler) => handler.call(client, data, isBinary));
    client.on('ws_message', (data: unknown, isBinary: boolean) => {
      const reason = disconnectReason(data, isBinary);
      if (reason === undefined) return handle(data, isBinary);
      this.options.logger.event(LogLevel.INFO, 'Slack asked to refresh a Socket Mode connection', { reason });
      if (connection.retiring) return;
      connection.retiring = true;
      void this.retire(connection, reason).finally(() => handle(data, isBinary));
    });
  }

  private async retire(connection: Connection, reason: string): Promise<void> {
    if (this.stopping || (reason !== 'refresh_requested' && reason !== 'warning')) return;
    const replaced = this.ensureConnected().then(
      () => true,
      () => false,
    );
    await Promise.race([replaced, sleep(RETIRE_DEADLINE_MS)]);
    await this.acksSent([connection], ACK_DEADLINE_MS);
  }

  private closed(connection: Connection): void {
    const wasOpen = connection.open;
    connection.open = false;
    this.connections.delete(connection);
    this.state.connections = this.openCount();
    if (this.state.connections === 0 && this.state.connected) {
      this.state.connected = false;
      this.state.since = new Date().toISOString();
    }
    if (!wasOpen || this.stopping) return;
    this.state.reconnects++;
    if (!connection.retiring) this.options.logger.event(LogLevel.WARN, 'the Socket Mode connection to Slack closed; reconnecting', { connections: this.state.connections });
    if (this.state.connections === 0) void this.ensureConnected().catch(() => undefined);
  }

  private async close(connection: Connection): Promise<void> {
    await Promise.race([connection.client.disconnect().catch(() => undefined), sleep(DISCONNECT_WAIT_MS)]);
  }

  private async acksSent(connections: Connection[], deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    while (connections.some((connection) => connection.unacked > 0) && Date.now() < until) await sleep(5);
  }

  private async dispatch(connection: Connection, args: SlackEventArgs): Promise<void> {
    let acked = false;
    connection.unacked++;
    const settle = () => {
      if (acked) return;
      acked = true;
      connection.unacked--;
    };
    const event: ReceiverEvent = {
      body: args.body,
      retryNum: args.retry_num,
      retryReason: args.retry_reason,
      customProperties: {},
      ack: async (response?: unknown) => {
        if (acked) throw new ReceiverMultipleAckError();
        try {
          await args.ack(response as Record<string, unknown> | undefined);
        } finally {
          settle();
        }
      },
    };
    try {
      await this.app?.processEvent(event);
    } catch (error) {
      this.options.logger.event(LogLevel.ERROR, 'a Socket Mode envelope failed', { error, type: args.type });
      // An unacknowledged event is sent again by Slack; a failed click or command shows its own error instead.
      if (!acked && args.type === 'events_api') await event.ack().catch(() => undefined);
    } finally {
      settle();
    }
  }

  private openCount(): number {
    return [...this.connections].filter((connection) => connection.open).length;
  }

  private recordError(message: string): void {
    this.state.lastError = { at: new Date().toISOString(), message };
  }
}

interface SlackEventArgs {
  ack: (response?: Record<string, unknown>) => Promise<void>;
  envelope_id: string;
  type: string;
  body: Record<string, unknown>;
  retry_num?: number;
  retry_reason?: string;
}
