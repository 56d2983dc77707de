/**
 * App manifest validation with the limits Slack documents, for a version 1 manifest of an app served by Bolt.
 *
 * Sources: Slack's published JSON schema (github.com/slackapi/manifest-schema, schemas/manifest.schema.1.0.0.json),
 * the App manifest reference (docs.slack.dev/reference/app-manifest) and the scope and event names @slack/web-api
 * declares for manifests. Problems read "<path>: <what is wrong>", e.g. "features.shortcuts[0].name: is 38 characters;
 * Slack allows at most 24". The workflow-app and Marketplace sections (functions, workflows, app_directory, …) are
 * not described here, so a manifest using one is refused until its rules are written.
 */
import type { webApi } from '@slack/bolt';

type SlackManifest = webApi.AppsManifestCreateArguments['manifest'];
type BotScope = NonNullable<NonNullable<NonNullable<SlackManifest['oauth_config']>['scopes']>['bot']>[number];
type EventName = NonNullable<NonNullable<NonNullable<SlackManifest['settings']>['event_subscriptions']>['bot_events']>[number];

/** Compiles only when the list holds every name of the union; `satisfies` below keeps out names the union lacks. */
type Every<Union, Listed> = [Exclude<Union, Listed>] extends [never] ? true : ['missing from the list:', Exclude<Union, Listed>];

// The names @slack/web-api declares for a manifest; tsc holds both lists to them, so an SDK upgrade that changes one shows.
const BOT_SCOPES = [
  'app_mentions:read', 'bookmarks:read', 'bookmarks:write', 'calls:read', 'calls:write', 'channels:history', 'channels:join',
  'channels:manage', 'channels:read', 'channels:write.invites', 'channels:write.topic', 'chat:write', 'chat:write.customize',
  'chat:write.public', 'commands', 'conversations.connect:manage', 'conversations.connect:read', 'conversations.connect:write',
  'datastore:read', 'datastore:write', 'dnd:read', 'emoji:read', 'files:read', 'files:write', 'groups:history', 'groups:read',
  'groups:write', 'groups:write.invites', 'groups:write.topic', 'im:history', 'im:read', 'im:write', 'incoming-webhook',
  'links.embed:write', 'links:read', 'links:write', 'metadata.message:read', 'mpim:history', 'mpim:read', 'mpim:write',
  'mpim:write.invites', 'mpim:write.topic', 'none', 'pins:read', 'pins:write', 'reactions:read', 'reactions:write',
  'reminders:read', 'reminders:write', 'remote_files:read', 'remote_files:share', 'remote_files:write', 'team.billing:read',
  'team.preferences:read', 'team:read', 'tokens.basic', 'triggers:read', 'triggers:write', 'usergroups:read', 'usergroups:write',
  'users.profile:read', 'users:read', 'users:read.email', 'users:write', 'workflow.steps:execute',
] as const satisfies readonly BotScope[];
const _everyBotScope: Every<BotScope, (typeof BOT_SCOPES)[number]> = true;

