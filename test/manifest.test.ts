import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { webApi, type App } from '@slack/bolt';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SHORTCUT_IDS } from '../src/slack/ids';
import { registerListeners } from '../src/slack/listeners';
import type { ListenerDeps } from '../src/slack/listeners/deps';
import { COMMANDS_SCOPE, SCOPE_FOR_EVENT, manifestProblems } from './support/manifest-rules';

type Fields = Record<string, unknown>;
interface Manifest extends Fields {
  _metadata: Fields;
  display_information: Fields;
  features: Fields & { bot_user: Fields; app_home: Fields; slash_commands: Fields[]; shortcuts: Fields[] };
  oauth_config: Fields & { scopes: { bot: string[] } };
  settings: Fields & { event_subscriptions: Fields & { bot_events: string[] }; interactivity: Fields };
}

const manifest = parse(readFileSync(join(import.meta.dirname, '../manifest.yml'), 'utf8')) as Manifest;

const sorted = (values: Iterable<unknown>) => [...new Set(values)].map(String).sort();

describe('manifest.yml', () => {
  it('is a manifest Slack accepts', () => {
    expect(manifestProblems(manifest)).toEqual([]);
  });
});

const bot = manifest.oauth_config.scopes.bot;
const events = manifest.settings.event_subscriptions.bot_events;

