import type { types } from '@slack/bolt';
import type { AuditEntry } from '../../db/audit-chain';
import { OWNER_CONFIRMATION_NOTES } from '../../domain/authority';
import { STATUS_LABELS } from '../../domain/exception';
import { riskBand } from '../../domain/risk';
import { withdrawalReasonOf } from '../../domain/withdrawal';
import type { ExceptionRecord } from '../../services/exception-record';
import type { RecordView } from '../../services/view-register';
import { AMENDABLE_FIELD_LABELS, type AmendableField } from '../../domain/amendment';
import { ACTION_IDS } from '../ids';
import type { CardContext } from './exception-cards';
import { appliedSection } from './integration-lines';
import { calendarDay, calendarDayFrom, escapeMrkdwnWithin, labelledSection, mention, plainText, slackDate, slackTime, truncate } from './mrkdwn';
import { fieldList, roundName, termChangeBlocks } from './term-change-lines';

/** "View details": opens the whole record in a modal; any card, DM or App Home item may carry it. */
export function viewDetailsButton(exceptionId: number): types.Button {
  return { type: 'button', action_id: ACTION_IDS.viewRecord, text: plainText('View details'), value: String(exceptionId) };
}

/**
 * What the reader may do about the record, with the same action ids (and handlers) as everywhere else. Terms change
 * under the same conditions as a renewal: its owner or requester, active, no round open.
 */
export function recordButtons(view: Pick<RecordView, 'record' | 'canRenew' | 'canClose' | 'canRevoke'>): types.Button[] {
  const id = String(view.record.id);
  return [
    ...(view.canRenew ? [{ type: 'button' as const, action_id: ACTION_IDS.renew, text: plainText('Renew'), value: id }] : []),
    ...(view.canRenew ? [{ type: 'button' as const, action_id: ACTION_IDS.changeTerms, text: plainText('Change terms'), value: id }] : []),
    ...(view.canClose ? [{ type: 'button' as const, action_id: ACTION_IDS.close, text: plainText('Close exception'), value: id }] : []),
    ...(view.canRevoke ? [{ type: 'button' as const, action_id: ACTION_IDS.revoke, text: plainText('Revoke'), style: 'danger' as const, value: id }] : []),
  ];
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);
const count = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const day = (value: unknown, today: string): string | null => (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? calendarDay(value, today) : null);

