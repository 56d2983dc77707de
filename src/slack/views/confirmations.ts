import type { types } from '@slack/bolt';
import type { CalendarDate } from '../../domain/calendar';
import { calendarDayFrom, mention, plainText } from './mrkdwn';

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

/** What the modal becomes once its submission is recorded: what happened and what comes next, with one Close button. */
function confirmation(title: string, blocks: types.KnownBlock[]): types.ModalView {
  return { type: 'modal', title: plainText(title, 24), close: plainText('Done', 24), blocks };
}

export function renewalRequestedConfirmation(result: { ref: string; number: number; expiresOn: string | null }, today: CalendarDate, timeZone: string): types.ModalView {
  const until = result.expiresOn ? ` Until then it still expires ${calendarDayFrom(result.expiresOn, today)}, ending at midnight ${timeZone}.` : '';
  return confirmation('Renewal requested', [
    section(`:white_check_mark: *Renewal ${result.number} of ${result.ref} is requested.*`),
    section(
      `*What happens next:* the security team assesses its risk afresh, then the approver or the steering committee decides.${until}\n` +
        'You get a DM with the decision; reminders about this expiry stop while the renewal waits.',
    ),
  ]);
}

/** The exception keeps its terms meanwhile: the confirmation says so, and that its expiry is not touched. */
export function termChangeRequestedConfirmation(result: { ref: string }): types.ModalView {
  return confirmation('Change requested', [
    section(`:white_check_mark: *The change of terms of ${result.ref} is requested.*`),
    section(
      '*What happens next:* the security team assesses the risk of the new terms, then the approver or the steering committee decides. ' +
        `Until it is approved, ${result.ref} stays active on its current terms; its expiry does not move.\n` +
        'You get a DM with the decision.',
    ),
  ]);
}

export function closedConfirmation(result: { ref: string; action: 'close' | 'revoke'; told: string[] }): types.ModalView {
  const told = result.told.length > 0 ? ` ${result.told.map(mention).join(' and ')} ${result.told.length === 1 ? 'is' : 'are'} told by DM.` : '';
  return result.action === 'close'
    ? confirmation('Exception closed', [
        section(`:white_check_mark: *${result.ref} is closed* as remediated. The policy applies again in full; the register keeps your closing note as evidence.${told}`),
        section('Nothing more to do: its reminders and check-ins stop, and the messages about it lose their buttons.'),
      ])
    : confirmation('Exception revoked', [
        section(`:no_entry: *${result.ref} is revoked.* The policy applies again in full; the register keeps your reason.${told}`),
        section('Nothing more to do: its reminders and check-ins stop, and the messages about it lose their buttons.'),
      ]);
}
