import type { types } from '@slack/bolt';
import { formatAnchor, POSTED_ANCHOR_LABEL, type AuditAnchor } from '../../domain/audit-anchor';
import { formatExceptionRef, STATUS_LABELS, type ExceptionStatus } from '../../domain/exception';
import { AGE_BUCKETS, type Metrics, type StillAppliedItem, type VerdictFigures } from '../../domain/metrics';
import type { ExceptionRecord } from '../../services/exception-record';
import type { SlackMessage } from './exception-cards';
import { viewDetailsButton } from './record-modal';
import { calendarDay, calendarDayFrom, escapeMrkdwnWithin, mention, plainText, slackDate, truncate } from './mrkdwn';

/** Items named one by one under "waiting" and "expiring", each with its own View details; the rest by ID. */
const NAMED_ITEMS = 5;

/** The chart panels, uploaded to Slack, for the post's image blocks. */
export interface ChartFiles {
  active: string;
  ages: string;
}

export interface MetricsShown {
  anchor?: AuditAnchor;
  charts?: ChartFiles;
  /** The exceptions behind "waiting" and "expiring", as the register has them now; those missing are named by ID. */
  records?: ReadonlyMap<number, ExceptionRecord>;
}

function section(text: string, accessory?: types.Button): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) }, ...(accessory ? { accessory } : {}) };
}

function signed(n: number | null): string {
  if (n === null) return 'no earlier figure yet';
  return n === 0 ? 'no change' : `${n > 0 ? '+' : '−'}${Math.abs(n)}`;
}

function moreOrFewer(n: number): string {
  return n === 0 ? 'no change' : `${Math.abs(n)} ${n > 0 ? 'more' : 'fewer'}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const TREND_WORDS: Record<Metrics['trend'], string> = {
  up: ':chart_with_upwards_trend: *up* quarter over quarter: a warning if it keeps rising',
  down: ':chart_with_downwards_trend: *down* quarter over quarter',
  flat: '*flat* quarter over quarter',
  'not enough history': 'not enough history yet (it needs a snapshot from a quarter ago)',
};

/** A steady total can hide old exceptions piling up while new ones close: the trend says when the age groups moved. */
function olderMoved(metrics: Metrics): string {
  const change = metrics.verdict?.comparedWith === 'last quarter' ? metrics.verdict.overOneEightyChange : 0;
  if (change === 0) return '';
  return `. Over the same quarter the over-180-days group ${change > 0 ? 'rose' : 'fell'} by ${Math.abs(change)}.`;
}

const VERDICT_WORDS: Record<VerdictFigures['direction'], string> = { better: 'Better', worse: 'Worse', steady: 'Steady' };

/** "Okta", "Okta and Microsoft Entra ID": the identity providers still holding ended exceptions. */
function vendorsOf(items: readonly StillAppliedItem[]): string {
  const labels = [...new Set(items.map((i) => i.vendorLabel))];
  return labels.length <= 1 ? (labels[0] ?? '') : `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)!}`;
}

/**
 * A bypass still held after its exception ended is the permanent exception the register exists to prevent: however
 * the figures moved, the first line says so.
 */
function stillAppliedWarning(items: readonly StillAppliedItem[]): string {
  if (items.length === 0) return '';
  return ` :warning: But *${items.length === 1 ? '1 exception the register has ended is' : `${items.length} exceptions the register has ended are`} still applied in ${vendorsOf(items)}* (below).`;
}

/** The post's first line: better, worse or steady, against what, and the two figures that decide it. */
export function verdictSentence(metrics: Pick<Metrics, 'verdict' | 'active' | 'overOneEighty' | 'today'> & Partial<Pick<Metrics, 'stillAppliedItems'>>): string {
  const { verdict } = metrics;
  const older = `${metrics.overOneEighty} older than 180 days`;
  const warning = stillAppliedWarning(metrics.stillAppliedItems ?? []);
  if (!verdict) return `First report: *${plural(metrics.active, 'active exception')}*, ${older}. Next week's post compares with this one.${warning}`;
  const against = verdict.comparedWith === 'last quarter' ? `the same week last quarter (${calendarDay(verdict.since, metrics.today)})` : `last week (${calendarDay(verdict.since, metrics.today)})`;
  const why = `*${plural(metrics.active, 'active exception')}* (${moreOrFewer(verdict.activeChange)}), ${older} (${moreOrFewer(verdict.overOneEightyChange)})`;
  return `*${VERDICT_WORDS[verdict.direction]}* ${verdict.direction === 'steady' ? 'since' : 'than'} ${against}: ${why}.${warning}`;
}

