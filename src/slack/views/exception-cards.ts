import type { types } from '@slack/bolt';
import { eligibleDeciders, OWNER_CONFIRMATION_NOTES } from '../../domain/authority';
import { STATUS_LABELS, type ApprovalRoute } from '../../domain/exception';
import { IMPACT_LABELS, LIKELIHOOD_LABELS, riskBand } from '../../domain/risk';
import type { Tally } from '../../domain/decision';
import { currentRoundOf, type ExceptionRecord } from '../../services/exception-record';
import { ACTION_IDS } from '../ids';
import { shownForValue } from '../shown-for-value';
import { escapeMrkdwn, escapeMrkdwnWithin, labelledSection, mention, plainText, slackTime, truncate } from './mrkdwn';

export interface SlackMessage {
  text: string;
  blocks: types.KnownBlock[];
}

export interface CardContext {
  approverIds: readonly string[];
  committeeIds: readonly string[];
  committeeChannel: string;
  committeeRiskThreshold: number;
  committeeQuorum: number;
}

/**
 * Characters of escaped user text each field may show on a card, so that a card full of the longest answers (and
 * of characters that grow when escaped) stays within Slack's 12,000 for a whole message. The register keeps it all.
 */
const BUDGET = { scope: 700, justification: 1500, controls: 1500, systems: 300, reference: 200, structural: 700, progress: 1100, rationale: 1100, reason: 700 };

const SLACK_PERMALINK = /^https:\/\/[a-z0-9-]+(\.enterprise)?\.slack\.com\/archives\/[A-Z0-9]+\/p\d+(\?[A-Za-z0-9_=&.]+)?$/;

const ROUTE_LABELS: Record<ApprovalRoute, string> = { fast_path: 'Fast path (one approver)', committee: 'Steering committee' };

function header(text: string): types.HeaderBlock {
  return { type: 'header', text: plainText(text, 150) };
}

function statusLine(record: ExceptionRecord): string {
  const open = record.renewal && record.open ? ` · renewal ${record.round} waiting for ${record.open.stage === 'assessment' ? 'risk assessment' : 'a decision'}` : '';
  return `${STATUS_LABELS[record.status]}${open}`;
}

/** The evidence a renewal stands on, shown to whoever assesses and decides it. */
function renewalDetails(record: ExceptionRecord): types.KnownBlock[] {
  const renewal = record.renewal;
  if (!renewal) return [];
  const facts = [
    `*Renewal ${renewal.round}* requested by ${mention(renewal.requestedBy)} ${slackTime(renewal.createdAt)}`,
    `Remediation *${renewal.percentComplete}%* complete · compensating control last tested on *${renewal.controlTestedOn}* · new expiry asked: *${renewal.requestedExpiresOn}*`,
    ...(renewal.evidenceUrl ? [`Evidence: ${escapeMrkdwnWithin(renewal.evidenceUrl, 600)}`] : []),
  ];
  return [{ type: 'divider' }, { type: 'section', text: { type: 'mrkdwn', text: facts.join('\n') } }, labelledSection('Remediation progress', renewal.progress, BUDGET.progress)];
}

function summaryFields(record: ExceptionRecord, ctx: CardContext): types.SectionBlock {
  const fields = [
    `*Policy*\n${escapeMrkdwnWithin(`${record.policy.key} · ${record.policy.title}`, 300)}`,
    `*Status*\n${statusLine(record)}`,
    `*Requester*\n${mention(record.requesterId)}`,
    `*Owner*\n${mention(record.ownerId)}${OWNER_CONFIRMATION_NOTES[record.ownerConfirmation]}`,
    `*Expiry date*\n${record.expiresOn ?? `${record.requestedExpiresOn} (requested)`}${record.renewalCount > 0 ? ` (originally ${record.originalExpiresOn}, renewed ${record.renewalCount}×)` : ''}`,
  ];
  if (record.structural) fields.push('*Structural*\nYes');
  if (record.riskScore !== null) fields.push(`*Risk score*\n${record.riskScore} (${riskBand(record.riskScore, ctx.committeeRiskThreshold)})`);
  if (record.route) fields.push(`*Decided by*\n${ROUTE_LABELS[record.route]}`);
  return { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) };
}

