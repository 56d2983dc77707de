/**
 * Plays Slack's side of the Events/Interactivity/Slash-command HTTP contract: builds the
 * payloads Slack sends, signs them with the signing secret and POSTs them to the app.
 * trigger_ids and response_urls come from the stand-in, so the app can use them for real.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { SlackStandIn } from './slack-stand-in.js';
import type { EnvelopeType, SocketModeStandIn } from './socket-mode-stand-in.js';

export interface DriverResponse {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the app decides the JSON shape
  json?: any;
}

export interface MessageRef {
  channel: string;
  ts: string;
  blocks?: unknown[];
  text?: string;
  /** Ephemeral messages are not stored by Slack: the payload carries no `message`. */
  ephemeral?: boolean;
}

export interface SlackDriver {
  slashCommand(o: { userId: string; text: string; command?: string; channelId?: string; retryNum?: number }): Promise<DriverResponse & { triggerId: string; responseUrl: string }>;
  blockAction(o: { userId: string; actionId: string; value?: string; blockId?: string; message?: MessageRef; view?: { id: string; callback_id?: string; private_metadata?: string }; retryNum?: number }): Promise<DriverResponse & { triggerId: string; responseUrl: string }>;
  viewSubmission(o: { userId: string; callbackId: string; privateMetadata?: string; values: Record<string, Record<string, unknown>>; viewId?: string; retryNum?: number }): Promise<DriverResponse>;
  blockSuggestion(o: { userId: string; actionId: string; blockId: string; value: string; viewCallbackId?: string }): Promise<DriverResponse>;
  event(event: Record<string, unknown>, o?: { retryNum?: number; eventId?: string }): Promise<DriverResponse>;
  messageShortcut(o: { userId: string; callbackId: string; message: { ts: string; text: string; user: string }; channelId: string }): Promise<DriverResponse & { triggerId: string; responseUrl: string }>;
  raw(body: string, headers: Record<string, string>): Promise<DriverResponse>;
  sign(body: string, timestampSeconds?: number): { 'x-slack-signature': string; 'x-slack-request-timestamp': string };
}

type Json = Record<string, unknown>;

/** Slack still sends the legacy verification token; Bolt ignores it in favour of the signature. */
const VERIFICATION_TOKEN = 'stand-in-verification-token';
const DEFAULT_CHANNEL = 'C0GENERAL';
const FORM = 'application/x-www-form-urlencoded';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function slackTs(date = Date.now()): string {
  return `${Math.floor(date / 1000)}.${String((date % 1000) * 1000 + Math.floor(Math.random() * 1000)).padStart(6, '0')}`;
}

function channelName(channelId: string): string {
  if (channelId.startsWith('D')) return 'directmessage';
  if (channelId.startsWith('G')) return 'privategroup';
  return channelId.toLowerCase();
}

function channelType(channelId: string): string {
  if (channelId.startsWith('D')) return 'im';
  if (channelId.startsWith('G')) return 'group';
  return 'channel';
}

interface FoundElement { blockId?: string; element: Json }

/** Finds the interactive element a user would have clicked, wherever Slack allows one. */
function findElement(blocks: unknown[], actionId: string, blockId?: string): FoundElement | undefined {
  for (const block of blocks) {
    if (!isObject(block)) continue;
    const id = typeof block.block_id === 'string' ? block.block_id : undefined;
    if (blockId !== undefined && id !== blockId) continue;
    const candidates = [block.accessory, block.element, ...(Array.isArray(block.elements) ? block.elements : [])];
    const element = candidates.find((el): el is Json => isObject(el) && el.action_id === actionId);
    if (element) return { blockId: id, element };
  }
  return undefined;
}

function allOptions(element: Json): Json[] {
  const groups = Array.isArray(element.option_groups) ? element.option_groups.filter(isObject) : [];
  return [
    ...(Array.isArray(element.options) ? element.options : []),
    ...groups.flatMap((g) => (Array.isArray(g.options) ? g.options : [])),
  ].filter(isObject);
}

