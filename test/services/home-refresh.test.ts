import { asc } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outbox } from '../../src/db/schema';
import { closeException } from '../../src/services/close-exception';
import { homesConcerned } from '../../src/services/home-overview';
import { APPROVERS, COMMITTEE, HIGH_RISK, LOW_RISK, OWNER, REQUESTER, SECURITY, assess, fileRequest, openTestRegister, type TestRegister } from './fixtures';

let t: TestRegister;
beforeEach(() => {
  t = openTestRegister();
});
afterEach(() => t.close());

/** Every row queued, App Home's refreshes included. */
const queued = () =>
  t.register.db
    .select()
    .from(outbox)
    .orderBy(asc(outbox.id))
    .all()
    .map((row) => JSON.parse(row.payload) as { kind: string; card?: string; exceptionId?: number });

describe("App Home's refresh (issue 11: republished for the people concerned when their lists change)", () => {
  it('is queued once per change of an exception, after its cards and in the same transaction', () => {
    const id = fileRequest(t.ctx);
    expect(queued().map((n) => `${n.kind}:${n.card ?? ''}`)).toEqual(['post_card:triage', 'direct_message:', 'direct_message:', 'refresh_card:home']);
    const before = queued().length;
    assess(t.ctx, id, LOW_RISK);
    const assessed = queued().slice(before);
    expect(assessed.filter((n) => n.card === 'home')).toEqual([{ kind: 'refresh_card', exceptionId: id, card: 'home' }]);
    expect(assessed.at(-1)).toEqual({ kind: 'refresh_card', exceptionId: id, card: 'home' });
  });

  it('is not queued when nothing about an exception card changed, and a refused change queues nothing', () => {
    const id = fileRequest(t.ctx);
    const before = queued().length;
    expect(() => closeException(t.ctx, { exceptionId: id, actorId: REQUESTER, note: 'No longer needed.' })).toThrow();
    expect(queued()).toHaveLength(before);
  });

  it("names the requester, the owner, the security team and the route's deciders; nobody for an exception that does not exist", () => {
    const id = fileRequest(t.ctx);
    expect(homesConcerned(t.ctx, id).sort()).toEqual([OWNER, REQUESTER, ...SECURITY].sort());
    assess(t.ctx, id, LOW_RISK);
    expect(homesConcerned(t.ctx, id).sort()).toEqual([OWNER, REQUESTER, ...SECURITY, ...APPROVERS].sort());
    const committee = fileRequest(t.ctx);
    assess(t.ctx, committee, HIGH_RISK);
    expect(homesConcerned(t.ctx, committee).sort()).toEqual([OWNER, REQUESTER, ...SECURITY, ...COMMITTEE].sort());
    expect(homesConcerned(t.ctx, 999)).toEqual([]);
  });
});
