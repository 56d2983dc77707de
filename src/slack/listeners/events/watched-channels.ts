import type { App } from '@slack/bolt';
import { noteInformalAsk } from '../../../services/informal-asks';
import type { ListenerDeps } from '../deps';

/**
 * In WATCH_CHANNELS, a message that asks for an exception informally gets one pointer to the formal request in its
 * thread. Never in DMs, never twice in a thread, never to the app itself or other bots.
 */
const ASK_SUBTYPES = new Set(['file_share', 'thread_broadcast']);

export function registerWatchedChannels(app: App, deps: ListenerDeps, watched: ReadonlySet<string>): void {
  app.event('message', async ({ event }) => {
    const message = event as { channel?: string; channel_type?: string; subtype?: string; bot_id?: string; user?: string; text?: string; ts?: string; thread_ts?: string };
    if (!message.channel || !watched.has(message.channel) || message.channel_type === 'im') return;
    // A person's ask may come with a screenshot (file_share) or be broadcast from a thread; edits and joins are not asks.
    if ((message.subtype !== undefined && !ASK_SUBTYPES.has(message.subtype)) || message.bot_id !== undefined || !message.user || !message.text || !message.ts) return;
    const asked = noteInformalAsk(deps.services, { channel: message.channel, ts: message.ts, threadTs: message.thread_ts, userId: message.user, text: message.text });
    if (asked !== undefined) deps.wakeNotifier();
  });
}