const EVENTS = [
  'app_context_changed', 'app_home_opened', 'app_mention', 'app_rate_limited', 'app_requested', 'app_uninstalled',
  'assistant_thread_context_changed', 'assistant_thread_started', 'call_rejected', 'channel_archive', 'channel_created',
  'channel_deleted', 'channel_history_changed', 'channel_id_changed', 'channel_left', 'channel_rename', 'channel_shared',
  'channel_unarchive', 'channel_unshared', 'dnd_updated', 'dnd_updated_user', 'email_domain_changed', 'emoji_changed',
  'entity_details_requested', 'file_change', 'file_comment_added', 'file_comment_deleted', 'file_comment_edited', 'file_created',
  'file_deleted', 'file_public', 'file_shared', 'file_unshared', 'grid_migration_finished', 'grid_migration_started',
  'group_archive', 'group_close', 'group_deleted', 'group_history_changed', 'group_left', 'group_open', 'group_rename',
  'group_unarchive', 'im_close', 'im_created', 'im_history_changed', 'im_open', 'invite_requested', 'link_shared',
  'member_joined_channel', 'member_left_channel', 'message', 'message.app_home', 'message.channels', 'message.groups',
  'message.im', 'message.mpim', 'message_metadata_deleted', 'message_metadata_posted', 'message_metadata_updated', 'pin_added',
  'pin_removed', 'reaction_added', 'reaction_removed', 'resources_added', 'resources_removed', 'scope_denied', 'scope_granted',
  'shared_channel_invite_accepted', 'shared_channel_invite_approved', 'shared_channel_invite_declined',
  'shared_channel_invite_received', 'star_added', 'star_removed', 'subteam_created', 'subteam_members_changed',
  'subteam_self_added', 'subteam_self_removed', 'subteam_updated', 'team_access_granted', 'team_access_revoked',
  'team_domain_change', 'team_join', 'team_rename', 'tokens_revoked', 'url_verification', 'user_change', 'user_huddle_changed',
  'user_profile_changed', 'user_resource_denied', 'user_resource_granted', 'user_resource_removed', 'user_status_changed',
  'workflow_deleted', 'workflow_published', 'workflow_step_deleted', 'workflow_step_execute', 'workflow_unpublished',
] as const satisfies readonly EventName[];
const _everyEvent: Every<EventName, (typeof EVENTS)[number]> = true;

/** The bot scope without which Slack sends no such event (each scope's page on docs.slack.dev lists its events). */
export const SCOPE_FOR_EVENT: Readonly<Record<string, string>> = {
  app_mention: 'app_mentions:read',
  'message.channels': 'channels:history',
  'message.groups': 'groups:history',
  'message.im': 'im:history',
  'message.mpim': 'mpim:history',
};

/** docs.slack.dev/reference/scopes/commands: "This scope enables shortcuts and slash commands for a workspace." */
export const COMMANDS_SCOPE = 'commands';

type Rule =
  | { kind: 'text'; min: number; max: number; format?: { pattern: RegExp; says: string } }
  | { kind: 'https'; max: number }
  | { kind: 'flag' }
  | { kind: 'whole'; allowed?: readonly number[] }
  | { kind: 'choice'; allowed: readonly string[] }
  | { kind: 'known'; names: ReadonlySet<string>; what: string }
  | { kind: 'mapping'; fields: Readonly<Record<string, Rule>>; required: readonly string[] }
  | { kind: 'list'; item: Rule; min: number; max: number; unique: boolean };

const text = (min: number, max: number, format?: { pattern: RegExp; says: string }): Rule => ({ kind: 'text', min, max, ...(format ? { format } : {}) });
const https = (max: number): Rule => ({ kind: 'https', max });
const flag: Rule = { kind: 'flag' };
const mapping = (fields: Record<string, Rule>, required: readonly string[] = []): Rule => ({ kind: 'mapping', fields, required });
const list = (item: Rule, max: number, { min = 0, unique = false } = {}): Rule => ({ kind: 'list', item, min, max, unique });
const botScope: Rule = { kind: 'known', names: new Set(BOT_SCOPES), what: 'a bot scope' };
const event: Rule = { kind: 'known', names: new Set(EVENTS), what: 'an event' };

