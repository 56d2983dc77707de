import { z } from 'zod';
import { CONTROL_CHARACTERS } from './request';
import type { ApprovalRoute, DecisionOutcome } from './exception';

/** A rejection is only useful to the requester with a reason they can act on. */
export const RejectionReason = z
  .string({ error: 'Give the reason for rejecting: the requester needs it to fix or withdraw the request.' })
  .trim()
  .min(10, { error: 'Give a reason of at least 10 characters: the requester needs it to fix or withdraw the request.' })
  .max(2000, { error: 'The reason must be at most 2000 characters.' })
  .refine((value) => !CONTROL_CHARACTERS.test(value), { error: 'The reason contains control characters; paste it as plain text.' });

export interface Vote {
  deciderId: string;
  outcome: DecisionOutcome;
}

export interface Tally {
  approvals: number;
  rejections: number;
  needed: number;
  outcome: 'approved' | 'rejected' | 'pending';
}

/** Fast path: one approver decides. Committee: any rejection rejects; approval needs a quorum of distinct members. */
export function tallyVotes(votes: readonly Vote[], route: ApprovalRoute, quorum: number): Tally {
  const byDecider = new Map<string, DecisionOutcome>();
  for (const vote of votes) if (!byDecider.has(vote.deciderId)) byDecider.set(vote.deciderId, vote.outcome);
  const outcomes = [...byDecider.values()];
  const approvals = outcomes.filter((o) => o === 'approve').length;
  const rejections = outcomes.length - approvals;
  const needed = route === 'committee' ? quorum : 1;
  const outcome = rejections > 0 ? 'rejected' : approvals >= needed ? 'approved' : 'pending';
  return { approvals, rejections, needed, outcome };
}
