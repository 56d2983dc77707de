import type { types } from '@slack/bolt';
import { daysBetween } from '../../domain/calendar';
import { STATUS_LABELS } from '../../domain/exception';
import { riskBand } from '../../domain/risk';
import type { Figures, HomeOverview, MyException } from '../../services/home-overview';
import { ACTION_IDS } from '../ids';
import { assessButton, decisionButtons, type CardContext } from './exception-cards';
import { calendarDay, calendarDayFrom, escapeMrkdwnWithin, mention, plainText, slackTime } from './mrkdwn';
import { viewDetailsButton } from './record-modal';
import { withdrawButton } from './withdrawal-messages';
import { bypassTrouble, bypassWarning } from './integration-lines';
import { askedBy, onRound } from './term-change-lines';

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function context(text: string): types.ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}

function button(actionId: string, text: string, value: number, style?: 'primary' | 'danger'): types.Button {
  return { type: 'button', action_id: actionId, text: plainText(text), value: String(value), ...(style ? { style } : {}) };
}

const risk = (score: number | null, ctx: CardContext) => (score === null ? 'risk not yet assessed' : `risk ${score} (${riskBand(score, ctx.committeeRiskThreshold)})`);

const age = (days: number) => (days <= 0 ? 'today' : days === 1 ? '1 day ago' : `${days} days ago`);

function figuresLine(f: Figures, whose: 'yours' | 'register'): string {
  const of = whose === 'yours' ? ' of yours' : '';
  return `*${f.active}* active${of} · *${f.waitingForDecision}* waiting for assessment or a decision · *${f.expiringIn14Days}* expiring within 14 days`;
}

function myItem(row: MyException, ctx: CardContext, today: string): types.KnownBlock[] {
  const when =
    row.status === 'active' && row.expiresOn
      ? row.daysLeft !== null && row.daysLeft < 0
        ? ' · past its date, expiring now'
        : ` · until ${calendarDayFrom(row.expiresOn, today)}`
      : row.status === 'expired' && row.expiresOn
        ? ` on ${calendarDay(row.expiresOn, today)}`
        : '';
  const renewing = row.renewing ? ` · ${row.changingTerms ? 'the change of its terms' : 'its renewal'} waits for ${row.renewing === 'assessment' ? 'a risk assessment' : 'a decision'}` : '';
  const attention = row.attentionReason && row.status === 'active' ? '\n:warning: Needs attention: its control check-in failed or went unanswered.' : '';
  const bypass = row.bypass && bypassWarning(row.status, row.bypass) ? `\n${bypassTrouble(row.status, row.bypass)}` : '';
  const requested = daysBetween(today, row.createdAt.slice(0, 10));
  const lines = `*${row.ref}* · ${escapeMrkdwnWithin(row.title, 150)}\n${row.sentBack ? 'Sent back to its requester for changes' : STATUS_LABELS[row.status]}${when}${renewing} · ${escapeMrkdwnWithin(row.policyKey, 64)} · ${risk(row.riskScore, ctx)} · requested ${age(-requested)}${attention}${bypass}`;
  const canAct = row.status === 'active';
  return [
    section(lines),
    {
      type: 'actions',
      block_id: `mine_${row.id}`,
      elements: [
        ...(canAct && !row.renewing ? [button(ACTION_IDS.renew, 'Renew', row.id), button(ACTION_IDS.changeTerms, 'Change terms', row.id)] : []),
        ...(canAct ? [button(ACTION_IDS.close, 'Close', row.id)] : []),
        ...(row.mayWithdraw ? [withdrawButton(row.id)] : []),
        viewDetailsButton(row.id),
      ],
    },
  ];
}

/** What auditors do, said where they look: list and read in Slack, take the register away, check its trail. */
function auditorBlocks(): types.KnownBlock[] {
  return [
    { type: 'divider' },
    section('*For auditors*: you can read everything and change nothing.'),
    section(
      [
        '• `/exception list all` lists the register, what needs attention first; add a status (`/exception list all closed`) to narrow it.',
        '• `/exception show EXC-1` shows one record with its decisions, reasons, renewals, check-ins and history; *View details* opens all of it.',
        '• `/exception export` sends you the whole register as a CSV file in your DM with this app.',
        '• To check that the trail has not been altered, ask the app’s operator to run `exceptions audit verify`: it checks the hash chain, its seals and the anchors posted in the weekly summaries, then replays every exception against the register.',
      ].join('\n'),
    ),
  ];
}