const MANIFEST: Rule = mapping(
  {
    _metadata: mapping({ major_version: { kind: 'whole', allowed: [1, 2] }, minor_version: { kind: 'whole' } }),
    display_information: mapping(
      {
        name: text(1, 35),
        description: text(1, 140),
        // The reference says 174 characters at least; the published schema says 175. The stricter one is kept.
        long_description: text(175, 4000),
        background_color: text(4, 7, { pattern: /^#(?:[0-9a-fA-F]{3}){1,2}$/, says: 'a hex colour such as #1f3a5f or #fff' }),
      },
      ['name'],
    ),
    features: mapping({
      app_home: mapping({ home_tab_enabled: flag, messages_tab_enabled: flag, messages_tab_read_only_enabled: flag }),
      bot_user: mapping({ display_name: text(1, 80), always_online: flag }, ['display_name']),
      shortcuts: list(
        mapping(
          { name: text(1, 24), type: { kind: 'choice', allowed: ['message', 'global'] }, callback_id: text(1, 255), description: text(1, 150) },
          ['name', 'type', 'callback_id', 'description'],
        ),
        10,
        { min: 1 },
      ),
      slash_commands: list(
        mapping(
          {
            // Slack reads everything after the first space as the command's text, so a name with a space cannot be typed.
            command: text(2, 32, { pattern: /^\/\S+$/, says: 'a slash and one word, such as /exception' }),
            url: https(3000),
            description: text(1, 2000),
            usage_hint: text(1, 1000),
            should_escape: flag,
          },
          ['command', 'description'],
        ),
        50,
        { min: 1 },
      ),
      unfurl_domains: list(text(1, 255, { pattern: /^(?![.-])[-a-z0-9.]+[a-z0-9]$/, says: 'a lower-case domain name' }), 5, { min: 1, unique: true }),
    }),
    oauth_config: mapping({
      redirect_urls: list(text(1, 2500), 1000, { unique: true }),
      scopes: mapping({
        bot: list(botScope, 255, { unique: true }),
        bot_optional: list(botScope, 255, { unique: true }),
        user: list(text(1, 50), 255, { unique: true }),
        user_optional: list(text(1, 50), 255, { unique: true }),
      }),
      token_management_enabled: flag,
      pkce_enabled: flag,
    }),
    settings: mapping({
      allowed_ip_address_ranges: list(
        text(7, 18, { pattern: /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\/(?:3[0-2]|[12]?\d))?$/, says: 'an IPv4 address or range such as 10.0.0.0/8' }),
        50,
        { min: 1, unique: true },
      ),
      event_subscriptions: mapping({ request_url: https(3500), bot_events: list(event, 100, { unique: true }), user_events: list(event, 100, { unique: true }) }),
      incoming_webhooks: mapping({ incoming_webhooks_enabled: flag }),
      interactivity: mapping({ is_enabled: flag, request_url: https(3500), message_menu_options_url: https(3500) }, ['is_enabled']),
      org_deploy_enabled: flag,
      socket_mode_enabled: flag,
      token_rotation_enabled: flag,
      is_hosted: flag,
    }),
  },
  ['display_information'],
);

type Mapping = Record<string, unknown>;

const isMapping = (value: unknown): value is Mapping => typeof value === 'object' && value !== null && !Array.isArray(value);

const mappingAt = (value: unknown): Mapping => (isMapping(value) ? value : {});
const mappingsAt = (value: unknown): Mapping[] => (Array.isArray(value) ? value.map(mappingAt) : []);
const textsAt = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
const repeatedIn = (values: string[]): string[] => [...new Set(values.filter((value, index) => values.indexOf(value) !== index))];

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (isMapping(value)) return 'a mapping';
  if (typeof value === 'boolean') return String(value);
  return `${typeof value === 'string' ? 'the string' : 'the number'} ${JSON.stringify(value)}`;
}

const named = (path: string) => path || 'manifest';

