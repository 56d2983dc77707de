import type { types } from '@slack/bolt';
import { SLACK_USER_ID } from '../../domain/exception';

/**
 * Slack mrkdwn treats only &, < and > as control characters; escaping them turns `<!channel>` or
 * `<https://evil|click>` into visible text instead of a ping or a forged link.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Escapes and bounds the result to `max` characters, never cutting an entity or a code point in half. */
export function escapeMrkdwnWithin(text: string, max: number): string {
  if (text.length * 5 <= max) return escapeMrkdwn(text);
  let out = '';
  let length = 0;
  for (const char of text) {
    const piece = ENTITIES[char] ?? char;
    const size = Array.from(piece).length;
    if (length + size > max - 1) return `${out}…`;
    out += piece;
    length += size;
  }
  return out;
}

/** Cuts on a code point boundary so an emoji or a right-to-left mark is never split in half. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

export function mention(userId: string): string {
  return SLACK_USER_ID.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/** Renders in each reader's own time zone; the fallback is what clients without date support show. */
export function slackTime(iso: string): string {
  const seconds = Math.floor(new Date(iso).getTime() / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${iso.slice(0, 16).replace('T', ' ')} UTC>`;
}

/** The day of an instant, in each reader's own time zone: its day in UTC is often the day before or after theirs. */
export function slackDate(iso: string): string {
  const seconds = Math.floor(new Date(iso).getTime() / 1000);
  return `<!date^${seconds}^{date_short}|${iso.slice(0, 10)} UTC>`;
}

export function plainText(text: string, max = 75): types.PlainTextElement {
  return { type: 'plain_text', text: truncate(text, max), emoji: true };
}

/**
 * A labelled field of user text; the label is ours, the value is escaped and bounded to `max` characters. A section
 * holds 3,000, but a whole message only about 12,000, so a card gives each field a share of that.
 */
export function labelledSection(label: string, value: string, max = 2900): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: `*${label}*\n${escapeMrkdwnWithin(value, Math.min(max, 2900 - label.length))}` } };
}
