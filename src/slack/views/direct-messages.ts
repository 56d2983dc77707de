import type { types } from '@slack/bolt';
import { AMENDABLE_FIELD_LABELS, termChangesOf } from '../../domain/amendment';
import type { OwnerAnswer } from '../../services/confirm-owner';
import type { DirectMessage } from '../../services/notifications';
import { ACTION_IDS } from '../ids';
import type { ExceptionRecord } from '../../services/exception-record';
import type { SlackMessage } from './exception-cards';
import { calendarDay, escapeMrkdwn, labelledSection, mention, plainText, slackTime } from './mrkdwn';
import { endOfDay, personalDigest, type OrgCalendar } from './personal-digest';
import { changedTerms } from './term-change-lines';

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function link(record: ExceptionRecord): string {
  return `*${record.ref}* (${escapeMrkdwn(record.title)})`;
}

function ownerNamedBlocks(record: ExceptionRecord, cal?: OrgCalendar): types.KnownBlock[] {
  return [
    section(
      `${mention(record.requesterId)} named you the *owner* of the exception request ${link(record)}.\n` +
        'As owner you are accountable for its compensating control and for remediation before it expires; reminders will come to you. ' +
        'Until you accept, the request shows its owner as not yet confirmed; if you should not be the owner, decline: the requester is told, and it cannot be approved with you as owner.',
    ),
    section(`*Policy:* ${escapeMrkdwn(record.policy.key)} · *Requested expiry:* ${calendarDay(record.requestedExpiresOn, cal?.today)}`),
  ];
}

function ownerButtons(record: ExceptionRecord): types.ActionsBlock {
  const value = String(record.id);
  return {
    type: 'actions',
    block_id: `owner_${record.id}`,
    elements: [
      { type: 'button', action_id: ACTION_IDS.acceptOwnership, text: plainText('Accept'), style: 'primary', value },
      { type: 'button', action_id: ACTION_IDS.declineOwnership, text: plainText('Decline'), style: 'danger', value },
    ],
  };
}

function ownerAnswerBlock(record: ExceptionRecord, answer: OwnerAnswer): types.SectionBlock {
  return section(
    answer === 'accept'
      ? `:white_check_mark: You *accepted* being the owner of ${record.ref}.`
      : `:x: You *declined* being the owner of ${record.ref}. ${mention(record.requesterId)} was told, and it cannot be approved with you as owner.`,
  );
}

/** The "you were named owner" DM once its owner has answered: the buttons give way to the answer. */
export function ownerAnswered(record: ExceptionRecord, answer: OwnerAnswer): SlackMessage {
  return { text: `You ${answer === 'accept' ? 'accepted' : 'declined'} being the owner of ${record.ref}.`, blocks: [...ownerNamedBlocks(record), ownerAnswerBlock(record, answer)] };
}