function check(value: unknown, rule: Rule, path: string, problems: string[]): void {
  const at = named(path);
  switch (rule.kind) {
    case 'text': {
      if (typeof value !== 'string') {
        problems.push(`${at}: must be text, not ${kindOf(value)}`);
        return;
      }
      const length = [...value].length;
      if (length < rule.min) problems.push(`${at}: is ${length} characters; Slack needs at least ${rule.min}`);
      if (length > rule.max) problems.push(`${at}: is ${length} characters; Slack allows at most ${rule.max}`);
      if (rule.format && !rule.format.pattern.test(value)) problems.push(`${at}: ${JSON.stringify(value)} is not ${rule.format.says}`);
      return;
    }
    case 'https':
      if (typeof value !== 'string' || !URL.canParse(value) || new URL(value).protocol !== 'https:') problems.push(`${at}: must be an https:// URL, not ${kindOf(value)}`);
      else if (value.length > rule.max) problems.push(`${at}: is ${value.length} characters; Slack allows at most ${rule.max}`);
      return;
    case 'flag':
      if (typeof value !== 'boolean') problems.push(`${at}: must be true or false, not ${kindOf(value)}`);
      return;
    case 'whole':
      if (!Number.isInteger(value)) problems.push(`${at}: must be a whole number, not ${kindOf(value)}`);
      else if (rule.allowed && !rule.allowed.includes(value as number)) problems.push(`${at}: must be one of ${rule.allowed.join(', ')}, not ${String(value)}`);
      return;
    case 'choice':
      if (typeof value !== 'string' || !rule.allowed.includes(value)) problems.push(`${at}: must be one of ${rule.allowed.join(', ')}, not ${kindOf(value)}`);
      return;
    case 'known':
      if (typeof value !== 'string' || !rule.names.has(value)) problems.push(`${at}: ${kindOf(value)} is not ${rule.what} Slack knows`);
      return;
    case 'mapping': {
      if (!isMapping(value)) {
        problems.push(`${at}: must be a mapping, not ${kindOf(value)}`);
        return;
      }
      const inner = (key: string) => (path ? `${path}.${key}` : key);
      for (const key of rule.required) if (value[key] === undefined) problems.push(`${inner(key)}: is required`);
      for (const [key, child] of Object.entries(value)) {
        const childRule = rule.fields[key];
        if (childRule) check(child, childRule, inner(key), problems);
        else problems.push(`${inner(key)}: is not a field of a Slack app manifest`);
      }
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) {
        problems.push(`${at}: must be a list, not ${kindOf(value)}`);
        return;
      }
      if (value.length < rule.min) problems.push(`${at}: has ${value.length} entries; Slack needs at least ${rule.min}`);
      if (value.length > rule.max) problems.push(`${at}: has ${value.length} entries; Slack allows at most ${rule.max}`);
      value.forEach((item, index) => check(item, rule.item, `${at}[${index}]`, problems));
      if (rule.unique) for (const item of repeatedIn(textsAt(value))) problems.push(`${at}: lists ${JSON.stringify(item)} more than once`);
      return;
    }
  }
}

/** Rules that tie one part of the manifest to another. */
function crossFieldProblems(manifest: Mapping): string[] {
  const problems: string[] = [];
  const features = mappingAt(manifest.features);
  const settings = mappingAt(manifest.settings);
  const subscriptions = mappingAt(settings.event_subscriptions);
  const botScopes = new Set(textsAt(mappingAt(mappingAt(manifest.oauth_config).scopes).bot));
  const botEvents = textsAt(subscriptions.bot_events);
  const commands = mappingsAt(features.slash_commands);
  const shortcuts = mappingsAt(features.shortcuts);

  // Slack's refusal: "Event Subscription requires either Request URL or Socket Mode Enabled".
  const events = [...botEvents, ...textsAt(subscriptions.user_events)];
  if (events.length > 0 && subscriptions.request_url === undefined && settings.socket_mode_enabled !== true) {
    problems.push('settings.event_subscriptions.request_url: is required unless settings.socket_mode_enabled is true');
  }
  for (const name of botEvents) {
    const scope = SCOPE_FOR_EVENT[name];
    if (scope && !botScopes.has(scope)) problems.push(`settings.event_subscriptions.bot_events: ${name} needs the bot scope ${scope}`);
  }
  if (commands.length + shortcuts.length > 0 && !botScopes.has(COMMANDS_SCOPE)) {
    problems.push(`oauth_config.scopes.bot: slash commands and shortcuts need the bot scope ${COMMANDS_SCOPE}`);
  }
  for (const command of repeatedIn(textsAt(commands.map((entry) => entry.command)))) problems.push(`features.slash_commands: declares ${command} more than once`);
  for (const id of repeatedIn(textsAt(shortcuts.map((entry) => entry.callback_id)))) problems.push(`features.shortcuts: declares the callback_id ${id} more than once`);
  return problems;
}

/** Everything in the manifest Slack would refuse, as "<path>: <what is wrong>"; empty when Slack accepts it. */
export function manifestProblems(manifest: unknown): string[] {
  const problems: string[] = [];
  check(manifest, MANIFEST, '', problems);
  return isMapping(manifest) ? [...problems, ...crossFieldProblems(manifest)] : problems;
}