/** Which ends the list's heading names: "Expired in the register", "Expired or revoked in the register". */
function endedWords(items: readonly StillAppliedItem[]): string {
  const order: ExceptionStatus[] = ['expired', 'closed', 'revoked', 'rejected'];
  const ends = order.filter((status) => items.some((i) => i.status === status)).map((status, i) => (i === 0 ? STATUS_LABELS[status] : STATUS_LABELS[status].toLowerCase()));
  return ends.length <= 1 ? (ends[0] ?? 'Ended') : `${ends.slice(0, -1).join(', ')} or ${ends.at(-1)!}`;
}

/** One still-applied exception: since when the register has been trying, and why the vendor says no, when it has. */
function stillAppliedLine(item: StillAppliedItem, record: ExceptionRecord | undefined): string {
  const where = `${STATUS_LABELS[item.status]} · ${item.people} ${item.people === 1 ? 'person' : 'people'} still in ${item.vendorLabel} group *${escapeMrkdwnWithin(item.groupName, 150)}*`;
  if (!record) return where;
  const bypass = record.integration.bypass;
  const pending = bypass?.pending;
  const owner = ` · owner ${mention(record.ownerId)}`;
  // The record is read as the post goes out: a removal done since the count is not called stuck.
  if (!pending) return `${where}${bypass?.state === 'applied' && !bypass.inSync ? ' · no removal left to try: remove them by hand' : ''}${owner}`;
  const why = pending.attempts === 0 ? 'removal on its way' : `removal failing since ${slackDate(pending.since)}${pending.lastErrorCode === 'refused' ? `: ${item.vendorLabel} refused it` : pending.lastErrorCode === 'unavailable' ? `: ${item.vendorLabel} could not be reached` : ''}`;
  return `${where} · ${why}${owner}`;
}

function named(id: number, records: ReadonlyMap<number, ExceptionRecord> | undefined): string {
  const record = records?.get(id);
  return record ? `*${record.ref}* ${escapeMrkdwnWithin(record.title, 150)} (${escapeMrkdwnWithin(record.policy.key, 40)})` : `*${formatExceptionRef(id)}*`;
}

function itemList<T extends { exceptionId: number }>(heading: string, items: readonly T[], describe: (item: T) => string, shown: MetricsShown): types.KnownBlock[] {
  if (items.length === 0) return [section(`${heading}: *none*`)];
  const blocks: types.KnownBlock[] = [section(`${heading}: *${items.length}*`)];
  for (const item of items.slice(0, NAMED_ITEMS)) {
    blocks.push(section(`${named(item.exceptionId, shown.records)}\n${describe(item)}`, shown.records?.has(item.exceptionId) ? viewDetailsButton(item.exceptionId) : undefined));
  }
  const rest = items.slice(NAMED_ITEMS);
  if (rest.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(`…and ${rest.length} more: ${rest.map((i) => formatExceptionRef(i.exceptionId)).join(', ')}. \`/exception show EXC-n\` opens any of them.`, 3000) }] });
  return blocks;
}

function chartBlocks(metrics: Metrics, charts: ChartFiles): types.KnownBlock[] {
  const weeks = metrics.series;
  const span = `${plural(weeks.length, 'week')} from ${calendarDay(weeks[0]!.monday, metrics.today)}`;
  const reference = metrics.quarterAgo ? `; the same week last quarter had ${metrics.quarterAgo.active}, ${metrics.quarterAgo.overOneEighty} older than 180 days` : '';
  return [
    {
      type: 'image',
      slack_file: { id: charts.active },
      title: plainText(`Active exceptions each week, ${span}`, 2000),
      alt_text: truncate(`Line chart of active exceptions each week, ${span}: ${weeks.map((w) => `${calendarDay(w.monday, metrics.today)} ${w.active ?? 'no post'}`).join(', ')}${reference}.`, 2000),
    },
    {
      type: 'image',
      slack_file: { id: charts.ages },
      title: plainText(`Age since first approval each week, ${span}`, 2000),
      alt_text: truncate(`Stacked bars of active exceptions by age each week. This week: ${AGE_BUCKETS.map((b) => `${b} days ${metrics.ages[b]}`).join(', ')}${reference}.`, 2000),
    },
  ];
}

