import { eq } from 'drizzle-orm';
import { informalAsks } from '../db/schema';
import { looksLikeInformalAsk } from '../domain/informal-asks';
import type { ServiceContext } from './context';
import { queueNotifications } from './notifications';

export interface ChannelMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  userId: string;
  text: string;
}

/**
 * A message in a watched channel that asks for an exception informally gets one pointer to the formal process per
 * thread, however often it is asked there and however often Slack delivers the event.
 */
export function noteInformalAsk(ctx: ServiceContext, message: ChannelMessage): number | undefined {
  if (!looksLikeInformalAsk(message.text)) return undefined;
  const now = ctx.clock();
  return ctx.db.transaction(
    (tx) => {
      const threadTs = message.threadTs ?? message.ts;
      const created = tx
        .insert(informalAsks)
        .values({ channel: message.channel, threadTs, messageTs: message.ts, askedBy: message.userId, text: message.text.slice(0, 2000), answeredAt: now.toISOString() })
        .onConflictDoNothing()
        .returning({ id: informalAsks.id })
        .get();
      if (!created) return undefined;
      queueNotifications(tx, [{ kind: 'informal_pointer', channel: message.channel, threadTs, askId: created.id, askedBy: message.userId }], now);
      return created.id;
    },
    { behavior: 'immediate' },
  );
}

export interface InformalAsk {
  id: number;
  channel: string;
  messageTs: string;
  askedBy: string;
  text: string;
}

/**
 * The ask a pointer's button starts a request from, for the person who wrote it: the channel may be private, so
 * nobody else gets its text (a button value can be sent by anyone), and a missing ask looks the same to them.
 */
export function informalAskFor(ctx: ServiceContext, id: number, actorId: string): InformalAsk | undefined {
  const ask = ctx.db.select().from(informalAsks).where(eq(informalAsks.id, id)).get();
  if (!ask || ask.askedBy !== actorId) return undefined;
  return { id: ask.id, channel: ask.channel, messageTs: ask.messageTs, askedBy: ask.askedBy, text: ask.text };
}
