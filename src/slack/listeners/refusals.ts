import { LogLevel, type RespondFn, type webApi } from '@slack/bolt';
import { isDomainError } from '../../domain/errors';
import { StaleInteraction, type MessageLocation } from '../../domain/shown-for';
import type { StructuredLogger } from '../../logger';

export const UNEXPECTED_ERROR_TEXT = 'Something went wrong on our side and nothing was changed. Please try again in a minute; if it keeps happening, tell the security team.';

/** A domain refusal is shown as it is; anything else is logged in full and shown as a generic sentence. */
export function refusalText(error: unknown, logger: StructuredLogger, fields: Record<string, unknown>): string {
  if (isDomainError(error)) return error.message;
  logger.event(LogLevel.ERROR, 'unexpected error while handling a Slack request', { ...fields, error });
  return UNEXPECTED_ERROR_TEXT;
}

const PERMALINK_TIMEOUT_MS = 1000;

/** A link to a message, if Slack gives one in time; the refusal then names where to act without it. */
async function permalinkTo(client: webApi.WebClient, at: MessageLocation, logger: StructuredLogger): Promise<string | undefined> {
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), PERMALINK_TIMEOUT_MS).unref());
  const lookup = client.chat
    .getPermalink({ channel: at.channel, message_ts: at.ts })
    .then((result) => result.permalink)
    .catch((error: unknown) => {
      logger.event(LogLevel.WARN, 'could not link a stale refusal to the current card', { channel: at.channel, error });
      return undefined;
    });
  return Promise.race([lookup, timeout]);
}

/** Like refusalText; a button or form shown for an earlier round also links to where the current one is handled. */
export async function refusalWithLink(error: unknown, client: webApi.WebClient, logger: StructuredLogger, fields: Record<string, unknown>): Promise<string> {
  if (error instanceof StaleInteraction && error.current) {
    const link = await permalinkTo(client, error.current, logger);
    if (link) return `${error.lead}: ${link}\nNothing was changed.`;
  }
  return refusalText(error, logger, fields);
}

export interface PrivateReply {
  client: webApi.WebClient;
  logger: StructuredLogger;
  user: string;
  respond?: RespondFn;
  channel?: string;
  threadTs?: string;
}

/**
 * Tells only the person who clicked. The response_url works in any channel, even one the app only posts to
 * with chat:write.public; chat.postEphemeral (which needs membership) and a DM are the fallbacks.
 */
export async function tellPrivately(to: PrivateReply, text: string): Promise<void> {
  const attempts: (() => Promise<unknown>)[] = [];
  if (to.respond) attempts.push(() => to.respond!({ response_type: 'ephemeral', replace_original: false, text }));
  if (to.channel) {
    const channel = to.channel;
    attempts.push(() => to.client.chat.postEphemeral({ channel, user: to.user, text, ...(to.threadTs ? { thread_ts: to.threadTs } : {}) }));
  }
  attempts.push(() => to.client.chat.postMessage({ channel: to.user, text }));
  for (const attempt of attempts) {
    try {
      await attempt();
      return;
    } catch (error) {
      to.logger.event(LogLevel.WARN, 'could not reply privately; trying the next way', { user: to.user, error });
    }
  }
}

/**
 * Slack refuses a trigger_id used once already: the modal it was for is open, from an earlier delivery of the same
 * click or command. Nothing went wrong, so nobody is told anything.
 */
export function modalAlreadyOpened(error: unknown): boolean {
  return (error as { data?: { error?: unknown } } | undefined)?.data?.error === 'exchanged_trigger_id';
}

export function parseExceptionId(value: string | undefined): number | undefined {
  const id = Number(value);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** Domain field errors keyed by the modal's block ids, so each message shows next to its field. */
export function blockErrors<F extends string>(errors: Partial<Record<F, string>>, blockIds: Record<F, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([field, message]) => [blockIds[field as F], message as string]));
}