/** Room on a card for the request's own text; anything that fits is shown whole, only an outsized request is cut. */
const REQUEST_TEXT_ROOM = 6500;

function requestDetails(record: ExceptionRecord): types.KnownBlock[] {
  const fields: [label: string, value: string | null, budget: number][] = [
    ['Scope', record.scope, BUDGET.scope],
    ['Business justification', record.justification, BUDGET.justification],
    ['Compensating control', record.compensatingControls, BUDGET.controls],
    ['Affected systems', record.affectedSystems, BUDGET.systems],
    ['External reference', record.externalRef, BUDGET.reference],
    ['Why structural', record.structuralReason, BUDGET.structural],
  ];
  const present = fields.filter((field): field is [string, string, number] => Boolean(field[1]));
  const fits = present.reduce((sum, [, value]) => sum + escapeMrkdwn(value).length, 0) <= REQUEST_TEXT_ROOM;
  return present.map(([label, value, budget]) => labelledSection(label, value, fits ? 2900 : budget));
}

function assessmentLine(record: ExceptionRecord, ctx: CardContext): string | undefined {
  const a = record.assessment;
  if (!a) return undefined;
  const route = record.route ? ` → ${ROUTE_LABELS[record.route]}` : '';
  const reasons = a.routeReasons.length > 0 ? ` because ${a.routeReasons.join('; ')}` : '';
  return `Risk assessed by ${mention(a.assessorId)} ${slackTime(a.assessedAt)}: likelihood ${a.likelihood} (${LIKELIHOOD_LABELS[a.likelihood - 1]}) × impact ${a.impact} (${IMPACT_LABELS[a.impact - 1]}) = *${a.score}* (${riskBand(a.score, ctx.committeeRiskThreshold)})${route}${reasons}.`;
}

function context(text: string): types.ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, 3000) }] };
}

function title(record: ExceptionRecord): string {
  return `${record.ref} · ${record.title}`;
}

/** The one message per exception in the approvals channel: the request, its assessment, and any renewal. */
export function triageCard(record: ExceptionRecord, ctx: CardContext): SlackMessage {
  const blocks: types.KnownBlock[] = [header(title(record)), summaryFields(record, ctx), ...requestDetails(record), ...renewalDetails(record)];
  const assessed = assessmentLine(record, ctx);
  if (record.open?.stage === 'assessment') {
    blocks.push({
      type: 'actions',
      block_id: `triage_${record.id}_${record.round}`,
      elements: [assessButton(record)],
    });
    const asked = record.renewal ? `Renewal ${record.round} requested by ${mention(record.renewal.requestedBy)} ${slackTime(record.renewal.createdAt)}` : `Requested by ${mention(record.requesterId)} ${slackTime(record.createdAt)}`;
    blocks.push(context(`${asked}. A member of the security team scores likelihood × impact.`));
  } else if (assessed) {
    blocks.push(context(assessed));
    if (record.open?.stage === 'decision') {
      blocks.push(
        context(
          record.route === 'committee'
            ? `Decision requested from the steering committee in <#${ctx.committeeChannel}>.`
            : `Decision requested from ${eligibleDeciders(ctx.approverIds, decisionParties(record)).map(mention).join(' ')} in this thread.`,
        ),
      );
    }
  }
  for (const conflict of conflicts(record, ctx)) blocks.push(context(conflict));
  if (record.attentionReason) blocks.push(context(`:warning: *Needs attention:* ${escapeMrkdwn(record.attentionReason)}`));
  // Only a link Slack itself made is shown as a link, so a stored value can never forge one.
  if (record.originPermalink && SLACK_PERMALINK.test(record.originPermalink)) blocks.push(context(`Started from <${record.originPermalink.replace(/&/g, '&amp;')}|this conversation>.`));
  return { text: `${record.ref} requested: ${escapeMrkdwn(record.title)} (${statusLine(record)})`, blocks };
}