/** Days are the organisation's (an expiry day ends at midnight in TZ); instants render in each reader's own zone. */
export function directMessage(kind: DirectMessage, record: ExceptionRecord, cal: OrgCalendar): SlackMessage {
  switch (kind) {
    case 'receipt':
      return {
        text: `Your exception request ${record.ref} was received.`,
        blocks: [
          section(
            `Your exception request ${link(record)} was received and recorded in the register.\n` +
              `Next, the security team assesses its risk; then ${record.structural ? 'the steering committee decides, as it is structural' : 'an approver decides, or the steering committee if the risk is high'}. You will get a message here either way.`,
          ),
          section(`*Policy:* ${escapeMrkdwn(record.policy.key)} · *Owner:* ${mention(record.ownerId)} · *Requested expiry:* ${calendarDay(record.requestedExpiresOn, cal.today)}`),
        ],
      };
    case 'owner_named':
      return {
        text: `You were named owner of ${record.ref}.`,
        // Rendered when delivered: an owner who already answered gets their answer instead of the buttons.
        blocks: [...ownerNamedBlocks(record, cal), record.ownerConfirmation === 'unconfirmed' ? ownerButtons(record) : ownerAnswerBlock(record, record.ownerConfirmation === 'declined' ? 'decline' : 'accept')],
      };
    case 'owner_declined':
      return {
        text: `${record.ref}: the owner you named declined.`,
        blocks: [
          section(
            `:warning: ${mention(record.ownerId)} *declined* to be the owner of your exception request ${link(record)}, so it cannot be approved as it is.\n` +
              'Withdraw it (ask the security team or an approver to reject it) and request it again with `/exception request`, naming the right owner.',
          ),
        ],
      };
    case 'approved':
      return {
        text: `${record.ref} was approved. It expires on ${calendarDay(record.expiresOn ?? record.requestedExpiresOn, cal.today)}.`,
        blocks: [
          section(
            `:white_check_mark: ${link(record)} was *approved*. It is active until *${endOfDay(record.expiresOn ?? record.requestedExpiresOn, cal)}*, and then it expires by itself.\n` +
              `Keep the compensating control in place; the owner (${mention(record.ownerId)}) gets reminders before the expiry date.`,
          ),
        ],
      };
    case 'expired':
      // The same words as in the run's DM, where expiry notices usually go.
      return personalDigest({ reminders: [], checkins: [], expired: [record] }, cal)!;
    case 'closed':
      return {
        text: `${record.ref} was closed.`,
        blocks: [
          section(`${link(record)} was *closed*; the ${escapeMrkdwn(record.policy.key)} policy applies again in full.`),
          ...(record.closingNote ? [labelledSection('Closing note', record.closingNote)] : []),
        ],
      };
    case 'revoked':
      return {
        text: `${record.ref} was revoked by the steering committee.`,
        blocks: [
          section(`:no_entry: ${link(record)} was *revoked* by the steering committee; the ${escapeMrkdwn(record.policy.key)} policy applies again in full.`),
          ...(record.closingNote ? [labelledSection('Reason', record.closingNote)] : []),
        ],
      };
    case 'renewal_approved':
      return {
        text: `The renewal of ${record.ref} was approved. It now expires on ${calendarDay(record.expiresOn ?? record.requestedExpiresOn, cal.today)}.`,
        blocks: [
          section(
            `:white_check_mark: The renewal of ${link(record)} was *approved*. It is active until *${endOfDay(record.expiresOn ?? record.requestedExpiresOn, cal)}* (originally ${calendarDay(record.originalExpiresOn ?? record.requestedExpiresOn, cal.today)}); renewed ${record.renewalCount} time${record.renewalCount === 1 ? '' : 's'}.\n` +
              'A further renewal needs more remediation progress than this one reported, and goes to the steering committee.',
          ),
        ],
      };
    case 'amendment_approved':
      return {
        text: `The change of terms of ${record.ref} was approved: it now stands on its new terms.`,
        blocks: [
          section(
            `:white_check_mark: The change of terms of ${link(record)} was *approved*${record.amendment ? ` (${changedTerms(record.amendment)})` : ''}. ` +
              `It stands on the new terms from now on and still expires ${endOfDay(record.expiresOn ?? record.requestedExpiresOn, cal)}.`,
          ),
          // What it now says is what the owner must keep to: each changed term as approved.
          ...(record.amendment
            ? termChangesOf(record.amendment).map((c) => labelledSection(`${AMENDABLE_FIELD_LABELS[c.field]}, from now on`, typeof c.to === 'string' && c.to !== '' ? c.to : 'none'))
            : [labelledSection('Compensating control', record.compensatingControls)]),
        ],
      };
    case 'amendment_rejected': {
      const rejection = record.decisions.find((d) => d.outcome === 'reject');
      return {
        text: `The change of terms of ${record.ref} was rejected: it stays on its current terms.`,
        blocks: [
          section(
            `:x: The change of terms of ${link(record)} was *rejected*. ${record.status === 'active' ? `It stays active on the terms it was approved on, until ${endOfDay(record.expiresOn ?? record.requestedExpiresOn, cal)}.` : 'It has ended; the policy applies in full.'}`,
          ),
          ...(rejection?.comment ? [labelledSection('Reason', rejection.comment)] : []),
        ],
      };
    }
    case 'renewal_rejected': {
      const rejection = record.decisions.find((d) => d.outcome === 'reject');
      return {
        text: `The renewal of ${record.ref} was rejected.`,
        blocks: [
          section(
            `:x: The renewal of ${link(record)} was *rejected*. ${record.status === 'active' ? `It still expires ${endOfDay(record.expiresOn ?? record.requestedExpiresOn, cal)}.` : 'It stays expired; the policy applies in full.'}`,
          ),
          ...(rejection?.comment ? [labelledSection('Reason', rejection.comment)] : []),
        ],
      };
    }
    case 'rejected': {
      const rejection = record.decisions.find((d) => d.outcome === 'reject');
      const blocks: types.KnownBlock[] = [
        section(
          `:x: ${link(record)} was *rejected*${rejection ? ` by ${mention(rejection.deciderId)} ${slackTime(rejection.decidedAt)}` : ''}. The policy applies as written.\n` +
            'If the reason can be addressed, submit a new request with `/exception request`.',
        ),
      ];
      if (rejection?.comment) blocks.push(labelledSection('Reason', rejection.comment));
      return { text: `${record.ref} was rejected.`, blocks };
    }
  }
}
