import type { types } from '@slack/bolt';
import type { IdentityVendor } from '../../integrations/port';
import { z } from 'zod';
import { AMENDABLE_FIELD_LABELS } from '../../domain/amendment';
import { eligibleDeciders } from '../../domain/authority';
import { riskBand } from '../../domain/risk';
import { isWithdrawn } from '../../domain/withdrawal';
import type { ExceptionRecord, SentBack } from '../../services/exception-record';
import { STANDING_MESSAGES, type StandingMessage } from '../../services/notifications';
import { ACTION_IDS, CALLBACK_IDS, CHANGES_BLOCK_ID, INPUT_ACTION_ID } from '../ids';
import { shownForValue } from '../shown-for-value';
import type { CardContext, SlackMessage } from './exception-cards';
import { escapeMrkdwn, labelledSection, mention, mrkdwnContext, mrkdwnSection, plainText, slackTime, truncate } from './mrkdwn';
import { viewDetailsButton } from './record-modal';
import { requestModal } from './request-modal';
import { subject, withdrawalBlocks, withdrawButton, withdrawnOwnerMessage } from './withdrawal-messages';

const section = mrkdwnSection;
const context = mrkdwnContext;

/** What the security team member or decider writes before the request goes back; nothing is sent until it is submitted. */
export function changesRequestedModal(record: ExceptionRecord): types.ModalView {
  const stage = record.open?.stage === 'decision' ? 'decision' : 'assessment';
  const setAside =
    stage === 'decision' && record.assessment
      ? ` The assessment by ${mention(record.assessment.assessorId)}${record.decisions.length > 0 ? ' and the votes so far stop' : ' stops'} counting: the amended request is assessed and decided afresh.`
      : ' The amended request comes back here for its risk assessment.';
  return {
    type: 'modal',
    callback_id: CALLBACK_IDS.changesRequested,
    private_metadata: shownForValue(record, stage),
    title: plainText('Ask for changes', 24),
    submit: plainText('Send back', 24),
    close: plainText('Cancel', 24),
    blocks: [
      section(subject(record)),
      section(`It goes back to ${mention(record.requesterId)} with what you write here. They amend it in the request form, filled in as it stands; it is not rejected.${setAside}`),
      {
        type: 'input',
        block_id: CHANGES_BLOCK_ID,
        label: plainText('What should change?', 2000),
        hint: plainText('Name the field and what it should say, e.g. "Scope: only the 12 payroll users, not all 40".', 2000),
        element: { type: 'plain_text_input', action_id: INPUT_ACTION_ID, multiline: true, max_length: 2000 },
      },
    ],
  };
}

/** The Amend button's value: the exception, and the send-back it answers (a later send-back makes it stale). */
const AmendValue = z.object({ exception: z.number().int().positive(), sentBack: z.number().int().positive() });
export type AmendValue = z.infer<typeof AmendValue>;

