import type { types } from '@slack/bolt';
import { eligibleDeciders, OWNER_CONFIRMATION_NOTES } from '../../domain/authority';
import { STATUS_LABELS, type ApprovalRoute } from '../../domain/exception';
import { IMPACT_LABELS, LIKELIHOOD_LABELS, riskBand } from '../../domain/risk';
import { tallyVotes, type Tally } from '../../domain/decision';
import type { OpenStage } from '../../domain/shown-for';
import { currentRoundOf, type ExceptionRecord } from '../../services/exception-record';
import { ACTION_IDS } from '../ids';
import { shownForValue } from '../shown-for-value';
import { calendarDay, escapeMrkdwn, escapeMrkdwnWithin, labelledSection, mention, plainText, slackTime, truncate } from './mrkdwn';
import { viewDetailsButton } from './record-modal';
import { amendmentBlocks, sentBackLine } from './amendment-messages';
import { isWithdrawn } from '../../domain/withdrawal';
import { withdrawnLine } from './withdrawal-messages';
import { integrationBlocks } from './integration-lines';
import { roundName, roundOf, termChangeBlocks } from './term-change-lines';
import { AMENDABLE_FIELD_LABELS, termChangesOf } from '../../domain/amendment';

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
 * Characters of each long field a card shows: enough to recognise the request in a busy channel, while the ask
 * stays near the top. "View details" opens the whole record; the register keeps it all.
 */
const SHORT = 300;

/** A rejection's reason is what the requester has to act on, so more of it stays on the card. */
const REASON_ROOM = 700;

const SLACK_PERMALINK = /^https:\/\/[a-z0-9-]+(\.enterprise)?\.slack\.com\/archives\/[A-Z0-9]+\/p\d+(\?[A-Za-z0-9_=&.]+)?$/;

const ROUTE_LABELS: Record<ApprovalRoute, string> = { fast_path: 'one approver', committee: 'the steering committee' };

function header(text: string): types.HeaderBlock {
  return { type: 'header', text: plainText(text, 150) };
}

function section(text: string, accessory?: types.Button): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) }, ...(accessory ? { accessory } : {}) };
}

function statusLine(record: ExceptionRecord): string {
  if (record.sentBack) return 'Sent back for changes';
  if (isWithdrawn(record)) return 'Withdrawn';
  const name = roundName(record);
  const open = name && record.open ? ` · ${name} waiting for ${record.open.stage === 'assessment' ? 'risk assessment' : 'a decision'}` : '';
  return `${STATUS_LABELS[record.status]}${open}`;
}

const decisionParties = (record: ExceptionRecord) => ({ requesterId: record.requesterId, ownerId: record.ownerId, assessorId: record.assessment?.assessorId });

const names = (ids: readonly string[]) => (ids.length <= 2 ? ids.map(mention).join(' and ') : `${ids.slice(0, -1).map(mention).join(', ')} and ${mention(ids.at(-1)!)}`);

/** Who of the committee may still vote on the round: eligible (separation of duties) and not yet voted. */
function stillToVote(record: ExceptionRecord, ctx: CardContext): string[] {
  const voted = new Set(record.decisions.map((d) => d.deciderId));
  return eligibleDeciders(ctx.committeeIds, decisionParties(record)).filter((id) => !voted.has(id));
}

/** The risk as of the round being decided; a renewal waiting for assessment shows the last one, said as such. */
function riskText(record: ExceptionRecord, ctx: CardContext): string {
  if (record.riskScore === null) return '';
  const band = `*${record.riskScore}* (${riskBand(record.riskScore, ctx.committeeRiskThreshold)})`;
  return record.open?.stage === 'assessment' ? ` · Last assessed risk ${band}` : ` · Risk ${band}`;
}

const approvalsOf = (record: ExceptionRecord) => record.decisions.filter((d) => d.outcome === 'approve');

