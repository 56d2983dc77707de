/**
 * A local stand-in for the Slack Web API: a real HTTP server that records every call and
 * answers the way Slack does (HTTP 200 with `{ok:false, error}` for API errors).
 * Point the app's WebClient at `standIn.url` (`slackApiUrl` / SLACK_API_URL).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { blockTextLength, MESSAGE_BLOCK_TEXT_LIMIT, validateBlocks, validateView } from './block-kit-rules.js';

export interface SlackCall { method: string; args: Record<string, unknown>; token?: string; at: number; response: Record<string, unknown>; httpStatus: number }
export interface SlackUser { id: string; name: string; realName?: string; tz?: string; isBot?: boolean; deleted?: boolean; /** users.info returns it as profile.email, as Slack does for an app with users:read.email. */ email?: string }
/** A channel conversations.info describes: public, not archived and with the bot in it unless said otherwise. */
export interface SlackChannel { id: string; name?: string; isPrivate?: boolean; isMember?: boolean; isArchived?: boolean }
export interface StoredMessage { channel: string; ts: string; threadTs?: string; text?: string; blocks?: unknown[]; user: string; updates: number }
export interface FailureRule { status: 500 | 429 | 503; times?: number; untilMs?: number; retryAfterSeconds?: number; methods?: string[] }
export interface StoredView { id: string; view: Record<string, unknown>; userId?: string }
export interface StoredUpload { id: string; filename: string; bytes: Buffer; channelId?: string; title?: string }
/** Where an interaction happened; lets response_url `replace_original`/`delete_original` act on the right message. */
export interface InteractionOrigin { channel?: string; ts?: string; /** Who the interaction came from: whom an ephemeral reply reaches. */ userId?: string }

export interface SlackStandIn {
  url: string;
  botToken: string; botUserId: string; botId: string; appId: string; teamId: string;
  calls: SlackCall[];
  callsTo(method: string): SlackCall[];
  rejected(): SlackCall[];
  messages(channel?: string): StoredMessage[];
  dmsTo(userId: string): StoredMessage[];
  responseUrlPosts: { url: string; body: Record<string, unknown>; userId?: string }[];
  views: StoredView[];
  uploads: StoredUpload[];
  responseUrl(origin?: InteractionOrigin): string;
  issueTriggerId(context?: { userId?: string; viewId?: string }): string;
  addUser(user: SlackUser): void;
  /** Adds or replaces a channel conversations.info knows; C0APPROVALS and C0COMMITTEE are known from the start. */
  addChannel(channel: SlackChannel): void;
  /** Takes a scope from the bot token until reset(): conversations.info or .history then answers missing_scope, as Slack does. */
  revokeScope(scope: 'channels:read' | 'groups:read' | 'channels:history' | 'groups:history'): void;
  user(id: string): SlackUser | undefined;
  /** Records a message written by a person (not the bot), e.g. the origin of a thread reply or a shortcut. */
  seedMessage(message: { channel: string; user: string; text?: string; ts?: string; threadTs?: string; blocks?: unknown[] }): StoredMessage;
  fail(rule: FailureRule): void;
  /** Uploads become usable in image blocks only `ms` after they complete, as Slack finishes processing a file asynchronously; until reset(). */
  processFilesFor(ms: number): void;
  /** Answers `method` only after `ms` from now on (a slow Slack), until `slowDown(method, 0)`. */
  slowDown(method: string, ms: number): void;
  /** Serves a method that takes the app-level token (xapp-…), as apps.connections.open does; other tokens are refused. */
  serveAppLevelMethod(method: string, appToken: string, handler: (args: Record<string, unknown>) => Record<string, unknown>): void;
  clearFailures(): void;
  reset(): void;
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

type Args = Record<string, unknown>;
type Reply = Record<string, unknown>;

const TRIGGER_TTL_MS = 3_000;
const RESPONSE_URL_TTL_MS = 30 * 60_000;
const RESPONSE_URL_MAX_USES = 5;
const MAX_TEXT_LENGTH = 40_000;
const MAX_BODY_BYTES = 50 * 1024 * 1024;
const VIEW_STACK_LIMIT = 3;
// Arguments that arrive as JSON strings inside form bodies.
const JSON_ARGS = ['blocks', 'attachments', 'view', 'files', 'metadata'];
const USER_ID = /^[UW][A-Z0-9]+$/;
const CONVERSATION_ID = /^[CGD][A-Z0-9]+$/;

/** An API-level refusal: HTTP 200 `{ok:false, error}`. */
class Refusal extends Error {
  constructor(readonly error: string, readonly messages?: string[], readonly details?: Reply) {
    super(error);
  }
}

// The channels the test harnesses and the bench configure, so an app started against the stand-in passes its start-up check.
const DEFAULT_CHANNELS: SlackChannel[] = [
  { id: 'C0APPROVALS', name: 'security-approvals' },
  { id: 'C0COMMITTEE', name: 'security-committee' },
];

function randomId(prefix: string, length = 10): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = randomBytes(length);
  let id = prefix;
  for (const byte of bytes) id += alphabet[byte % alphabet.length];
  return id;
}

