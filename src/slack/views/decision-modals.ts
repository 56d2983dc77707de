import type { types } from '@slack/bolt';
import { IMPACT_LABELS, LIKELIHOOD_LABELS, RISK_SCALE } from '../../domain/risk';
import type { Closing } from '../../services/close-exception';
import type { ExceptionRecord } from '../../services/exception-record';
import { ASSESSMENT_BLOCK_IDS as A, CALLBACK_IDS, CLOSING_NOTE_BLOCK_ID, FRESH_JUSTIFICATION_BLOCK_ID, INPUT_ACTION_ID, REJECTION_BLOCK_ID } from '../ids';
import { shownForValue } from '../shown-for-value';
import { calendarDay, escapeMrkdwn, labelledSection, mention, mrkdwnContext as context, plainText, slackTime } from './mrkdwn';
import { termChangeBlocks } from './term-change-lines';

function ratingSelect(blockId: string, label: string, labels: readonly string[]): types.InputBlock {
  return {
    type: 'input',
    block_id: blockId,
    label: plainText(label, 2000),
    element: {
      type: 'static_select',
      action_id: INPUT_ACTION_ID,
      placeholder: plainText(`Choose ${label.toLowerCase()}`, 150),
      options: RISK_SCALE.map((n) => ({ text: plainText(`${n} · ${labels[n - 1]}`), value: String(n) })),
    },
  };
}

/**
 * What a renewal asks the assessor to weigh: its progress and evidence, the control test, the new expiry, and the
 * scope first approved, which a renewal keeps.
 */