/** Where a record that waits for nobody stands: its status, who decided, until when. */
function settledLine(record: ExceptionRecord): string {
  const rejection = record.decisions.find((d) => d.outcome === 'reject');
  const label = `*${STATUS_LABELS[record.status]}*`;
  switch (record.status) {
    case 'active': {
      const approval = approvalsOf(record).at(-1);
      const lastRound =
        (record.renewal?.status === 'rejected' || record.amendment?.status === 'rejected') && rejection
          ? ` · ${roundName(record)} rejected by ${mention(rejection.deciderId)}`
          : record.amendment?.status === 'approved' && approval
            ? ` · change of terms approved by ${mention(approval.deciderId)}`
            : '';
      return `:white_check_mark: ${label} until the end of ${record.expiresOn ? calendarDay(record.expiresOn) : 'its expiry day'}${lastRound}`;
    }
    case 'rejected':
      if (isWithdrawn(record)) return withdrawnLine(record);
      return `:x: ${label}${rejection ? ` by ${mention(rejection.deciderId)} ${slackTime(rejection.decidedAt)}` : ''}`;
    case 'expired':
      return `:hourglass: ${label} at the end of ${record.expiresOn ? calendarDay(record.expiresOn) : 'its expiry day'}`;
    default:
      return label;
  }
}

/**
 * The line a reader needs first: where it stands, whom it waits on and since when, and its risk. On the triage
 * card a decision asked elsewhere says where.
 */
function nowLine(record: ExceptionRecord, ctx: CardContext, card: 'triage' | 'approval'): string {
  const open = record.open;
  const risk = riskText(record, ctx);
  // An exception can expire while its renewal waits: the card says so before anything else.
  const name = roundName(record);
  const Name = name ? `${name.charAt(0).toUpperCase()}${name.slice(1)}` : null;
  const waiting = !name ? 'Waiting' : record.status === 'active' ? `${Name} waiting` : `${STATUS_LABELS[record.status]} · ${name} waiting`;
  if (record.sentBack) return sentBackLine(record, record.sentBack);
  if (open?.stage === 'assessment') return `:hourglass_flowing_sand: *${waiting} for risk assessment* by the security team since ${slackTime(open.since)}${risk}`;
  if (open?.stage === 'decision' && record.route === 'committee') {
    const tally = tallyVotes(record.decisions, 'committee', ctx.committeeQuorum);
    const where = card === 'triage' ? ` in <#${ctx.committeeChannel}>` : '';
    return `:hourglass_flowing_sand: *${waiting} for the steering committee*${where}: ${tally.approvals} of ${tally.needed} approvals, since ${slackTime(open.since)}${risk}`;
  }
  if (open?.stage === 'decision') {
    const approvers = eligibleDeciders(ctx.approverIds, decisionParties(record));
    const by = card === 'triage' && approvers.length > 0 ? ` by ${approvers.map(mention).join(' or ')}` : ' by one approver';
    const where = card === 'triage' ? ', in the thread below' : '';
    return `:hourglass_flowing_sand: *${waiting} for a decision*${by} since ${slackTime(open.since)}${where}${risk}`;
  }
  return `${settledLine(record)}${risk}`;
}

/** Who may decide, under the first line of a decision card: on the committee, who may vote and who still has to. */
function decidersLine(record: ExceptionRecord, tally: Tally, ctx: CardContext): string | undefined {
  if (record.route === 'committee') {
    const eligible = eligibleDeciders(ctx.committeeIds, decisionParties(record));
    if (eligible.length === 0) return undefined;
    const left = stillToVote(record, ctx);
    const more = tally.needed - tally.approvals;
    return `May vote: ${eligible.map(mention).join(' ')}\nStill to vote: ${left.length > 0 ? left.map(mention).join(' ') : 'nobody'} · ${more} more approval${more === 1 ? '' : 's'} decide${more === 1 ? 's' : ''}; any rejection rejects.`;
  }
  const approvers = eligibleDeciders(ctx.approverIds, decisionParties(record));
  return approvers.length > 0 ? `Approvers: ${approvers.map(mention).join(' ')} (any one of them decides)` : undefined;
}

