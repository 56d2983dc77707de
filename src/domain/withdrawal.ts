import { z } from 'zod';
import { DomainError } from './errors';
import type { ExceptionStatus } from './exception';
import { CONTROL_CHARACTERS } from './request';

/**
 * Issue 11: a requester withdraws their own request while it still waits for its assessment, or was sent back to
 * them. SPEC §1 draws `requested ──withdraw──▶ rejected`: there is no "withdrawn" status, so a withdrawn request is
 * `rejected` with a closing note that says who withdrew it, and the trail's `exception.withdrawn` (not
 * `exception.rejected`) says nobody rejected it. Once assessed, only an approver's decision or a send-back moves it.
 */

/** Why it is withdrawn, in the requester's words; optional, since a request nobody needs any more needs no essay. */
export const WithdrawalReason = z
  .string()
  .trim()
  .max(1000, { error: 'The reason must be at most 1000 characters.' })
  .refine((value) => !CONTROL_CHARACTERS.test(value), { error: 'The reason contains control characters; paste it as plain text.' })
  .optional();
export type WithdrawalReason = z.infer<typeof WithdrawalReason>;

const NOTE_LEAD = 'Withdrawn by the requester';

/** The closing note the register keeps: the same words in the cards, `show`, the export and the trail. */
export function withdrawalNote(reason: string | undefined): string {
  return reason ? `${NOTE_LEAD}: ${reason}` : `${NOTE_LEAD}.`;
}

/** Rejected with the withdrawal's note (a rejection has none: its reason is the decision's comment). */
export function isWithdrawn(record: { status: ExceptionStatus; closingNote: string | null }): boolean {
  return record.status === 'rejected' && (record.closingNote?.startsWith(NOTE_LEAD) ?? false);
}

/** What the reason is, from the note (empty when none was given). */
export function withdrawalReasonOf(closingNote: string): string {
  return closingNote.startsWith(`${NOTE_LEAD}: `) ? closingNote.slice(NOTE_LEAD.length + 2) : '';
}

/** Whether to offer this person the Withdraw button: their own request, not yet assessed. */
export function mayWithdraw(actorId: string, record: { requesterId: string; status: ExceptionStatus }): boolean {
  return actorId === record.requesterId && record.status === 'requested';
}

/** Only the requester withdraws, and only a request not yet assessed; throws the refusal they can act on. */
export function assertMayWithdraw(ref: string, actorId: string, record: { requesterId: string; status: ExceptionStatus }): void {
  if (actorId !== record.requesterId) {
    throw new DomainError('not_authorised', `Only its requester (<@${record.requesterId}>) can withdraw ${ref}. To stop it, ask the security team or an approver to reject it.`);
  }
  if (record.status === 'requested') return;
  if (record.status === 'pending_approval') {
    throw new DomainError(
      'invalid_transition',
      `${ref} has been assessed and waits for its decision, so it can no longer be withdrawn. Ask an approver to reject it, or to send it back to you for changes; then you can withdraw it.`,
    );
  }
  const instead =
    record.status === 'active' || record.status === 'expired'
      ? `Its owner closes it once the gap is remediated (\`/exception close ${ref}\`), and a renewal waiting is withdrawn with it.`
      : 'Nothing is left to withdraw.';
  throw new DomainError('invalid_transition', `${ref} is already decided (${record.status.replace('_', ' ')}), so it cannot be withdrawn. ${instead}`);
}
