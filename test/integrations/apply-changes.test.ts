import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { integrationCursor, integrationTasks } from '../../src/db/schema';
import { createChangeApplier } from '../../src/integrations/apply-changes';
import type { Connectors } from '../../src/integrations/connectors';
import { ConnectorError, type ChangeConnector, type IdentityConnector } from '../../src/integrations/port';
import { createLogger } from '../../src/logger';
import type { ServiceContext } from '../../src/services/context';
import { decideException } from '../../src/services/decide-exception';
import { expireDue } from '../../src/services/expire-due';
import { requestException } from '../../src/services/request-exception';
import { APPROVALS_CHANNEL, APPROVERS, assess, LOW_RISK, NOW, openTestRegister, outboxRows, REQUESTER, validRequest, type TestRegister } from '../services/fixtures';

/** A hand-written Okta: records every membership call, and fails the next ones with whatever it is given. */
function fakeOkta() {
  const calls: string[] = [];
  const failures: ConnectorError[] = [];
  const membership = (verb: string) => async (groupId: string, userId: string) => {
    const failure = failures.shift();
    calls.push(`${verb} ${userId} ${groupId}${failure ? ` (${failure.code})` : ''}`);
    if (failure) throw failure;
  };
  const connector: IdentityConnector = {
    kind: 'identity',
    vendor: 'okta',
    searchGroups: async () => [],
    findGroup: async () => undefined,
    findUserByEmail: async () => undefined,
    groupMembers: async () => ({ members: [] }),
    addMember: membership('add'),
    removeMember: membership('remove'),
    check: async () => ({ vendor: 'okta', ok: true, findings: [] }),
  };
  return { connector, calls, failures };
}

const refused = () => new ConnectorError({ code: 'refused', reason: 'permission', vendor: 'okta', message: "Could not remove the person from the Okta group: Okta refused: the register's account lacks a permission this needs." });
const unavailable = () => new ConnectorError({ code: 'unavailable', vendor: 'okta', message: 'Could not add the person to the Okta group: Okta answered HTTP 503. The register will try again.' });

let t: TestRegister;
let now: Date;
let okta: ReturnType<typeof fakeOkta>;
let ctx: ServiceContext;
beforeEach(() => {
  t = openTestRegister();
  now = NOW;
  okta = fakeOkta();
  ctx = t.with({ clock: () => now, connectors: { identity: { okta: okta.connector } } });
});
afterEach(() => t.close());

function applier(connectors: Connectors = ctx.connectors) {
  return createChangeApplier({ db: t.register.db, connectors, clock: () => now, logger: createLogger('error', () => undefined), approvalsChannel: APPROVALS_CHANNEL });
}