describe('the manifest rules', () => {
  // Measured against manifest.yml's own problems, so a fault there fails only the test above, not every case here.
  const baseline = new Set(manifestProblems(manifest));
  const newProblems = (changed: Manifest) => manifestProblems(changed).filter((problem) => !baseline.has(problem));

  it.each<[string, (m: Manifest) => void, string]>([
    ['the old 38-character shortcut name', (m) => void (m.features.shortcuts[0]!.name = 'Request an exception from this message'), 'features.shortcuts[0].name: is 38 characters; Slack allows at most 24'],
    ['a 100-character long description', (m) => void (m.display_information.long_description = 'x'.repeat(100)), 'display_information.long_description: is 100 characters; Slack needs at least 175'],
    ['a long description over 4,000 characters', (m) => void (m.display_information.long_description = 'x'.repeat(4001)), 'display_information.long_description: is 4001 characters; Slack allows at most 4000'],
    ['an app name over 35 characters', (m) => void (m.display_information.name = 'x'.repeat(36)), 'display_information.name: is 36 characters; Slack allows at most 35'],
    ['no app name', (m) => void delete m.display_information.name, 'display_information.name: is required'],
    ['a description over 140 characters', (m) => void (m.display_information.description = 'x'.repeat(141)), 'display_information.description: is 141 characters; Slack allows at most 140'],
    ['a colour that is not a hex colour', (m) => void (m.display_information.background_color = 'navy'), 'display_information.background_color: "navy" is not a hex colour such as #1f3a5f or #fff'],
    ['a bot display name over 80 characters', (m) => void (m.features.bot_user.display_name = 'x'.repeat(81)), 'features.bot_user.display_name: is 81 characters; Slack allows at most 80'],
    ['a command without its slash', (m) => void (m.features.slash_commands[0]!.command = 'exception'), 'features.slash_commands[0].command: "exception" is not a slash and one word, such as /exception'],
    ['a command with a space in it', (m) => void (m.features.slash_commands[0]!.command = '/exception request'), 'features.slash_commands[0].command: "/exception request" is not a slash and one word, such as /exception'],
    ['a command over 32 characters', (m) => void (m.features.slash_commands[0]!.command = `/${'x'.repeat(32)}`), 'features.slash_commands[0].command: is 33 characters; Slack allows at most 32'],
    ['a command description over 2,000 characters', (m) => void (m.features.slash_commands[0]!.description = 'x'.repeat(2001)), 'features.slash_commands[0].description: is 2001 characters; Slack allows at most 2000'],
    ['a usage hint over 1,000 characters', (m) => void (m.features.slash_commands[0]!.usage_hint = 'x'.repeat(1001)), 'features.slash_commands[0].usage_hint: is 1001 characters; Slack allows at most 1000'],
    ['a shortcut type Slack does not have', (m) => void (m.features.shortcuts[0]!.type = 'channel'), 'features.shortcuts[0].type: must be one of message, global, not the string "channel"'],
    ['a shortcut without a callback_id', (m) => void delete m.features.shortcuts[0]!.callback_id, 'features.shortcuts[0].callback_id: is required'],
    ['a callback_id over 255 characters', (m) => void (m.features.shortcuts[0]!.callback_id = 'x'.repeat(256)), 'features.shortcuts[0].callback_id: is 256 characters; Slack allows at most 255'],
    ['a shortcut description over 150 characters', (m) => void (m.features.shortcuts[0]!.description = 'x'.repeat(151)), 'features.shortcuts[0].description: is 151 characters; Slack allows at most 150'],
    ['one shortcut declared twice', (m) => void m.features.shortcuts.push({ ...m.features.shortcuts[0] }), 'features.shortcuts: declares the callback_id request_from_message more than once'],
    ['a scope Slack does not have', (m) => void m.oauth_config.scopes.bot.push('chat:write.everywhere'), `oauth_config.scopes.bot[${bot.length}]: the string "chat:write.everywhere" is not a bot scope Slack knows`],
    ['a scope listed twice', (m) => void m.oauth_config.scopes.bot.push('chat:write'), 'oauth_config.scopes.bot: lists "chat:write" more than once'],
    ['shortcuts and commands without the commands scope', (m) => void m.oauth_config.scopes.bot.splice(bot.indexOf('commands'), 1), 'oauth_config.scopes.bot: slash commands and shortcuts need the bot scope commands'],
    ['an event Slack does not send', (m) => void m.settings.event_subscriptions.bot_events.push('message.everything'), `settings.event_subscriptions.bot_events[${events.length}]: the string "message.everything" is not an event Slack knows`],
    ['an event without the scope Slack sends it under', (m) => void m.oauth_config.scopes.bot.splice(bot.indexOf('channels:history'), 1), 'settings.event_subscriptions.bot_events: message.channels needs the bot scope channels:history'],
    ['events with neither a request URL nor Socket Mode', (m) => void delete m.settings.event_subscriptions.request_url, 'settings.event_subscriptions.request_url: is required unless settings.socket_mode_enabled is true'],
    ['a request URL that is not https', (m) => void (m.settings.interactivity.request_url = 'http://exceptions.example.com/slack/events'), 'settings.interactivity.request_url: must be an https:// URL, not the string "http://exceptions.example.com/slack/events"'],
    ['interactivity without is_enabled', (m) => void delete m.settings.interactivity.is_enabled, 'settings.interactivity.is_enabled: is required'],
    ['Socket Mode given as text', (m) => void (m.settings.socket_mode_enabled = 'no'), 'settings.socket_mode_enabled: must be true or false, not the string "no"'],
    ['a manifest version Slack does not have', (m) => void (m._metadata.major_version = 3), '_metadata.major_version: must be one of 1, 2, not 3'],
    ['an unknown top-level field', (m) => void (m.permissions = ['admin']), 'permissions: is not a field of a Slack app manifest'],
    ['an unknown field inside a section', (m) => void (m.features.bot_user.avatar = 'shield.png'), 'features.bot_user.avatar: is not a field of a Slack app manifest'],
    ['a section given as a list', (m) => void (m.features.app_home = [] as unknown as Fields), 'features.app_home: must be a mapping, not a list'],
  ])('refuse %s', (_case, breakIt, problem) => {
    const broken = structuredClone(manifest);
    breakIt(broken);
    expect(newProblems(broken)).toEqual([problem]);
  });

  it.each<[string, (m: Manifest) => void]>([
    ['a shortcut name of exactly 24 characters', (m) => void (m.features.shortcuts[0]!.name = 'x'.repeat(24))],
    ['a long description of exactly 175 characters', (m) => void (m.display_information.long_description = 'x'.repeat(175))],
    ['a three-digit colour', (m) => void (m.display_information.background_color = '#fff')],
    ['Socket Mode with no request URLs', (m) => {
      m.settings.socket_mode_enabled = true;
      delete m.settings.event_subscriptions.request_url;
      delete m.settings.interactivity.request_url;
      delete m.settings.interactivity.message_menu_options_url;
      for (const command of m.features.slash_commands) delete command.url;
    }],
  ])('accept %s', (_case, change) => {
    const changed = structuredClone(manifest);
    change(changed);
    expect(newProblems(changed)).toEqual([]);
  });

  it('refuse a manifest that is not a mapping', () => {
    expect(manifestProblems(null)).toEqual(['manifest: must be a mapping, not empty']);
  });
});