/** Who decides, said only as what will happen until it has: "Decided by" names people once they did. */
function decisionField(record: ExceptionRecord, ctx: CardContext): string | undefined {
  if (!record.route) return undefined;
  if (record.open?.stage === 'decision') {
    if (record.route === 'fast_path') return '*Decision by*\nOne approver (the CISO or a delegate)';
    const eligible = eligibleDeciders(ctx.committeeIds, decisionParties(record)).length;
    return `*Decision by*\nThe steering committee: ${ctx.committeeQuorum} of the ${eligible} members who may vote must approve`;
  }
  // Votes given before a withdrawal decided nothing.
  if (record.open || record.decisions.length === 0 || isWithdrawn(record)) return undefined;
  const rejection = record.decisions.find((d) => d.outcome === 'reject');
  const deciders = rejection ? [rejection.deciderId] : approvalsOf(record).map((d) => d.deciderId);
  return `*${record.amendment ? 'Change of terms decided by' : 'Decided by'}*\n${names(deciders)}${record.route === 'committee' ? ' (steering committee)' : ''}`;
}

/** What a later round asks, shown to whoever assesses and decides it: a renewal's evidence, or a change's both versions. */
function roundDetails(record: ExceptionRecord): types.KnownBlock[] {
  if (record.amendment) return [{ type: 'divider' }, ...termChangeBlocks(record.amendment, SHORT)];
  const renewal = record.renewal;
  if (!renewal) return [];
  const facts = [
    `*Renewal ${renewal.number}* requested by ${mention(renewal.requestedBy)} ${slackTime(renewal.createdAt)}`,
    `Remediation *${renewal.percentComplete}%* complete · compensating control last tested on *${calendarDay(renewal.controlTestedOn)}* · new expiry asked: *${calendarDay(renewal.requestedExpiresOn)}*`,
    ...(renewal.evidenceUrl ? [`Evidence: ${escapeMrkdwnWithin(renewal.evidenceUrl, 600)}`] : []),
  ];
  return [{ type: 'divider' }, section(facts.join('\n')), labelledSection('Remediation progress', renewal.progress, SHORT)];
}

function summaryFields(record: ExceptionRecord, ctx: CardContext): types.SectionBlock {
  const expiry = record.expiresOn ? calendarDay(record.expiresOn) : `${calendarDay(record.requestedExpiresOn)} (requested)`;
  const fields = [
    `*Policy*\n${escapeMrkdwnWithin(`${record.policy.key} · ${record.policy.title}`, 300)}`,
    `*Requester*\n${mention(record.requesterId)}`,
    `*Owner*\n${mention(record.ownerId)}${OWNER_CONFIRMATION_NOTES[record.ownerConfirmation]}`,
    `*Expiry date*\n${expiry}${record.renewalCount > 0 && record.originalExpiresOn ? ` (originally ${calendarDay(record.originalExpiresOn)}, renewed ${record.renewalCount}×)` : ''}`,
  ];
  if (record.structural) fields.push('*Structural*\nYes');
  const decision = decisionField(record, ctx);
  if (decision) fields.push(decision);
  return { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) };
}

/**
 * The request's own text, each field cut to a few lines; says so when anything was cut, and where the rest is. In a
 * change-of-terms round the changed terms are left out: the change above shows them, in both versions.
 */