/** An exception covering two people in Okta group 00gMFA, approved. */
function approvedWithBypass(): number {
  const result = requestException(ctx, {
    requesterId: REQUESTER,
    input: validRequest(),
    bypass: { vendor: 'okta', groupId: '00gMFA', groupName: 'MFA-exempt', people: [{ slackUserId: 'U0ANA', vendorUserId: '00uANA', email: 'ana@acme.com', displayName: 'Ana' }, { slackUserId: null, vendorUserId: '00uSAM', email: 'sam@acme.com', displayName: null }] },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  assess(ctx, result.exceptionId, LOW_RISK);
  decideException(ctx, { exceptionId: result.exceptionId, deciderId: APPROVERS[0], outcome: 'approve' });
  return result.exceptionId;
}

const tasks = () => t.register.db.select().from(integrationTasks).all();
const alerts = () => outboxRows(t.register).filter((row) => row.payload.message === 'integration_alert').map((row) => row.payload);

describe('planning from the audit trail', () => {
  it('plans one task per event that matters, however often the trail is read, and only for an exception with a binding', async () => {
    const plain = requestException(ctx, { requesterId: REQUESTER, input: validRequest({ title: 'No bypass group named' }) });
    if (!plain.ok) throw new Error('refused');
    assess(ctx, plain.exceptionId, LOW_RISK);
    decideException(ctx, { exceptionId: plain.exceptionId, deciderId: APPROVERS[0], outcome: 'approve' });
    const id = approvedWithBypass();
    const apply = applier();
    okta.failures.push(unavailable());
    await apply.deliverDue();
    await apply.deliverDue();
    expect(tasks().map((task) => [task.exceptionId, task.kind])).toEqual([[id, 'sync_membership']]);
    // Read again from the start, as after a lost cursor, it still plans nothing twice.
    t.register.db.update(integrationCursor).set({ lastEventId: 0 }).run();
    await applier().deliverDue();
    expect(tasks()).toHaveLength(1);
  });

  it('starts Jira where the trail stands, so exceptions approved before it was configured get no issue', async () => {
    approvedWithBypass();
    const made: string[] = [];
    const jira: ChangeConnector = { kind: 'change', vendor: 'jira', findIssue: async () => undefined, createIssue: async (issue) => (made.push(issue.exceptionRef), { key: 'SEC-1', summary: '', status: '', url: 'https://jira.example/browse/SEC-1' }), comment: async () => undefined, transition: async () => 'transitioned', check: async () => ({ vendor: 'jira', ok: true, findings: [] }) };
    await applier({ identity: {}, change: jira }).deliverDue();
    expect(made).toEqual([]);
    expect(tasks()).toEqual([]);
  });
});

describe('carrying tasks out', () => {
  it('never adds anyone back: an addition still failing when the exception expires becomes the removal', async () => {
    const id = approvedWithBypass();
    const apply = applier();
    okta.failures.push(unavailable());
    await apply.deliverDue();
    expect(okta.calls).toEqual(['add 00uANA 00gMFA (unavailable)']);

    now = new Date('2027-02-01T09:00:00Z');
    expireDue(ctx, now);
    await apply.deliverDue();
    // Both tasks run as "bring it in line": with the exception expired, that is a removal each time.
    expect(okta.calls.slice(1)).toEqual(['remove 00uANA 00gMFA', 'remove 00uSAM 00gMFA', 'remove 00uANA 00gMFA', 'remove 00uSAM 00gMFA']);
    expect(tasks().map((task) => [task.exceptionId, task.state])).toEqual([
      [id, 'done'],
      [id, 'done'],
    ]);
  });

  it('tries a refusal again hourly and reports it once, then tells the channel when it is done', async () => {
    approvedWithBypass();
    const apply = applier();
    await apply.deliverDue();
    now = new Date('2027-02-01T09:00:00Z');
    expireDue(ctx, now);
    okta.failures.push(refused(), refused());
    await apply.deliverDue();
    expect(tasks()[1]).toMatchObject({ state: 'pending', attempts: 1, lastErrorCode: 'refused', nextAttemptAt: '2027-02-01T10:00:00.000Z', reportedAt: '2027-02-01T09:00:00.000Z' });
    expect(alerts()).toMatchObject([{ outcome: 'failing', code: 'refused', retryEveryMs: 3_600_000, facts: { vendor: 'okta', change: 'remove', people: 2, groupName: 'MFA-exempt' } }]);

    now = new Date('2027-02-01T09:59:59Z');
    await apply.deliverDue();
    expect(tasks()[1]!.attempts).toBe(1);
    now = new Date('2027-02-01T10:00:00Z');
    await apply.deliverDue();
    expect(tasks()[1]!.attempts).toBe(2);
    expect(alerts()).toHaveLength(1);

    now = new Date('2027-02-01T11:00:00Z');
    await apply.deliverDue();
    expect(tasks()[1]!.state).toBe('done');
    expect(alerts().map((alert) => alert.outcome)).toEqual(['failing', 'done']);
    expect(alerts()[1]!.sentence).toBe('removed 2 people from Okta group MFA-exempt for EXC-0001');
  });
});