/** What each listener kind was registered for: the real registerListeners runs against a stand-in App that only records. */
function registrations(): Record<string, unknown[]> {
  const seen: Record<string, unknown[]> = {};
  const recorder = new Proxy({}, { get: (_app, kind) => (name: unknown) => void (seen[String(kind)] ??= []).push(name) });
  registerListeners(recorder as App, {} as ListenerDeps, ['C0WATCHED1']);
  return seen;
}

/** filesUploadV2 is @slack/web-api's helper around Slack's two-step external upload. */
const FILES_UPLOAD_V2 = ['files.getUploadURLExternal', 'files.completeUploadExternal'];

const webClient = new webApi.WebClient();
/** Bolt's WebClient keeps its methods in plain objects by family (client.chat.postMessage); its logger and queue are class instances. */
function isWebApiMethod(method: string): boolean {
  const names = method.split('.');
  let family: unknown = webClient;
  for (const name of names.slice(0, -1)) {
    family = (family as Fields)[name];
    if (typeof family !== 'object' || family === null || Object.getPrototypeOf(family) !== Object.prototype) return false;
  }
  return typeof (family as Fields)[names.at(-1) ?? ''] === 'function';
}

function methodsCalledBy(call: ts.CallExpression): string[] {
  const names: string[] = [];
  for (let callee = call.expression; ts.isPropertyAccessExpression(callee); callee = callee.expression) names.unshift(callee.name.text);
  if (names.at(-1) === 'filesUploadV2') return FILES_UPLOAD_V2;
  if (names.at(-1) === 'apiCall') {
    const [method] = call.arguments;
    // A method chosen at run time cannot be matched to a scope; it shows up as one, so the test asks for a literal.
    return [method && ts.isStringLiteralLike(method) ? method.text : 'apiCall(<not a string literal>)'];
  }
  const method = [3, 2].map((length) => names.slice(-length).join('.')).find((chain) => chain.includes('.') && isWebApiMethod(chain));
  return method ? [method] : [];
}

/**
 * Web API methods called anywhere in src/, read with the TypeScript parser so that a call split over lines is found and
 * one in a comment or string is not; `<anything>.chat.postMessage(…)` counts whenever Bolt's WebClient has that method.
 */
function webApiMethodsCalled(): Set<string> {
  const root = join(import.meta.dirname, '../src');
  const called = new Set<string>();
  for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'))) {
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) for (const method of methodsCalledBy(node)) called.add(method);
      ts.forEachChild(node, visit);
    };
    visit(ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest));
  }
  return called;
}

/**
 * The bot scopes each Web API method needs as this app calls it, from the method's page on docs.slack.dev/reference/methods.
 * A method missing here fails a test below, so a new call makes someone look up its scopes.
 */
