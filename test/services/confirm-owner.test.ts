import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confirmOwner } from '../../src/services/confirm-owner';
import { decideException } from '../../src/services/decide-exception';
import { APPROVERS, LOW_RISK, OWNER, REQUESTER, assess, auditRows, domainErrorOf, fileRequest, openTestRegister, outboxRows, type TestRegister } from './fixtures';

let t: TestRegister;
beforeEach(() => {
  t = openTestRegister();
});
afterEach(() => t.close());

const answers = () => auditRows(t.register).filter((e) => e.kind.startsWith('exception.owner_')).map((e) => [e.kind, e.actorId]);
const answer = (exceptionId: number, value: 'accept' | 'decline', actorId: string = OWNER) => confirmOwner(t.ctx, { exceptionId, actorId, answer: value });

describe('confirmOwner', () => {
  it('records an Accept once, refreshes the triage card, and confirms the owner', () => {
    const id = fileRequest(t.ctx);
    expect(answer(id, 'accept').ownerConfirmation).toBe('confirmed');
    expect(answer(id, 'accept').ownerConfirmation).toBe('confirmed');
    expect(answers()).toEqual([['exception.owner_accepted', OWNER]]);
    expect(outboxRows(t.register).filter((r) => r.kind === 'refresh_card').map((r) => r.payload.card)).toEqual(['triage']);
  });

  it('queues the DM to the requester for a Decline, and then refuses approval', () => {
    const id = fileRequest(t.ctx);
    expect(answer(id, 'decline').ownerConfirmation).toBe('declined');
    expect(outboxRows(t.register).filter((r) => r.payload.message === 'owner_declined').map((r) => r.payload.recipientId)).toEqual([REQUESTER]);
    assess(t.ctx, id, LOW_RISK);
    expect(domainErrorOf(() => decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' })).code).toBe('owner_declined');
    expect(decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'reject', comment: 'The owner declined; ask again with the right owner.' }).outcome).toBe('rejected');
  });

  it.each<[string, (id: number) => void, (id: number) => unknown, string]>([
    ['the other answer after one was given', (id) => answer(id, 'accept'), (id) => answer(id, 'decline'), 'conflict'],
    [
      'a Decline once the request was decided',
      (id) => (assess(t.ctx, id, LOW_RISK), decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' })),
      (id) => answer(id, 'decline'),
      'invalid_transition',
    ],
    ['anyone but the owner', () => undefined, (id) => answer(id, 'accept', REQUESTER), 'not_authorised'],
  ])('refuses %s, recording nothing', (_case, setUp, refused, code) => {
    const id = fileRequest(t.ctx);
    setUp(id);
    const before = auditRows(t.register).length;
    expect(domainErrorOf(() => refused(id)).code).toBe(code);
    expect(auditRows(t.register).length).toBe(before);
  });

  it('still takes an Accept after the approval', () => {
    const id = fileRequest(t.ctx);
    assess(t.ctx, id, LOW_RISK);
    decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
    expect(answer(id, 'accept').ownerConfirmation).toBe('confirmed');
  });
});
