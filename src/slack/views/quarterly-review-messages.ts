import type { types } from '@slack/bolt';
import { calendarDateIn } from '../../domain/calendar';
import { quarterOf } from '../../domain/follow-ups';
import { riskBand } from '../../domain/risk';
import type { ExceptionRecord } from '../../services/exception-record';
import type { QuarterFigures } from '../../services/quarterly-review';
import { ACTION_IDS } from '../ids';
import type { SlackMessage } from './exception-cards';
import type { ChartFiles } from './metrics-message';
import { calendarDay, calendarDayFrom, escapeMrkdwn, escapeMrkdwnWithin, mention, plainText, slackDate, truncate } from './mrkdwn';
import { viewDetailsButton } from './record-modal';

function section(text: string, accessory?: types.Button): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) }, ...(accessory ? { accessory } : {}) };
}

/** Each item's share of a message's 12,000 characters, escaped: title, policy, progress report, attention note. */
const ITEM_TEXT = { title: 150, policy: 40, progress: 200, attention: 150 } as const;

function line(record: ExceptionRecord): string {
  return `*${record.ref}* · ${escapeMrkdwnWithin(record.title, ITEM_TEXT.title)} (${escapeMrkdwnWithin(record.policy.key, ITEM_TEXT.policy)})`;
}

/** What happened in the quarter reviewed, in the order a request moves; a status now, in the words people use. */
const DURING = [
  ['requested', 'requested'],
  ['approved', 'approved'],
  ['rejected', 'rejected'],
  ['renewed', 'renewed'],
  ['reapproved', 're-approved in review'],
  ['expired', 'expired'],
  ['closed', 'closed as fixed'],
  ['withdrawn', 'withdrawn by the requester'],
  ['revoked', 'revoked'],
] as const;
const NOW = [
  ['active', 'active'],
  ['requested', 'waiting for an assessment'],
  ['pending_approval', 'waiting for a decision'],
  ['sent_back', 'sent back for changes'],
] as const;

export interface ReviewContext {
  today: string;
  timeZone: string;
  committeeRiskThreshold: number;
  /** The latest review's quarter: an older review's open items are decided there, not here. */
  latestQuarter?: string;
}

/**
 * The review's opening post: what happened in the quarter just ended (not since the register began), what is open
 * now, the quarter's chart, and how many exceptions need the committee's decision.
 */
export function reviewSummary(quarter: string, counts: Record<string, number>, overdue: number, reviewed?: QuarterFigures, charts?: ChartFiles): SlackMessage {
  const now = NOW.map(([status, words]) => `${words}: *${counts[status] ?? 0}*`).join(' · ');
  const blocks: types.KnownBlock[] = [{ type: 'header', text: plainText(`Quarterly review of the exception register, ${quarter}`, 150) }];
  if (reviewed) {
    const span = `${calendarDay(reviewed.from, reviewed.through)} – ${calendarDay(reviewed.through)}`;
    blocks.push(section(`*During ${reviewed.quarter}* (${span}): ${DURING.map(([kind, words]) => `${words}: *${reviewed.events[kind] ?? 0}*`).join(' · ')}`));
  }
  blocks.push(section(`*Now:* ${now}`));
  if (reviewed && charts) {
    const weeks = reviewed.series.length;
    blocks.push(
      {
        type: 'image',
        slack_file: { id: charts.active },
        title: plainText(`Active exceptions each week of ${reviewed.quarter}`, 2000),
        alt_text: truncate(`Line chart of active exceptions each week of ${reviewed.quarter}, ${weeks} weeks: ${reviewed.series.map((w) => `${calendarDay(w.monday, reviewed.through)} ${w.active ?? 'no post'}`).join(', ')}.`, 2000),
      },
      {
        type: 'image',
        slack_file: { id: charts.ages },
        title: plainText(`Age since first approval each week of ${reviewed.quarter}`, 2000),
        alt_text: truncate(`Stacked bars of active exceptions by days since first approval, each week of ${reviewed.quarter}.`, 2000),
      },
    );
  }
  blocks.push(
    section(
      overdue > 0
        ? `*${overdue} exception${overdue === 1 ? ' is' : 's are'} open past the original expiry.* Each needs a committee member to re-approve it with a fresh justification, or to close it.`
        : 'No exception is open past its original expiry.',
    ),
  );
  return { text: `Quarterly review of the exception register, ${quarter}`, blocks };
}

