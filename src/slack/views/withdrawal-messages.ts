import type { types } from '@slack/bolt';
import { withdrawalReasonOf } from '../../domain/withdrawal';
import type { ExceptionRecord } from '../../services/exception-record';
import { ACTION_IDS, CALLBACK_IDS, INPUT_ACTION_ID, WITHDRAWAL_REASON_BLOCK_ID } from '../ids';
import type { SlackMessage } from './exception-cards';
import { escapeMrkdwn, labelledSection, mention, mrkdwnContext, mrkdwnSection, plainText, slackTime, truncate } from './mrkdwn';
import { viewDetailsButton } from './record-modal';

const section = mrkdwnSection;
const context = mrkdwnContext;

/** How a message names the request it is about: its ID and title. */
export const subject = (record: ExceptionRecord) => `*${record.ref}* (${escapeMrkdwn(truncate(record.title, 150))})`;

/** The requester's button wherever they see their own request undecided; it only opens the confirmation. */
export function withdrawButton(exceptionId: number): types.Button {
  return { type: 'button', action_id: ACTION_IDS.withdrawRequest, text: plainText('Withdraw request'), value: String(exceptionId) };
}

/** Where it stood when withdrawn, in the words of the card it leaves. */
function waitingFor(record: ExceptionRecord): string {
  if (record.sentBack) return 'It was sent back to you for changes; nobody will wait for your amendment.';
  return 'It waits for its risk assessment: the security team is told in its card\'s thread, and nobody assesses it.';
}

/** "Are you sure?", with an optional reason: nothing is withdrawn until it is submitted. */
export function withdrawalModal(record: ExceptionRecord): types.ModalView {
  return {
    type: 'modal',
    callback_id: CALLBACK_IDS.withdrawal,
    private_metadata: String(record.id),
    title: plainText('Withdraw request', 24),
    submit: plainText('Withdraw', 24),
    close: plainText('Keep it', 24),
    blocks: [
      section(`Withdraw your request ${subject(record)}?`),
      section(`${waitingFor(record)} The register keeps it as rejected, withdrawn by you with your reason, and its history stays. To ask again later, make a new request.`),
      {
        type: 'input',
        block_id: WITHDRAWAL_REASON_BLOCK_ID,
        optional: true,
        label: plainText('Why are you withdrawing it?', 2000),
        hint: plainText('Shown on its cards and kept in the register, e.g. "The vendor shipped MFA support; no longer needed".', 2000),
        element: { type: 'plain_text_input', action_id: INPUT_ACTION_ID, multiline: true, max_length: 1000 },
      },
    ],
  };
}

/** What the modal becomes once the withdrawal is recorded. */
export function withdrawnConfirmation(result: { ref: string; told: string[] }): types.ModalView {
  const told = result.told.length > 0 ? ` ${result.told.map(mention).join(' ')} ${result.told.length === 1 ? 'is' : 'are'} told in its card's thread.` : '';
  return {
    type: 'modal',
    title: plainText('Request withdrawn', 24),
    close: plainText('Done', 24),
    blocks: [
      section(`:wastebasket: *${result.ref} is withdrawn.* Nobody assesses or decides it now, and its cards lose their buttons.${told}`),
      section('Its history stays in the register. If you need the exception after all, make a new request with `/exception request`.'),
    ],
  };
}

/** The card's first line once withdrawn: by whom (only ever its requester) and when. */
export function withdrawnLine(record: ExceptionRecord): string {
  return `:wastebasket: *Withdrawn* by ${mention(record.requesterId)} ${slackTime(record.updatedAt)}`;
}

/** Under the card's first line: the requester's reason, when they gave one. */
export function withdrawalBlocks(record: ExceptionRecord): types.KnownBlock[] {
  const reason = record.closingNote ? withdrawalReasonOf(record.closingNote) : '';
  return [...(reason ? [labelledSection('Why it was withdrawn', reason, 700)] : []), context('Nobody assesses or decides it: its requester withdrew it before it was decided. Its history stays in the register.')];
}

/** In the thread of the card where someone would have acted: they need not any more. */
export function withdrawnNote(record: ExceptionRecord, mentions: readonly string[]): SlackMessage {
  const reason = record.closingNote ? withdrawalReasonOf(record.closingNote) : '';
  const who = mentions.length > 0 ? `${mentions.map(mention).join(' ')} ` : '';
  return {
    text: `${record.ref} was withdrawn by its requester.`,
    blocks: [
      section(`${who}:wastebasket: ${mention(record.requesterId)} withdrew ${record.ref} ${slackTime(record.updatedAt)}: nothing is left to assess or decide.`),
      ...(reason ? [labelledSection('Why', reason, 700)] : []),
    ],
  };
}

/** To the owner the request named: it no longer needs them. */
export function withdrawnOwnerMessage(record: ExceptionRecord): SlackMessage {
  const reason = record.closingNote ? withdrawalReasonOf(record.closingNote) : '';
  return {
    text: `${record.ref} was withdrawn by its requester.`,
    blocks: [
      section(`:wastebasket: ${mention(record.requesterId)} withdrew the request ${subject(record)}, which named you as its owner. Nothing is asked of you.`),
      ...(reason ? [labelledSection('Why', reason, 700)] : []),
      { type: 'actions', block_id: `withdrawn_${record.id}`, elements: [viewDetailsButton(record.id)] },
    ],
  };
}