/**
 * The home tab: the figures that matter to the reader first (staff: their own; the security team, deciders and
 * auditors: the register's), then for auditors what they can do, what waits for the reader (with its buttons), and
 * their own exceptions (with Renew, Close and View details).
 */
export function appHome(overview: HomeOverview, ctx: CardContext): types.HomeView {
  const { today, own, headline } = overview;
  const hasOwn = overview.mine.length > 0;
  // Staff see their own figures; those who run the process (or audit it) see the register's, and theirs if they have any.
  const lead = headline ? `*The register*: ${figuresLine(headline, 'register')}` : `*Yours* (as requester or owner): ${figuresLine(own, 'yours')}`;
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plainText('Security exceptions', 150) },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: lead },
      accessory: { type: 'button', action_id: ACTION_IDS.openRequest, text: plainText('Request an exception'), style: 'primary', value: 'home' },
    },
    ...(headline && hasOwn ? [context(`Yours (as requester or owner): ${figuresLine(own, 'yours')}`)] : []),
    ...(overview.auditor ? auditorBlocks() : []),
  ];
  // Only the security team and deciders are ever waited for: to anyone else an empty "Waiting for you" says nothing.
  if ((overview.auditor || !headline) && overview.waiting.length === 0) return { type: 'home', blocks: [...blocks, ...mineBlocks(overview, ctx, overview.auditor && !hasOwn)] };
  blocks.push({ type: 'divider' }, section('*Waiting for you*'));
  if (overview.waiting.length === 0) blocks.push(context('Nothing waits for you.'));
  for (const { record, stage } of overview.waiting) {
    const what =
      stage === 'review'
        ? `the committee's review: open past its original expiry (${record.originalExpiresOn ? calendarDay(record.originalExpiresOn, today) : 'unknown'})`
        : `${stage === 'assessment' ? 'risk assessment' : record.route === 'committee' ? 'your committee vote' : 'your decision'}${onRound(record)}`;
    const since = record.open ? ` since ${slackTime(record.open.since)}` : '';
    blocks.push(
      section(
        `*${record.ref}* · ${escapeMrkdwnWithin(record.title, 300)}\nWaiting for ${what}${since} · ${escapeMrkdwnWithin(record.policy.key, 64)} · ${risk(record.riskScore, ctx)} · requested by ${mention(askedBy(record))}`,
      ),
    );
    blocks.push({
      type: 'actions',
      block_id: `home_${record.id}`,
      elements: [
        ...(stage === 'assessment'
          ? [assessButton(record)]
          : stage === 'review'
            ? [button(ACTION_IDS.reapprove, 'Re-approve', record.id), button(ACTION_IDS.close, 'Close', record.id, 'danger')]
            : decisionButtons(record)),
        viewDetailsButton(record.id),
      ],
    });
  }
  if (overview.moreWaiting) blocks.push(context('More wait for you: see the approvals channel.'));
  blocks.push(...mineBlocks(overview, ctx, false));
  return { type: 'home', blocks };
}

/** The person's own exceptions; `omitWhenNone` leaves the section out for someone who has none and came for something else. */
function mineBlocks(overview: HomeOverview, ctx: CardContext, omitWhenNone: boolean): types.KnownBlock[] {
  if (omitWhenNone && overview.mine.length === 0) return [];
  const blocks: types.KnownBlock[] = [{ type: 'divider' }, section('*Your exceptions* (as requester or owner), newest first')];
  if (overview.mine.length === 0) blocks.push(context('You have none. Ask for one with the button above or `/exception request`.'));
  for (const row of overview.mine) blocks.push(...myItem(row, ctx, overview.today));
  if (overview.moreMine) blocks.push(context('You have more: `/exception list` shows them all.'));
  return blocks;
}