/** The `actions[0]` entry Slack builds for an element, with `value` as the user's choice. */
function actionFor(element: Json | undefined, actionId: string, blockId: string, value: string | undefined): Json {
  const type = typeof element?.type === 'string' ? element.type : 'button';
  const base: Json = { type, action_id: actionId, block_id: blockId, action_ts: slackTs() };
  const option = (): Json => {
    const known = element ? allOptions(element).find((o) => o.value === value) : undefined;
    return known ?? { text: { type: 'plain_text', text: value ?? '', emoji: true }, value };
  };
  switch (type) {
    case 'button':
    case 'workflow_button':
      return { ...base, text: element?.text ?? { type: 'plain_text', text: actionId, emoji: true }, value: value ?? element?.value, ...(element?.style ? { style: element.style } : {}) };
    case 'static_select':
    case 'external_select':
    case 'radio_buttons':
    case 'overflow':
      return { ...base, selected_option: option() };
    case 'checkboxes':
    case 'multi_static_select':
    case 'multi_external_select':
      return { ...base, selected_options: value === undefined ? [] : [option()] };
    case 'users_select':
      return { ...base, selected_user: value };
    case 'multi_users_select':
      return { ...base, selected_users: value === undefined ? [] : [value] };
    case 'conversations_select':
      return { ...base, selected_conversation: value };
    case 'channels_select':
      return { ...base, selected_channel: value };
    case 'datepicker':
      return { ...base, selected_date: value };
    case 'timepicker':
      return { ...base, selected_time: value };
    default:
      return { ...base, value };
  }
}

/**
 * Over HTTP by default; with `socketMode` the same payloads go as Socket Mode envelopes and the ack's payload is
 * the response, so one flow can be played over either transport.
 */
