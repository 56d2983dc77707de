import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, exceptions, followUps } from '../../src/db/schema';
import { ACTION_IDS } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, cardFor, clickButton, decisionCard, renewalDecisionCard, submitRenewal, submitRequest } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

/** EXC-0001, active until the end of 2027-01-15 (the form's expiry), owned by PEOPLE.owner. */
async function activeException(form = {}) {
  await submitRequest(h, form);
  await assess(h, 'EXC-0001', 2, 2);
  await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
  expect(h.app.register.db.select().from(exceptions).get()).toMatchObject({ status: 'active', expiresOn: '2027-01-15' });
}

const at = (iso: string) => {
  h.clock.now = new Date(iso);
};
const reminderDms = () => h.standIn.dmsTo(PEOPLE.owner).filter((m) => /expires? soon/.test(m.text ?? ''));
const status = () => h.app.register.db.select().from(exceptions).get()!.status;

describe('reminders before expiry', () => {
  it('reminds the owner 14, 7 and 1 days before, each exactly once, across two restarts, with Renew and Close buttons', async () => {
    await activeException();
    at('2027-01-01T08:00:00Z'); // 14 days left
    await h.runJobs();
    await h.runJobs();
    expect(reminderDms()).toHaveLength(1);
    expect(buttons(reminderDms()[0]!)).toEqual([ACTION_IDS.renew, ACTION_IDS.close]);
    expect(reminderDms()[0]!.text).toContain('EXC-0001 expires soon');

    await h.restart();
    at('2027-01-05T08:00:00Z'); // 10 days left: nothing new
    await h.runJobs();
    expect(reminderDms()).toHaveLength(1);

    at('2027-01-08T08:00:00Z'); // 7 days left
    await h.runJobs();
    await h.restart();
    await h.runJobs();
    at('2027-01-14T23:59:00Z'); // 1 day left
    await h.runJobs();
    await h.runJobs();
    expect(reminderDms()).toHaveLength(3);
    const keys = h.app.register.db.select().from(followUps).all().map((f) => [f.kind, f.key]);
    expect(keys).toEqual([
      ['expiry_reminder', '2027-01-15:14'],
      ['expiry_reminder', '2027-01-15:7'],
      ['expiry_reminder', '2027-01-15:1'],
    ]);
  });

  it('after downtime sends only the most urgent reminder that is due, not a burst of stale ones', async () => {
    await activeException();
    at('2027-01-10T08:00:00Z'); // 5 days left: 14 and 7 have both passed
    await h.runJobs();
    expect(reminderDms()).toHaveLength(1);
    expect(h.app.register.db.select().from(followUps).all().map((f) => f.key)).toEqual(['2027-01-15:7']);
    at('2027-01-12T08:00:00Z');
    await h.runJobs();
    expect(reminderDms()).toHaveLength(1);
  });
});

describe('reminders and renewal', () => {
  const RENEWAL = {
    progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.',
    percentComplete: '60',
    evidenceUrl: '',
    controlTestedOn: '2027-01-07',
    expiresOn: '2027-03-01',
  };

  it('holds reminders while a renewal waits, and reminds again before the new expiry once it is approved', async () => {
    await activeException();
    at('2027-01-08T08:00:00Z'); // 7 days left
    await h.runJobs();
    expect(reminderDms()).toHaveLength(1);
    const { response } = await submitRenewal(h, PEOPLE.owner, RENEWAL);
    expect(response?.text).toBe('');
    at('2027-01-14T08:00:00Z'); // 1 day left, but a renewal is waiting
    await h.runJobs();
    expect(reminderDms()).toHaveLength(1);

    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, renewalDecisionCard(h, 'EXC-0001', 1), ACTION_IDS.approve, PEOPLE.ciso);
    expect(h.app.register.db.select().from(exceptions).get()).toMatchObject({ status: 'active', expiresOn: '2027-03-01' });
    at('2027-02-15T08:00:00Z'); // 14 days before the new expiry
    await h.runJobs();
    expect(reminderDms()).toHaveLength(2);
    expect(reminderDms().at(-1)!.text).toContain('EXC-0001 expires soon');
    const reminders = h.app.register.db.select().from(followUps).all().filter((f) => f.kind === 'expiry_reminder');
    expect(reminders.map((f) => f.key)).toEqual(['2027-01-15:7', '2027-03-01:14']);
  });
});

describe('automatic expiry', () => {
  it('expires at the end of the expiry day with no click: status, audit, DMs, card updated, one summary post', async () => {
    await activeException();
    at('2027-01-15T23:59:00Z');
    await h.runJobs();
    expect(status()).toBe('active');

    at('2027-01-16T00:01:00Z');
    const [sweep] = await h.runJobs();
    expect(sweep).toMatchObject({ job: 'expiry_sweep', ran: true, result: 'expired: EXC-0001' });
    expect(status()).toBe('expired');
    const events = h.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, 'exception.expired')).all();
    expect(events).toHaveLength(1);
    expect(events[0]!.actorId).toBe('scheduler');
    expect(h.standIn.dmsTo(PEOPLE.owner).at(-1)!.text).toContain('EXC-0001 has expired');
    expect(h.standIn.dmsTo(PEOPLE.requester).at(-1)!.text).toContain('EXC-0001 has expired');
    const summaries = h.standIn.messages(CHANNELS.approvals).filter((m) => !m.threadTs && /expired/.test(m.text ?? ''));
    expect(summaries).toHaveLength(1);
    expect(JSON.stringify(decisionCard(h, 'EXC-0001').blocks)).toContain('Expired');
    expect(JSON.stringify(cardFor(h, 'EXC-0001').blocks)).toContain('Expired');

    await h.runJobs();
    expect(h.standIn.messages(CHANNELS.approvals).filter((m) => !m.threadTs && /expired/.test(m.text ?? ''))).toHaveLength(1);
  });

  it('sends one DM per person per sweep, listing every exception of theirs that expired', async () => {
    for (const [n, title] of ['First gap', 'Second gap', 'Third gap'].entries()) {
      await submitRequest(h, { title });
      const ref = `EXC-000${n + 1}`;
      await assess(h, ref, 2, 2);
      await clickButton(h, decisionCard(h, ref), ACTION_IDS.approve, PEOPLE.ciso);
    }
    const before = h.standIn.dmsTo(PEOPLE.owner).length;
    at('2027-01-16T00:01:00Z');
    await h.runJobs();
    const dms = h.standIn.dmsTo(PEOPLE.owner).slice(before);
    expect(dms).toHaveLength(1);
    expect(dms[0]!.text).toBe('3 of your exceptions have expired: EXC-0001, EXC-0002, EXC-0003');
    expect(h.standIn.dmsTo(PEOPLE.requester).filter((m) => /expired/.test(m.text ?? ''))).toHaveLength(1);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('catches up at start-up on what fell due while the app was down: expired, with one summary', async () => {
    await activeException();
    at('2027-02-01T09:00:00Z');
    await h.restart({ schedule: true });
    await h.settle();
    expect(status()).toBe('expired');
    expect(h.standIn.messages(CHANNELS.approvals).filter((m) => !m.threadTs && /expired/.test(m.text ?? ''))).toHaveLength(1);
    // Expired exceptions get no reminders, even though the 1-day threshold was never reached while it ran.
    expect(reminderDms()).toEqual([]);
  });
});
