import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, exceptions, followUps } from '../../src/db/schema';
import { ACTION_IDS } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, cardFor, clickButton, decisionCard, renewalDecisionCard, submitClose, submitRenewal, submitRequest } from './flows';

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
/** DMs posted as reminders (a later update may change their words: the reminder has been acted on). */
const reminderDms = () => {
  const posted = new Set(h.standIn.callsTo('chat.postMessage').filter((c) => /expires? soon/.test(String(c.args.text))).map((c) => String(c.response.ts)));
  return h.standIn.dmsTo(PEOPLE.owner).filter((m) => posted.has(m.ts));
};
const status = () => h.app.register.db.select().from(exceptions).get()!.status;

describe('reminders before expiry', () => {
  it('reminds the owner 14, 7 and 1 days before, each exactly once, across two restarts, with Renew and Close buttons', async () => {
    await activeException();
    at('2027-01-01T08:00:00Z'); // 14 days left
    await h.runJobs();
    await h.runJobs();
    expect(reminderDms()).toHaveLength(1);
    // The same run's control check-in (37 days after activation) comes in the same DM, after the reminder.
    expect(buttons(reminderDms()[0]!)).toEqual([ACTION_IDS.renew, ACTION_IDS.close, ACTION_IDS.viewRecord, ACTION_IDS.checkinYes, ACTION_IDS.checkinNo]);
    expect(reminderDms()[0]!.text).toContain('EXC-0001 expires soon');
    expect(reminderDms()[0]!.text).toContain('is the compensating control still in place and working?');
    expect(JSON.stringify(reminderDms()[0]!.blocks)).toContain('Expires *Fri 15 Jan (in 14 days)*, ending at midnight UTC');

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
    expect(response?.json).toMatchObject({ response_action: 'update', view: { title: { text: 'Renewal requested' } } });
    // The reminder no longer offers Renew and Close: it says the renewal waits.
    const reminder = reminderDms()[0]!;
    expect(buttons(reminder)).not.toContain(ACTION_IDS.renew);
    expect(JSON.stringify(reminder.blocks)).toContain('Renewal requested by');
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

describe('less noise, messages that stay true (issue 11)', () => {
  it("one DM per person per run holds that person's expiry notice, reminder and check-in together", async () => {
    await submitRequest(h, { title: 'First gap', expiresOn: '2026-12-24' });
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    await submitRequest(h, { title: 'Second gap', expiresOn: '2027-01-06' });
    await assess(h, 'EXC-0002', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0002'), ACTION_IDS.approve, PEOPLE.ciso);
    const before = h.standIn.dmsTo(PEOPLE.owner).length;

    // EXC-0001 expired at the end of the 24th; EXC-0002 is 12 days from its expiry and 30 days from activation.
    at('2026-12-25T12:00:00Z');
    await h.runJobs();
    const dms = h.standIn.dmsTo(PEOPLE.owner).slice(before);
    expect(dms).toHaveLength(1);
    const [dm] = dms;
    expect(dm!.text).toBe('EXC-0002 expires soon. EXC-0002: is the compensating control still in place and working? EXC-0001 has expired; the policy applies again in full.');
    expect(buttons(dm!)).toEqual([ACTION_IDS.renew, ACTION_IDS.close, ACTION_IDS.viewRecord, ACTION_IDS.checkinYes, ACTION_IDS.checkinNo]);
    const shown = JSON.stringify(dm!.blocks);
    expect(shown).toContain('*Your security exceptions today*: 1 expires soon · 1 control check-in · 1 expired');
    expect(shown).toContain('Expires *Wed 6 Jan 2027 (in 12 days)*, ending at midnight UTC');
    expect(shown).toContain('*expired* at the end of Thu 24 Dec (midnight UTC)');
    // The requester, a different person, gets only the expiry notice.
    expect(h.standIn.dmsTo(PEOPLE.requester).filter((m) => /expired/.test(m.text ?? '')).map((m) => m.text)).toEqual(['EXC-0001 has expired; the policy applies again in full.']);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('a reminder loses Renew and Close once the exception is closed, and says so', async () => {
    await activeException();
    at('2027-01-01T08:00:00Z');
    await h.runJobs();
    const [reminder] = reminderDms();
    expect(buttons(reminder!)).toContain(ACTION_IDS.renew);

    const closed = await submitClose(h, PEOPLE.owner, 'MFA enforced for every HR user through the new SSO connector.');
    expect(closed.response?.json).toMatchObject({ response_action: 'update', view: { title: { text: 'Exception closed' } } });
    const now = h.standIn.dmsTo(PEOPLE.owner).find((m) => m.ts === reminder!.ts)!;
    expect(buttons(now)).toEqual([]);
    expect(now.text).toContain('No longer waiting for you: EXC-0001.');
    expect(JSON.stringify(now.blocks)).toContain('EXC-0001 was *closed*; nothing more to do.');
    // Pressing the old copy's Renew explains instead of opening a form.
    const opened = h.standIn.callsTo('views.open').length;
    await clickButton(h, reminder!, ACTION_IDS.renew, PEOPLE.owner);
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('posts the expiry summary only on days something expired, grouped by owner, each owner mentioned once', async () => {
    for (const [n, title] of ['First gap', 'Second gap'].entries()) {
      await submitRequest(h, { title });
      await assess(h, `EXC-000${n + 1}`, 2, 2);
      await clickButton(h, decisionCard(h, `EXC-000${n + 1}`), ACTION_IDS.approve, PEOPLE.ciso);
    }
    await submitRequest(h, { title: 'Third gap', owner: PEOPLE.requester });
    await assess(h, 'EXC-0003', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0003'), ACTION_IDS.approve, PEOPLE.ciso);
    const summaries = () => h.standIn.messages(CHANNELS.approvals).filter((m) => !m.threadTs && /exceptions? expired/.test(m.text ?? ''));

    at('2027-01-15T12:00:00Z');
    await h.runJobs();
    expect(summaries()).toEqual([]);
    at('2027-01-16T00:05:00Z');
    await h.runJobs();
    expect(summaries()).toHaveLength(1);
    const shown = JSON.stringify(summaries()[0]!.blocks);
    expect(shown).toContain('*3 exceptions expired* at the end of Fri 15 Jan (midnight UTC)');
    expect(shown.split(`<@${PEOPLE.owner}>`)).toHaveLength(2);
    expect(shown.split(`<@${PEOPLE.requester}>`)).toHaveLength(2);
    expect(shown).toContain(`• <@${PEOPLE.owner}>, 2:`);
    at('2027-01-17T00:05:00Z');
    await h.runJobs();
    expect(summaries()).toHaveLength(1);
  });
});
