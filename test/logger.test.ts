import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { LogLevel, webApi, type Logger } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { describe, expect, it } from 'vitest';
import { createLogger, maskSecrets, withoutPayload } from '../src/logger';

// Issue 9 §2: what the logs may hold. The Slack libraries log whole payloads at debug level: what people typed,
// messages, views. These tests run the libraries' own code, record the lines it writes, and check what our logger
// makes of each of them, at every level.

const TYPED = 'Typed-by-a-person 7f3c9e: the payroll box has no MFA';
const BOT_TOKEN = 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx';
const require = createRequire(import.meta.url);
const LEVELS = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR] as const;

interface Raw {
  level: LogLevel;
  args: unknown[];
}

/** A Bolt Logger that keeps exactly what it is given: the lines as the Slack libraries write them. */
function recorder(): Logger & { raw: Raw[] } {
  const raw: Raw[] = [];
  const at = (level: LogLevel) => (...args: unknown[]) => void raw.push({ level, args });
  return { raw, debug: at(LogLevel.DEBUG), info: at(LogLevel.INFO), warn: at(LogLevel.WARN), error: at(LogLevel.ERROR), setLevel: () => {}, getLevel: () => LogLevel.DEBUG, setName: () => {} };
}

function capture(level: `${LogLevel}` = 'debug') {
  const lines: string[] = [];
  const logger = createLogger(level, (line) => lines.push(line));
  return { logger, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** The Web API client, as Bolt builds it, calling a Slack that answers with what it was sent. */
async function webApiLines(): Promise<Raw[]> {
  const rec = recorder();
  const fetch = async (_url: string | URL | Request, init?: RequestInit) =>
    new Response(JSON.stringify({ ok: true, channel: 'C0APPROVALS', ts: '1.2', message: { text: String(new URLSearchParams(String(init?.body)).get('text')) } }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  const client = new webApi.WebClient(BOT_TOKEN, { logger: rec, retryConfig: { retries: 0 }, fetch: fetch as typeof globalThis.fetch });
  await client.chat.postMessage({ channel: 'C0APPROVALS', text: TYPED });
  return rec.raw;
}

/** Socket Mode's client receiving an envelope, acknowledging it with field errors, and a message it cannot parse. */
async function socketModeLines(): Promise<Raw[]> {
  const rec = recorder();
  const client = new SocketModeClient({ appToken: 'xapp-1-A0TEST-123-abcdef', logger: rec });
  // The WebSocket itself is not under test: one that is open and takes whatever is sent.
  (client as unknown as { websocket: unknown }).websocket = { readyState: 1, isActive: () => true, send: (_data: string, done: (error?: Error) => void) => done() };
  const acked = new Promise<void>((resolve) => {
    client.on('interactive', ({ ack }: { ack: (response: unknown) => Promise<void> }) => {
      void ack({ response_action: 'errors', errors: { title: TYPED } }).then(resolve);
    });
  });
  const envelope = { envelope_id: 'E0ENVELOPE', type: 'interactive', accepts_response_payload: true, payload: { type: 'view_submission', view: { state: { values: { b: { a: { type: 'plain_text_input', value: TYPED } } } } } } };
  const internals = client as unknown as { onWebSocketMessage(data: string, isBinary: boolean): Promise<void> };
  await internals.onWebSocketMessage(JSON.stringify(envelope), false);
  await acked;
  await internals.onWebSocketMessage(`{"payload": "${TYPED}`, false);
  return rec.raw;
}

/** Bolt's acknowledgements over HTTP and Socket Mode, and its report of an error after an ack. */
async function boltLines(): Promise<Raw[]> {
  const rec = recorder();
  const { HTTPResponseAck } = require('@slack/bolt/dist/receivers/HTTPResponseAck.js') as { HTTPResponseAck: new (args: Record<string, unknown>) => { bind(): (body?: unknown) => Promise<void> } };
  const { SocketModeResponseAck } = require('@slack/bolt/dist/receivers/SocketModeResponseAck.js') as { SocketModeResponseAck: new (args: Record<string, unknown>) => { bind(): (body?: unknown) => Promise<void> } };
  const httpFunctions = require('@slack/bolt/dist/receivers/HTTPModuleFunctions.js') as { defaultProcessEventErrorHandler(args: Record<string, unknown>): Promise<boolean> };
  const response = { headersSent: false, writeHead: () => response, setHeader: () => response, end: () => response };
  await new HTTPResponseAck({ logger: rec, processBeforeResponse: false, httpRequest: {}, httpResponse: response }).bind()(TYPED);
  await new HTTPResponseAck({ logger: rec, processBeforeResponse: true, httpRequest: {}, httpResponse: response }).bind()(TYPED);
  await new SocketModeResponseAck({ logger: rec, socketModeClientAck: async () => {} }).bind()({ response_action: 'errors', errors: { title: TYPED } });
  await httpFunctions.defaultProcessEventErrorHandler({ error: new Error('listener failed'), logger: rec, response: { ...response, headersSent: true }, storedResponse: TYPED });
  // Developer mode logs each request's whole body as its message.
  rec.debug(JSON.stringify({ type: 'view_submission', view: { state: { values: { b: { a: { value: TYPED } } } } } }));
  return rec.raw;
}

describe('the Slack libraries log payloads; our logger keeps each line and drops the payload', () => {
  it('reads the library versions this test was written against', () => {
    // If an upgrade rewords a line, the prefixes in src/logger.ts must follow: these are the texts they match.
    const source = (path: string) => readFileSync(join(import.meta.dirname, '../node_modules', path), 'utf8');
    const webClient = source('@slack/web-api/dist/WebClient.js');
    for (const text of ['`http request body: ${', '`http request headers: ${', '`http request result: ${']) expect(webClient).toContain(text);
    const socketMode = source('@slack/socket-mode/dist/src/SocketModeClient.js');
    for (const text of ['`Received a message on the WebSocket: ${payload}`', '`Unable to parse an incoming WebSocket message (will ignore): ${', '`Calling ack() - type: ${event.type}, envelope_id: ${event.envelope_id}, data: ${', '`Sending a WebSocket message: ${flatMessage}`']) expect(socketMode).toContain(text);
    expect(source('@slack/bolt/dist/receivers/HTTPResponseAck.js')).toContain('`ack() call begins (body: ${responseBody})`');
    expect(source('@slack/bolt/dist/receivers/HTTPModuleFunctions.js')).toContain('storedResponse: ${storedResponse}`');
  });

  it.each([
    ['@slack/web-api', webApiLines, ['http request body: [omitted]', 'http request headers: [omitted]', 'http request result: [omitted]']],
    [
      '@slack/socket-mode',
      socketModeLines,
      [
        'Received a message on the WebSocket: [omitted]',
        'Calling ack() - type: interactive, envelope_id: E0ENVELOPE, data: [omitted]',
        'Sending a WebSocket message: [omitted]',
        'Unable to parse an incoming WebSocket message (will ignore): [omitted]',
      ],
    ],
    [
      '@slack/bolt',
      boltLines,
      [
        'ack() call begins (body: [omitted])',
        'ack() response sent (body: [omitted])',
        'ack() response stored (body: [omitted])',
        'Error details: Error: listener failed, storedResponse: [omitted]',
        '[omitted]',
      ],
    ],
  ] as const)('%s: the typed text is in what the library logs, and in no line of ours, at any level', async (_library, run, expected) => {
    const raw = await run();
    // The library really does put the payload in its lines: otherwise this test would prove nothing.
    expect(raw.some((r) => r.args.some((arg) => typeof arg === 'string' && arg.includes(TYPED)))).toBe(true);

    // The same lines, at the level the library chose and at every other: Bolt may be told to log at any level.
    for (const level of LEVELS) {
      const { logger, lines, entries } = capture('debug');
      for (const r of raw) logger[level](...r.args);
      expect(lines.join('\n')).not.toContain(TYPED.slice(0, 20));
      expect(lines.join('\n')).not.toContain(BOT_TOKEN);
      const messages = entries().map((e) => e.message);
      for (const line of expected) expect(messages).toContain(line);
      expect(entries().every((e) => e.level === level)).toBe(true);
    }
  });

  it('keeps what the library says around the payload, and lines without one as they are', () => {
    expect(withoutPayload('http request url: https://slack.com/api/chat.postMessage')).toBe('http request url: https://slack.com/api/chat.postMessage');
    expect(withoutPayload("apiCall('views.open') start")).toBe("apiCall('views.open') start");
    expect(withoutPayload('Failed to parse and verify the request data: Invalid request signature')).toBe('Failed to parse and verify the request data: Invalid request signature');
    // Anything else JSON-shaped a library puts in a line is cut off where it starts.
    expect(withoutPayload('Storing installation for {"team":"T0TEAM","text":"secret"}')).toBe('Storing installation for [omitted]');
  });
});

describe('one JSON object per line', () => {
  it('writes the level by name, the time, the name, the message and the fields', () => {
    const { logger, lines, entries } = capture('info');
    logger.event(LogLevel.WARN, 'notification will be retried', { outboxId: 7, exceptionId: 'EXC-0007' });
    logger.info('exception register listening on port 3000');
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => !line.includes('\n'))).toBe(true);
    expect(entries()[0]).toEqual({ level: 'warn', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), name: 'exceptions', message: 'notification will be retried', outboxId: 7, exceptionId: 'EXC-0007' });
    expect(entries()[1]).toMatchObject({ level: 'info', message: 'exception register listening on port 3000' });
  });

  it('writes nothing below its level, and a level set later (Bolt sets it) applies to request loggers already made', () => {
    const { logger, lines } = capture('info');
    const request = logger.child({ slackRequestId: 'R1' });
    logger.debug('http request url: https://slack.com/api/auth.test');
    request.event(LogLevel.DEBUG, 'refused a Slack request dated in the future or not at all');
    expect(lines).toEqual([]);
    logger.setLevel(LogLevel.DEBUG);
    expect(logger.getLevel()).toBe(LogLevel.DEBUG);
    request.debug('now it shows');
    expect(lines).toHaveLength(1);
    logger.setLevel(LogLevel.ERROR);
    request.event(LogLevel.WARN, 'hidden');
    expect(lines).toHaveLength(1);
  });

  it("puts a request logger's fields on each of its lines, including fields added after it was made", () => {
    const { logger, entries } = capture('info');
    const fields: Record<string, unknown> = { slackRequestId: '1.2.abc', user: 'U0REQUEST', exceptionId: undefined };
    const request = logger.child(fields);
    request.warn('could not check the owner with users.info; accepting the request without the check');
    fields.exceptionId = 'EXC-0001';
    request.event(LogLevel.INFO, 'slack request handled', { kind: 'view_submission', ms: 12.3 });
    logger.info('a line outside the request');
    const [warning, handled, outside] = entries();
    expect(warning).toMatchObject({ slackRequestId: '1.2.abc', user: 'U0REQUEST' });
    expect(warning).not.toHaveProperty('exceptionId');
    expect(handled).toMatchObject({ slackRequestId: '1.2.abc', user: 'U0REQUEST', exceptionId: 'EXC-0001', kind: 'view_submission', ms: 12.3 });
    expect(outside).not.toHaveProperty('slackRequestId');
  });

  it('shows an error as its name, message, code, Slack error and stack, never the Slack response it carries', () => {
    const { logger, entries } = capture('info');
    const error = Object.assign(new Error('An API error occurred: invalid_blocks'), { code: 'slack_webapi_platform_error', data: { ok: false, error: 'invalid_blocks', view: { text: TYPED } } });
    logger.event(LogLevel.ERROR, 'unexpected error while handling a Slack request', { error });
    logger.error('Slack API error: invalid_blocks', error);
    const [event, library] = entries();
    expect(event!.error).toEqual({ name: 'Error', message: 'An API error occurred: invalid_blocks', code: 'slack_webapi_platform_error', slackError: 'invalid_blocks', stack: expect.stringContaining('logger.test.ts') });
    expect((library!.details as unknown[])[0]).toMatchObject({ slackError: 'invalid_blocks' });
    expect(JSON.stringify(entries())).not.toContain(TYPED);
  });

  it('logs an object that refers to itself instead of throwing inside a listener', () => {
    const { logger, entries } = capture('info');
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    expect(() => logger.event(LogLevel.INFO, 'circular', { loop })).not.toThrow();
    expect(entries()[0]).toMatchObject({ message: 'circular', loop: { a: 1, self: '[Circular]' } });
  });
});

describe('tokens are masked wherever they appear', () => {
  it.each([
    ['a bot', BOT_TOKEN],
    ['a user', 'xoxp-1234-5678-90ab-cdef'],
    ['a refresh', 'xoxe-1-My0xLTEyMzQ1Njc4OTAtQUJD'],
    ['a rotated', 'xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTA'],
    ['an app-level', 'xapp-1-A0TEST-1234567890-abcdef0123'],
  ])('%s token in a message, a field, a nested field, an error and right after a newline', (_kind, token) => {
    const { logger, lines } = capture('debug');
    logger.info(`auth failed for ${token}`);
    logger.event(LogLevel.WARN, 'w', { token, nested: { deeper: [`Bearer ${token}`] } });
    logger.event(LogLevel.ERROR, 'e', { error: new Error(`invalid_auth: ${token}`) });
    logger.warn(`first line\n${token}`);
    logger.debug('http request failed', `token=${token}`);
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      expect(line).not.toContain(token);
      expect(line).toContain('[redacted]');
    }
  });

  it("masks a URL's user name, password and query in any line, keeping where it points", () => {
    const lines: string[] = [];
    const logger = createLogger('debug', (line) => lines.push(line));
    logger.event(LogLevel.WARN, 'call failed', { error: new Error('cannot reach https://ops:Hunter2-pw@hooks.example.com/in?token=Query-secret-77') });
    expect(lines[0]).toContain('https://[redacted]@hooks.example.com/in?[redacted]');
    expect(lines[0]).not.toMatch(/Hunter2|ops:|Query-secret/);
    expect(maskSecrets('{"message":"see https://hooks.example.com/in"}')).toBe('{"message":"see https://hooks.example.com/in"}');
  });

  it('leaves a line without a token as it is', () => {
    const line = '{"level":"info","message":"exception register listening on port 3000"}';
    expect(maskSecrets(line)).toBe(line);
  });
});
