import { LogLevel, type Logger } from '@slack/bolt';
import { writeSync } from 'node:fs';
import pino, { type DestinationStream, type Logger as Pino } from 'pino';

const ORDER: Record<LogLevel, number> = { [LogLevel.DEBUG]: 10, [LogLevel.INFO]: 20, [LogLevel.WARN]: 30, [LogLevel.ERROR]: 40 };

/**
 * Anything shaped like a Slack token: bot, user, refresh and rotated tokens (xoxb-, xoxp-, xoxe-, xoxe.xoxp- …) and
 * app-level ones (xapp-). No word boundary is required in front, so a token right after an escaped newline is caught.
 */
const SECRET_PATTERN = /xox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+/g;

/** A URL, stopping where a JSON string or the text around it does: scheme, user name and password, where, query. */
const URL_PATTERN = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"]*@)?([^\s?#"]*)(\?[^\s#"]*)?/gi;

/**
 * A URL keeps where it points and loses its user name, password and query, where webhook and API credentials ride:
 * an error that names the URL it could not reach (fetch does) then tells nobody the password.
 */
export function withoutUrlSecrets(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_PATTERN, (_url, scheme: string, userinfo: string | undefined, rest: string, query: string | undefined) => `${scheme}${userinfo ? '[redacted]@' : ''}${rest}${query ? '?[redacted]' : ''}`);
}

/** Masks tokens and URL credentials wherever they appear in a finished line: a message, a field, an error's stack. */
export function maskSecrets(line: string): string {
  return withoutUrlSecrets(line.includes('xox') || line.includes('xapp-') ? line.replace(SECRET_PATTERN, '[redacted]') : line);
}

const OMITTED = '[omitted]';

/**
 * The Slack libraries' lines that end in a payload (what people typed, messages, views, tokens' neighbours): the
 * line is kept, the payload dropped. @slack/web-api logs each call's body, headers and result at debug level;
 * @slack/socket-mode each envelope received, acknowledged and sent; Bolt the body of each ack.
 */
const PAYLOAD_AFTER: readonly string[] = [
  'http request body: ',
  'http request headers: ',
  'http request result: ',
  'Received a message on the WebSocket: ',
  'Unable to parse an incoming WebSocket message (will ignore): ',
  'Sending a WebSocket message: ',
  'ChatStreamer appended to buffer: ',
  'AWS event: ',
];
const PAYLOAD_INSIDE: readonly (readonly [RegExp, string])[] = [
  // Bolt: "ack() call begins (body: …)", "ack() response stored (body: …)", "ack() response sent (body: …)"
  [/^(ack\(\) [a-z ]+ \(body: )[\s\S]*\)$/, `$1${OMITTED})`],
  // @slack/socket-mode: "Calling ack() - type: …, envelope_id: …, data: {…}"
  [/^(Calling ack\(\) - type: [^,]*, envelope_id: [^,]*, data: )[\s\S]*$/, `$1${OMITTED}`],
  // Bolt, after an error: "Error details: …, storedResponse: <the ack's body>"
  [/(, storedResponse: )[\s\S]*$/, `$1${OMITTED}`],
];

/**
 * What a Slack library's line may say: its own words, never a payload. Anything JSON-shaped still in it (Bolt's
 * developer mode logs whole bodies; a parse error quotes what it could not parse) is cut off where it starts.
 */
export function withoutPayload(message: string): string {
  for (const prefix of PAYLOAD_AFTER) if (message.startsWith(prefix)) return prefix + OMITTED;
  for (const [pattern, replacement] of PAYLOAD_INSIDE) if (pattern.test(message)) return message.replace(pattern, replacement);
  const json = message.search(/[{[]\s*"/);
  return json === -1 ? message : `${message.slice(0, json)}${OMITTED}`;
}

/**
 * Kept so that callers written for the request context need no change: lines are stamped with a request's fields
 * only when logged through that request's logger (`logger.child`), so there is nothing to step out of.
 */
export function withoutLogFields<T>(work: () => T): T {
  return work();
}

export interface StructuredLogger extends Logger {
  event(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /**
   * The same logger with `fields` on every line, e.g. one Slack request's ID, person and exception. The object is
   * read at each line, so a field added to it later (the exception a submission just created) shows from then on.
   */
  child(fields: Record<string, unknown>): StructuredLogger;
}

/** An error as a log shows it: what it is and where, not the Slack response or request it may carry. */
function render(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const { code, data } = value as { code?: unknown; data?: { error?: unknown } };
    return { name: value.name, message: value.message, code, slackError: data?.error, stack: value.stack };
  }
  if (depth < 2 && Array.isArray(value)) return value.map((item) => render(item, depth + 1));
  return value;
}

function renderFields(fields: Record<string, unknown>): Record<string, unknown> {
  let rendered: Record<string, unknown> | undefined;
  for (const key in fields) {
    const value = fields[key];
    if (value instanceof Error || Array.isArray(value)) {
      rendered ??= { ...fields };
      rendered[key] = render(value);
    }
  }
  return rendered ?? fields;
}

interface Shared {
  threshold: number;
  target: Pino;
  root: Pino;
}

function structured(shared: Shared, bound: (() => Record<string, unknown>) | undefined): StructuredLogger {
  const emit = (lvl: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < shared.threshold) return;
    const own = fields ? renderFields(fields) : undefined;
    if (bound) shared.target[lvl]({ ...bound(), ...own }, message);
    else if (own) shared.target[lvl](own, message);
    else shared.target[lvl](message);
  };
  // What the Slack libraries log through Bolt's Logger interface: the level is checked before anything is built.
  const fromArgs =
    (lvl: LogLevel) =>
    (...msg: unknown[]) => {
      if (ORDER[lvl] < shared.threshold) return;
      const [first, ...rest] = msg;
      const text = withoutPayload(first instanceof Error ? first.message : String(first));
      const details = first instanceof Error ? [first, ...rest] : rest;
      emit(lvl, text, details.length > 0 ? { details: details.map((d) => (typeof d === 'string' ? withoutPayload(d) : d)) } : undefined);
    };
  return {
    debug: fromArgs(LogLevel.DEBUG),
    info: fromArgs(LogLevel.INFO),
    warn: fromArgs(LogLevel.WARN),
    error: fromArgs(LogLevel.ERROR),
    setLevel: (next) => {
      shared.threshold = ORDER[next];
    },
    getLevel: () => (Object.keys(ORDER) as LogLevel[]).find((key) => ORDER[key] === shared.threshold) ?? LogLevel.INFO,
    setName: (next) => {
      shared.target = shared.root.child({ name: next });
    },
    event: emit,
    child: (fields) => structured(shared, bound ? () => ({ ...bound(), ...fields }) : () => fields),
  };
}

/**
 * Standard error, shared by every logger in the process so that their lines keep one order. Lines are gathered until
 * 4 KB wait or a tenth of a second has passed, then written in the event loop's own thread: one system call per
 * batch, in order, and never a write in flight elsewhere that a later one could overtake. Standard error is made
 * non-blocking when it is a pipe, so a slow reader that leaves the pipe full costs a write nothing: what it does
 * not take waits here and is tried again shortly. What still waits when the process exits (process.exit(), after
 * shutdown or a refused configuration, or a crash) is written before it ends, waiting out a full pipe for at most
 * ten seconds; only a SIGKILL loses the last tenth of a second. Past 16 MB waiting (a reader that stopped) lines are
 * dropped rather than memory filled.
 */
class StandardError implements DestinationStream {
  static readonly BATCH = 4096;
  static readonly PERIOD_MS = 100;
  static readonly RETRY_MS = 20;
  static readonly MAX_WAITING = 16 * 1024 * 1024;
  static readonly EXIT_WAIT_MS = 10_000;

  private queued = '';
  /** The part of a batch the pipe did not take yet: always written before anything queued after it. */
  private rest: Buffer | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor() {
    // Opening process.stderr gives a pipe to libuv, which sets it non-blocking: a full pipe answers EAGAIN at once.
    void process.stderr;
    process.once('exit', () => this.drain(Date.now() + StandardError.EXIT_WAIT_MS));
  }

  write(line: string): void {
    if (this.queued.length + (this.rest?.length ?? 0) + line.length > StandardError.MAX_WAITING) return;
    this.queued += line;
    if (this.queued.length >= StandardError.BATCH) this.drain();
    else this.later(StandardError.PERIOD_MS);
  }

  /** Writes what waits, in order; `until` (at exit) keeps waiting out a full pipe until then instead of retrying later. */
  private drain(until?: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (;;) {
      if (!this.rest) {
        if (this.queued === '') return;
        this.rest = Buffer.from(this.queued);
        this.queued = '';
      }
      try {
        const written = writeSync(2, this.rest);
        this.rest = written >= this.rest.length ? null : this.rest.subarray(written);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
          // Nobody reads standard error any more (EPIPE, a closed descriptor): there is nowhere left to write.
          this.rest = null;
          this.queued = '';
          return;
        }
        if (until === undefined) return this.later(StandardError.RETRY_MS);
        if (Date.now() > until) return;
        Atomics.wait(PAUSE, 0, 0, 5);
      }
    }
  }

  private later(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.drain(), ms);
    // Waiting lines never keep the process alive: exit writes them.
    this.timer.unref();
  }
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));
let standardError: StandardError | undefined;

/**
 * One JSON object per line on standard error, so logs can be searched by exception or request; tokens are masked
 * wherever they appear, and the Slack libraries' payloads are dropped from their lines. How lines reach standard
 * error without holding up a request, in order and whatever the ending: `StandardError`. `write`, when given,
 * receives each line instead, without its newline and synchronously: tests read what was logged.
 */
export function createLogger(level: `${LogLevel}` = 'info', write?: (line: string) => void): StructuredLogger {
  const destination: DestinationStream = write
    ? { write: (line) => write(line.endsWith('\n') ? line.slice(0, -1) : line) }
    : (standardError ??= new StandardError());
  const root = pino(
    {
      // Levels are checked here before pino sees a line, so that Bolt's setLevel reaches every child at once.
      level: 'debug',
      base: null,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: maskSecrets },
    },
    destination,
  );
  return structured({ threshold: ORDER[level as LogLevel], root, target: root.child({ name: 'exceptions' }) }, undefined);
}
