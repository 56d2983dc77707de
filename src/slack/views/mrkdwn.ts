import type { types } from '@slack/bolt';
import { daysBetween, type CalendarDate } from '../../domain/calendar';
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

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * One of the organisation's calendar days (an expiry day ends at midnight in TZ), as people say it: "Wed 23 Sep",
 * with the year when it is not `today`'s. Not a Slack date token: the day is the same for every reader.
 */
export function calendarDay(day: CalendarDate, today?: CalendarDate): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const weekday = WEEKDAYS[new Date(Date.UTC(year, month - 1, date)).getUTCDay()];
  const sameYear = today !== undefined && today.slice(0, 4) === day.slice(0, 4);
  return `${weekday} ${date} ${MONTHS[month - 1]}${sameYear ? '' : ` ${year}`}`;
}

/** "Wed 23 Sep (in 14 days)", "Tue 1 Dec (today)", "Mon 30 Nov (2 days ago)": for messages read the day they are sent. */
export function calendarDayFrom(day: CalendarDate, today: CalendarDate): string {
  const days = daysBetween(today, day);
  const relative = days === 0 ? 'today' : days === 1 ? 'tomorrow' : days === -1 ? 'yesterday' : days > 0 ? `in ${days} days` : `${-days} days ago`;
  return `${calendarDay(day, today)} (${relative})`;
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

/** A section of our own mrkdwn (anything a person typed is escaped by the caller), cut to what a section holds. */
export function mrkdwnSection(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } };
}

/** The small grey line under a message's main text. */
export function mrkdwnContext(text: string): types.ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, 3000) }] };
}
