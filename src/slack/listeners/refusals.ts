import { LogLevel, type webApi } from '@slack/bolt';
import { isDomainError } from '../../domain/errors';
import type { StructuredLogger } from '../../logger';

export const UNEXPECTED_ERROR_TEXT = 'Something went wrong on our side and nothing was changed. Please try again in a minute; if it keeps happening, tell the security team.';

/** A domain refusal is shown as it is; anything else is logged in full and shown as a generic sentence. */
export function refusalText(error: unknown, logger: StructuredLogger, fields: Record<string, unknown>): string {
  if (isDomainError(error)) return error.message;
  logger.event(LogLevel.ERROR, 'unexpected error while handling a Slack request', { ...fields, error });
  return UNEXPECTED_ERROR_TEXT;
}

/** Tells only the person who clicked, in the channel where they clicked. */
export async function tellPrivately(client: webApi.WebClient, where: { channel?: string; user: string }, text: string): Promise<void> {
  if (where.channel) {
    await client.chat.postEphemeral({ channel: where.channel, user: where.user, text });
  } else {
    await client.chat.postMessage({ channel: where.user, text });
  }
}

export function parseExceptionId(value: string | undefined): number | undefined {
  const id = Number(value);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** Domain field errors keyed by the modal's block ids, so each message shows next to its field. */
export function blockErrors<F extends string>(errors: Partial<Record<F, string>>, blockIds: Record<F, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([field, message]) => [blockIds[field as F], message as string]));
}
