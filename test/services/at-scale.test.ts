import { count, eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exceptions, outbox, renewals } from '../../src/db/schema';
import { decideException } from '../../src/services/decide-exception';
import { listWaiting } from '../../src/services/exception-record';
import { exportRegister } from '../../src/services/export-register';
import { queueNotifications, type Notification } from '../../src/services/notifications';
import { APPROVERS, assess, fileRequest, LOW_RISK, NOW, OWNER, openTestRegister, type TestRegister } from './fixtures';

let t: TestRegister;
beforeEach(() => {
  t = openTestRegister();
});
afterEach(() => {
  t.close();
});

describe('what a large register asks of SQLite', () => {
  it('queues 8,000 notifications in one transaction, beyond what one INSERT may bind', () => {
    const notifications: Notification[] = Array.from({ length: 8000 }, (_, i) => ({ kind: 'direct_message', exceptionId: 1, recipientId: OWNER, message: 'receipt', expiredOn: String(i) }));
    fileRequest(t.ctx);
    const rows = () => t.ctx.db.select({ n: count() }).from(outbox).get()!.n;
    const before = rows();
    t.ctx.db.transaction((tx) => queueNotifications(tx, notifications, NOW));
    expect(rows() - before).toBe(8000);
  });

  it('exports every row with its assessment across pages, and under a filter that leaves the matches far apart', () => {
    const assessed = new Set<number>();
    for (let i = 1; i <= 450; i++) {
      const id = fileRequest(t.ctx, { title: `Request number ${i} for the export` });
      if (i % 100 === 0) {
        assess(t.ctx, id, LOW_RISK);
        assessed.add(id);
      }
    }
    const all = [...exportRegister(t.ctx.db)];
    expect(all).toHaveLength(450);
    expect(all.filter((row) => row.risk_score !== null).map((row) => row.id)).toEqual(['EXC-0100', 'EXC-0200', 'EXC-0300', 'EXC-0400']);

    const waiting = [...exportRegister(t.ctx.db, { statuses: ['pending_approval'] })];
    expect(waiting.map((row) => row.id)).toEqual(['EXC-0100', 'EXC-0200', 'EXC-0300', 'EXC-0400']);
    expect(waiting.every((row) => row.risk_score === LOW_RISK.likelihood * LOW_RISK.impact && row.risk_assessed_by !== null)).toBe(true);
  });
});

describe('what waits on people', () => {
  it('counts a renewal only while it waits: an exception renewed long ago is not waiting for anything', () => {
    const id = fileRequest(t.ctx);
    assess(t.ctx, id, LOW_RISK);
    expect(listWaiting(t.ctx.db).map((w) => [w.id, w.open.stage])).toEqual([[id, 'decision']]);
    decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
    expect(listWaiting(t.ctx.db)).toEqual([]);

    // A first renewal, decided: round 1 with nothing open.
    t.ctx.db.update(exceptions).set({ currentRound: 1, renewalCount: 1 }).where(eq(exceptions.id, id)).run();
    const renewal = { exceptionId: id, round: 1, requestedBy: OWNER, progress: 'Half the users migrated to SSO.', percentComplete: 50, controlTestedOn: '2026-11-20', requestedExpiresOn: '2027-02-01', createdAt: NOW.toISOString() };
    t.ctx.db.insert(renewals).values({ ...renewal, status: 'approved' }).run();
    expect(listWaiting(t.ctx.db)).toEqual([]);

    // The same round still waiting for its assessment is listed, from the day it was asked.
    t.ctx.db.update(renewals).set({ status: 'requested' }).where(eq(renewals.exceptionId, id)).run();
    expect(listWaiting(t.ctx.db).map((w) => [w.id, w.open.stage, w.open.round, w.open.since])).toEqual([[id, 'assessment', 1, NOW.toISOString()]]);
  });
});
