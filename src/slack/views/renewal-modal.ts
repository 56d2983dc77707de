import type { types } from '@slack/bolt';
import { CONTROL_TEST_MAX_AGE_DAYS, PROGRESS_MIN_LENGTH, type RenewalDraft } from '../../domain/renewal';
import type { ExceptionRecord } from '../../services/exception-record';
import { CALLBACK_IDS, INPUT_ACTION_ID, RENEWAL_BLOCK_IDS as R } from '../ids';
import { addCalendarDays } from '../../domain/calendar';
import { calendarDay, calendarDayFrom, escapeMrkdwn, labelledSection, plainText } from './mrkdwn';
import { readInput, type ViewState } from './view-state';

export interface RenewalModalOptions {
  record: ExceptionRecord;
  defaultExpiry: string;
  maxDays: number;
  because: string;
  previousPercent?: number;
  today: string;
}

/** Renewal asks for more than the first request did: progress, a recent control test and a new date. */
export function renewalModal({ record, defaultExpiry, maxDays, because, previousPercent, today }: RenewalModalOptions): types.ModalView {
  const expiry = record.expiresOn ? calendarDayFrom(record.expiresOn, today) : 'its expiry day';
  const progressHint = previousPercent === undefined ? 'How far remediation is, 1 to 100: no progress, no renewal.' : `An earlier renewal reported ${previousPercent}%: no progress, no renewal.`;
  return {
    type: 'modal',
    callback_id: CALLBACK_IDS.renewal,
    private_metadata: String(record.id),
    title: plainText('Renew exception', 24),
    submit: plainText('Ask for renewal', 24),
    close: plainText('Cancel', 24),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*${record.ref}* · ${escapeMrkdwn(record.title)}\nExpires at the end of *${expiry}*${record.originalExpiresOn && record.originalExpiresOn !== record.expiresOn ? ` (originally ${calendarDay(record.originalExpiresOn, today)})` : ''}. A renewal is assessed and decided again, never on a lighter path than before.`,
        },
      },
      labelledSection('Compensating control', record.compensatingControls),
      {
        type: 'input',
        block_id: R.progress,
        label: plainText('Remediation progress', 2000),
        hint: plainText(`What is done, what is left, and when it will be finished. At least ${PROGRESS_MIN_LENGTH} characters.`, 2000),
        element: { type: 'plain_text_input', action_id: INPUT_ACTION_ID, multiline: true, max_length: 2000 },
      },
      {
        type: 'input',
        block_id: R.percentComplete,
        label: plainText('Percent complete', 2000),
        hint: plainText(progressHint, 2000),
        element: { type: 'number_input', action_id: INPUT_ACTION_ID, is_decimal_allowed: false, min_value: '0', max_value: '100' },
      },
      {
        type: 'input',
        block_id: R.evidenceUrl,
        optional: true,
        label: plainText('Evidence link', 2000),
        hint: plainText('A ticket, document or test report that shows the progress.', 2000),
        element: { type: 'plain_text_input', action_id: INPUT_ACTION_ID, max_length: 500, placeholder: plainText('https://…', 150) },
      },
      {
        type: 'input',
        block_id: R.controlTestedOn,
        label: plainText('Compensating control last tested', 2000),
        hint: plainText(`Must be within the last ${CONTROL_TEST_MAX_AGE_DAYS} days: ${calendarDay(addCalendarDays(today, -CONTROL_TEST_MAX_AGE_DAYS), today)} or later.`, 2000),
        element: { type: 'datepicker', action_id: INPUT_ACTION_ID },
      },
      {
        type: 'input',
        block_id: R.expiresOn,
        label: plainText('New expiry date', 2000),
        hint: plainText(`${because}, counted from today: choose ${calendarDay(addCalendarDays(today, maxDays), today)} at the latest. The exception then ends at midnight on that day.`, 2000),
        element: { type: 'datepicker', action_id: INPUT_ACTION_ID, initial_date: defaultExpiry },
      },
    ],
  };
}

export function readRenewalForm(values: ViewState): RenewalDraft {
  return {
    progress: readInput(values, R.progress).value ?? undefined,
    percentComplete: readInput(values, R.percentComplete).value ?? undefined,
    evidenceUrl: readInput(values, R.evidenceUrl).value ?? undefined,
    controlTestedOn: readInput(values, R.controlTestedOn).selected_date ?? undefined,
    expiresOn: readInput(values, R.expiresOn).selected_date ?? undefined,
  };
}
