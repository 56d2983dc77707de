import type { types } from '@slack/bolt';
import { eligibleDeciders } from '../../domain/authority';
import { tallyVotes } from '../../domain/decision';
import { ESCALATE_AFTER_WORKING_DAYS, escalationTarget, NUDGE_AGAIN_EVERY_WORKING_DAYS, type EscalationTarget } from '../../domain/follow-ups';
import type { ExceptionRecord } from '../../services/exception-record';
import type { Notification } from '../../services/notifications';
import type { CardContext, SlackMessage } from './exception-cards';
import { escapeMrkdwn, mention, slackTime, truncate } from './mrkdwn';
import { viewDetailsButton } from './record-modal';
import { askedBy, onRound } from './term-change-lines';

/** Text an escalation's list may take, below Slack's 12,000 for all the blocks of a message together. */
const LIST_BUDGET = 9000;

/**
 * Where a stalled committee decision goes. The app has no committee chair, so it goes to the CISO and delegated
 * approvers (APPROVER_IDS), and the messages say so: going "to the committee" would only ask whoever stalls it.
 */
const ESCALATION_TARGET: Record<EscalationTarget, string> = {
  committee: 'the steering committee',
  approvers: 'the CISO and delegated approvers (no committee chair is configured)',
};

function section(text: string, accessory?: types.Button): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) }, ...(accessory ? { accessory } : {}) };
}

const parties = (record: ExceptionRecord) => ({ requesterId: record.requesterId, ownerId: record.ownerId, assessorId: record.assessment?.assessorId });

const escalationFor = (record: ExceptionRecord): EscalationTarget => escalationTarget(record.open?.stage ?? 'assessment', record.route);

/** Whom a request waits on, by name where the card's context names them: "a risk assessment by the security team". */
function waitingFor(record: ExceptionRecord, ctx: CardContext): string {
  const renewal = onRound(record);
  if (record.open?.stage === 'assessment') return `a risk assessment${renewal} by the security team`;
  if (record.route === 'committee') {
    const tally = tallyVotes(record.decisions, 'committee', ctx.committeeQuorum);
    const voted = new Set(record.decisions.map((d) => d.deciderId));
    const left = eligibleDeciders(ctx.committeeIds, parties(record)).filter((id) => !voted.has(id));
    return `the steering committee's decision${renewal} (${tally.approvals} of ${tally.needed} approvals; still to vote: ${left.length > 0 ? left.map(mention).join(' ') : 'nobody'})`;
  }
  const approvers = eligibleDeciders(ctx.approverIds, parties(record));
  return `a decision${renewal} by ${approvers.length > 0 ? approvers.map(mention).join(' or ') : 'an approver'}`;
}

const since = (record: ExceptionRecord) => (record.open ? ` since ${slackTime(record.open.since)}` : '');

function itemLine(record: ExceptionRecord, ctx: CardContext): string {
  const asked = mention(askedBy(record));
  return `• *${record.ref}* · ${escapeMrkdwn(truncate(record.title, 150))} (${escapeMrkdwn(record.policy.key)}) · waiting for ${waitingFor(record, ctx)}${since(record)} · asked by ${asked}`;
}

/** One line per request while the message has room; whatever does not fit is named by its ID, so none is left out. */
function itemSections(records: ExceptionRecord[], ctx: CardContext): types.SectionBlock[] {
  const sections: types.SectionBlock[] = [];
  let current = '';
  let used = 0;
  let shown = 0;
  for (const record of records) {
    const text = truncate(itemLine(record, ctx), 1000);
    if (used + text.length > LIST_BUDGET) break;
    if (current && current.length + text.length + 1 > 2900) {
      sections.push(section(current));
      current = '';
    }
    current = current ? `${current}\n${text}` : text;
    used += text.length + 1;
    shown++;
  }
  if (current) sections.push(section(current));
  const rest = records.slice(shown);
  if (rest.length > 0) sections.push(section(truncate(`…and ${rest.length} more: ${rest.map((r) => r.ref).join(', ')}`, 2900)));
  return sections;
}