export function readAmendValue(value: string | undefined): AmendValue | undefined {
  try {
    const parsed = AmendValue.safeParse(JSON.parse(value ?? ''));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function amendButton(record: ExceptionRecord, sentBack: SentBack): types.Button {
  return { type: 'button', action_id: ACTION_IDS.amendRequest, text: plainText('Amend request'), style: 'primary', value: JSON.stringify({ exception: record.id, sentBack: sentBack.eventId }) };
}

/** To the requester: who sent it back and what to change, with the button that opens the form filled in. */
export function sentBackMessage(record: ExceptionRecord, sentBack: SentBack): SlackMessage {
  const stage = sentBack.stage === 'decision' ? 'at its decision' : 'before its risk assessment';
  return {
    text: `${record.ref} was sent back to you for changes.`,
    blocks: [
      // User text (the title) and people's mentions sit in separate text objects, so neither can pass for the other.
      section(`:leftwards_arrow_with_hook: Your request ${subject(record)} was *sent back for changes*. It is not rejected.`),
      section(`${mention(sentBack.byId)} sent it back ${stage}, ${slackTime(sentBack.at)}. Amend it and it goes back to the security team, to be assessed and decided afresh.`),
      labelledSection('What to change', sentBack.changes, 2000),
      { type: 'actions', block_id: `amend_${record.id}`, elements: [amendButton(record, sentBack), withdrawButton(record.id), viewDetailsButton(record.id)] },
      context('Until you amend it, nobody assesses or decides it. The version sent back stays in its history. No longer needed? Withdraw it.'),
    ],
  };
}

/** What became of a request since it was sent back, for the message that asked for the changes. */
function sinceSentBack(record: ExceptionRecord): string {
  if (isWithdrawn(record)) return `:wastebasket: *You withdrew it* ${slackTime(record.updatedAt)}: nothing more is asked of you.`;
  if (record.sentBack) return ':leftwards_arrow_with_hook: *It was sent back to you again since*, with other changes asked for: amend it from the latest message.';
  const amended = record.amended ? `:pencil2: *You amended it* ${slackTime(record.amended.at)} (${changedFields(record)} changed)` : ':pencil2: *It was amended*';
  const now =
    record.open?.stage === 'assessment'
      ? 'it waits for its risk assessment again'
      : record.open?.stage === 'decision'
        ? 'it was assessed again and waits for its decision'
        : `it is now ${record.status.replace('_', ' ')}`;
  return `${amended}; ${now}.`;
}

/**
 * The sent-back DM drawn again once the request moves: while that send-back is the one waiting, as it was; after,
 * what was asked stays, the Amend and Withdraw buttons go, and it says what became of the request.
 */
export function sentBackMessageNow(record: ExceptionRecord, answered: SentBack): SlackMessage {
  if (record.sentBack?.eventId === answered.eventId) return sentBackMessage(record, answered);
  const stage = answered.stage === 'decision' ? 'at its decision' : 'before its risk assessment';
  return {
    text: `${record.ref} was sent back to you for changes.`,
    blocks: [
      section(`:leftwards_arrow_with_hook: Your request ${subject(record)} was *sent back for changes*. It is not rejected.`),
      section(`${mention(answered.byId)} sent it back ${stage}, ${slackTime(answered.at)}.`),
      labelledSection('What to change', answered.changes, 2000),
      section(sinceSentBack(record)),
      { type: 'actions', block_id: `amend_${record.id}`, elements: [viewDetailsButton(record.id)] },
    ],
  };
}

const listed = (people: readonly string[]) => (people.length <= 1 ? people.map(mention).join('') : `${people.slice(0, -1).map(mention).join(', ')} or ${mention(people.at(-1)!)}`);

/** Whom an assessed round waits on, by name: the eligible approvers, or the committee members who may vote. */
function waitsOn(record: ExceptionRecord, cards: CardContext): string {
  const parties = { requesterId: record.requesterId, ownerId: record.ownerId, assessorId: record.assessment?.assessorId };
  if (record.route === 'committee') {
    const voters = eligibleDeciders(cards.committeeIds, parties);
    return `the steering committee's decision: ${cards.committeeQuorum} approval${cards.committeeQuorum === 1 ? '' : 's'} needed from ${voters.length > 0 ? voters.map(mention).join(', ') : 'its members'}`;
  }
  const approvers = eligibleDeciders(cards.approverIds, parties);
  if (approvers.length === 0) return 'a decision, but no approver may take it (separation of duties); the security team sees this on the card';
  return approvers.length === 1 ? `${mention(approvers[0]!)}'s decision` : `a decision from ${listed(approvers)}`;
}

/** To whoever asked: "Sam assessed your request: risk 2 × 2 = 4 (low). It now waits for @ciso's decision." */
export function assessedMessage(record: ExceptionRecord, cards: CardContext): SlackMessage | undefined {
  const a = record.assessment;
  if (record.open?.stage !== 'decision' || !a) return undefined;
  const what = record.renewal ? `your renewal ${record.renewal.number} of ${subject(record)}` : record.amendment ? `your change of terms of ${subject(record)}` : `your request ${subject(record)}`;
  const risk = `risk ${a.likelihood} × ${a.impact} = *${a.score}* (${riskBand(a.score, cards.committeeRiskThreshold)})`;
  const waiting = waitsOn(record, cards);
  return {
    text: `${record.ref} was assessed: risk ${a.score}. It now waits for a decision.`,
    blocks: [
      // User text (the title) and the deciders' mentions sit in separate text objects, so neither can pass for the other.
      section(`${mention(a.assessorId)} assessed ${what}: ${risk}.`),
      section(`It now waits for ${waiting}.`),
      { type: 'actions', block_id: `assessed_${record.id}_${record.round}`, elements: [viewDetailsButton(record.id)] },
      context('You get a message here when it is decided.'),
    ],
  };
}

export function isStandingMessage(message: string): message is StandingMessage {
  return (STANDING_MESSAGES as readonly string[]).includes(message);
}

/** Rendered when delivered; undefined when the request has moved on and the message would no longer be true. */
export function standingMessage(kind: StandingMessage, record: ExceptionRecord, cards: CardContext): SlackMessage | undefined {
  if (kind === 'changes_requested') return record.sentBack ? sentBackMessage(record, record.sentBack) : undefined;
  if (kind === 'withdrawn') return isWithdrawn(record) ? withdrawnOwnerMessage(record) : undefined;
  return assessedMessage(record, cards);
}

/** The request form, filled in with the request as it stands, under what was asked for. */
export function amendmentModal(record: ExceptionRecord, sentBack: SentBack, limits: { maxExceptionDays: number; structuralMaxDays: number; bypassVendors?: readonly IdentityVendor[] }): types.ModalView {
  return requestModal({
    bypassVendors: limits.bypassVendors,
    requesterId: record.requesterId,
    defaultExpiry: record.requestedExpiresOn,
    maxExceptionDays: limits.maxExceptionDays,
    structuralMaxDays: limits.structuralMaxDays,
    prefill: {
      callbackId: CALLBACK_IDS.amendment,
      title: `Amend ${record.ref}`,
      submit: 'Submit amendment',
      privateMetadata: JSON.stringify({ exception: record.id, sentBack: sentBack.eventId }),
      lead: [
        section(`${mention(sentBack.byId)} asked for these changes:`),
        labelledSection('What to change', sentBack.changes, 2000),
        context('Change what was asked, then submit: the request goes back to the security team and is assessed afresh. The version sent back stays in its history.'),
        { type: 'divider' },
      ],
      policy: { key: record.policy.key, label: truncate(`${record.policy.key} · ${record.policy.title}`, 75) },
      values: {
        title: record.title,
        ownerId: record.ownerId,
        scope: record.scope,
        justification: record.justification,
        compensatingControls: record.compensatingControls,
        affectedSystems: record.affectedSystems,
        externalRef: record.externalRef,
        structural: record.structural,
        structuralReason: record.structuralReason,
      },
      bypass: record.integration.bypass,
    },
  });
}

const changedFields = (record: ExceptionRecord) => (record.amended?.fields ?? []).map((field) => AMENDABLE_FIELD_LABELS[field].toLowerCase()).join(', ');

/** The card's first line while the request waits for its requester: no buttons go with it. */
export function sentBackLine(record: ExceptionRecord, sentBack: SentBack): string {
  return `:leftwards_arrow_with_hook: *Sent back to ${mention(record.requesterId)} for changes* by ${mention(sentBack.byId)} ${slackTime(sentBack.at)}`;
}

/** Under the card's first line: what was asked for while it is sent back; once amended, that it was and what changed; once withdrawn, why. */
export function amendmentBlocks(record: ExceptionRecord): types.KnownBlock[] {
  if (isWithdrawn(record)) return withdrawalBlocks(record);
  if (record.sentBack) {
    const setAside = record.sentBack.stage === 'decision' ? 'Sent back at its decision: the assessment and votes given to this version no longer count. ' : '';
    return [labelledSection('Changes asked for', record.sentBack.changes, 700), context(`${setAside}Nobody assesses or decides it until ${mention(record.requesterId)} amends it.`)];
  }
  if (record.amended) return [context(`:pencil2: Amended by ${mention(record.requesterId)} ${slackTime(record.amended.at)} (${changedFields(record)} changed); assessed and decided afresh on what it says now.`)];
  return [];
}

/** The decision message of a version sent back at its decision: it says so, with no buttons; the amended request gets its own. */
export function sentBackDecisionMessage(record: ExceptionRecord): SlackMessage {
  const sentBack = record.sentBack;
  const withdrawn = isWithdrawn(record);
  const state = withdrawn ? 'withdrawn' : sentBack ? 'sent back for changes' : 'amended';
  const blocks: types.KnownBlock[] = [{ type: 'header', text: plainText(`Decision: ${record.ref} · ${record.title} · ${state}`, 150) }];
  if (withdrawn) {
    blocks.push(section(`:wastebasket: *Withdrawn* by ${mention(record.requesterId)} ${slackTime(record.updatedAt)}, after it was sent back for changes. No decision is open.`));
  } else if (sentBack) {
    blocks.push(section(`${sentBackLine(record, sentBack)}. No decision is open: the assessment and votes given to this version no longer count.`), labelledSection('Changes asked for', sentBack.changes, 700));
  } else if (record.amended) {
    blocks.push(section(`:pencil2: *Amended* by ${mention(record.requesterId)} ${slackTime(record.amended.at)} (${changedFields(record)} changed). It waits for a fresh risk assessment; its decision will be asked in a new message.`));
  }
  return { text: `${record.ref} ${withdrawn ? 'was withdrawn' : sentBack ? 'was sent back for changes' : 'was amended'}: ${escapeMrkdwn(record.title)}`, blocks };
}
