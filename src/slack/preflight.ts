import { LogLevel, webApi } from '@slack/bolt';
import { ConfigError, type Config } from '../config';
import { createLogger, type StructuredLogger } from '../logger';
import { createWebClient } from './app';

/** auth.test answers that mean the token itself is no good, not that Slack is having a bad moment. */
const REFUSED_TOKEN = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_allowed_token_type', 'team_disabled']);

const CHANNELS = [
  ['APPROVALS_CHANNEL', 'approvals'],
  ['COMMITTEE_CHANNEL', 'committee'],
] as const;

interface Findings {
  problems: string[];
  /** What could not be checked (Slack down, slow, rate limiting, or an answer not known here), and why. */
  unchecked: { what: string; error: unknown }[];
}

/** Slack's error when it answered and refused; undefined when it did not answer (network, 5xx, rate limit). */
function refusal(error: unknown): { error: string; needed?: string } | undefined {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== webApi.ErrorCode.PlatformError) return undefined;
  // missing_scope says which scope in `needed`.
  const data = (error as webApi.WebAPIPlatformError).data as { error: string; needed?: unknown };
  return { error: data.error, needed: typeof data.needed === 'string' ? data.needed : undefined };
}

/** The bot's user name, for "/invite @name"; undefined when Slack could not say. Throws when the token is refused. */
async function botName(client: webApi.WebClient, found: Findings): Promise<string | undefined> {
  try {
    return (await client.auth.test()).user ?? 'the app';
  } catch (error) {
    const refused = refusal(error);
    if (refused && REFUSED_TOKEN.has(refused.error)) {
      throw new ConfigError([
        `SLACK_BOT_TOKEN: Slack refused it (${refused.error}); copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page, reinstalling the app first if it was removed`,
      ]);
    }
    found.unchecked.push({ what: 'SLACK_BOT_TOKEN, APPROVALS_CHANNEL and COMMITTEE_CHANNEL', error });
    return undefined;
  }
}

async function checkChannel(client: webApi.WebClient, variable: string, id: string, bot: string, found: Findings): Promise<void> {
  let channel: { name?: string; is_private?: boolean; is_member?: boolean; is_archived?: boolean } | undefined;
  try {
    channel = (await client.conversations.info({ channel: id })).channel;
  } catch (error) {
    const refused = refusal(error);
    if (refused?.error === 'channel_not_found') {
      found.problems.push(`${variable}: Slack has no channel ${id} that the app can see; check the ID (at the bottom of the channel's About tab), and for a private channel invite the app first with /invite @${bot}`);
    } else if (refused?.error === 'missing_scope') {
      found.problems.push(`SLACK_BOT_TOKEN: lacks the ${refused.needed ?? 'channels:read and groups:read'} scope needed to check the channels; update the app from manifest.yml and reinstall it to the workspace so the token has every scope listed there`);
    } else {
      found.unchecked.push({ what: variable, error });
    }
    return;
  }
  const name = channel?.name ? ` (#${channel.name})` : '';
  if (channel?.is_archived) {
    found.problems.push(`${variable}: ${id}${name} is archived; unarchive it or set ${variable} to a channel in use`);
  } else if (channel?.is_private && !channel.is_member) {
    found.problems.push(`${variable}: ${id}${name} is private and the app is not a member; invite it there with /invite @${bot}`);
  }
}

/**
 * What start-up can find out before taking requests: whether Slack accepts the bot token and whether the app can
 * post in both channels. A refusal stops start-up (a ConfigError, one line each); Slack not answering is one warning
 * and start-up goes on, since every request authorizes again.
 */
export async function checkSlackSetup(config: Config, logger: StructuredLogger): Promise<void> {
  // The client's own "http request failed" would be a second line for one outage: the warning below carries the error.
  const client = createWebClient(config, createLogger('error'));
  const found: Findings = { problems: [], unchecked: [] };
  const bot = await botName(client, found);
  if (bot !== undefined) await Promise.all(CHANNELS.map(([variable, key]) => checkChannel(client, variable, config.channels[key], bot, found)));
  if (found.unchecked.length > 0) {
    const what = found.unchecked.map((item) => item.what);
    logger.event(LogLevel.WARN, `Slack could not confirm ${what.join(' and ')}; starting anyway, and each request checks the token again`, {
      errors: found.unchecked.map((item) => item.error),
    });
  }
  if (found.problems.length > 0) throw new ConfigError([...new Set(found.problems)]);
}
