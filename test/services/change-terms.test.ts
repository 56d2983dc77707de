import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { amendments, exceptions } from '../../src/db/schema';
import { closeException } from '../../src/services/close-exception';
import { authorizeTermChange, requestTermChange } from '../../src/services/change-terms';
import { decideException } from '../../src/services/decide-exception';
import { getExceptionRecord, listWaiting } from '../../src/services/exception-record';
import { expireDue } from '../../src/services/expire-due';
import { exportRegister } from '../../src/services/export-register';
import { requestRenewal } from '../../src/services/request-renewal';
import { verifyRegister } from '../../src/services/verify-register';
import { APPROVERS, COMMITTEE, HIGH_RISK, LOW_RISK, OWNER, REQUESTER, SECURITY, assess, auditRows, countRows, domainErrorOf, fileRequest, openTestRegister, outboxRows, type TestRegister } from './fixtures';

/**
 * Issue 11: the terms an active exception was approved on (scope, affected systems, compensating control) change only
 * by a change of terms that is assessed and approved again; until then the exception stays active on its old terms.
 */

let t: TestRegister;
beforeEach(() => {
  t = openTestRegister();
});
afterEach(() => t.close());

const at = (iso: string) => t.with({ clock: () => new Date(iso) });
const row = (id: number) => t.register.db.select().from(exceptions).all().find((e) => e.id === id)!;
const NEW_CONTROL = 'Logins from the kiosk VLAN only, with a hardware token checked at the desk, and the sessions recorded.';
const change = (overrides: Record<string, string> = {}) => ({
  scope: 'The two reception kiosks and the visitor badge printer',
  compensatingControls: NEW_CONTROL,
  reason: 'The badge printer joins the kiosks, and the token makes the control stronger.',
  ...overrides,
});

/** An approved fast-path exception, owned by OWNER: its terms as approved. */
function active(overrides: Record<string, string> = {}, risk = LOW_RISK): number {
  const id = fileRequest(t.ctx, { owner: OWNER, ...overrides });
  assess(t.ctx, id, risk);
  if (risk === LOW_RISK) decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
  else for (const member of COMMITTEE.slice(0, 2)) decideException(t.ctx, { exceptionId: id, deciderId: member, outcome: 'approve' });
  return id;
}

describe('asking to change the terms of an active exception', () => {
  it('opens a round that waits for its assessment, while the exception stays active on the terms it was approved on', () => {
    const id = active();
    const approved = row(id);
    const asked = requestTermChange(at('2026-12-01T10:00:00Z'), { exceptionId: id, actorId: OWNER, input: change() });
    expect(asked).toEqual({ ok: true, ref: 'EXC-0001', round: 1, duplicate: false });

    expect(row(id)).toMatchObject({ status: 'active', scope: approved.scope, compensatingControls: approved.compensatingControls, expiresOn: approved.expiresOn, currentRound: 1, approvalTs: null });
    const record = getExceptionRecord(t.register.db, id);
    expect(record.open).toEqual({ stage: 'assessment', round: 1, since: '2026-12-01T10:00:00.000Z' });
    expect(record.renewal).toBeNull();
    expect(record.amendment).toMatchObject({ round: 1, status: 'requested', requestedBy: OWNER, scope: change().scope, previousScope: approved.scope, compensatingControls: NEW_CONTROL, previousCompensatingControls: approved.compensatingControls });
    expect(listWaiting(t.register.db)).toEqual([expect.objectContaining({ id, open: record.open, askedBy: OWNER })]);

    const event = auditRows(t.register).at(-1)!;
    expect(event.kind).toBe('amendment.requested');
    expect(JSON.parse(event.payload).changes.map((c: { field: string }) => c.field)).toEqual(['scope', 'compensatingControls']);
    // The security team is asked in the card's thread, never the owner themselves.
    expect(outboxRows(t.register).at(-1)!.payload).toMatchObject({ kind: 'thread_reply', message: 'amendment_requested', mentions: [...SECURITY] });
  });

  it('refuses, changing nothing, whoever is not its owner or requester, an exception not active, an unchanged form and a second round', () => {
    const id = active();
    const pending = fileRequest(t.ctx);
    const before = countRows(t.register);
    expect(domainErrorOf(() => authorizeTermChange(t.ctx, id, SECURITY[0])).message).toBe('Only the owner or the requester can change the terms of this exception. Ask the owner (<@U0OWN>) to do it.');
    expect(domainErrorOf(() => requestTermChange(t.ctx, { exceptionId: pending, actorId: REQUESTER, input: change() })).message).toContain('only an active exception');
    const unchanged = getExceptionRecord(t.register.db, id);
    expect(requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: { scope: unchanged.scope, compensatingControls: unchanged.compensatingControls, reason: 'Nothing really changes here.' } })).toEqual({
      ok: false,
      errors: { scope: 'Nothing is changed yet: edit the scope, the affected systems or the compensating control, or cancel.' },
    });
    expect(requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: change({ reason: 'short' }) })).toMatchObject({ ok: false, errors: { reason: expect.stringContaining('at least 10 characters') } });
    expect(countRows(t.register)).toEqual(before);

    expect(requestTermChange(t.ctx, { exceptionId: id, actorId: REQUESTER, input: change() })).toMatchObject({ ok: true });
    expect(domainErrorOf(() => requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: change({ scope: 'Only the visitor badge printer' }) })).code).toBe('conflict');
    expect(domainErrorOf(() => requestRenewal(t.ctx, { exceptionId: id, actorId: OWNER, input: { progress: 'x'.repeat(50), percentComplete: '50', controlTestedOn: '2026-11-20', expiresOn: '2027-02-01' } })).message).toContain(
      'already has a change of its terms waiting',
    );
  });

  it('records a resubmitted form once', () => {
    const id = active();
    expect(requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: change(), submissionKey: 'V0CHANGE' })).toMatchObject({ duplicate: false, round: 1 });
    expect(requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: change(), submissionKey: 'V0CHANGE' })).toMatchObject({ duplicate: true, round: 1 });
    expect(t.register.db.select().from(amendments).all()).toHaveLength(1);
  });
});