/** One post per run and target, listing every request escalated to it. */
export function stallEscalation(records: ExceptionRecord[], workingDays: number, to: EscalationTarget, ctx: CardContext): SlackMessage {
  const many = records.length !== 1;
  const refs = records.map((r) => r.ref).join(', ');
  const again = `Whoever can act is reminded in each request's thread every ${NUDGE_AGAIN_EVERY_WORKING_DAYS} working days until someone does.`;
  if (to === 'approvers') {
    // Whoever asked for every one of these is not asked to chase their own request.
    const approvers = ctx.approverIds.filter((id) => records.some((r) => r.requesterId !== id && r.ownerId !== id));
    return {
      text: `${records.length} committee decision${many ? 's have' : ' has'} waited more than ${ESCALATE_AFTER_WORKING_DAYS} working days: ${refs}`,
      blocks: [
        section(
          `:rotating_light: ${approvers.map(mention).join(' ')} *Escalated to the CISO:* the steering committee has not decided ${many ? 'these' : 'this'} in more than ${ESCALATE_AFTER_WORKING_DAYS} working days (up to ${workingDays}). ` +
            'Escalating to the committee would only ask the members it already waits on, and no committee chair is configured, so it comes to the CISO and delegated approvers. ' +
            `Please chase the members who still have to vote. ${again}`,
        ),
        ...itemSections(records, ctx),
      ],
    };
  }
  return {
    text: `${records.length} request${many ? 's have' : ' has'} waited more than ${ESCALATE_AFTER_WORKING_DAYS} working days: ${refs}`,
    blocks: [
      section(`:rotating_light: *Escalated to the steering committee:* waiting more than ${ESCALATE_AFTER_WORKING_DAYS} working days (up to ${workingDays}) for someone to act. Please chase whoever it waits on. ${again}`),
      ...itemSections(records, ctx),
    ],
  };
}

/** In the thread of the card where someone has to act; `again` once the request has been escalated. */
export function stallNudge(record: ExceptionRecord, mentions: string[], workingDays: number, options: { again: boolean }): SlackMessage {
  const who = mentions.length > 0 ? `${mentions.map(mention).join(' ')} ` : '';
  const what = `${record.open?.stage === 'assessment' ? 'a risk assessment' : 'a decision'}${onRound(record)}`;
  const target = ESCALATION_TARGET[escalationFor(record)];
  const next = options.again
    ? `It was escalated to ${target} after ${ESCALATE_AFTER_WORKING_DAYS} working days. Please act on it above; this reminder comes every ${NUDGE_AGAIN_EVERY_WORKING_DAYS} working days until someone does.`
    : `Please act on it above, or say here why it should wait. After ${ESCALATE_AFTER_WORKING_DAYS} working days it is escalated to ${target}.`;
  return {
    text: `${record.ref} has waited ${workingDays} working days for ${what}.`,
    blocks: [section(`${who}${record.ref} has waited *${workingDays} working days* for ${what}${since(record)}. ${next}`)],
  };
}

type StallNotice = Extract<Notification, { kind: 'direct_message'; message: 'stall_notice' }>;

/**
 * To whoever asked, when their request stalls and when it is escalated: whom it waits on, since when, and who was
 * nudged. Undefined once the round it was about has moved on, so a late delivery never reports a stall that ended.
 */
export function stallNotice(record: ExceptionRecord, notice: Pick<StallNotice, 'round' | 'stage' | 'escalated' | 'workingDays'>, ctx: CardContext): SlackMessage | undefined {
  if (record.open?.round !== notice.round || record.open.stage !== notice.stage) return undefined;
  const card = notice.stage === 'assessment' ? record.triageMessage : record.approvalMessage;
  const where = card ? ` in <#${card.channel}>` : '';
  const nudged = notice.stage === 'assessment' ? 'the security team' : record.route === 'committee' ? 'the committee members who still have to vote' : 'the approvers';
  const what = record.renewal ? `Your renewal ${record.renewal.number} of *${record.ref}*` : record.amendment ? `Your change of terms of *${record.ref}*` : `Your request *${record.ref}*`;
  const status = notice.escalated
    ? `It has waited more than ${ESCALATE_AFTER_WORKING_DAYS} working days, so we escalated it to ${ESCALATION_TARGET[escalationFor(record)]}, and ${nudged} are reminded${where} every ${NUDGE_AGAIN_EVERY_WORKING_DAYS} working days until someone acts.`
    : `That is ${notice.workingDays} working days, so we reminded ${nudged}${where} today.`;
  return {
    text: `${record.ref} is still waiting for ${notice.stage === 'assessment' ? 'a risk assessment' : 'a decision'}.`,
    blocks: [
      section(`:hourglass_flowing_sand: ${what} · ${escapeMrkdwn(truncate(record.title, 150))} is still waiting for ${waitingFor(record, ctx)}${since(record)}.`, viewDetailsButton(record.id)),
      section(`${status} Nothing for you to do now: you will hear when it is decided.`),
    ],
  };
}
