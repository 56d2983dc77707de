import type { types } from '@slack/bolt';
import { STATUS_LABELS } from '../../domain/exception';
import type { HomeOverview } from '../../services/home-overview';
import { ACTION_IDS } from '../ids';
import { assessButton, decisionButtons } from './exception-cards';
import { escapeMrkdwnWithin, mention, plainText } from './mrkdwn';

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function button(actionId: string, text: string, value: number, style?: 'primary' | 'danger'): types.Button {
  return { type: 'button', action_id: actionId, text: plainText(text), value: String(value), ...(style ? { style } : {}) };
}

/** The home tab: headline figures, what waits for this person (with its buttons), and their own exceptions. */
export function appHome(overview: HomeOverview): types.HomeView {
  const { headline } = overview;
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plainText('Security exceptions', 150) },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*${headline.active}* active · *${headline.waitingForDecision}* waiting for assessment or a decision · *${headline.expiringIn14Days}* expiring within 14 days` },
      accessory: { type: 'button', action_id: ACTION_IDS.openRequest, text: plainText('Request an exception'), style: 'primary', value: 'home' },
    },
    { type: 'divider' },
    section('*Waiting for you*'),
  ];
  if (overview.waiting.length === 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'Nothing waits for you.' }] });
  for (const { record, stage } of overview.waiting) {
    const what =
      stage === 'review'
        ? `the committee's review: open past its original expiry (${record.originalExpiresOn})`
        : `${stage === 'assessment' ? 'risk assessment' : record.route === 'committee' ? 'your committee vote' : 'your decision'}${record.renewal ? ` on renewal ${record.round}` : ''}`;
    blocks.push(section(`*${record.ref}* · ${escapeMrkdwnWithin(record.title, 300)}\nWaiting for ${what} · requested by ${mention(record.renewal?.requestedBy ?? record.requesterId)}`));
    blocks.push({
      type: 'actions',
      block_id: `home_${record.id}`,
      elements:
        stage === 'assessment'
          ? [assessButton(record)]
          : stage === 'review'
            ? [button(ACTION_IDS.reapprove, 'Re-approve', record.id), button(ACTION_IDS.close, 'Close', record.id, 'danger')]
            : decisionButtons(record),
    });
  }
  if (overview.moreWaiting) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'More wait for you: see the approvals channel.' }] });
  blocks.push({ type: 'divider' }, section('*Your exceptions* (as requester or owner)'));
  if (overview.mine.length === 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'You have none. Ask for one with the button above or `/exception request`.' }] });
  const lines = overview.mine.map(
    (row) =>
      `*${row.ref}* · ${escapeMrkdwnWithin(row.title, 150)} · ${STATUS_LABELS[row.status]}` +
      (row.daysLeft === null ? '' : row.daysLeft < 0 ? ' · past its date, expiring now' : row.daysLeft === 0 ? ' · expires today' : ` · ${row.daysLeft} days left`),
  );
  for (let i = 0; i < lines.length; i += 10) blocks.push(section(lines.slice(i, i + 10).join('\n')));
  if (overview.moreMine) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'You have more: `/exception list` shows them all.' }] });
  return { type: 'home', blocks };
}
