import { and, count, eq, gt } from 'drizzle-orm';
import { informalAsks } from '../db/schema';
import { looksLikeInformalAsk, mayPoint, POINTER_LIMITS } from '../domain/informal-asks';
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
 * thread, however often it is asked there and however often Slack delivers the event, and only while its channel
 * and its author are within the pointer limits (POINTER_LIMITS). An ask past them is not recorded.
 */
export function noteInformalAsk(ctx: ServiceContext, message: ChannelMessage): number | undefined {
  if (!looksLikeInformalAsk(message.text)) return undefined;
  const now = ctx.clock();
  return ctx.db.transaction(
    (tx) => {
      const threadTs = message.threadTs ?? message.ts;
      // Every row is a pointer sent, at answeredAt; the write lock (immediate) keeps two events from both squeezing in.
      const since = new Date(now.getTime() - POINTER_LIMITS.window).toISOString();
      const sent = (where: ReturnType<typeof eq>) => tx.select({ n: count() }).from(informalAsks).where(and(where, gt(informalAsks.answeredAt, since))).get()?.n ?? 0;
      if (!mayPoint({ toChannel: sent(eq(informalAsks.channel, message.channel)), toPerson: sent(eq(informalAsks.askedBy, message.userId)) })) return undefined;
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
