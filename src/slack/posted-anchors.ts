import { webApi } from '@slack/bolt';
import { anchorInPost, type SourcedAnchor } from '../domain/audit-anchor';
import { DomainError } from '../domain/errors';

/** What to do about each refusal a person can fix; anything else is reported with Slack's own error. */
const ADVICE: Record<string, string> = {
  not_in_channel: "the app is not a member of COMMITTEE_CHANNEL, so Slack will not show it the channel: invite it there with /invite and the app's name",
  channel_not_found: 'Slack has no COMMITTEE_CHANNEL the app can see: check the ID, and invite the app to a private channel',
  missing_scope: 'the bot token lacks channels:history (groups:history for a private channel): update the app from manifest.yml and reinstall it',
  invalid_auth: 'Slack refused SLACK_BOT_TOKEN: copy the Bot User OAuth Token from the app settings',
  not_authed: 'SLACK_BOT_TOKEN is missing from the request',
  token_revoked: 'SLACK_BOT_TOKEN was revoked: reinstall the app and copy its new token',
};

function unreadable(error: unknown): DomainError {
  const code = (error as { code?: unknown }).code;
  const slackError = code === webApi.ErrorCode.PlatformError ? (error as webApi.WebAPIPlatformError).data.error : undefined;
  const why = (slackError && ADVICE[slackError]) ?? `Slack did not answer (${slackError ?? (error instanceof Error ? error.message : String(error))}); try again later`;
  return new DomainError('anchors_unavailable', `The weekly posts could not be read back from the committee channel: ${why}. Nothing was checked; check against a file instead with --anchors FILE.`);
}

const dayOf = (ts: string | undefined) => (ts ? new Date(Number(ts.split('.')[0]) * 1000).toISOString().slice(0, 10) : 'an unknown day');

/**
 * The anchors the weekly posts carry, read back from the committee channel. Only the app's own posts count: anyone in
 * the channel can post the same words, and a forged anchor must not be taken for the register's own.
 */
export async function readPostedAnchors(client: webApi.WebClient, channel: string): Promise<SourcedAnchor[]> {
  const anchors: SourcedAnchor[] = [];
  try {
    const { bot_id: botId } = await client.auth.test();
    let cursor: string | undefined;
    do {
      const page = await client.conversations.history({ channel, limit: 200, cursor });
      for (const message of page.messages ?? []) {
        const anchor = botId && message.bot_id === botId ? anchorInPost(JSON.stringify(message.blocks ?? [])) : undefined;
        if (anchor) anchors.push({ ...anchor, source: `the weekly post of ${dayOf(message.ts)} in ${channel}` });
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
  } catch (error) {
    throw unreadable(error);
  }
  return anchors;
}