const SCOPES_FOR_CALL: Readonly<Record<string, readonly string[]>> = {
  'auth.test': [],
  'views.open': [],
  'views.publish': [],
  'views.push': [],
  'views.update': [],
  'chat.getPermalink': [],
  // The approvals and committee channels are posted in without the app being invited.
  'chat.postMessage': ['chat:write', 'chat:write.public'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  // Only ever a DM with one person; channels:manage, groups:write and mpim:write are for the other kinds.
  'conversations.open': ['im:write'],
  // Either of the approvals and committee channels may be private.
  'conversations.info': ['channels:read', 'groups:read'],
  // `audit verify --slack` reads the weekly posts back from the committee channel, public or private.
  'conversations.history': ['channels:history', 'groups:history'],
  // profile.email, which maps the people a bypass group covers to Okta or Entra ID, comes only with users:read.email.
  'users.info': ['users:read', 'users:read.email'],
  'files.getUploadURLExternal': ['files:write'],
  'files.completeUploadExternal': ['files:write'],
};

describe('manifest.yml and the code agree', () => {
  const seen = registrations();
  const called = webApiMethodsCalled();
  const { features, settings } = manifest;

  it('declares exactly the slash commands the app registers', () => {
    expect(sorted(features.slash_commands.map((command) => command.command))).toEqual(sorted(seen.command ?? []));
  });

  it('declares exactly the shortcuts the app registers, the message one as a message shortcut', () => {
    expect(sorted(features.shortcuts.map((shortcut) => shortcut.callback_id))).toEqual(sorted(seen.shortcut ?? []));
    // Its listener reads the message the shortcut was used on, which only a message shortcut carries.
    expect(features.shortcuts.find((shortcut) => shortcut.callback_id === SHORTCUT_IDS.requestFromMessage)?.type).toBe('message');
  });

  it('subscribes to exactly the events the app listens to', () => {
    // Bolt hands every message.* subscription to the one 'message' event.
    const listened = [...(seen.event ?? []), ...(seen.message ? ['message'] : [])];
    expect(sorted(events.map((name) => name.split('.')[0]))).toEqual(sorted(listened));
    // Watched channels may be public or private; the listener ignores DMs, so message.im would only be dropped.
    expect(sorted(events.filter((name) => name.startsWith('message.')))).toEqual(['message.channels', 'message.groups']);
  });

  it('enables interactivity for its buttons, modals and shortcut, with an options URL for its external select', () => {
    expect((seen.action ?? []).length + (seen.view ?? []).length + (seen.shortcut ?? []).length).toBeGreaterThan(0);
    expect(settings.interactivity.is_enabled).toBe(true);
    expect(settings.interactivity.request_url).toBeDefined();
    expect(settings.interactivity.message_menu_options_url !== undefined).toBe((seen.options ?? []).length > 0);
  });

  it('sends every request to /slack/events, the one path Bolt serves', () => {
    const urls = [settings.event_subscriptions.request_url, settings.interactivity.request_url, settings.interactivity.message_menu_options_url, ...features.slash_commands.map((command) => command.url)];
    expect(urls.map((url) => new URL(String(url)).pathname)).toEqual(urls.map(() => '/slack/events'));
  });

  it('turns on the Home tab exactly when the app publishes one', () => {
    expect(features.app_home.home_tab_enabled).toBe(called.has('views.publish'));
  });

  it('knows the scopes of every Web API method the code calls', () => {
    expect([...called].filter((method) => !(method in SCOPES_FOR_CALL))).toEqual([]);
  });

  it('asks for exactly the bot scopes the code needs, none unused', () => {
    const needed = [
      ...[...called].flatMap((method) => SCOPES_FOR_CALL[method] ?? []),
      ...events.flatMap((name) => SCOPE_FOR_EVENT[name] ?? []),
      ...((seen.command ?? []).length + (seen.shortcut ?? []).length > 0 ? [COMMANDS_SCOPE] : []),
    ];
    expect(sorted(manifest.oauth_config.scopes.bot)).toEqual(sorted(needed));
  });
});