function votesLine(record: ExceptionRecord, tally: Tally): string | undefined {
  if (record.route !== 'committee') return undefined;
  const votes = record.decisions.map((d) => `${d.outcome === 'approve' ? 'Approved' : 'Rejected'} by ${mention(d.deciderId)} ${slackTime(d.decidedAt)}`);
  const rule = record.open?.stage === 'decision' ? '; any rejection rejects' : '';
  return [`*${tally.approvals} of ${tally.needed}* committee approvals${rule}.`, ...votes].join('\n');
}

function outcomeLine(record: ExceptionRecord): string | undefined {
  const last = record.decisions.at(-1);
  const rejection = record.decisions.find((d) => d.outcome === 'reject');
  if (record.renewal) {
    if (record.renewal.status === 'approved' && last) {
      const now = record.status === 'active' ? '' : ` Now ${STATUS_LABELS[record.status].toLowerCase()}.`;
      return `:white_check_mark: *Renewal approved* by ${mention(last.deciderId)} ${slackTime(last.decidedAt)}. Expires on *${record.renewal.newExpiresOn}*.${now}`;
    }
    if (record.renewal.status === 'rejected' && rejection) return `:x: *Renewal rejected* by ${mention(rejection.deciderId)} ${slackTime(rejection.decidedAt)}.`;
    return undefined;
  }
  if (record.status === 'rejected' && rejection) return `:x: *Rejected* by ${mention(rejection.deciderId)} ${slackTime(rejection.decidedAt)}.`;
  const approval = record.decisions.filter((d) => d.outcome === 'approve').at(-1);
  if (record.originalExpiresOn && approval) {
    const now = record.status === 'active' ? '' : ` Now ${STATUS_LABELS[record.status].toLowerCase()}.`;
    return `:white_check_mark: *Approved* by ${mention(approval.deciderId)} ${slackTime(approval.decidedAt)}. Expires on *${record.expiresOn}*.${now}`;
  }
  return undefined;
}

const decisionParties = (record: ExceptionRecord) => ({ requesterId: record.requesterId, ownerId: record.ownerId, assessorId: record.assessment?.assessorId });

/**
 * Where a person holds two roles that separation of duties keeps apart, the card says so: an owner who is also an
 * approver or committee member, and whoever assessed the round while also being one of its deciders; and that a
 * request cannot be approved because its named owner declined.
 */
function conflicts(record: ExceptionRecord, ctx: CardContext): string[] {
  const lines: string[] = [];
  if (record.ownerConfirmation === 'declined' && record.open?.round === 0) {
    lines.push(
      `:warning: *Owner declined:* ${mention(record.ownerId)} says they should not own this exception, so it cannot be approved. Reject it; the requester can ask again naming the right owner.`,
    );
  }
  const deciding = new Set([...ctx.approverIds, ...ctx.committeeIds]);
  if (deciding.has(record.ownerId)) {
    lines.push(`:warning: *Conflict:* the owner ${mention(record.ownerId)} is also an approver or committee member. They cannot decide it; whoever does should weigh that its owner sits among the deciders.`);
  }
  const assessor = record.open?.stage === 'decision' ? record.assessment?.assessorId : undefined;
  const pool = record.route === 'committee' ? ctx.committeeIds : ctx.approverIds;
  if (assessor && pool.includes(assessor) && assessor !== record.ownerId && assessor !== record.requesterId) {
    lines.push(`${mention(assessor)} assessed this round's risk, so they cannot also decide it (separation of duties).`);
  }
  return lines;
}

/** Separation of duties can leave fewer eligible deciders than needed; say so rather than wait forever. */
function unreachableQuorum(record: ExceptionRecord, tally: Tally, ctx: CardContext): string | undefined {
  const committee = record.route === 'committee';
  const eligible = eligibleDeciders(committee ? ctx.committeeIds : ctx.approverIds, decisionParties(record)).length;
  if (eligible >= tally.needed) return undefined;
  return committee
    ? `:warning: Only ${eligible} committee members may decide (not the requester, the owner or the assessor), fewer than the ${tally.needed} approvals needed. Reject it, or ask the security team to change the owner or COMMITTEE_QUORUM.`
    : ':warning: No approver may decide this (the requester, the owner and the assessor cannot). Ask the security team to add a delegate to APPROVER_IDS, or reject it.';
}