function requestDetails(record: ExceptionRecord): types.KnownBlock[] {
  const changed = new Set<string>(record.amendment ? termChangesOf(record.amendment).map((c) => AMENDABLE_FIELD_LABELS[c.field]) : []);
  const fields: [label: string, value: string | null][] = [
    ['Scope', record.scope],
    ['Business justification', record.justification],
    ['Compensating control', record.compensatingControls],
    ['Affected systems', record.affectedSystems],
    ['External reference', record.externalRef],
    ['Why structural', record.structuralReason],
  ];
  const present = fields.filter((field): field is [string, string] => Boolean(field[1]) && !changed.has(field[0]));
  const blocks: types.KnownBlock[] = present.map(([label, value]) => labelledSection(label, value, SHORT));
  if (present.some(([, value]) => escapeMrkdwn(value).length > SHORT)) blocks.push(context('Shortened here: *View details* shows the whole request and its history.'));
  return blocks;
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

/** The first line, then the buttons when someone has to act; otherwise "View details" sits beside that line. */
function leadBlocks(line: string, record: ExceptionRecord, blockId: string, ask: types.Button[]): types.KnownBlock[] {
  if (ask.length === 0) return [section(line, viewDetailsButton(record.id))];
  return [section(line), { type: 'actions', block_id: blockId, elements: [...ask, viewDetailsButton(record.id)] }];
}

/** The one message per exception in the approvals channel: where it stands and the ask first, then the request, its assessment, and any renewal. */
export function triageCard(record: ExceptionRecord, ctx: CardContext): SlackMessage {
  const assessing = record.open?.stage === 'assessment';
  const blocks: types.KnownBlock[] = [
    header(title(record)),
    ...leadBlocks(nowLine(record, ctx, 'triage'), record, `triage_${record.id}_${record.round}`, assessing ? [assessButton(record), ...(record.round === 0 ? [askForChangesButton(record, 'assessment')] : [])] : []),
  ];
  blocks.push(...integrationBlocks(record.status, record.integration));
  blocks.push(...amendmentBlocks(record));
  for (const conflict of conflicts(record, ctx)) blocks.push(context(conflict));
  if (record.attentionReason) blocks.push(context(`:warning: *Needs attention:* ${escapeMrkdwn(record.attentionReason)}`));
  // A renewal or a change of terms is what is asked now: it comes before the request it renews or changes.
  blocks.push(summaryFields(record, ctx), ...roundDetails(record), ...requestDetails(record));
  const assessed = assessmentLine(record, ctx);
  if (assessed && !assessing) blocks.push(context(assessed));
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

/** Every approver is credited: on the committee the quorum approved it, not whoever happened to vote last. */
function approvedBy(record: ExceptionRecord, quorum: number): string {
  const approvals = approvalsOf(record);
  const last = approvals.at(-1)!;
  const committee = record.route === 'committee' ? ` (steering committee, ${approvals.length} of ${quorum} approvals)` : '';
  return `by ${names(approvals.map((d) => d.deciderId))}${committee} ${slackTime(last.decidedAt)}`;
}

function outcomeLine(record: ExceptionRecord, quorum: number): string | undefined {
  const rejection = record.decisions.find((d) => d.outcome === 'reject');
  const now = record.status === 'active' ? '' : ` Now ${STATUS_LABELS[record.status].toLowerCase()}.`;
  const approved = approvalsOf(record).length > 0;
  if (record.amendment) {
    if (record.amendment.status === 'approved' && approved) {
      return `:white_check_mark: *Change of terms approved* ${approvedBy(record, quorum)}. ${record.ref} stands on the new terms; it still expires at the end of *${record.expiresOn ? calendarDay(record.expiresOn) : 'its expiry day'}*.`;
    }
    if (record.amendment.status === 'rejected' && rejection) return `:x: *Change of terms rejected* by ${mention(rejection.deciderId)} ${slackTime(rejection.decidedAt)}. ${record.ref} stays on the terms it had.`;
    if (record.amendment.status === 'withdrawn') return `:heavy_minus_sign: *Change of terms withdrawn*: ${record.ref} is ${STATUS_LABELS[record.status].toLowerCase()}, so it is not decided.`;
    return undefined;
  }
  if (record.renewal) {
    if (record.renewal.status === 'approved' && approved && record.renewal.newExpiresOn) {
      return `:white_check_mark: *Renewal approved* ${approvedBy(record, quorum)}. Expires at the end of *${calendarDay(record.renewal.newExpiresOn)}*.${now}`;
    }
    if (record.renewal.status === 'rejected' && rejection) return `:x: *Renewal rejected* by ${mention(rejection.deciderId)} ${slackTime(rejection.decidedAt)}.`;
    return undefined;
  }
  if (record.status === 'rejected' && rejection) return `:x: *Rejected* by ${mention(rejection.deciderId)} ${slackTime(rejection.decidedAt)}.`;
  if (record.originalExpiresOn && record.expiresOn && approved) return `:white_check_mark: *Approved* ${approvedBy(record, quorum)}. Expires at the end of *${calendarDay(record.expiresOn)}*.${now}`;
  return undefined;
}

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
  const round = roundOf(record);
  const until = currentRoundOf(record).expiresOn;
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
        text: { type: 'plain_text', text: truncate(`You accept the risk of ${round}"${record.title}" until ${until}.`, 300) },
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
 * "Ask for changes": sends the request back to its requester instead of rejecting it, bound like the other buttons
 * to the round and stage it was shown for.
 */
export function askForChangesButton(record: ExceptionRecord, stage: OpenStage): types.Button {
  return { type: 'button', action_id: ACTION_IDS.askForChanges, text: plainText('Ask for changes'), value: shownForValue(record, stage) };
}

/**
 * The decision message: where it stands, who may decide and the buttons first while a decision is open, then the
 * outcome with no live buttons. In a thread under the triage card it leaves out what the card above already shows.
 */
export function approvalCard(record: ExceptionRecord, tally: Tally, ctx: CardContext, options: { threaded: boolean }): SlackMessage {
  const pending = record.open?.stage === 'decision';
  const name = roundName(record);
  const subject = name ? `${name} of ${title(record)}` : title(record);
  const settled = record.amendment ? record.amendment.status.replace('_', ' ') : record.renewal ? `renewal ${record.renewal.status.replace('_', ' ')}` : statusLine(record);
  const heading = pending ? `Decision needed: ${subject}` : `Decision: ${subject} · ${settled}`;
  const blocks: types.KnownBlock[] = [header(heading)];
  if (pending) {
    const deciders = decidersLine(record, tally, ctx);
    blocks.push(section([nowLine(record, ctx, 'approval'), ...(deciders ? [deciders] : [])].join('\n')));
    for (const conflict of conflicts(record, ctx)) blocks.push(context(conflict));
    const unreachable = unreachableQuorum(record, tally, ctx);
    if (unreachable) blocks.push(section(unreachable));
    blocks.push({ type: 'actions', block_id: `decision_${record.id}`, elements: [...decisionButtons(record), ...(record.round === 0 ? [askForChangesButton(record, 'decision')] : []), viewDetailsButton(record.id)] });
    blocks.push(...integrationBlocks(record.status, record.integration));
  } else {
    blocks.push(section(outcomeLine(record, ctx.committeeQuorum) ?? settledLine(record), viewDetailsButton(record.id)));
    blocks.push(...integrationBlocks(record.status, record.integration));
    const rejection = record.decisions.find((d) => d.outcome === 'reject');
    if ((record.status === 'rejected' || record.renewal?.status === 'rejected' || record.amendment?.status === 'rejected') && rejection?.comment) blocks.push(labelledSection('Reason for rejecting', rejection.comment, REASON_ROOM));
  }
  if (!options.threaded) blocks.push(summaryFields(record, ctx));
  blocks.push(...roundDetails(record));
  if (!options.threaded) blocks.push(...requestDetails(record));
  const assessed = assessmentLine(record, ctx);
  if (assessed) blocks.push(context(assessed));
  if (record.assessment) blocks.push(labelledSection('Risk rationale', record.assessment.rationale, SHORT));
  const votes = votesLine(record, tally);
  if (votes) blocks.push(section(votes));
  const text = pending ? `Decision needed on ${roundOf(record)}${record.ref}: ${escapeMrkdwn(record.title)}` : `${record.ref} ${statusLine(record).toLowerCase()}: ${escapeMrkdwn(record.title)}`;
  return { text, blocks };
}
