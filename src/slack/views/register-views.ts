import type { types } from '@slack/bolt';
import { STATUS_LABELS } from '../../domain/exception';
import type { RecordView, RegisterListing } from '../../services/view-register';
import { ACTION_IDS } from '../ids';
import { triageCard, type CardContext, type SlackMessage } from './exception-cards';
import { escapeMrkdwnWithin, mention, plainText, slackDate, slackTime, truncate } from './mrkdwn';

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } };
}

/** `/exception list`: one line per exception, in sections that stay within Slack's limits. */
export function registerList(listing: RegisterListing): SlackMessage {
  if (listing.rows.length === 0) {
    const none = listing.scope === 'mine' ? 'You have no exceptions as requester or owner.' : 'No exceptions match.';
    return { text: none, blocks: [section(`${none} Request one with \`/exception request\`.`)] };
  }
  const lines = listing.rows.map(
    (r) =>
      `*${r.ref}* · ${escapeMrkdwnWithin(r.title, 180)} · ${escapeMrkdwnWithin(r.policyKey, 64)} · ${STATUS_LABELS[r.status]}` +
      `${r.expiresOn ? ` · until ${r.expiresOn}` : ''} · owner ${mention(r.ownerId)}`,
  );
  const blocks: types.KnownBlock[] = [section(listing.scope === 'mine' ? '*Your exceptions* (as requester or owner), newest first:' : '*The register*, newest first:')];
  for (let i = 0; i < lines.length; i += 10) blocks.push(section(lines.slice(i, i + 10).join('\n')));
  if (listing.more) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'More exceptions match: narrow with a status (e.g. `/exception list all active`) or ask for the export.' }] });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `See one in full with \`/exception show ${listing.rows[0]!.ref}\`.` }] });
  return { text: `${listing.rows.length}${listing.more ? '+' : ''} exceptions`, blocks };
}

/** `/exception show`: the card as the approvals channel has it, with its history, and Revoke for those who may. */
export function recordDetails({ record, history, canRevoke }: RecordView, ctx: CardContext): SlackMessage {
  const card = triageCard(record, ctx).blocks.filter((block) => block.type !== 'actions');
  const recent = history.slice(-15);
  const lines = recent.map((e) => `${slackTime(e.occurredAt)} · ${e.kind.replace('.', ' ').replace('_', ' ')} · ${e.actorId === 'scheduler' ? 'scheduler' : mention(e.actorId)}`);
  const blocks: types.KnownBlock[] = [
    ...card,
    section(`*History*${history.length > recent.length ? ` (last ${recent.length} of ${history.length})` : ''}\n${lines.join('\n')}`),
  ];
  if (record.lastReviewedAt || record.lastCheckinOn) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Last review: ${record.lastReviewedAt ? `${slackDate(record.lastReviewedAt)} by ${mention(record.lastReviewedBy ?? '')}` : 'none'} · last control check-in: ${record.lastCheckinOn ?? 'none'}` }],
    });
  }
  if (canRevoke) {
    blocks.push({
      type: 'actions',
      block_id: `record_${record.id}`,
      elements: [{ type: 'button', action_id: ACTION_IDS.revoke, text: plainText('Revoke'), style: 'danger', value: String(record.id) }],
    });
  }
  return { text: `${record.ref}: ${STATUS_LABELS[record.status]}`, blocks };
}