describe('deciding a change of terms', () => {
  it('approved, makes the new terms the exception’s without moving its expiry or counting a renewal', () => {
    const id = active();
    const approvedOn = row(id).expiresOn;
    requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: change({ affectedSystems: 'kiosk-01, kiosk-02, badge-01' }) });
    expect(assess(t.ctx, id, LOW_RISK, SECURITY[1])).toMatchObject({ route: 'fast_path' });
    expect([...exportRegister(t.register.db)][0]).toMatchObject({ waiting_for: 'change of terms decision' });
    expect(getExceptionRecord(t.register.db, id)).toMatchObject({ open: { stage: 'decision', round: 1 }, amendment: { status: 'pending_approval' } });
    expect(outboxRows(t.register).some((r) => r.payload.kind === 'post_card' && r.payload.card === 'approval')).toBe(true);

    const decided = decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[1], outcome: 'approve', comment: 'The token is the stronger control.' });
    expect(decided.outcome).toBe('approved');
    expect(row(id)).toMatchObject({ status: 'active', scope: change().scope, affectedSystems: 'kiosk-01, kiosk-02, badge-01', compensatingControls: NEW_CONTROL, expiresOn: approvedOn, renewalCount: 0 });
    const record = getExceptionRecord(t.register.db, id);
    expect(record.open).toBeNull();
    expect(record.amendments).toEqual([expect.objectContaining({ round: 1, status: 'approved', decidedAt: expect.any(String) })]);
    expect(auditRows(t.register).at(-1)!.kind).toBe('amendment.approved');
    const told = outboxRows(t.register).filter((r) => r.payload.message === 'amendment_approved').map((r) => r.payload.recipientId);
    expect(told.sort()).toEqual([OWNER, REQUESTER].sort());
    const [exported] = [...exportRegister(t.register.db)];
    expect(exported).toMatchObject({ waiting_for: '', compensating_controls: NEW_CONTROL, renewal_count: 0 });
    expect(exported!.term_changes).toMatch(/^change of terms \(approved\) asked .* by U0OWN: scope from ".+" to "The two reception kiosks and the visitor badge printer", affected systems from "" to "kiosk-01, kiosk-02, badge-01", compensating control from ".+" to "Logins from the kiosk VLAN only.*"; why: The badge printer joins/);
    expect(exported!.decisions).toMatch(/^request: approve by U0CISO .*; change of terms: approve by U0DEP/);
    expect(verifyRegister(t.register.db, { timeZone: 'UTC' }).findings).toEqual([]);
  });

  it('rejected, leaves the exception on the terms it was approved on', () => {
    const id = active();
    const approved = row(id);
    requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: change() });
    assess(t.ctx, id, LOW_RISK);
    decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'reject', comment: 'A token at the desk is not tested yet; test it first.' });
    expect(row(id)).toMatchObject({ status: 'active', scope: approved.scope, compensatingControls: approved.compensatingControls });
    expect(getExceptionRecord(t.register.db, id).amendment).toMatchObject({ status: 'rejected' });
    expect(outboxRows(t.register).filter((r) => r.payload.message === 'amendment_rejected')).toHaveLength(2);
    expect(verifyRegister(t.register.db, { timeZone: 'UTC' }).findings).toEqual([]);
  });

  it('goes to the committee when the exception was decided by it, whatever the new score', () => {
    const id = active({}, HIGH_RISK);
    requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: change() });
    expect(assess(t.ctx, id, LOW_RISK)).toMatchObject({ route: 'committee' });
    expect(domainErrorOf(() => decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' })).code).toBe('not_authorised');
    decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[0], outcome: 'approve' });
    expect(row(id).compensatingControls).not.toBe(NEW_CONTROL);
    decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[2], outcome: 'approve' });
    expect(row(id).compensatingControls).toBe(NEW_CONTROL);
  });

  it('is withdrawn when the exception expires or is closed first, and can no longer be decided', () => {
    const expiring = active();
    const closing = active();
    for (const id of [expiring, closing]) requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: change() });
    assess(t.ctx, expiring, LOW_RISK);
    closeException(t.ctx, { exceptionId: closing, actorId: OWNER, note: 'The kiosks were replaced by managed laptops.' });
    const lastDay = row(expiring).expiresOn!;
    const after = new Date(`${lastDay}T00:00:00Z`);
    after.setUTCDate(after.getUTCDate() + 1);
    expireDue(at(after.toISOString()), new Date(after.getTime() + 60_000));

    expect(getExceptionRecord(t.register.db, expiring)).toMatchObject({ status: 'expired', open: null, amendment: { status: 'withdrawn' } });
    expect(getExceptionRecord(t.register.db, closing)).toMatchObject({ status: 'closed', open: null, amendment: { status: 'withdrawn' } });
    expect(domainErrorOf(() => decideException(t.ctx, { exceptionId: expiring, deciderId: APPROVERS[0], outcome: 'approve' })).message).toBe(
      'The change of terms of EXC-0001 is withdrawn: EXC-0001 is expired, so it cannot be approved now.',
    );
    expect(row(expiring).compensatingControls).not.toBe(NEW_CONTROL);
    expect(verifyRegister(t.register.db, { timeZone: 'UTC' }).findings).toEqual([]);
  });

  it('counts no renewal: the first renewal after a change of terms is renewal 1, decided on the original route', () => {
    const id = active();
    requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: change() });
    assess(t.ctx, id, LOW_RISK);
    decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
    const asked = requestRenewal(at('2027-01-20T10:00:00Z'), {
      exceptionId: id,
      actorId: OWNER,
      input: { progress: 'The kiosks are on the new image; the printer follows next month with the same image.', percentComplete: '60', controlTestedOn: '2027-01-10', expiresOn: '2027-04-15' },
    });
    expect(asked).toMatchObject({ ok: true, round: 2 });
    expect(getExceptionRecord(t.register.db, id).renewal).toMatchObject({ number: 1, round: 2 });
    expect(assess(at('2027-01-20T11:00:00Z'), id, LOW_RISK)).toMatchObject({ route: 'fast_path' });
  });
});

describe('the audit trail of a change of terms', () => {
  it('replays to the rows, and tampering with the new terms or the round is found', () => {
    const id = active();
    requestTermChange(t.ctx, { exceptionId: id, actorId: OWNER, input: change() });
    assess(t.ctx, id, LOW_RISK);
    decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
    expect(verifyRegister(t.register.db, { timeZone: 'UTC' }).findings).toEqual([]);

    t.register.sqlite.prepare("update exceptions set compensating_controls = 'None needed.' where id = ?").run(id);
    t.register.sqlite.prepare("update amendments set previous_scope = 'something else' where exception_id = ?").run(id);
    const findings = JSON.stringify(verifyRegister(t.register.db, { timeZone: 'UTC' }).findings);
    expect(findings).toContain('compensating_controls');
    expect(findings).toContain('amendment of round 1');
  });
});
