import type { BlockButtonAction, RespondFn, webApi } from '@slack/bolt';
import type { StructuredLogger } from '../../../logger';
import type { PrivateReply } from '../refusals';

/** Where a private answer to a button press goes: the same channel and thread as the message clicked. */
export function replyTo(body: BlockButtonAction, client: webApi.WebClient, respond: RespondFn, logger: StructuredLogger): PrivateReply {
  const message = body.message as { thread_ts?: string; ts?: string } | undefined;
  return {
    client,
    logger,
    respond,
    user: body.user.id,
    channel: body.channel?.id,
    threadTs: message?.thread_ts && message.thread_ts !== message.ts ? message.thread_ts : undefined,
  };
}