function stringArg(args: Args, key: string): string | undefined {
  const value = args[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tzOffsetSeconds(tz: string): number {
  try {
    const name = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' })
      .formatToParts(new Date())
      .find((p) => p.type === 'timeZoneName')?.value;
    const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name ?? '');
    if (!match) return 0;
    const seconds = Number(match[2]) * 3600 + Number(match[3]) * 60;
    return match[1] === '-' ? -seconds : seconds;
  } catch {
    return 0;
  }
}

/** Form decoding that, unlike URLSearchParams, notices broken percent-escapes. */
function parseForm(text: string): Args | undefined {
  const args: Args = {};
  if (text.trim() === '') return args;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    try {
      args[decodeURIComponent(rawKey.replace(/\+/g, ' '))] = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  }
  return args;
}

type FormValue = NonNullable<ReturnType<FormData['get']>>;

async function parseMultipart(body: Buffer, contentType: string): Promise<Map<string, FormValue> | undefined> {
  try {
    const form = await new Request('http://stand-in.local/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(body) }).formData();
    const entries = new Map<string, FormValue>();
    form.forEach((value, key) => entries.set(key, value));
    return entries;
  } catch {
    return undefined;
  }
}

/** Orders Slack timestamps exactly; as floats, neighbouring microseconds can collide. */
function compareTs(a: string, b: string): number {
  const [aSec = '', aMicro = ''] = a.split('.');
  const [bSec = '', bMicro = ''] = b.split('.');
  return Number(aSec) - Number(bSec) || Number(aMicro.padEnd(6, '0')) - Number(bMicro.padEnd(6, '0'));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

interface Trigger { expiresAt: number; used: boolean; userId?: string; viewId?: string }
interface ResponseUrlState { origin?: InteractionOrigin; uses: number; expiresAt: number }
interface ViewRecord { id: string; rootId: string; hash: string; userId?: string; externalId?: string; view: Record<string, unknown> }
interface ActiveRule extends FailureRule { remaining?: number }
interface PendingUpload { filename: string; length: number; bytes?: Buffer }

class StandIn implements SlackStandIn {
  url = '';
  readonly botToken: string;
  readonly botUserId = 'U0STANDBOT';
  readonly botId = 'B0STANDBOT';
  readonly appId = 'A0STANDAPP';
  readonly teamId = 'T0STANDIN';
  calls: SlackCall[] = [];
  responseUrlPosts: { url: string; body: Record<string, unknown>; userId?: string }[] = [];
  views: StoredView[] = [];
  uploads: StoredUpload[] = [];

  private readonly server = createServer((req, res) => void this.route(req, res));
  private readonly users = new Map<string, SlackUser>();
  private readonly channels = new Map<string, SlackChannel>();
  private revokedScopes = new Set<string>();
  private readonly dmChannels = new Map<string, string>(); // user id → D… id, stable across reset()
  private readonly groupDmChannels = new Map<string, string>(); // sorted user ids → G… id
  private storedMessages: StoredMessage[] = [];
  private viewRecords = new Map<string, ViewRecord>();
  private triggers = new Map<string, Trigger>();
  private responseUrls = new Map<string, ResponseUrlState>();
  private pendingUploads = new Map<string, PendingUpload>();
  private failures: ActiveRule[] = [];
  private readonly appLevelHandlers = new Map<string, { appToken: string; handler: (args: Args) => Reply }>();
  private readonly delays = new Map<string, number>();
  private fileProcessingMs = 0;
  private readonly fileReadyAt = new Map<string, number>();
  private lastTsMicros = 0;

  private readonly handlers: Record<string, (args: Args) => Reply> = {
    'auth.test': () => this.authTest(),
    'chat.postMessage': (a) => this.postMessage(a),
    'chat.update': (a) => this.updateMessage(a),
    'chat.postEphemeral': (a) => this.postEphemeral(a),
    'chat.getPermalink': (a) => this.getPermalink(a),
    'views.open': (a) => this.openView(a, false),
    'views.push': (a) => this.openView(a, true),
    'views.update': (a) => this.updateView(a),
    'views.publish': (a) => this.publishView(a),
    'conversations.open': (a) => this.openConversation(a),
    'users.info': (a) => this.usersInfo(a),
    'conversations.info': (a) => this.conversationInfo(a),
    'conversations.history': (a) => this.conversationHistory(a),
    'files.getUploadURLExternal': (a) => this.getUploadUrl(a),
    'files.completeUploadExternal': (a) => this.completeUpload(a),
  };

  constructor(botToken: string) {
    this.botToken = botToken;
    this.addUser({ id: this.botUserId, name: 'exceptions', realName: 'Exception Register', isBot: true });
    for (const channel of DEFAULT_CHANNELS) this.addChannel(channel);
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${address.port}/api/`;
  }

  private get origin(): string {
    return this.url.replace(/\/api\/$/, '');
  }

  // ---- public helpers -------------------------------------------------------------------

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method && c.httpStatus === 200 && c.response.ok === true);
  }

  rejected(): SlackCall[] {
    return this.calls.filter((c) => c.httpStatus !== 200 || c.response.ok !== true);
  }

  messages(channel?: string): StoredMessage[] {
    return this.storedMessages
      .filter((m) => channel === undefined || m.channel === channel)
      .sort((a, b) => compareTs(a.ts, b.ts))
      .map((m) => ({ ...m }));
  }

  dmsTo(userId: string): StoredMessage[] {
    const channel = this.dmChannels.get(userId);
    return channel ? this.messages(channel) : [];
  }

  responseUrl(origin?: InteractionOrigin): string {
    const id = randomBytes(12).toString('hex');
    this.responseUrls.set(id, { origin, uses: 0, expiresAt: Date.now() + RESPONSE_URL_TTL_MS });
    return `${this.origin}/response/${this.teamId}/${id}`;
  }

  issueTriggerId(context: { userId?: string; viewId?: string } = {}): string {
    const id = `${Math.floor(Date.now() / 1000)}.${Date.now() % 1_000_000}.${randomBytes(16).toString('hex')}`;
    this.triggers.set(id, { expiresAt: Date.now() + TRIGGER_TTL_MS, used: false, ...context });
    return id;
  }

  addUser(user: SlackUser): void {
    this.users.set(user.id, { ...user });
  }

  user(id: string): SlackUser | undefined {
    const user = this.users.get(id);
    return user && { ...user };
  }

  addChannel(channel: SlackChannel): void {
    this.channels.set(channel.id, { ...channel });
  }

  revokeScope(scope: 'channels:read' | 'groups:read' | 'channels:history' | 'groups:history'): void {
    this.revokedScopes.add(scope);
  }

  seedMessage(m: { channel: string; user: string; text?: string; ts?: string; threadTs?: string; blocks?: unknown[] }): StoredMessage {
    const ts = m.ts ?? this.nextTs();
    const existing = this.findMessage(m.channel, ts);
    if (existing) return { ...existing };
    const stored: StoredMessage = { channel: m.channel, ts, threadTs: m.threadTs, text: m.text, blocks: m.blocks, user: m.user, updates: 0 };
    this.storedMessages.push(stored);
    return { ...stored };
  }

  fail(rule: FailureRule): void {
    this.failures.push({ ...rule, remaining: rule.times });
  }

  processFilesFor(ms: number): void {
    this.fileProcessingMs = ms;
  }

  slowDown(method: string, ms: number): void {
    if (ms > 0) this.delays.set(method, ms);
    else this.delays.delete(method);
  }

  serveAppLevelMethod(method: string, appToken: string, handler: (args: Args) => Reply): void {
    this.appLevelHandlers.set(method, { appToken, handler });
  }

  clearFailures(): void {
    this.failures = [];
  }

  reset(): void {
    this.calls = [];
    this.responseUrlPosts = [];
    this.views = [];
    this.uploads = [];
    this.storedMessages = [];
    this.viewRecords = new Map();
    this.triggers = new Map();
    this.responseUrls = new Map();
    this.pendingUploads = new Map();
    this.failures = [];
    this.revokedScopes = new Set();
    this.fileProcessingMs = 0;
    this.fileReadyAt.clear();
  }

  async waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    // performance.now(): tests may fake Date, which must not freeze the timeout.
    const deadline = performance.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        if (predicate()) return;
        lastError = undefined;
      } catch (error) {
        lastError = error; // predicates may throw while state is still incomplete
      }
      if (performance.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    const recent = this.calls.slice(-8).map((c) => `${c.method} → ${c.httpStatus} ${c.response.ok === true ? 'ok' : String(c.response.error)}`);
    const cause = lastError instanceof Error ? `\nlast predicate error: ${lastError.message}` : '';
    throw new Error(`waitFor: condition not met within ${timeoutMs}ms${cause}\nlast Slack calls:\n  ${recent.join('\n  ') || '(none)'}`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- HTTP routing ---------------------------------------------------------------------

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    try {
      const body = await readBody(req);
      const path = new URL(req.url ?? '/', 'http://stand-in.local').pathname;
      if (path.startsWith('/api/')) return await this.handleApi(req, res, path.slice('/api/'.length), body, at);
      const uploadId = /^\/upload\/([A-Z0-9]+)$/.exec(path)?.[1];
      if (uploadId && req.method === 'POST') return await this.handleUpload(req, res, uploadId, body);
      const responseId = /^\/response\/[A-Z0-9]+\/([a-f0-9]+)$/.exec(path)?.[1];
      if (responseId && req.method === 'POST') return this.handleResponseUrl(req, res, responseId, body, at);
      sendJson(res, 404, { ok: false, error: 'not_found' });
    } catch (error) {
      // Never crash the test run on a malformed request.
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'fatal_error', detail: String(error) });
      else res.end();
    }
  }

  private takeFailure(method: string): ActiveRule | undefined {
    const now = Date.now();
    this.failures = this.failures.filter((r) => r.remaining !== 0 && (r.untilMs === undefined || now < r.untilMs));
    const rule = this.failures.find((r) => r.methods === undefined || r.methods.includes(method));
    if (rule && rule.remaining !== undefined) rule.remaining -= 1;
    return rule;
  }

  private async handleApi(req: IncomingMessage, res: ServerResponse, rawMethod: string, body: Buffer, at: number): Promise<void> {
    const method = decodeURIComponent(rawMethod);
    const record = (args: Args, response: Reply, httpStatus: number, token?: string): void => {
      this.calls.push({ method, args, token, at, response, httpStatus });
    };

    const parsed = await this.parseApiRequest(req, body);
    const delay = this.delays.get(method);
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    const failure = this.takeFailure(method);
    if (failure) {
      const attempted = 'args' in parsed ? parsed.args : {};
      const token = 'args' in parsed ? parsed.token : undefined;
      if (failure.status === 429) {
        const response = { ok: false, error: 'ratelimited' };
        record(attempted, response, 429, token);
        return sendJson(res, 429, response, { 'retry-after': String(failure.retryAfterSeconds ?? 1) });
      }
      record(attempted, { ok: false, error: `http_${failure.status}` }, failure.status, token);
      res.writeHead(failure.status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<html><head><title>${failure.status}</title></head><body><h1>Slack is having trouble (${failure.status})</h1></body></html>`);
      return;
    }
    if ('error' in parsed) {
      const response = { ok: false, error: parsed.error };
      record({}, response, 200);
      return sendJson(res, 200, response);
    }
    const { args, token } = parsed;
    const respond = (response: Reply): void => {
      record(args, response, 200, token);
      sendJson(res, 200, response);
    };

    const appLevel = this.appLevelHandlers.get(method);
    if (appLevel) {
      if (!token) return respond({ ok: false, error: 'not_authed' });
      if (token === this.botToken) return respond({ ok: false, error: 'not_allowed_token_type' });
      if (token !== appLevel.appToken) return respond({ ok: false, error: 'invalid_auth' });
      return respond({ ok: true, ...appLevel.handler(args) });
    }
    const handler = this.handlers[method];
    if (!handler) return respond({ ok: false, error: 'unknown_method', req_method: method });
    if (!token) return respond({ ok: false, error: 'not_authed' });
    if (token !== this.botToken) return respond({ ok: false, error: 'invalid_auth' });
    try {
      respond({ ok: true, ...handler(args) });
    } catch (error) {
      if (!(error instanceof Refusal)) {
        // A stand-in bug must show up in rejected(), not vanish.
        const response = { ok: false, error: 'fatal_error', detail: String(error) };
        record(args, response, 500, token);
        return sendJson(res, 500, response);
      }
      const response: Reply = { ok: false, error: error.error, ...error.details };
      if (error.messages) response.response_metadata = { messages: error.messages };
      respond(response);
    }
  }

  private async parseApiRequest(req: IncomingMessage, body: Buffer): Promise<{ args: Args; token?: string } | { error: string }> {
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const query = Object.fromEntries(new URL(req.url ?? '/', 'http://stand-in.local').searchParams);
    let args: Args;
    let bodyToken: string | undefined;

    if (contentType.startsWith('application/json')) {
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return { error: 'invalid_json' };
      }
      if (!isRecord(json)) return { error: 'invalid_json' };
      args = json; // Slack ignores a token inside a JSON body: it must come in the header
    } else if (contentType.startsWith('multipart/form-data')) {
      const entries = await parseMultipart(body, contentType);
      if (!entries) return { error: 'invalid_form_data' };
      args = {};
      for (const [key, value] of entries) args[key] = typeof value === 'string' ? value : `[file ${value.name}]`;
      bodyToken = stringArg(args, 'token');
    } else if (contentType.startsWith('application/x-www-form-urlencoded') || contentType.startsWith('text/plain') || (contentType === '' && body.length === 0)) {
      const form = parseForm(body.toString('utf8'));
      if (!form) return { error: 'invalid_form_data' };
      args = form;
      bodyToken = stringArg(args, 'token');
    } else if (contentType === '') {
      return { error: 'missing_post_type' };
    } else {
      return { error: 'invalid_post_type' };
    }

    args = { ...query, ...args };
    const token = bearer ?? bodyToken ?? stringArg(query, 'token');
    delete args.token;
    for (const key of JSON_ARGS) {
      const value = args[key];
      if (typeof value !== 'string') continue;
      try {
        args[key] = JSON.parse(value);
      } catch {
        // left as a string; the handler reports it the way Slack would
      }
    }
    return { args, token };
  }

  // ---- messages -------------------------------------------------------------------------

  private nextTs(): string {
    // Unique and increasing, in Slack's "seconds.micros" format.
    this.lastTsMicros = Math.max(Date.now() * 1000, this.lastTsMicros + 100);
    const seconds = Math.floor(this.lastTsMicros / 1e6);
    const micros = this.lastTsMicros % 1e6;
    return `${seconds}.${String(micros).padStart(6, '0')}`;
  }

  private findMessage(channel: string, ts: string): StoredMessage | undefined {
    return this.storedMessages.find((m) => m.channel === channel && m.ts === ts);
  }

  private dmChannelFor(userId: string): string {
    let channel = this.dmChannels.get(userId);
    if (!channel) {
      channel = randomId('D');
      this.dmChannels.set(userId, channel);
    }
    return channel;
  }

  private isKnownDm(channel: string): boolean {
    return [...this.dmChannels.values()].includes(channel);
  }

  /** chat.postMessage accepts a user id and posts into the bot's DM with that user. */
  private resolvePostChannel(channel: string | undefined): string {
    if (!channel) throw new Refusal('channel_not_found');
    if (USER_ID.test(channel)) {
      const user = this.users.get(channel);
      if (user?.deleted || user?.isBot) throw new Refusal('channel_not_found');
      return this.dmChannelFor(channel);
    }
    return this.requireConversation(channel);
  }

  private requireConversation(channel: string | undefined): string {
    if (!channel || !CONVERSATION_ID.test(channel)) throw new Refusal('channel_not_found');
    if (channel.startsWith('D') && !this.isKnownDm(channel)) throw new Refusal('channel_not_found');
    return channel;
  }

  private blocksArg(args: Args): unknown[] | undefined {
    const blocks = args.blocks;
    if (blocks === undefined || blocks === '') return undefined;
    if (!Array.isArray(blocks)) throw new Refusal('invalid_blocks_format', ['[ERROR] blocks must be a JSON array of block objects']);
    const errors = validateBlocks(blocks, 'message');
    if (errors.length > 0) throw new Refusal('invalid_blocks', errors);
    if (blockTextLength(blocks) > MESSAGE_BLOCK_TEXT_LIMIT) throw new Refusal('msg_blocks_too_long');
    const fileErrors = this.slackFileErrors(blocks);
    if (fileErrors.length > 0) throw new Refusal('invalid_blocks', fileErrors);
    return blocks;
  }

  /** An image block's slack_file names exactly one of id and url, of an image file the bot uploaded, as on Slack. */
  private slackFileErrors(blocks: unknown[]): string[] {
    return blocks.flatMap((block, i) => {
      if (!isRecord(block) || block.type !== 'image' || block.slack_file === undefined) return [];
      const pointer = `[json-pointer:/blocks/${i}/slack_file]`;
      const file = block.slack_file;
      if (block.image_url !== undefined) return [`[ERROR] must provide either image_url or slack_file, not both ${pointer}`];
      if (!isRecord(file) || (file.id === undefined) === (file.url === undefined)) return [`[ERROR] must provide exactly one of url or id ${pointer}`];
      if (typeof file.id === 'string' && !/^F[A-Z0-9]{8,}$/.test(file.id)) return [`[ERROR] input must match regex pattern: ^[F][A-Z0-9]{8,}$ ${pointer}/id`];
      const upload = this.uploads.find((u) => u.id === file.id || (typeof file.url === 'string' && file.url.includes(`-${u.id}/`)));
      if (!upload || performance.now() < (this.fileReadyAt.get(upload.id) ?? 0)) return [`[ERROR] invalid slack file ${pointer}`];
      if (!/\.(png|jpe?g|gif)$/i.test(upload.filename)) return [`[ERROR] unsupported slack file type ${pointer}`];
      return [];
    });
  }

  private textArg(args: Args): string | undefined {
    const text = stringArg(args, 'text');
    if (text !== undefined && [...text].length > MAX_TEXT_LENGTH) throw new Refusal('msg_too_long');
    return text;
  }

  private requireContent(text: string | undefined, blocks: unknown[] | undefined, args: Args): void {
    const hasAttachments = Array.isArray(args.attachments) && args.attachments.length > 0;
    if (!text && (!blocks || blocks.length === 0) && !hasAttachments) throw new Refusal('no_text');
  }

  private messageJson(m: StoredMessage): Reply {
    const json: Reply = { type: 'message', text: m.text ?? '', user: m.user, ts: m.ts, team: this.teamId };
    if (m.user === this.botUserId) Object.assign(json, { bot_id: this.botId, app_id: this.appId });
    if (m.blocks) json.blocks = m.blocks;
    if (m.threadTs) json.thread_ts = m.threadTs;
    return json;
  }

  private postMessage(args: Args): Reply {
    const channel = this.resolvePostChannel(stringArg(args, 'channel'));
    const text = this.textArg(args);
    const blocks = this.blocksArg(args);
    this.requireContent(text, blocks, args);
    const threadTs = stringArg(args, 'thread_ts') || undefined;
    let parentTs: string | undefined;
    if (threadTs) {
      const parent = this.findMessage(channel, threadTs);
      if (!parent) throw new Refusal('thread_not_found');
      parentTs = parent.threadTs ?? parent.ts;
    }
    const message: StoredMessage = { channel, ts: this.nextTs(), threadTs: parentTs, text, blocks, user: this.botUserId, updates: 0 };
    this.storedMessages.push(message);
    return { channel, ts: message.ts, message: this.messageJson(message) };
  }

  private updateMessage(args: Args): Reply {
    // chat.update needs the conversation id; a user id is not resolved to the DM here.
    const channel = this.requireConversation(stringArg(args, 'channel'));
    const ts = stringArg(args, 'ts');
    const message = ts ? this.findMessage(channel, ts) : undefined;
    if (!message) throw new Refusal('message_not_found');
    if (message.user !== this.botUserId) throw new Refusal('cant_update_message');
    const text = this.textArg(args);
    const blocks = this.blocksArg(args);
    if (text === undefined && args.blocks === undefined && args.attachments === undefined) throw new Refusal('no_text');
    // Omitted fields keep their previous value, as on Slack.
    if (text !== undefined) message.text = text;
    if (args.blocks !== undefined) message.blocks = blocks;
    message.updates += 1;
    return { channel, ts: message.ts, text: message.text ?? '', message: this.messageJson(message) };
  }

  private postEphemeral(args: Args): Reply {
    this.resolvePostChannel(stringArg(args, 'channel'));
    const user = stringArg(args, 'user');
    if (!user || (!this.users.has(user) && !USER_ID.test(user))) throw new Refusal('user_not_found');
    const text = this.textArg(args);
    const blocks = this.blocksArg(args);
    this.requireContent(text, blocks, args);
    return { message_ts: this.nextTs() };
  }

  private getPermalink(args: Args): Reply {
    const channel = this.requireConversation(stringArg(args, 'channel'));
    const ts = stringArg(args, 'message_ts');
    const message = ts ? this.findMessage(channel, ts) : undefined;
    if (!message) throw new Refusal('message_not_found');
    const base = `https://stand-in.slack.com/archives/${channel}/p${message.ts.replace('.', '')}`;
    const permalink = message.threadTs ? `${base}?thread_ts=${message.threadTs}&cid=${channel}` : base;
    return { channel, permalink };
  }

  // ---- views ----------------------------------------------------------------------------

  private viewArg(args: Args, expected: 'modal' | 'home' | 'any'): Record<string, unknown> {
    const view = args.view;
    if (view === undefined) throw new Refusal('invalid_arguments', ['[ERROR] missing required field: view']);
    if (!isRecord(view)) throw new Refusal('invalid_arguments', ['[ERROR] view must be a JSON object [json-pointer:/view]']);
    if (JSON.stringify(view).length > 250_000) throw new Refusal('view_too_large');
    const errors = validateView(view);
    if (expected !== 'any' && view.type !== expected && errors.length === 0) {
      errors.push(`[ERROR] must be ${expected} for this method [json-pointer:/view/type]`);
    }
    if (errors.length > 0) throw new Refusal('invalid_arguments', errors);
    return view;
  }

  private exchangeTrigger(args: Args): Trigger {
    const id = stringArg(args, 'trigger_id');
    if (!id) throw new Refusal('invalid_arguments', ['[ERROR] missing required field: trigger_id']);
    const trigger = this.triggers.get(id);
    if (!trigger) throw new Refusal('invalid_trigger_id');
    if (trigger.used) throw new Refusal('exchanged_trigger_id');
    if (Date.now() > trigger.expiresAt) throw new Refusal('expired_trigger_id');
    return trigger;
  }

  private newHash(): string {
    return `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`;
  }

  private viewJson(record: ViewRecord): Record<string, unknown> {
    const v = record.view;
    return {
      id: record.id,
      team_id: this.teamId,
      type: v.type,
      title: v.title,
      submit: v.submit ?? null,
      close: v.close ?? null,
      blocks: v.blocks,
      private_metadata: v.private_metadata ?? '',
      callback_id: v.callback_id ?? '',
      external_id: v.external_id ?? '',
      state: { values: {} },
      hash: record.hash,
      clear_on_close: v.clear_on_close ?? false,
      notify_on_close: v.notify_on_close ?? false,
      root_view_id: record.rootId,
      previous_view_id: null,
      app_id: this.appId,
      app_installed_team_id: this.teamId,
      bot_id: this.botId,
    };
  }

  private storeView(record: ViewRecord): Reply {
    this.viewRecords.set(record.id, record);
    const stored: StoredView = { id: record.id, view: this.viewJson(record), userId: record.userId };
    const index = this.views.findIndex((v) => v.id === record.id);
    if (index === -1) this.views.push(stored);
    else this.views[index] = stored;
    return { view: stored.view };
  }

  private requireUniqueExternalId(view: Record<string, unknown>, exceptViewId?: string): string | undefined {
    const externalId = typeof view.external_id === 'string' && view.external_id !== '' ? view.external_id : undefined;
    if (externalId && [...this.viewRecords.values()].some((r) => r.externalId === externalId && r.id !== exceptViewId)) {
      throw new Refusal('duplicate_external_id');
    }
    return externalId;
  }

  private openView(args: Args, push: boolean): Reply {
    const trigger = this.exchangeTrigger(args);
    const view = this.viewArg(args, 'modal');
    const externalId = this.requireUniqueExternalId(view);
    const id = randomId('V');
    let rootId = id;
    if (push) {
      const from = trigger.viewId ? this.viewRecords.get(trigger.viewId) : undefined;
      if (from) {
        rootId = from.rootId;
        const depth = [...this.viewRecords.values()].filter((r) => r.rootId === rootId).length;
        if (depth >= VIEW_STACK_LIMIT) throw new Refusal('push_limit_reached');
      }
    }
    trigger.used = true;
    return this.storeView({ id, rootId, hash: this.newHash(), userId: trigger.userId, externalId, view });
  }

  private updateView(args: Args): Reply {
    const viewId = stringArg(args, 'view_id');
    const externalId = stringArg(args, 'external_id');
    if (!viewId && !externalId) throw new Refusal('invalid_arguments', ['[ERROR] one of view_id or external_id is required']);
    const record = viewId
      ? this.viewRecords.get(viewId)
      : [...this.viewRecords.values()].find((r) => r.externalId === externalId);
    if (!record) throw new Refusal('not_found');
    const hash = stringArg(args, 'hash');
    if (hash && hash !== record.hash) throw new Refusal('hash_conflict');
    const view = this.viewArg(args, record.view.type === 'home' ? 'home' : 'modal');
    const newExternalId = this.requireUniqueExternalId(view, record.id) ?? record.externalId;
    return this.storeView({ ...record, hash: this.newHash(), externalId: newExternalId, view });
  }

  private publishView(args: Args): Reply {
    const userId = stringArg(args, 'user_id');
    if (!userId) throw new Refusal('invalid_arguments', ['[ERROR] missing required field: user_id']);
    if (!this.users.has(userId) && !USER_ID.test(userId)) throw new Refusal('user_not_found');
    const view = this.viewArg(args, 'home');
    const existing = [...this.viewRecords.values()].find((r) => r.userId === userId && r.view.type === 'home');
    const hash = stringArg(args, 'hash');
    if (existing && hash && hash !== existing.hash) throw new Refusal('hash_conflict');
    const id = existing?.id ?? randomId('V');
    return this.storeView({ id, rootId: id, hash: this.newHash(), userId, externalId: undefined, view });
  }

  // ---- conversations, users -------------------------------------------------------------

  /** Top-level messages, newest first, a page at a time; the bot must be in the channel, as Slack requires. */
  private conversationHistory(args: Args): Reply {
    const id = stringArg(args, 'channel');
    const channel = id === undefined ? undefined : this.channels.get(id);
    const needed = channel?.isPrivate ? 'groups:history' : 'channels:history';
    if (this.revokedScopes.has(needed)) throw new Refusal('missing_scope', undefined, { needed });
    if (!channel) throw new Refusal('channel_not_found');
    if (channel.isMember === false) throw new Refusal('not_in_channel');
    const limit = Math.min(Math.max(Number(stringArg(args, 'limit') ?? 100) || 100, 1), 999);
    const from = Number(stringArg(args, 'cursor')?.replace(/^page:/, '') ?? 0);
    const newestFirst = this.messages(channel.id).filter((m) => !m.threadTs || m.threadTs === m.ts).reverse();
    const page = newestFirst.slice(from, from + limit);
    const more = from + limit < newestFirst.length;
    return { messages: page.map((m) => this.messageJson(m)), has_more: more, response_metadata: { next_cursor: more ? `page:${from + limit}` : '' } };
  }

  private openConversation(args: Args): Reply {
    const channelArg = stringArg(args, 'channel');
    if (channelArg) return { channel: { id: this.requireConversation(channelArg) }, already_open: true };
    const users = (stringArg(args, 'users') ?? '').split(',').map((u) => u.trim()).filter(Boolean);
    if (users.length === 0) throw new Refusal('users_list_not_supplied');
    if (users.length > 8) throw new Refusal('too_many_users');
    for (const id of users) {
      const user = this.users.get(id);
      if (!user && !USER_ID.test(id)) throw new Refusal('user_not_found');
      if (user?.deleted) throw new Refusal('user_disabled');
      if (user?.isBot) throw new Refusal('cannot_dm_bot');
    }
    const [onlyUser] = users;
    if (users.length === 1 && onlyUser) {
      const alreadyOpen = this.dmChannels.has(onlyUser);
      return { channel: { id: this.dmChannelFor(onlyUser) }, already_open: alreadyOpen, no_op: alreadyOpen };
    }
    const key = [...users].sort().join(',');
    const groupId = this.groupDmChannels.get(key) ?? randomId('G');
    this.groupDmChannels.set(key, groupId);
    return { channel: { id: groupId } };
  }

  /** Reading a public channel takes channels:read, a private one groups:read; private channels from before 2021 are groups. */
  private conversationInfo(args: Args): Reply {
    const id = stringArg(args, 'channel');
    const channel = id === undefined ? undefined : this.channels.get(id);
    const needed = channel?.isPrivate ? 'groups:read' : 'channels:read';
    if (this.revokedScopes.has(needed)) throw new Refusal('missing_scope', undefined, { needed });
    if (!channel) throw new Refusal('channel_not_found');
    const isGroup = channel.isPrivate === true && channel.id.startsWith('G');
    const name = channel.name ?? channel.id.toLowerCase();
    return {
      channel: {
        id: channel.id,
        name,
        name_normalized: name,
        is_channel: !isGroup,
        is_group: isGroup,
        is_im: false,
        is_mpim: false,
        is_private: channel.isPrivate ?? false,
        is_archived: channel.isArchived ?? false,
        is_general: false,
        is_member: channel.isMember ?? true,
        created: 1_700_000_000,
      },
    };
  }

  private usersInfo(args: Args): Reply {
    const id = stringArg(args, 'user');
    const user = id ? this.users.get(id) : undefined;
    if (!user) throw new Refusal('user_not_found');
    const tz = user.tz ?? 'UTC';
    const realName = user.realName ?? user.name;
    return {
      user: {
        id: user.id,
        team_id: this.teamId,
        name: user.name,
        deleted: user.deleted ?? false,
        real_name: realName,
        tz,
        tz_label: tz,
        tz_offset: tzOffsetSeconds(tz),
        is_bot: user.isBot ?? false,
        is_admin: false,
        is_app_user: false,
        profile: { real_name: realName, display_name: user.name, real_name_normalized: realName, display_name_normalized: user.name, ...(user.email ? { email: user.email } : {}) },
      },
    };
  }

  private authTest(): Reply {
    return {
      url: 'https://stand-in.slack.com/',
      team: 'Stand-in Workspace',
      user: this.users.get(this.botUserId)?.name ?? 'bot',
      team_id: this.teamId,
      user_id: this.botUserId,
      bot_id: this.botId,
      is_enterprise_install: false,
    };
  }

  // ---- files (what files.uploadV2 does) -------------------------------------------------

  private getUploadUrl(args: Args): Reply {
    const filename = stringArg(args, 'filename');
    const length = Number(stringArg(args, 'length'));
    if (!filename) throw new Refusal('invalid_arguments', ['[ERROR] missing required field: filename']);
    if (!Number.isInteger(length) || length < 1) throw new Refusal('invalid_arguments', ['[ERROR] length must be a positive integer']);
    const fileId = randomId('F');
    this.pendingUploads.set(fileId, { filename, length });
    return { upload_url: `${this.origin}/upload/${fileId}`, file_id: fileId };
  }

  private async handleUpload(req: IncomingMessage, res: ServerResponse, fileId: string, body: Buffer): Promise<void> {
    const pending = this.pendingUploads.get(fileId);
    if (!pending) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('upload_url not found');
      return;
    }
    let bytes = body;
    const contentType = req.headers['content-type'] ?? '';
    if (contentType.toLowerCase().startsWith('multipart/form-data')) {
      const entries = await parseMultipart(body, contentType);
      const file = entries ? [...entries.values()].find((v) => typeof v !== 'string') : undefined;
      if (!file || typeof file === 'string') {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('no file part in multipart body');
        return;
      }
      bytes = Buffer.from(await file.arrayBuffer());
    }
    pending.bytes = bytes;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK - ${bytes.length}`);
  }

  private completeUpload(args: Args): Reply {
    const files = args.files;
    if (!Array.isArray(files) || files.length === 0) throw new Refusal('invalid_arguments', ['[ERROR] files must be a non-empty JSON array']);
    const channelArg = stringArg(args, 'channel_id') ?? stringArg(args, 'channels');
    const channelId = channelArg ? this.requireConversation(channelArg) : undefined;
    const threadTs = stringArg(args, 'thread_ts');
    if (threadTs && channelId && !this.findMessage(channelId, threadTs)) throw new Refusal('thread_not_found');
    const completed = files.map((entry) => {
      const id = isRecord(entry) ? stringArg(entry, 'id') : undefined;
      const pending = id ? this.pendingUploads.get(id) : undefined;
      if (!id || !pending?.bytes) throw new Refusal('file_not_found');
      return { id, pending, title: isRecord(entry) ? stringArg(entry, 'title') : undefined };
    });
    return {
      files: completed.map(({ id, pending, title }) => {
        this.pendingUploads.delete(id);
        this.uploads.push({ id, filename: pending.filename, bytes: pending.bytes as Buffer, channelId, title });
        if (this.fileProcessingMs > 0) this.fileReadyAt.set(id, performance.now() + this.fileProcessingMs);
        const urlPrivate = `https://files.stand-in.slack.com/files-pri/${this.teamId}-${id}/${pending.filename}`;
        return { id, name: pending.filename, title: title ?? pending.filename, size: pending.bytes?.length, user: this.botUserId, url_private: urlPrivate };
      }),
    };
  }

  // ---- response_url ---------------------------------------------------------------------

  private handleResponseUrl(req: IncomingMessage, res: ServerResponse, id: string, raw: Buffer, at: number): void {
    const url = `${this.origin}${new URL(req.url ?? '/', 'http://stand-in.local').pathname}`;
    const reply = (status: number, response: Reply, body: Args = {}): void => {
      this.calls.push({ method: 'response_url', args: body, at, response, httpStatus: status });
      sendJson(res, status, response);
    };
    const state = this.responseUrls.get(id);
    if (!state || Date.now() > state.expiresAt) return reply(404, { ok: false, error: 'expired_url' });
    if (state.uses >= RESPONSE_URL_MAX_USES) return reply(404, { ok: false, error: 'used_url' });

    let body: unknown;
    try {
      const text = raw.toString('utf8');
      const contentType = (req.headers['content-type'] ?? '').toLowerCase();
      body = contentType.startsWith('application/x-www-form-urlencoded') ? JSON.parse(String(parseForm(text)?.payload)) : JSON.parse(text);
    } catch {
      return reply(400, { ok: false, error: 'invalid_payload' });
    }
    if (!isRecord(body)) return reply(400, { ok: false, error: 'invalid_payload' });

    try {
      this.applyResponse(state.origin, body);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      const response: Reply = { ok: false, error: error.error };
      if (error.messages) response.response_metadata = { messages: error.messages };
      return reply(400, response, body);
    }
    state.uses += 1;
    this.responseUrlPosts.push({ url, body, userId: state.origin?.userId });
    reply(200, { ok: true }, body);
  }

  private applyResponse(origin: InteractionOrigin | undefined, body: Args): void {
    const original = origin?.channel && origin.ts ? this.findMessage(origin.channel, origin.ts) : undefined;
    if (body.delete_original === true || body.delete_original === 'true') {
      if (original) this.storedMessages = this.storedMessages.filter((m) => m !== original);
      return;
    }
    const text = this.textArg(body);
    const blocks = this.blocksArg(body);
    this.requireContent(text, blocks, body);
    if ((body.replace_original === true || body.replace_original === 'true') && original) {
      original.text = text;
      original.blocks = blocks;
      original.updates += 1;
    } else if (body.response_type === 'in_channel' && origin?.channel) {
      const threadTs = stringArg(body, 'thread_ts');
      this.storedMessages.push({ channel: origin.channel, ts: this.nextTs(), threadTs, text, blocks, user: this.botUserId, updates: 0 });
    }
  }
}

export async function startSlackStandIn(options: { botToken?: string; users?: SlackUser[]; port?: number } = {}): Promise<SlackStandIn> {
  const standIn = new StandIn(options.botToken ?? 'xoxb-stand-in-token');
  for (const user of options.users ?? []) standIn.addUser(user);
  await standIn.listen(options.port ?? 0);
  return standIn;
}