/** The connector's own sentence ("removed 3 people from Okta group MFA-exempt for EXC-0042") as a sentence of the history. */
function sentenceOf(value: unknown, fallback: string): string {
  const said = text(value)?.trim();
  if (!said) return fallback;
  const words = escapeMrkdwnWithin(said, 600);
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}${/[.!?…]$/.test(words) ? '' : '.'}`;
}

const WAITING_FOR: Record<string, string> = { assessment: 'a risk assessment', decision: 'a decision' };

/** One event as people say it, without who did it; `quote` is their own words (a reason, a comment, a note), shown escaped. */
function describe(entry: AuditEntry, ctx: CardContext, today: string, renewalNumbers: ReadonlyMap<number, number>): { what: string; quote?: string | null; byApp?: boolean } {
  const p = entry.payload;
  const asked = count(p.round);
  // A renewal is named by its own number: rounds count changes of terms too.
  const round = asked === null ? null : (renewalNumbers.get(asked) ?? asked);
  const ofRenewal = round ? ` renewal ${round}` : ' it';
  switch (entry.kind) {
    case 'exception.requested':
      return { what: 'requested it' };
    case 'exception.assessed':
    case 'renewal.assessed':
    case 'amendment.assessed': {
      const score = count(p.score);
      const route = p.route === 'committee' ? 'the steering committee decides' : p.route === 'fast_path' ? 'one approver decides' : null;
      const sum = score === null ? '' : `: ${count(p.likelihood) ?? '?'} × ${count(p.impact) ?? '?'} = ${score}, ${riskBand(score, ctx.committeeRiskThreshold)}`;
      const of = entry.kind === 'amendment.assessed' ? ' of the change of terms' : round ? ` of renewal ${round}` : '';
      return { what: `assessed the risk${of}${sum}${route ? `; ${route}` : ''}`, quote: text(p.rationale) };
    }
    case 'exception.vote_recorded':
    case 'renewal.vote_recorded':
      return { what: `voted to ${p.outcome === 'reject' ? 'reject' : 'approve'}${ofRenewal}`, quote: text(p.comment) };
    case 'exception.approved': {
      const until = day(p.expiresOn, today);
      return { what: `approved it${until ? ` until ${until}` : ''}`, quote: text(p.comment) };
    }
    case 'exception.rejected':
      return { what: 'rejected it', quote: text(p.comment) };
    case 'renewal.requested': {
      const until = day(p.expiresOn, today);
      const tested = day(p.controlTestedOn, today);
      const facts = [count(p.percentComplete) !== null ? `${count(p.percentComplete)}% of the fix done` : null, tested ? `control last tested ${tested}` : null, text(p.evidenceUrl) ? `evidence: ${escapeMrkdwnWithin(String(p.evidenceUrl), 300)}` : null];
      return { what: `asked to renew it${until ? ` until ${until}` : ''}${facts.some(Boolean) ? ` (${facts.filter(Boolean).join(', ')})` : ''}`, quote: text(p.progress) };
    }
    case 'renewal.approved': {
      const until = day(p.newExpiresOn, today);
      return { what: `approved renewal ${round ?? ''}${until ? `: it now runs until ${until}` : ''}`.replace('  ', ' '), quote: text(p.comment) };
    }
    case 'renewal.rejected':
      return { what: `rejected renewal ${round ?? ''}`.trim(), quote: text(p.comment) };
    case 'amendment.requested': {
      const fields = Array.isArray(p.changes)
        ? p.changes.flatMap((c: unknown) => {
            const field = typeof c === 'object' && c !== null ? (c as { field?: unknown }).field : undefined;
            return typeof field === 'string' && field in AMENDABLE_FIELD_LABELS ? [field as AmendableField] : [];
          })
        : [];
      return { what: `asked to change the ${fieldList(fields)}`, quote: text(p.reason) };
    }
    case 'amendment.vote_recorded':
      return { what: `voted to ${p.outcome === 'reject' ? 'reject' : 'approve'} the change of terms`, quote: text(p.comment) };
    case 'amendment.approved':
      return { what: 'approved the change of terms: it stands on the new terms from now on, with its expiry unchanged', quote: text(p.comment) };
    case 'amendment.rejected':
      return { what: 'rejected the change of terms: it stays on the terms it had', quote: text(p.comment) };
    case 'exception.expired':
      return { what: `It expired at the end of ${day(p.expiresOn, today) ?? 'its last day'}.`, byApp: true };
    case 'exception.closed':
      return { what: 'closed it', quote: text(p.note) };
    case 'exception.withdrawn':
      return { what: 'withdrew the request before it was assessed', quote: text(withdrawalReasonOf(String(p.note ?? ''))) };
    case 'exception.revoked':
      return { what: 'revoked it', quote: text(p.note) };
    case 'exception.reminded':
      return { what: `The owner was reminded: ${count(p.daysLeft) ?? '?'} days left.`, byApp: true };
    case 'exception.nudged':
      return { what: `Nudged: waiting ${count(p.workingDays) ?? '?'} working days for ${WAITING_FOR[String(p.waitingFor)] ?? 'someone'}.`, byApp: true };
    case 'exception.escalated':
      return { what: `Escalated: waiting ${count(p.workingDays) ?? '?'} working days for ${WAITING_FOR[String(p.waitingFor)] ?? 'someone'}.`, byApp: true };
    case 'exception.checkin_asked':
      return { what: 'The owner was asked whether the compensating control still works.', byApp: true };
    case 'exception.checkin_answered':
      return { what: p.answer === 'yes' ? 'answered the check-in: the control is in place and working' : 'answered the check-in: the control is *not* in place or not working' };
    case 'exception.checkin_overdue':
      return { what: `The check-in asked ${day(p.askedOn, today) ?? ''} went unanswered.`.replace('  ', ' '), byApp: true };
    case 'exception.reapproved':
      return { what: `re-approved it in the quarterly review${text(p.quarter) ? ` (${String(p.quarter)})` : ''}`, quote: text(p.justification) };
    case 'exception.owner_accepted':
      return { what: 'accepted being its owner' };
    case 'exception.owner_declined':
      return { what: 'declined to be its owner' };
    case 'exception.changes_requested':
      return { what: `sent it back for changes${p.setAside ? '; its assessment and votes so far were set aside, and the amended request is assessed afresh' : ''}`, quote: text(p.changes) };
    case 'exception.amended': {
      const fields = Array.isArray(p.changes) ? p.changes.flatMap((c: unknown) => (typeof c === 'object' && c !== null && typeof (c as { field?: unknown }).field === 'string' ? [(c as { field: string }).field] : [])) : [];
      const words = fields.map((f) => f.replace(/([A-Z])/g, ' $1').toLowerCase());
      return { what: `amended the request${words.length > 0 ? ` (changed: ${words.join(', ')})` : ''}` };
    }
    case 'integration.applied':
      return { what: sentenceOf(p.sentence, 'A change was made in a connected system.'), byApp: true };
    case 'integration.failed':
      return { what: sentenceOf(p.sentence, 'A change in a connected system failed; the register will try again.'), byApp: true };
    case 'integration.drift_found':
      return { what: sentenceOf(p.sentence, 'The daily reconciliation found the identity provider out of step with the register.'), byApp: true };
    default:
      // A kind added later still reads as words, and its author can give it a sentence here.
      return { what: entry.kind.replace(/^[a-z]+\./, '').replace(/_/g, ' '), quote: text(p.comment) ?? text(p.note) ?? text(p.reason) };
  }
}

/** The trail in plain words, one line each, dated in each reader's own zone; people's own words are quoted, cut to `quoteMax` characters. */
export function historyLines(history: readonly AuditEntry[], ctx: CardContext, today: string, quoteMax: number): string[] {
  const renewalRounds = history.filter((entry) => entry.kind === 'renewal.requested').map((entry) => count(entry.payload.round));
  const renewalNumbers = new Map(renewalRounds.flatMap((round, index) => (round === null ? [] : [[round, index + 1] as const])));
  return history.map((entry) => {
    const { what, quote, byApp } = describe(entry, ctx, today, renewalNumbers);
    const who = entry.actorId === 'scheduler' || byApp ? '' : `${mention(entry.actorId)} `;
    const words = byApp && entry.actorId !== 'scheduler' ? `${mention(entry.actorId)}: ${what}` : `${who}${what}`;
    return `${slackTime(entry.occurredAt)} · ${words}${quote ? `: “${escapeMrkdwnWithin(quote, quoteMax).replace(/\s*\n\s*/g, ' ')}”` : ''}`;
  });
}

/** Lines packed into as few sections as fit 3,000 characters each. */
export function packedSections(lines: readonly string[], heading: string): types.SectionBlock[] {
  const sections: string[] = [];
  let current = heading;
  for (const line of lines) {
    const piece = truncate(line, 2900 - heading.length);
    if (current.length + piece.length + 1 > 2990) {
      sections.push(current);
      current = piece;
    } else current = current === '' ? piece : `${current}\n${piece}`;
  }
  if (current !== '') sections.push(current);
  return sections.map((t) => ({ type: 'section', text: { type: 'mrkdwn', text: t } }));
}

/** One line of where it stands: status, until when, the risk with its band, who decides. */
export function standingLine(record: ExceptionRecord, ctx: CardContext, today: string): string {
  const until =
    record.status === 'active' && record.expiresOn
      ? ` until ${calendarDayFrom(record.expiresOn, today)}`
      : record.status === 'expired' && record.expiresOn
        ? ` on ${calendarDay(record.expiresOn, today)}`
        : record.status === 'requested' || record.status === 'pending_approval'
          ? ` · asks until ${calendarDay(record.requestedExpiresOn, today)}`
          : '';
  const name = roundName(record);
  const renewal = name && record.open ? ` · ${name} waiting for ${WAITING_FOR[record.open.stage]}` : '';
  const risk = record.riskScore === null ? ' · risk not yet assessed' : ` · risk ${record.riskScore} (${riskBand(record.riskScore, ctx.committeeRiskThreshold)})`;
  const route = record.route === 'committee' ? ' · decision by the steering committee' : record.route === 'fast_path' ? ' · decision by one approver' : '';
  return `*${STATUS_LABELS[record.status]}*${until}${renewal}${risk}${route}`;
}

export function partiesLine(record: ExceptionRecord, today: string): string {
  const renewed = record.renewalCount > 0 && record.originalExpiresOn ? ` · renewed ${record.renewalCount}× (first expiry ${calendarDay(record.originalExpiresOn, today)})` : '';
  return (
    `Policy *${escapeMrkdwnWithin(record.policy.key, 64)}* · ${escapeMrkdwnWithin(record.policy.title, 200)}\n` +
    `Requested by ${mention(record.requesterId)} ${slackTime(record.createdAt)} · owner ${mention(record.ownerId)}${OWNER_CONFIRMATION_NOTES[record.ownerConfirmation]}${renewed}` +
    (record.lastCheckinOn || record.lastReviewedAt
      ? `\nLast control check-in: ${record.lastCheckinOn ? calendarDay(record.lastCheckinOn, today) : 'none yet'} · last review: ${record.lastReviewedAt ? `${slackDate(record.lastReviewedAt)} by ${mention(record.lastReviewedBy ?? '')}` : 'none yet'}`
      : '') +
    (record.attentionReason && record.status === 'active' ? `\n:warning: *Needs attention:* ${escapeMrkdwnWithin(record.attentionReason, 500)}` : '') +
    (record.structural ? '\nStructural: it cannot be fixed within the usual limit.' : '')
  );
}

/** Why a rejected exception was rejected, in each decider's own words: what its requester needs before asking again. */
export function rejectionReasons(record: ExceptionRecord, max: number): types.SectionBlock[] {
  if (record.status !== 'rejected') return [];
  const reasons = record.decisions.filter((d) => d.outcome === 'reject' && d.comment).map((d) => `${mention(d.deciderId)}: ${escapeMrkdwnWithin(d.comment!, max)}`);
  return reasons.length > 0 ? [{ type: 'section', text: { type: 'mrkdwn', text: truncate(`*Why it was rejected*\n${reasons.join('\n')}`, 3000) } }] : [];
}

function renewalBlocks(record: ExceptionRecord, today: string): types.KnownBlock[] {
  return record.renewals.flatMap((r) => {
    const facts = [
      `*Renewal ${r.number}* · ${r.status.replace('_', ' ')} · asked by ${mention(r.requestedBy)} ${slackTime(r.createdAt)}`,
      `${r.percentComplete}% of the fix done · control last tested ${calendarDay(r.controlTestedOn, today)} · asked until ${calendarDay(r.requestedExpiresOn, today)}${r.newExpiresOn ? ` · granted until ${calendarDay(r.newExpiresOn, today)}` : ''}`,
      r.evidenceUrl ? `Evidence: ${escapeMrkdwnWithin(r.evidenceUrl, 600)}` : 'No evidence link given.',
    ];
    return [{ type: 'section', text: { type: 'mrkdwn', text: facts.join('\n') } } as types.SectionBlock, labelledSection('Progress reported', r.progress, 2000)];
  });
}

/** Changes of terms the modal lists in full; older ones stay in the history lines, so the modal keeps within its blocks. */
const TERM_CHANGES_SHOWN = 5;

/** The latest changes of terms asked for, newest first: who asked and why, and each changed field in both versions. */
function termChangeHistory(record: ExceptionRecord): types.KnownBlock[] {
  const shown = record.amendments.slice(-TERM_CHANGES_SHOWN).reverse();
  const older = record.amendments.length - shown.length;
  return [
    ...shown.flatMap((a) => termChangeBlocks(a, 1000)),
    ...(older > 0 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `${older} earlier change${older === 1 ? '' : 's'} of terms: see the history below.` }] } as types.ContextBlock] : []),
  ];
}

/** The most a modal holds; the history gives way first, keeping its latest events. */
const MODAL_BLOCKS = 100;

/** The whole record in a modal: where it stands and what the reader may do first, then the request, renewals and the history in plain words. */
export function recordModal(view: RecordView, ctx: CardContext): types.ModalView {
  const { record, history, today } = view;
  const buttons = recordButtons(view);
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plainText(record.title, 150) },
    { type: 'section', text: { type: 'mrkdwn', text: standingLine(record, ctx, today) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(partiesLine(record, today), 3000) }] },
    ...(buttons.length > 0 ? [{ type: 'actions', block_id: `record_${record.id}`, elements: buttons } as types.ActionsBlock] : []),
    ...rejectionReasons(record, 1400),
    ...appliedSection(record.status, record.integration, 800),
    ...(record.closingNote ? [labelledSection(record.status === 'revoked' ? 'Why it was revoked' : 'Closing note', record.closingNote)] : []),
    { type: 'divider' },
    labelledSection('Scope', record.scope),
    labelledSection('Business justification', record.justification),
    labelledSection('Compensating control', record.compensatingControls),
    ...(record.affectedSystems ? [labelledSection('Affected systems', record.affectedSystems)] : []),
    ...(record.externalRef ? [labelledSection('External reference', record.externalRef)] : []),
    ...(record.structuralReason ? [labelledSection('Why structural', record.structuralReason)] : []),
    ...(record.renewals.length > 0 ? [{ type: 'divider' } as types.DividerBlock, ...renewalBlocks(record, today)] : []),
    ...(record.amendments.length > 0 ? [{ type: 'divider' } as types.DividerBlock, ...termChangeHistory(record)] : []),
    { type: 'divider' },
  ];
  let lines = historyLines(history, ctx, today, 1500);
  let sections = packedSections(lines, '*History*');
  while (blocks.length + sections.length + 1 > MODAL_BLOCKS && lines.length > 1) {
    lines = lines.slice(Math.ceil(lines.length / 4));
    sections = packedSections(lines, `*History* (the latest ${lines.length} of ${history.length} events; the operator's \`exceptions show ${record.ref}\` lists them all)`);
  }
  blocks.push(...sections);
  return { type: 'modal', title: plainText(record.ref, 24), close: plainText('Done', 24), blocks };
}