function renewalSummary(record: ExceptionRecord): types.KnownBlock[] {
  const renewal = record.renewal;
  if (!renewal) return [];
  return [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Renewal ${renewal.number}*, asked by ${mention(renewal.requestedBy)} ${slackTime(renewal.createdAt)}` },
      fields: [
        { type: 'mrkdwn', text: `*Remediation*\n${renewal.percentComplete}% complete` },
        { type: 'mrkdwn', text: `*Control last tested*\n${calendarDay(renewal.controlTestedOn)}` },
        { type: 'mrkdwn', text: `*New expiry asked*\n${calendarDay(renewal.requestedExpiresOn)}` },
        { type: 'mrkdwn', text: `*Expires now*\n${record.expiresOn ? calendarDay(record.expiresOn) : 'not set'}${record.originalExpiresOn && record.renewalCount > 0 ? ` (first approved to ${calendarDay(record.originalExpiresOn)})` : ''}` },
      ],
    },
    labelledSection('Remediation progress', renewal.progress),
    ...(renewal.evidenceUrl ? [labelledSection('Evidence', renewal.evidenceUrl, 600)] : []),
    labelledSection('Original scope', record.scope),
    { type: 'divider' },
  ];
}

/**
 * What a change of terms asks the assessor to weigh: why, and each changed term as it is and as proposed. The
 * exception's expiry stays, so none is asked.
 */
function termChangeSummary(record: ExceptionRecord): types.KnownBlock[] {
  if (!record.amendment) return [];
  return [...termChangeBlocks(record.amendment, 1200), context(`Its expiry stays ${record.expiresOn ? calendarDay(record.expiresOn) : 'as it is'}: a change of terms never moves it.`), { type: 'divider' }];
}

function summary(record: ExceptionRecord): types.KnownBlock[] {
  // The changed terms are shown above in both versions; the control is repeated only when it stays as it is.
  const controlChanged = record.amendment ? record.amendment.compensatingControls !== record.amendment.previousCompensatingControls : false;
  return [
    { type: 'section', text: { type: 'mrkdwn', text: `*${record.ref}* · ${escapeMrkdwn(record.title)}\nPolicy: ${escapeMrkdwn(record.policy.key)} · ${escapeMrkdwn(record.policy.title)}` } },
    ...renewalSummary(record),
    ...termChangeSummary(record),
    labelledSection('Business justification', record.justification),
    ...(controlChanged ? [] : [labelledSection(record.amendment ? 'Compensating control (unchanged)' : 'Compensating control', record.compensatingControls)]),
  ];
}

export function assessmentModal(record: ExceptionRecord, threshold: number): types.ModalView {
  return {
    type: 'modal',
    callback_id: CALLBACK_IDS.assessment,
    // The form is for this round's assessment only: submitted after a renewal, it is refused, not moved on to it.
    private_metadata: shownForValue(record, 'assessment'),
    title: plainText('Assess risk', 24),
    submit: plainText('Save assessment', 24),
    close: plainText('Cancel', 24),
    blocks: [
      ...summary(record),
      { type: 'divider' },
      ratingSelect(A.likelihood, 'Likelihood', LIKELIHOOD_LABELS),
      ratingSelect(A.impact, 'Impact', IMPACT_LABELS),
      {
        type: 'input',
        block_id: A.rationale,
        label: plainText('Rationale', 2000),
        hint: plainText(`Score = likelihood × impact. ${threshold} or more goes to the steering committee.`, 2000),
        element: { type: 'plain_text_input', action_id: INPUT_ACTION_ID, multiline: true, max_length: 2000 },
      },
    ],
  };
}

export function rejectionModal(record: ExceptionRecord): types.ModalView {
  const change = Boolean(record.amendment);
  return {
    type: 'modal',
    callback_id: CALLBACK_IDS.rejection,
    private_metadata: shownForValue(record, 'decision'),
    title: plainText(change ? 'Reject the change' : 'Reject exception', 24),
    submit: plainText('Reject', 24),
    close: plainText('Cancel', 24),
    blocks: [
      ...summary(record),
      {
        type: 'input',
        block_id: REJECTION_BLOCK_ID,
        label: plainText('Reason for rejecting', 2000),
        hint: plainText(
          change
            ? `Whoever asked for the change sees this reason; ${record.ref} stays active on its current terms. Say what would make the change acceptable.`
            : 'The requester sees this reason; say what would have to change.',
          2000,
        ),
        element: { type: 'plain_text_input', action_id: INPUT_ACTION_ID, multiline: true, min_length: 10, max_length: 2000 },
      },
    ],
  };
}

export function closeModal({ record, action }: Closing): types.ModalView {
  const revoking = action === 'revoke';
  return {
    type: 'modal',
    callback_id: CALLBACK_IDS.close,
    private_metadata: String(record.id),
    title: plainText(revoking ? 'Revoke exception' : 'Close exception', 24),
    submit: plainText(revoking ? 'Revoke' : 'Close exception', 24),
    close: plainText('Cancel', 24),
    blocks: [
      ...summary(record),
      {
        type: 'input',
        block_id: CLOSING_NOTE_BLOCK_ID,
        label: plainText(revoking ? 'Reason for revoking' : 'Remediation note', 2000),
        hint: plainText(
          revoking
            ? 'You are not its owner: as a committee member you revoke it, and the owner and requester are told why.'
            : 'How the gap was fixed, so the policy can apply again in full. The register keeps this note as evidence.',
          2000,
        ),
        element: { type: 'plain_text_input', action_id: INPUT_ACTION_ID, multiline: true, min_length: 20, max_length: 2000 },
      },
    ],
  };
}

export function reapprovalModal(record: ExceptionRecord): types.ModalView {
  return {
    type: 'modal',
    callback_id: CALLBACK_IDS.reapproval,
    private_metadata: String(record.id),
    title: plainText('Re-approve exception', 24),
    submit: plainText('Re-approve', 24),
    close: plainText('Cancel', 24),
    blocks: [
      ...summary(record),
      {
        type: 'input',
        block_id: FRESH_JUSTIFICATION_BLOCK_ID,
        label: plainText('Fresh justification', 2000),
        hint: plainText(`Why ${record.ref} should stay open past its original expiry (${record.originalExpiresOn}), as of today.`, 2000),
        element: { type: 'plain_text_input', action_id: INPUT_ACTION_ID, multiline: true, min_length: 40, max_length: 2000 },
      },
    ],
  };
}
