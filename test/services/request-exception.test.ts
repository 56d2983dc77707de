import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadExceptionRecord } from '../../src/services/exception-record';
import { requestException, type RequestExceptionResult } from '../../src/services/request-exception';
import type { ExceptionRequestDraft } from '../../src/domain/request';
import {
  APPROVALS_CHANNEL,
  MAX_EXPIRY,
  NOW,
  OWNER,
  REQUESTER,
  TODAY,
  auditRows,
  countRows,
  openTestRegister,
  outboxRows,
  validRequest,
  type TestRegister,
} from './fixtures';

let t: TestRegister;
beforeEach(() => {
  t = openTestRegister();
});
afterEach(() => t.close());

function created(result: RequestExceptionResult) {
  if (!result.ok) throw new Error(`expected the request to be stored, got ${JSON.stringify(result.errors)}`);
  return result;
}

describe('requestException (SPEC §2)', () => {
  it('stores a valid request as `requested`, with the requester, the owner and the requested expiry', () => {
    const result = created(
      requestException(t.ctx, {
        requesterId: REQUESTER,
        input: validRequest({ title: '  No MFA on the legacy payroll console  ', affectedSystems: ' PAY-01 ', externalRef: 'CHG-4711' }),
      }),
    );
    expect(result).toEqual({ ok: true, exceptionId: 1, ref: 'EXC-0001', duplicate: false });
    const record = loadExceptionRecord(t.ctx.db, 1);
    expect(record).toMatchObject({
      ref: 'EXC-0001',
      status: 'requested',
      policy: { key: 'IA-2', title: 'Multi-factor authentication' },
      title: 'No MFA on the legacy payroll console',
      affectedSystems: 'PAY-01',
      externalRef: 'CHG-4711',
      requesterId: REQUESTER,
      ownerId: OWNER,
      structural: false,
      structuralReason: null,
      requestedExpiresOn: '2027-01-31',
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      assessment: null,
      decisions: [],
    });
    // Nothing is approved yet: the expiry is fixed at approval, and the route by the assessment.
    expect(record).toMatchObject({ expiresOn: null, originalExpiresOn: null, route: null, riskScore: null, activatedAt: null });
  });

  it('numbers exceptions 1, 2, 3 as EXC-0001, EXC-0002, EXC-0003', () => {
    const refs = [1, 2, 3].map(() => created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest() })));
    expect(refs.map((r) => [r.exceptionId, r.ref])).toEqual([
      [1, 'EXC-0001'],
      [2, 'EXC-0002'],
      [3, 'EXC-0003'],
    ]);
  });

  it('accepts the default expiry, today + 90 days', () => {
    created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest({ expiresOn: MAX_EXPIRY }) }));
    expect(loadExceptionRecord(t.ctx.db, 1)?.requestedExpiresOn).toBe(MAX_EXPIRY);
  });

  it('stores a structural request with its reason', () => {
    const structuralReason = 'The mainframe is replaced over two budget cycles; a 90-day clock forces an unsafe cutover.';
    created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest({ structural: true, structuralReason, expiresOn: '2027-11-25' }) }));
    expect(loadExceptionRecord(t.ctx.db, 1)).toMatchObject({ structural: true, structuralReason, requestedExpiresOn: '2027-11-25' });
  });

  describe('invalid input returns field errors and writes nothing in any table', () => {
    it.each([
      ['no compensating control', { compensatingControls: '' }, ['compensatingControls']],
      ['"because it\'s urgent"', { justification: "because it's urgent" }, ['justification']],
      ['an expiry of today', { expiresOn: TODAY }, ['expiresOn']],
      ['an expiry past the maximum', { expiresOn: '2027-02-24' }, ['expiresOn']],
      ['a NUL byte in the title', { title: 'No MFA\u0000 on payroll' }, ['title']],
      ['an owner that is not a Slack user', { owner: 'payroll-team' }, ['owner']],
      ['structural without a reason', { structural: true, expiresOn: '2027-06-01' }, ['structuralReason']],
      ['a policy that is not in the catalogue', { policy: 'XX-99' }, ['policy']],
      ['several problems', { title: 'x', scope: 'y', expiresOn: '2026-11-01' }, ['expiresOn', 'scope', 'title']],
    ] as [string, Partial<ExceptionRequestDraft>, string[]][])('%s', (_label, overrides, fields) => {
      const before = countRows(t.register);
      const result = requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(overrides), submissionKey: 'V0FAILED' });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(Object.keys(result.errors).sort()).toEqual(fields);
      expect(countRows(t.register)).toEqual(before);
    });

    it('a refused request does not use up a number', () => {
      requestException(t.ctx, { requesterId: REQUESTER, input: validRequest({ policy: 'XX-99' }) });
      expect(created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest() })).ref).toBe('EXC-0001');
    });
  });

  it('judges "today" in the organisation\'s time zone', () => {
    // 10:00 UTC on 25 November is 23:00 the same day in Auckland; at 12:00 UTC Auckland is on the 26th.
    const late = t.with({ clock: () => new Date('2026-11-25T12:00:00Z'), timeZone: 'Pacific/Auckland' });
    const result = requestException(late, { requesterId: REQUESTER, input: validRequest({ expiresOn: '2026-11-26' }) });
    expect(result.ok ? [] : Object.keys(result.errors)).toEqual(['expiresOn']);
    const utc = requestException(t.with({ clock: () => new Date('2026-11-25T12:00:00Z') }), { requesterId: REQUESTER, input: validRequest({ expiresOn: '2026-11-26' }) });
    expect(utc.ok).toBe(true);
  });

  describe('a retried submission of the same modal', () => {
    it('returns the exception it already created, marked duplicate, and writes nothing more', () => {
      const first = created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(), submissionKey: 'V0VIEW1' }));
      const afterFirst = countRows(t.register);
      const second = requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(), submissionKey: 'V0VIEW1' });
      expect(first).toEqual({ ok: true, exceptionId: 1, ref: 'EXC-0001', duplicate: false });
      expect(second).toEqual({ ok: true, exceptionId: 1, ref: 'EXC-0001', duplicate: true });
      expect(countRows(t.register)).toEqual(afterFirst);
      expect(afterFirst.exceptions).toBe(1);
    });

    it('a different submission is a different exception', () => {
      created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(), submissionKey: 'V0VIEW1' }));
      const other = created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(), submissionKey: 'V0VIEW2' }));
      expect(other).toMatchObject({ exceptionId: 2, duplicate: false });
    });
  });

  it('queues the triage card first (a failing DM must not hold it back), then the receipt and the owner-named DM', () => {
    created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest() }));
    expect(outboxRows(t.register).map((row) => ({ kind: row.kind, exceptionId: row.exceptionId, state: row.state, payload: row.payload }))).toEqual([
      { kind: 'post_card', exceptionId: 1, state: 'pending', payload: { kind: 'post_card', exceptionId: 1, card: 'triage', channel: APPROVALS_CHANNEL } },
      { kind: 'direct_message', exceptionId: 1, state: 'pending', payload: { kind: 'direct_message', exceptionId: 1, recipientId: REQUESTER, message: 'receipt' } },
      { kind: 'direct_message', exceptionId: 1, state: 'pending', payload: { kind: 'direct_message', exceptionId: 1, recipientId: OWNER, message: 'owner_named' } },
    ]);
  });

  describe('the owner is told when someone else names them', () => {
    const queued = () => outboxRows(t.register).map((row) => row.payload);

    it('queues an owner_named DM to an owner who is not the requester, after the triage card and the receipt', () => {
      created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest({ owner: OWNER }) }));
      expect(queued()).toEqual([
        { kind: 'post_card', exceptionId: 1, card: 'triage', channel: APPROVALS_CHANNEL },
        { kind: 'direct_message', exceptionId: 1, recipientId: REQUESTER, message: 'receipt' },
        { kind: 'direct_message', exceptionId: 1, recipientId: OWNER, message: 'owner_named' },
      ]);
    });

    it('queues no owner_named DM when the requester names themselves owner', () => {
      created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest({ owner: REQUESTER }) }));
      expect(queued()).toEqual([
        { kind: 'post_card', exceptionId: 1, card: 'triage', channel: APPROVALS_CHANNEL },
        { kind: 'direct_message', exceptionId: 1, recipientId: REQUESTER, message: 'receipt' },
      ]);
    });

    it('queues nothing more for a retried submission: the owner is told once', () => {
      created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(), submissionKey: 'V0VIEW1' }));
      created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(), submissionKey: 'V0VIEW1' }));
      expect(queued().filter((n) => n.message === 'owner_named')).toEqual([{ kind: 'direct_message', exceptionId: 1, recipientId: OWNER, message: 'owner_named' }]);
    });
  });

  describe('an owner Slack knows as a bot or a deactivated account is refused on `owner`, and nothing is written', () => {
    it.each([
      ['a bot or app user', { isBot: true, deleted: false }, 'Choose a person as owner, not an app or bot: the owner is accountable for the exception.'],
      ['a deactivated account', { isBot: false, deleted: true }, 'That account is deactivated. Choose an active person as owner.'],
    ])('%s', (_label, ownerAccount, message) => {
      const before = countRows(t.register);
      const result = requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(), ownerAccount, submissionKey: 'V0OWNER' });
      expect(result).toEqual({ ok: false, errors: { owner: message } });
      expect(countRows(t.register)).toEqual(before);
      // The same modal, with a person chosen as owner, is then stored under the first number.
      const retried = created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(), ownerAccount: { isBot: false, deleted: false }, submissionKey: 'V0OWNER' }));
      expect(retried).toEqual({ ok: true, exceptionId: 1, ref: 'EXC-0001', duplicate: false });
    });

    it('reports the owner problem alongside the other field errors', () => {
      const before = countRows(t.register);
      const result = requestException(t.ctx, { requesterId: REQUESTER, input: validRequest({ compensatingControls: '' }), ownerAccount: { isBot: true, deleted: false } });
      expect(result.ok ? [] : Object.keys(result.errors).sort()).toEqual(['compensatingControls', 'owner']);
      expect(countRows(t.register)).toEqual(before);
    });

    it('accepts an active person, and an owner Slack could not be asked about', () => {
      created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(), ownerAccount: { isBot: false, deleted: false } }));
      created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest(), ownerAccount: undefined }));
      expect(countRows(t.register).exceptions).toBe(2);
    });
  });

  it('writes one audit event, by the requester, carrying what was asked for', () => {
    created(requestException(t.ctx, { requesterId: REQUESTER, input: validRequest() }));
    const events = auditRows(t.register).filter((e) => e.exceptionId === 1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'exception.requested', actorId: REQUESTER, occurredAt: NOW.toISOString() });
    expect(JSON.parse(events[0]?.payload ?? '{}')).toMatchObject({ policyKey: 'IA-2', ownerId: OWNER, expiresOn: '2027-01-31', requesterId: REQUESTER });
  });
});
