import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answerCheckin } from '../../src/services/answer-checkin';
import { checkControls } from '../../src/services/check-controls';
import { closeException } from '../../src/services/close-exception';
import { decideException } from '../../src/services/decide-exception';
import { expireDue } from '../../src/services/expire-due';
import { reapproveException } from '../../src/services/reapprove-exception';
import { requestRenewal } from '../../src/services/request-renewal';
import { verifyRegister } from '../../src/services/verify-register';
import { APPROVERS, COMMITTEE, HIGH_RISK, LOW_RISK, OWNER, assess, fileRequest, openTestRegister, type TestRegister } from './fixtures';

let t: TestRegister;
beforeEach(() => {
  t = openTestRegister();
});
afterEach(() => t.close());

const at = (iso: string) => t.with({ clock: () => new Date(iso) });
const renewalInput = (percent: string, expiresOn: string) => ({
  progress: 'The vendor release is installed on half of the consoles; the rest follow next month.',
  percentComplete: percent,
  controlTestedOn: '2027-01-10',
  expiresOn,
});

describe('verifying the register against its audit trail', () => {
  it('finds every row as its trail says through whole lives: votes, rejection, check-ins, renewals, expiry, closing, review', () => {
    const fast = fileRequest(t.ctx);
    const committee = fileRequest(t.ctx, { owner: OWNER });
    const renewed = fileRequest(t.ctx, { affectedSystems: 'pay-01', externalRef: 'CHG-1' });
    assess(t.ctx, fast, LOW_RISK);
    assess(t.ctx, committee, HIGH_RISK);
    assess(t.ctx, renewed, LOW_RISK);
    decideException(t.ctx, { exceptionId: fast, deciderId: APPROVERS[0], outcome: 'approve' });
    decideException(t.ctx, { exceptionId: committee, deciderId: COMMITTEE[0], outcome: 'approve', comment: 'Fine with the VLAN.' });
    decideException(t.ctx, { exceptionId: committee, deciderId: COMMITTEE[1], outcome: 'reject', comment: 'Payroll data needs MFA; no exception.' });
    decideException(t.ctx, { exceptionId: renewed, deciderId: APPROVERS[1], outcome: 'approve' });

    const month = at('2026-12-26T10:00:00Z');
    checkControls(month, new Date('2026-12-26T10:00:00Z'));
    const checkins = t.register.sqlite.prepare('select id, exception_id as exceptionId from checkins order by id').all() as { id: number; exceptionId: number }[];
    answerCheckin(month, { checkinId: checkins.find((c) => c.exceptionId === fast)!.id, actorId: OWNER, answer: 'no' });
    answerCheckin(month, { checkinId: checkins.find((c) => c.exceptionId === renewed)!.id, actorId: OWNER, answer: 'yes' });

    const january = at('2027-01-20T10:00:00Z');
    expect(requestRenewal(january, { exceptionId: renewed, actorId: OWNER, input: renewalInput('50', '2027-04-15') })).toMatchObject({ ok: true });
    assess(january, renewed, LOW_RISK);
    expect(requestRenewal(january, { exceptionId: fast, actorId: OWNER, input: renewalInput('40', '2027-04-15') })).toMatchObject({ ok: true });
    expireDue(at('2027-02-01T01:00:00Z'), new Date('2027-02-01T01:00:00Z'));
    decideException(at('2027-02-02T10:00:00Z'), { exceptionId: renewed, deciderId: APPROVERS[0], outcome: 'approve' });
    reapproveException(at('2027-02-03T10:00:00Z'), { exceptionId: renewed, actorId: COMMITTEE[2], justification: 'The rollout is on track and the control was tested last month.' });
    closeException(at('2027-02-04T10:00:00Z'), { exceptionId: renewed, actorId: OWNER, note: 'MFA is live on every payroll console.' });

    const statuses = t.register.sqlite.prepare('select id, status, renewal_count as renewals from exceptions order by id').all();
    expect(statuses).toEqual([
      { id: fast, status: 'expired', renewals: 0 },
      { id: committee, status: 'rejected', renewals: 0 },
      { id: renewed, status: 'closed', renewals: 1 },
    ]);
    const verification = verifyRegister(t.register.db, { timeZone: 'UTC' });
    expect(verification.findings).toEqual([]);
    expect(verification).toMatchObject({ exceptions: 3, chain: { ok: true } });
  });

  it('names an exception whose history is gone and one whose row is gone', () => {
    const kept = fileRequest(t.ctx);
    const orphaned = fileRequest(t.ctx);
    t.register.sqlite.exec(`drop trigger audit_events_no_delete; delete from audit_events where exception_id = ${kept}`);
    t.register.sqlite.pragma('foreign_keys = OFF');
    t.register.sqlite.exec(`delete from outbox; delete from exceptions where id = ${orphaned}`);
    expect(verifyRegister(t.register.db, { timeZone: 'UTC' }).findings).toEqual([
      { ref: 'EXC-0001', unreplayable: { eventId: null, problem: expect.stringMatching(/has no event for it/) }, discrepancies: [] },
      { ref: 'EXC-0002', unreplayable: { eventId: 3, problem: 'the audit trail records it, but the register has no such exception' }, discrepancies: [] },
    ]);
  });
});