export function createSlackDriver(o: { appUrl: string; signingSecret: string; standIn: SlackStandIn; teamId?: string; socketMode?: SocketModeStandIn }): SlackDriver {
  const { appUrl, signingSecret, standIn, socketMode } = o;
  const teamId = o.teamId ?? standIn.teamId;
  const team = { id: teamId, domain: 'stand-in' };

  const userJson = (userId: string): Json => {
    const name = standIn.user(userId)?.name ?? userId.toLowerCase();
    return { id: userId, username: name, name, team_id: teamId };
  };

  const sign = (body: string, timestampSeconds = Math.floor(Date.now() / 1000)) => {
    const digest = createHmac('sha256', signingSecret).update(`v0:${timestampSeconds}:${body}`).digest('hex');
    return { 'x-slack-signature': `v0=${digest}`, 'x-slack-request-timestamp': String(timestampSeconds) };
  };

  const raw = async (body: string, headers: Record<string, string>): Promise<DriverResponse> => {
    const response = await fetch(appUrl, { method: 'POST', headers, body, redirect: 'manual' });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json };
  };

  const send = (body: string, contentType: string, retryNum?: number): Promise<DriverResponse> => {
    const headers: Record<string, string> = {
      'content-type': contentType,
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...sign(body),
    };
    if (retryNum !== undefined) {
      headers['x-slack-retry-num'] = String(retryNum);
      headers['x-slack-retry-reason'] = 'http_timeout';
    }
    return raw(body, headers);
  };

  /**
   * What Slack shows the app's answer as: an empty ack is an empty 200, as over HTTP; no ack in time is a failure.
   * A flow waits (up to 5 s) for the app to be connected, as a person would try again; the stand-in's own
   * `deliver` is what measures a gap.
   */
  const overSocket = async (socket: SocketModeStandIn, type: EnvelopeType, payload: Json, retryNum?: number): Promise<DriverResponse> => {
    await socket.waitForConnections(1, 5000).catch(() => undefined);
    const result = type === 'events_api' && retryNum === undefined ? await socket.deliverEvent(payload) : await socket.deliver(type, payload, { retryAttempt: retryNum, retryReason: retryNum ? 'timeout' : undefined });
    if (!result.acked) return { status: 504, text: 'no ack within 3 seconds' };
    const answer = result.payload ?? {};
    return Object.keys(answer).length === 0 ? { status: 200, text: '' } : { status: 200, text: JSON.stringify(answer), json: answer };
  };

  const sendPayload = (payload: Json, retryNum?: number) =>
    socketMode ? overSocket(socketMode, 'interactive', payload, retryNum) : send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), FORM, retryNum);

  /** The view Slack would echo back: the stand-in's copy when the app opened it, else a minimal one. */
  const viewJson = (viewId: string | undefined, callbackId: string | undefined, userId: string): Json => {
    const stored = viewId !== undefined
      ? standIn.views.find((v) => v.id === viewId)
      : [...standIn.views].reverse().find((v) => v.view.callback_id === callbackId && (v.userId === undefined || v.userId === userId));
    if (stored) return structuredClone(stored.view);
    const id = viewId ?? `V${randomBytes(5).toString('hex').toUpperCase()}`;
    return {
      id, team_id: teamId, type: 'modal', blocks: [], private_metadata: '', callback_id: callbackId ?? '',
      state: { values: {} }, hash: `${Math.floor(Date.now() / 1000)}.stand-in`, title: { type: 'plain_text', text: 'Modal' },
      clear_on_close: false, notify_on_close: false, close: null, submit: null, previous_view_id: null, root_view_id: id,
      app_id: standIn.appId, external_id: '', app_installed_team_id: teamId, bot_id: standIn.botId,
    };
  };

  return {
    sign,
    raw,

    async slashCommand(c) {
      const channelId = c.channelId ?? DEFAULT_CHANNEL;
      const triggerId = standIn.issueTriggerId({ userId: c.userId });
      const responseUrl = standIn.responseUrl({ channel: channelId, userId: c.userId });
      const form = new URLSearchParams({
        token: VERIFICATION_TOKEN,
        team_id: teamId,
        team_domain: team.domain,
        channel_id: channelId,
        channel_name: channelName(channelId),
        user_id: c.userId,
        user_name: String(userJson(c.userId).name),
        command: c.command ?? '/exception',
        text: c.text,
        api_app_id: standIn.appId,
        is_enterprise_install: 'false',
        response_url: responseUrl,
        trigger_id: triggerId,
      });
      const response = socketMode ? await overSocket(socketMode, 'slash_commands', Object.fromEntries(form), c.retryNum) : await send(form.toString(), FORM, c.retryNum);
      return { ...response, triggerId, responseUrl };
    },

    async blockAction(a) {
      if (!a.message === !a.view) throw new Error('blockAction: pass exactly one of `message` or `view`');
      const triggerId = standIn.issueTriggerId({ userId: a.userId, viewId: a.view?.id });
      const payload: Json = {
        type: 'block_actions',
        user: userJson(a.userId),
        api_app_id: standIn.appId,
        token: VERIFICATION_TOKEN,
        trigger_id: triggerId,
        team,
        enterprise: null,
        is_enterprise_install: false,
        state: { values: {} },
      };
      let blocks: unknown[] | undefined;
      let responseUrl = '';

      if (a.message) {
        const m = a.message;
        const stored = m.ephemeral ? undefined : standIn.messages(m.channel).find((s) => s.ts === m.ts);
        blocks = m.blocks ?? stored?.blocks;
        // Clicking a button that is not (or no longer) in the stored message is a test bug, not a user action.
        if (!m.blocks && stored?.blocks && !findElement(stored.blocks, a.actionId, a.blockId)) {
          throw new Error(`blockAction: no element with action_id "${a.actionId}" in message ${m.channel}/${m.ts}; pass message.blocks to simulate a stale click`);
        }
        responseUrl = standIn.responseUrl({ channel: m.channel, ts: m.ephemeral ? undefined : m.ts, userId: a.userId });
        Object.assign(payload, {
          container: { type: 'message', message_ts: m.ts, channel_id: m.channel, is_ephemeral: m.ephemeral ?? false },
          channel: { id: m.channel, name: channelName(m.channel) },
          response_url: responseUrl,
        });
        if (!m.ephemeral) {
          const author = stored?.user ?? standIn.botUserId;
          payload.message = {
            type: 'message', user: author, ts: m.ts, text: m.text ?? stored?.text ?? '', team: teamId, blocks: blocks ?? [],
            ...(author === standIn.botUserId ? { bot_id: standIn.botId, app_id: standIn.appId } : {}),
            ...(stored?.threadTs ? { thread_ts: stored.threadTs } : {}),
          };
        }
      } else if (a.view) {
        // Actions inside modals carry the view and no response_url.
        const view = viewJson(a.view.id, a.view.callback_id, a.userId);
        if (a.view.callback_id !== undefined) view.callback_id = a.view.callback_id;
        if (a.view.private_metadata !== undefined) view.private_metadata = a.view.private_metadata;
        blocks = Array.isArray(view.blocks) ? view.blocks : undefined;
        Object.assign(payload, { container: { type: 'view', view_id: a.view.id }, view });
      }

      const found = blocks ? findElement(blocks, a.actionId, a.blockId) : undefined;
      const blockId = a.blockId ?? found?.blockId ?? randomBytes(3).toString('base64url');
      payload.actions = [actionFor(found?.element, a.actionId, blockId, a.value)];
      return { ...(await sendPayload(payload, a.retryNum)), triggerId, responseUrl };
    },

    async viewSubmission(s) {
      const view = viewJson(s.viewId, s.callbackId, s.userId);
      view.callback_id = s.callbackId;
      if (s.privateMetadata !== undefined) view.private_metadata = s.privateMetadata;
      view.state = { values: s.values };
      const payload: Json = {
        type: 'view_submission',
        team,
        user: userJson(s.userId),
        api_app_id: standIn.appId,
        token: VERIFICATION_TOKEN,
        trigger_id: standIn.issueTriggerId({ userId: s.userId, viewId: String(view.id) }),
        view,
        response_urls: [],
        is_enterprise_install: false,
        enterprise: null,
      };
      return sendPayload(payload, s.retryNum);
    },

    async blockSuggestion(b) {
      const view = viewJson(undefined, b.viewCallbackId, b.userId);
      const payload: Json = {
        type: 'block_suggestion',
        user: userJson(b.userId),
        container: { type: 'view', view_id: view.id },
        api_app_id: standIn.appId,
        token: VERIFICATION_TOKEN,
        action_id: b.actionId,
        block_id: b.blockId,
        value: b.value,
        team,
        enterprise: null,
        is_enterprise_install: false,
        view,
      };
      return sendPayload(payload);
    },

    async event(event, e = {}) {
      const ev: Json = { ...event };
      if (ev.type === 'message' && typeof ev.channel === 'string') {
        ev.channel_type ??= channelType(ev.channel);
        // A person's message exists in Slack before the event arrives; keep the stand-in in step so replies can thread.
        if (typeof ev.user === 'string' && ev.subtype === undefined) {
          const stored = standIn.seedMessage({
            channel: ev.channel,
            user: ev.user,
            text: typeof ev.text === 'string' ? ev.text : undefined,
            ts: typeof ev.ts === 'string' ? ev.ts : undefined,
            threadTs: typeof ev.thread_ts === 'string' ? ev.thread_ts : undefined,
          });
          ev.ts = stored.ts;
        }
      }
      ev.event_ts ??= typeof ev.ts === 'string' ? ev.ts : slackTs();
      const envelope: Json = {
        token: VERIFICATION_TOKEN,
        team_id: teamId,
        api_app_id: standIn.appId,
        event: ev,
        type: 'event_callback',
        event_id: e.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [{ enterprise_id: null, team_id: teamId, user_id: standIn.botUserId, is_bot: true, is_enterprise_install: false }],
        is_ext_shared_channel: false,
        event_context: `4-${randomBytes(12).toString('base64url')}`,
      };
      return socketMode ? overSocket(socketMode, 'events_api', envelope, e.retryNum) : send(JSON.stringify(envelope), 'application/json', e.retryNum);
    },

    async messageShortcut(m) {
      standIn.seedMessage({ channel: m.channelId, user: m.message.user, text: m.message.text, ts: m.message.ts });
      const triggerId = standIn.issueTriggerId({ userId: m.userId });
      const responseUrl = standIn.responseUrl({ channel: m.channelId });
      const payload: Json = {
        type: 'message_action',
        token: VERIFICATION_TOKEN,
        action_ts: slackTs(),
        team,
        user: userJson(m.userId),
        channel: { id: m.channelId, name: channelName(m.channelId) },
        is_enterprise_install: false,
        enterprise: null,
        callback_id: m.callbackId,
        trigger_id: triggerId,
        response_url: responseUrl,
        message_ts: m.message.ts,
        message: { type: 'message', user: m.message.user, ts: m.message.ts, text: m.message.text, team: teamId },
        api_app_id: standIn.appId,
      };
      return { ...(await sendPayload(payload)), triggerId, responseUrl };
    },
  };
}