/**
 * The weekly post and `/exception metrics`: a one-line verdict, the charts, the four figures the committee reviews,
 * then what is waiting and what expires soon, each by name. The weekly post also carries the audit chain's head, so
 * the channel keeps a copy of it that the register cannot rewrite.
 */
export function metricsMessage(metrics: Metrics, anchor?: AuditAnchor, shown: MetricsShown = {}): SlackMessage {
  const ages = AGE_BUCKETS.map((bucket) => `${bucket} days: *${metrics.ages[bucket]}*`).join(' · ');
  const policies = metrics.topPolicies.length > 0
    ? metrics.topPolicies.map((p) => `${escapeMrkdwnWithin(p.key, 40)}: ${p.active}${p.many ? ' :warning: (a policy with this many exceptions is a wish, not a policy)' : ''}`).join('\n')
    : 'No active exceptions.';
  const verdict = verdictSentence(metrics);
  const since = metrics.quarterAgo ? ` · since ${calendarDay(metrics.quarterAgo.monday, metrics.today)}, the same week last quarter: ${signed(metrics.changeSinceLastQuarter)}` : ' · since the same week last quarter: no figure yet';
  return {
    text: `Exception register, week ${metrics.week} (from ${calendarDay(metrics.monday, metrics.today)}): ${verdict.replaceAll('*', '')}`,
    blocks: [
      { type: 'header', text: plainText(`Exception register, week of ${calendarDay(metrics.monday, metrics.today)}`, 150) },
      section(verdict),
      ...(shown.charts ? chartBlocks(metrics, shown.charts) : []),
      section(`*1. Active exceptions: ${metrics.active}* · since last week: ${signed(metrics.changeSinceLastWeek)}${since}`),
      section(
        `*2. Age since first approval:* ${ages}` +
          (metrics.overOneEightyGrew ? `\n:warning: *The over-180-days group grew this week* (${metrics.overOneEighty}): exceptions are becoming permanent.` : ''),
      ),
      section(`*3. Exceptions per policy:* ${metrics.perPolicy} overall. Most:\n${policies}`),
      section(`*4. Trend:* ${TREND_WORDS[metrics.trend]}${olderMoved(metrics)}`),
      { type: 'divider' },
      ...(metrics.stillAppliedItems.length > 0
        ? itemList(`:warning: *${endedWords(metrics.stillAppliedItems)} in the register, still applied in ${vendorsOf(metrics.stillAppliedItems)}*`, metrics.stillAppliedItems, (item) => stillAppliedLine(item, shown.records?.get(item.exceptionId)), shown)
        : []),
      ...itemList('*Waiting for assessment or a decision*, oldest first', metrics.waitingItems, (w) => `waiting ${w.days === 0 ? 'since today' : plural(w.days, 'day')} (since ${slackDate(w.since)})`, shown),
      ...itemList(
        '*Expiring within 14 days*, soonest first',
        metrics.expiringItems,
        (e) => {
          const record = shown.records?.get(e.exceptionId);
          return `expires ${calendarDayFrom(e.expiresOn, metrics.today)}${record ? ` · owner ${mention(record.ownerId)}` : ''}`;
        },
        shown,
      ),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Renewals this quarter: *${metrics.renewalsThisQuarter}*` }] },
      ...(anchor
        ? [
            {
              type: 'context' as const,
              elements: [{ type: 'mrkdwn' as const, text: `${POSTED_ANCHOR_LABEL} \`${formatAnchor(anchor)}\` (events so far, and the last one's hash: keep a copy; \`exceptions audit verify\` checks the register against it)` }],
            },
          ]
        : []),
    ],
  };
}
