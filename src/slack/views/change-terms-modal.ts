import type { types } from '@slack/bolt';
import type { TermChangeDraft } from '../../domain/amendment';
import { REQUEST_TEXT_LIMITS as L } from '../../domain/request';
import type { ExceptionRecord } from '../../services/exception-record';
import { CALLBACK_IDS, TERM_CHANGE_BLOCK_IDS as T } from '../ids';
import { calendarDay, escapeMrkdwn, mrkdwnContext, mrkdwnSection, plainText } from './mrkdwn';
import { textInput } from './request-modal';
import { readInput, type ViewState } from './view-state';

/**
 * "Change terms": the terms the exception was approved on, filled in to be edited, and why they change. Nothing
 * changes until the new terms are assessed and approved, and the expiry never moves here: that is a renewal.
 */
export function changeTermsModal(record: ExceptionRecord): types.ModalView {
  const until = record.expiresOn ? ` until the end of ${calendarDay(record.expiresOn)}` : '';
  return {
    type: 'modal',
    callback_id: CALLBACK_IDS.changeTerms,
    private_metadata: String(record.id),
    title: plainText('Change terms', 24),
    submit: plainText('Ask for the change', 24),
    close: plainText('Cancel', 24),
    blocks: [
      mrkdwnSection(`*${record.ref}* · ${escapeMrkdwn(record.title)}`),
      mrkdwnSection(
        `Edit the scope, the affected systems or the compensating control below. *${record.ref} stays active on its current terms${until}* until the change is assessed and approved; if it is rejected, nothing changes.`,
      ),
      mrkdwnContext('The expiry does not move with a change of terms: to extend it, renew it (`/exception renew`). Another policy or another owner is a new request.'),
      { type: 'divider' },
      textInput(T.scope, 'Scope', { multiline: true, maxLength: L.scope.max, hint: 'Which systems, people or data the exception covers, as it should read from now on.', initialValue: record.scope }),
      textInput(T.affectedSystems, 'Affected systems', { multiline: true, optional: true, maxLength: L.affectedSystems.max, hint: 'e.g. hr-app-01, payroll-db. Leave empty if it names none.', initialValue: record.affectedSystems }),
      textInput(T.compensatingControls, 'Compensating control', {
        multiline: true,
        maxLength: L.compensatingControls.max,
        hint: 'What reduces the risk while the exception is active, as it should read from now on.',
        initialValue: record.compensatingControls,
      }),
      textInput(T.reason, 'Why the terms change', { multiline: true, maxLength: 2000, hint: 'What changed and why, for the security team who assesses the change. At least 10 characters.' }),
    ],
  };
}

export function readChangeTermsForm(values: ViewState): TermChangeDraft {
  const text = (blockId: string) => readInput(values, blockId).value ?? undefined;
  return { scope: text(T.scope), affectedSystems: text(T.affectedSystems), compensatingControls: text(T.compensatingControls), reason: text(T.reason) };
}