/** Risk, renewals and the owner's latest progress report: what the committee weighs before re-approving. */
function overdueContext(record: ExceptionRecord, context: ReviewContext): string {
  const risk = record.riskScore === null ? 'not assessed' : `${record.riskScore} (${riskBand(record.riskScore, context.committeeRiskThreshold)})`;
  const renewals = record.renewals.filter((r) => r.status === 'approved');
  const latest = renewals.at(-1);
  const progress = latest ? `\nLatest progress (${latest.percentComplete}% done, control tested ${calendarDay(latest.controlTestedOn, context.today)}): ${escapeMrkdwnWithin(latest.progress, ITEM_TEXT.progress)}` : '\nNever renewed.';
  const original = record.originalExpiresOn ? calendarDay(record.originalExpiresOn, context.today) : 'unknown';
  const until = record.expiresOn ? calendarDayFrom(record.expiresOn, context.today) : 'no expiry';
  return `Risk ${risk} · owner ${mention(record.ownerId)} · renewed ${renewals.length}× · originally until ${original}, now until ${until}${progress}`;
}

/** Where an item in review stands once someone has acted on it: no buttons are left for what was already done. */
function outcome(record: ExceptionRecord, quarter: string, context: ReviewContext): string | undefined {
  const at = record.updatedAt;
  switch (record.status) {
    case 'active':
      if (record.lastReviewedAt && quarterOf(calendarDateIn(new Date(record.lastReviewedAt), context.timeZone)) >= quarter) {
        return `:white_check_mark: Re-approved by ${record.lastReviewedBy ? mention(record.lastReviewedBy) : 'a committee member'} on ${slackDate(record.lastReviewedAt)}.`;
      }
      if (context.latestQuarter && context.latestQuarter > quarter) return `Carried over to the ${context.latestQuarter} review: decide it there.`;
      return undefined;
    case 'closed':
      return `Closed as fixed on ${slackDate(at)}: nothing left to decide.`;
    case 'revoked':
      return `Revoked on ${slackDate(at)}: the policy applies again in full.`;
    case 'expired':
      return `Expired at the end of ${record.expiresOn ? calendarDay(record.expiresOn, context.today) : 'its expiry day'}: the policy applies again in full.`;
    default:
      return `Now ${record.status.replace('_', ' ')}.`;
  }
}

/**
 * Each exception open past its original expiry, with what the committee needs to decide on it, and Re-approve and
 * Close while that decision is still to make. Drawn again whenever one of them moves, so the buttons go when done.
 */
export function reviewOverdue(records: ExceptionRecord[], quarter: string, context: ReviewContext): SlackMessage {
  const blocks: types.KnownBlock[] = [];
  for (const record of records) {
    const done = outcome(record, quarter, context);
    // Where it stands comes first: a reader scanning the post sees what is left to decide.
    blocks.push(
      section(
        `${line(record)}${done ? `\n${done}` : ''}\n${overdueContext(record, context)}${record.attentionReason ? `\n:warning: ${escapeMrkdwnWithin(record.attentionReason, ITEM_TEXT.attention)}` : ''}`,
        viewDetailsButton(record.id),
      ),
    );
    if (done) continue;
    blocks.push({
      type: 'actions',
      block_id: `review_${record.id}`,
      elements: [
        { type: 'button', action_id: ACTION_IDS.reapprove, text: plainText('Re-approve'), value: String(record.id) },
        { type: 'button', action_id: ACTION_IDS.close, text: plainText('Close'), style: 'danger', value: String(record.id) },
      ],
    });
  }
  return { text: `Open past the original expiry: ${records.map((r) => r.ref).join(', ')}`, blocks };
}

/** Text a list may take in one message, below Slack's 12,000 for all the blocks of a message together. */
const LIST_BUDGET = 9000;

export function reviewRegister(records: ExceptionRecord[], context: ReviewContext): SlackMessage {
  const lines = records.map(
    (r) => `• ${r.ref} · ${escapeMrkdwn(truncate(r.title, 80))} · ${escapeMrkdwn(r.policy.key)} · ${mention(r.ownerId)} · active until ${r.expiresOn ? calendarDay(r.expiresOn, context.today) : 'no expiry'}${r.attentionReason ? ' :warning: needs attention' : ''}`,
  );
  const sections: types.SectionBlock[] = [];
  let current = '';
  let used = 0;
  const flush = () => {
    if (current) sections.push(section(current));
    current = '';
  };
  let shown = 0;
  for (const text of lines) {
    if (used + text.length > LIST_BUDGET) break;
    if (current.length + text.length + 1 > 2900) flush();
    current = current ? `${current}\n${text}` : text;
    used += text.length + 1;
    shown++;
  }
  flush();
  const rest = records.slice(shown);
  if (rest.length > 0) sections.push(section(`…and ${rest.length} more: ${rest.map((r) => r.ref).join(', ')}`));
  return { text: `Active register: ${records.length} exceptions`, blocks: sections };
}
