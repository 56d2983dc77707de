import type { types } from '@slack/bolt';
import { AMENDABLE_FIELD_LABELS, termChangesOf, type AmendableField, type FieldChange } from '../../domain/amendment';
import type { AmendmentRecord, ExceptionRecord } from '../../services/exception-record';
import { escapeMrkdwnWithin, mention, slackTime, truncate } from './mrkdwn';

/**
 * A round after the first is a renewal or a change of terms, and the views must never call one the other: "renewal 2"
 * counts renewals only, a change of terms has no number of its own (rounds count both).
 */
export function roundName(record: Pick<ExceptionRecord, 'renewal' | 'amendment'>): string | null {
  if (record.renewal) return `renewal ${record.renewal.number}`;
  if (record.amendment) return 'change of terms';
  return null;
}

/** "renewal 2 of ", "the change of terms of ", or nothing for the first request: put before a ref or a title. */
export function roundOf(record: Pick<ExceptionRecord, 'renewal' | 'amendment'>): string {
  if (record.renewal) return `renewal ${record.renewal.number} of `;
  if (record.amendment) return 'the change of terms of ';
  return '';
}

/** " on renewal 2", " on the change of terms", or nothing: after what waits ("a decision"). */
export function onRound(record: Pick<ExceptionRecord, 'renewal' | 'amendment'>): string {
  if (record.renewal) return ` on renewal ${record.renewal.number}`;
  if (record.amendment) return ' on the change of terms';
  return '';
}

/** Whoever asked for what waits now: the requester, or whoever asked for the renewal or the change of terms. */
export function askedBy(record: Pick<ExceptionRecord, 'renewal' | 'amendment' | 'requesterId'>): string {
  return record.renewal?.requestedBy ?? record.amendment?.requestedBy ?? record.requesterId;
}

/** A changed field's lines: both versions, named for where the change stands. */
const VERSION_LABELS: Record<AmendmentRecord['status'], [before: string, after: string]> = {
  requested: ['Now', 'Proposed'],
  pending_approval: ['Now', 'Proposed'],
  approved: ['Before', 'Now'],
  rejected: ['Stays', 'Proposed, rejected'],
  withdrawn: ['Stays', 'Proposed, withdrawn'],
};

const shown = (value: string | boolean | null, max: number) => (typeof value === 'string' && value.trim() !== '' ? escapeMrkdwnWithin(value, max) : '_none_');

/** One section per changed field, each version cut to `max` characters so a card keeps room for the rest. */
function fieldSection(change: FieldChange, status: AmendmentRecord['status'], max: number): types.SectionBlock {
  const [before, after] = VERSION_LABELS[status];
  const text = `*${AMENDABLE_FIELD_LABELS[change.field]}*\n_${before}:_ ${shown(change.from, max)}\n_${after}:_ ${shown(change.to, max)}`;
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } };
}

/** Fields named in a sentence, e.g. "scope, affected systems and compensating control"; "terms" when none is known. */
export function fieldList(fields: readonly AmendableField[]): string {
  const named = fields.map((field) => AMENDABLE_FIELD_LABELS[field].toLowerCase());
  return named.length <= 1 ? (named[0] ?? 'terms') : `${named.slice(0, -1).join(', ')} and ${named.at(-1)}`;
}

/** The fields a change of terms changes, e.g. "scope and compensating control". */
export function changedTerms(amendment: AmendmentRecord): string {
  return fieldList(termChangesOf(amendment).map((c) => c.field));
}

const STATUS_WORDS: Record<AmendmentRecord['status'], string> = {
  requested: 'waiting for its risk assessment',
  pending_approval: 'waiting for its decision',
  approved: 'approved',
  rejected: 'rejected',
  withdrawn: 'withdrawn',
};

/**
 * A change of terms as whoever assesses or decides it needs it: who asked and why, then each changed field in both
 * versions. `max` bounds each version and the reason.
 */
export function termChangeBlocks(amendment: AmendmentRecord, max: number, options: { heading?: boolean } = {}): types.KnownBlock[] {
  const heading = options.heading ?? true;
  const lead = `${heading ? `*Change of terms* (${STATUS_WORDS[amendment.status]}), asked by ` : 'Asked by '}${mention(amendment.requestedBy)} ${slackTime(amendment.createdAt)}`;
  return [
    { type: 'section', text: { type: 'mrkdwn', text: truncate(`${lead}\n*Why the terms change*\n${escapeMrkdwnWithin(amendment.reason, max)}`, 3000) } },
    ...termChangesOf(amendment).map((change) => fieldSection(change, amendment.status, max)),
  ];
}