/** Assess risk, bound to the round it was shown for. */
export function assessButton(record: ExceptionRecord): types.Button {
  return { type: 'button', action_id: ACTION_IDS.assessRisk, text: plainText('Assess risk'), style: 'primary', value: shownForValue(record, 'assessment') };
}

/** Approve and Reject, bound to the round and expiry they were shown for, the same on a card and in App Home. */
export function decisionButtons(record: ExceptionRecord): types.Button[] {
  const value = shownForValue(record, 'decision');
  const round = record.renewal ? `renewal ${record.round} of ` : '';
  return [
    {
      type: 'button',
      action_id: ACTION_IDS.approve,
      text: plainText('Approve'),
      style: 'primary',
      value,
      // One click activates a security exception: ask once more, naming what is being accepted.
      confirm: {
        title: plainText(`Approve ${record.ref}?`, 100),
        text: { type: 'plain_text', text: truncate(`You accept the risk of ${round}"${record.title}" until ${currentRoundOf(record).expiresOn}.`, 300) },
        confirm: plainText('Approve', 30),
        deny: plainText('Cancel', 30),
      },
    },
    { type: 'button', action_id: ACTION_IDS.reject, text: plainText('Reject'), style: 'danger', value },
  ];
}

/** What the person who just approved sees while the committee is still voting. */
export function voteRecordedNote(ref: string, tally: Tally): string {
  return `Your approval of ${ref} is recorded: ${tally.approvals} of ${tally.needed} committee approvals so far.`;
}

/**
 * The decision message: Approve and Reject while a decision is open, then the outcome with no live buttons.
 * In a thread under the triage card it leaves out what the card above already shows.
 */
export function approvalCard(record: ExceptionRecord, tally: Tally, ctx: CardContext, options: { threaded: boolean }): SlackMessage {
  const pending = record.open?.stage === 'decision';
  const subject = record.renewal ? `renewal ${record.round} of ${title(record)}` : title(record);
  const heading = pending ? `Decision needed: ${subject}` : `Decision: ${subject} · ${record.renewal ? `renewal ${record.renewal.status.replace('_', ' ')}` : STATUS_LABELS[record.status]}`;
  const blocks: types.KnownBlock[] = [header(heading)];
  if (!options.threaded) blocks.push(summaryFields(record, ctx), ...requestDetails(record));
  blocks.push(...renewalDetails(record));
  const assessed = assessmentLine(record, ctx);
  if (assessed) blocks.push(context(assessed));
  if (record.assessment) blocks.push(labelledSection('Risk rationale', record.assessment.rationale, BUDGET.rationale));
  const votes = votesLine(record, tally);
  if (votes) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: votes } });
  const rejection = record.decisions.find((d) => d.outcome === 'reject');
  if ((record.status === 'rejected' || record.renewal?.status === 'rejected') && rejection?.comment) blocks.push(labelledSection('Reason for rejecting', rejection.comment, BUDGET.reason));
  const outcome = outcomeLine(record);
  if (pending) {
    const approvers = eligibleDeciders(ctx.approverIds, decisionParties(record));
    if (record.route !== 'committee' && approvers.length > 0) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `Approvers: ${approvers.map(mention).join(' ')}` } });
    for (const conflict of conflicts(record, ctx)) blocks.push(context(conflict));
    const unreachable = unreachableQuorum(record, tally, ctx);
    if (unreachable) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: unreachable } });
    blocks.push({ type: 'actions', block_id: `decision_${record.id}`, elements: decisionButtons(record) });
  } else if (outcome) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: outcome } });
  }
  const text = pending ? `Decision needed on ${record.renewal ? `renewal ${record.round} of ` : ''}${record.ref}: ${escapeMrkdwn(record.title)}` : `${record.ref} ${statusLine(record).toLowerCase()}: ${escapeMrkdwn(record.title)}`;
  return { text, blocks };
}
