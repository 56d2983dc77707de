import { describe, expect, it } from 'vitest';
import { tallyVotes, type Vote } from '../../src/domain/decision';

const approve = (deciderId: string): Vote => ({ deciderId, outcome: 'approve' });
const reject = (deciderId: string): Vote => ({ deciderId, outcome: 'reject' });

describe('tallyVotes (SPEC §1: one approver on the fast path; a quorum of the committee; any committee rejection rejects)', () => {
  it.each([
    ['fast path, no votes yet', [], 'fast_path', 2, 'pending', 0, 0, 1],
    ['fast path, one approval', [approve('U0CISO')], 'fast_path', 2, 'approved', 1, 0, 1],
    ['fast path, one rejection', [reject('U0CISO')], 'fast_path', 2, 'rejected', 0, 1, 1],
    ['committee quorum 2, no votes yet', [], 'committee', 2, 'pending', 0, 0, 2],
    ['committee quorum 2, one approval', [approve('U0COM1')], 'committee', 2, 'pending', 1, 0, 2],
    ['committee quorum 2, two approvals', [approve('U0COM1'), approve('U0COM2')], 'committee', 2, 'approved', 2, 0, 2],
    ['committee quorum 2, three approvals', [approve('U0COM1'), approve('U0COM2'), approve('U0COM3')], 'committee', 2, 'approved', 3, 0, 2],
    ['committee quorum 3, two approvals', [approve('U0COM1'), approve('U0COM2')], 'committee', 3, 'pending', 2, 0, 3],
    ['committee quorum 3, three approvals', [approve('U0COM1'), approve('U0COM2'), approve('U0COM3')], 'committee', 3, 'approved', 3, 0, 3],
    ['committee, a single rejection', [reject('U0COM1')], 'committee', 2, 'rejected', 0, 1, 2],
    ['committee, approval then rejection', [approve('U0COM1'), reject('U0COM2')], 'committee', 2, 'rejected', 1, 1, 2],
    ['committee, rejection after quorum was reached', [approve('U0COM1'), approve('U0COM2'), reject('U0COM3')], 'committee', 2, 'rejected', 2, 1, 2],
    ['committee, one member approving twice', [approve('U0COM1'), approve('U0COM1')], 'committee', 2, 'pending', 1, 0, 2],
    ['committee quorum 3, two members with three votes', [approve('U0COM1'), approve('U0COM2'), approve('U0COM2')], 'committee', 3, 'pending', 2, 0, 3],
    ['committee, one member rejecting twice', [reject('U0COM1'), reject('U0COM1')], 'committee', 2, 'rejected', 0, 1, 2],
  ] as const)('%s → %s', (_label, votes, route, quorum, outcome, approvals, rejections, needed) => {
    expect(tallyVotes(votes, route, quorum)).toEqual({ approvals, rejections, needed, outcome });
  });
});
