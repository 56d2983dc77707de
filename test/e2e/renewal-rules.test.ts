import { and, count, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { auditEvents, decisions, exceptions, outbox, renewals } from '../../src/db/schema';
import { loadExceptionRecord } from '../../src/services/exception-record';
import { ACTION_IDS, CALLBACK_IDS, CLOSING_NOTE_BLOCK_ID, INPUT_ACTION_ID, RENEWAL_BLOCK_IDS as R } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness, type HarnessOptions } from './harness';
import {
  approvalCardsIn,
  assess,
  buttons,
  cardFor,
  clickButton,
  commandModal,
  decisionCard,
  ephemeralsTo,
  reject,
  renewalDecisionCard,
  submitClose,
  submitRenewal,
  submitRenewalModal,
  submitRequest,
  triageMessage,
  type RenewalFormValues,
} from './flows';

let h: Harness | undefined;
async function start(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness(options);
  return h;
}
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const REF = 'EXC-0001';
/** The harness starts on Wednesday 2026-11-25; VALID_FORM asks for an expiry of 2027-01-15. */
const ORIGINAL_EXPIRY = '2027-01-15';
/** Renewals below are asked on 2027-01-05 unless a test moves the clock elsewhere. */
const RENEWAL_DAY = '2027-01-05T09:00:00Z';

const GOOD: RenewalFormValues = {
  progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.',
  percentComplete: '60',
  evidenceUrl: 'https://tickets.example.com/CHG-4711',
  controlTestedOn: '2026-12-20',
  expiresOn: '2027-03-01',
};

const at = (harness: Harness, iso: string) => {
  harness.clock.now = new Date(iso);
};
const exception = (harness: Harness) => harness.app.register.db.select().from(exceptions).where(eq(exceptions.id, 1)).get()!;
const renewalRows = (harness: Harness) => harness.app.register.db.select().from(renewals).all();

/** Everything a refused renewal or close must leave untouched. */
function snapshot(harness: Harness) {
  const db = harness.app.register.db;
  return {
    exceptions: db.select().from(exceptions).all(),
    renewals: db.select().from(renewals).all(),
    decisions: db.select().from(decisions).all(),
    audit: db.select({ n: count() }).from(auditEvents).get()!.n,
    outbox: db.select({ n: count() }).from(outbox).get()!.n,
  };
}

/** EXC-0001 approved on the fast path (score 4) on 2026-11-25: active until the end of 2027-01-15. */
async function activeOnFastPath(harness: Harness, form = {}) {
  await submitRequest(harness, form);
  await assess(harness, REF, 2, 2);
  await clickButton(harness, decisionCard(harness, REF), ACTION_IDS.approve, PEOPLE.ciso);
  expect(exception(harness)).toMatchObject({ status: 'active', route: 'fast_path' });
}

/** EXC-0001 approved by the committee (score 16) on 2026-11-25. */
async function activeByCommittee(harness: Harness) {
  await submitRequest(harness);
  await assess(harness, REF, 4, 4);
  await clickButton(harness, decisionCard(harness, REF, CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
  await clickButton(harness, decisionCard(harness, REF, CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee2);
  expect(exception(harness)).toMatchObject({ status: 'active', route: 'committee', expiresOn: ORIGINAL_EXPIRY });
}

/** A renewal submitted through Slack and accepted (the modal says what happens next, a round opened). */
async function renewed(harness: Harness, userId: string, form: Partial<RenewalFormValues> = {}) {
  const { response } = await submitRenewal(harness, userId, { ...GOOD, ...form });
  expect(response?.status).toBe(200);
  expect(response?.json, 'the modal confirms the request').toMatchObject({ response_action: 'update', view: { title: { text: 'Renewal requested' } } });
}

/** Submits a renewal that must be refused in the modal: exactly `block` has an error, and nothing is written. */
async function refusedInModal(harness: Harness, userId: string, form: Partial<RenewalFormValues>, block: string) {
  const modal = await commandModal(harness, userId, `renew ${REF}`);
  expect(modal, 'the renewal modal opened').toBeDefined();
  const before = snapshot(harness);
  const response = await submitRenewalModal(harness, userId, modal!, { ...GOOD, ...form });
  expect(response.status).toBe(200);
  const body = response.json as { response_action: string; errors: Record<string, string> };
  expect(body.response_action).toBe('errors');
  expect(Object.keys(body.errors)).toEqual([block]);
  expect(snapshot(harness)).toEqual(before);
  return body.errors[block]!;
}

describe('who may renew', () => {
  it.each([
    ['a bystander', PEOPLE.bystander, 'There is no exception EXC-0001 that you can see'],
    ['an approver', PEOPLE.ciso, 'Only the owner or the requester can renew'],
    ['a member of the security team', PEOPLE.security, 'Only the owner or the requester can renew'],
    ['a committee member', PEOPLE.committee1, 'Only the owner or the requester can renew'],
  ])('%s gets a private explanation and no modal', async (_label, userId, explanation) => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    const before = snapshot(harness);

    const { modal } = await submitRenewal(harness, userId, GOOD);

    expect(modal).toBeUndefined();
    expect(ephemeralsTo(harness, userId)).toEqual([expect.stringContaining(explanation)]);
    expect(snapshot(harness)).toEqual(before);
    expect(harness.standIn.rejected()).toEqual([]);
  });

  it("refuses the Renew button on the owner's reminder to anyone but the owner or requester, and opens it for the owner", async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, '2027-01-01T09:00:00Z'); // 14 days left
    await harness.runJobs();
    const reminder = harness.standIn.dmsTo(PEOPLE.owner).find((m) => buttons(m).includes(ACTION_IDS.renew));
    expect(reminder, 'a reminder DM with a Renew button').toBeDefined();

    const opened = harness.standIn.callsTo('views.open').length;
    await clickButton(harness, reminder!, ACTION_IDS.renew, PEOPLE.bystander);
    expect(harness.standIn.callsTo('views.open')).toHaveLength(opened);
    expect(ephemeralsTo(harness, PEOPLE.bystander)).toEqual([expect.stringContaining('There is no exception EXC-0001 that you can see')]);

    await clickButton(harness, reminder!, ACTION_IDS.renew, PEOPLE.owner);
    expect(harness.standIn.callsTo('views.open')).toHaveLength(opened + 1);
    expect(harness.standIn.callsTo('views.open').at(-1)!.response.view).toMatchObject({ callback_id: CALLBACK_IDS.renewal, private_metadata: '1' });
  });

  it('lets the requester renew as well as the owner', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.requester);
    expect(renewalRows(harness)).toEqual([expect.objectContaining({ round: 1, requestedBy: PEOPLE.requester, status: 'requested' })]);
  });
});

describe('only an active exception, one renewal at a time', () => {
  const setups: [string, string, (harness: Harness) => Promise<void>][] = [
    ['waiting for assessment', 'requested', async (harness) => void (await submitRequest(harness))],
    [
      'waiting for a decision',
      'pending_approval',
      async (harness) => {
        await submitRequest(harness);
        await assess(harness, REF, 2, 2);
      },
    ],
    [
      'rejected',
      'rejected',
      async (harness) => {
        await submitRequest(harness);
        await assess(harness, REF, 2, 2);
        await reject(harness, decisionCard(harness, REF), PEOPLE.ciso, 'The replacement date is not credible; come back with a plan.');
      },
    ],
    [
      'closed',
      'closed',
      async (harness) => {
        await activeOnFastPath(harness);
        const { response } = await submitClose(harness, PEOPLE.owner, 'MFA enabled for all 40 users through the new SSO connector.');
        expect(response?.json).toMatchObject({ response_action: 'update' });
      },
    ],
    [
      'expired',
      'expired',
      async (harness) => {
        await activeOnFastPath(harness);
        at(harness, '2027-01-16T09:00:00Z');
        await harness.runJobs();
      },
    ],
  ];

  it.each(setups)('an exception %s cannot be renewed: a private explanation, no modal, nothing written', async (_label, status, setup) => {
    const harness = await start();
    await setup(harness);
    expect(exception(harness).status).toBe(status);
    if (status !== 'expired') at(harness, RENEWAL_DAY);
    const before = snapshot(harness);

    const { modal } = await submitRenewal(harness, PEOPLE.owner, GOOD);

    expect(modal).toBeUndefined();
    expect(ephemeralsTo(harness, PEOPLE.owner)).toEqual([expect.stringContaining('only an active exception can be renewed')]);
    expect(snapshot(harness)).toEqual(before);
  });

  it('refuses a second renewal while one waits for assessment or a decision', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner);

    const waitingForAssessment = snapshot(harness);
    expect((await submitRenewal(harness, PEOPLE.requester, { ...GOOD, percentComplete: '70' })).modal).toBeUndefined();
    expect(ephemeralsTo(harness, PEOPLE.requester)).toEqual([expect.stringContaining('already has a renewal waiting')]);
    expect(snapshot(harness)).toEqual(waitingForAssessment);

    await assess(harness, REF, 2, 2);
    const waitingForDecision = snapshot(harness);
    expect((await submitRenewal(harness, PEOPLE.owner, { ...GOOD, percentComplete: '70' })).modal).toBeUndefined();
    expect(ephemeralsTo(harness, PEOPLE.owner)).toEqual([expect.stringContaining('already has a renewal waiting')]);
    expect(snapshot(harness)).toEqual(waitingForDecision);
    expect(renewalRows(harness)).toHaveLength(1);
  });

  it('refuses the second of two renewal modals opened at the same time, in the modal', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    const ownerModal = await commandModal(harness, PEOPLE.owner, `renew ${REF}`);
    const requesterModal = await commandModal(harness, PEOPLE.requester, `renew ${REF}`);
    expect(ownerModal && requesterModal).toBeDefined();

    expect((await submitRenewalModal(harness, PEOPLE.owner, ownerModal!, GOOD)).json).toMatchObject({ response_action: 'update' });
    const before = snapshot(harness);
    const second = await submitRenewalModal(harness, PEOPLE.requester, requesterModal!, { ...GOOD, percentComplete: '65' });

    expect(second.json).toMatchObject({ response_action: 'errors', errors: { [R.progress]: expect.stringContaining('already has a renewal waiting') } });
    expect(snapshot(harness)).toEqual(before);
  });
});

const POLICIES_WITH_LIMIT = [
  'key,title,description,max_days',
  'MFA-01,Multi-factor authentication,Every interactive login uses a second factor,',
  'PATCH-03,Patch management,Critical patches are applied within 14 days,30',
].join('\n');

describe('renewal refusals in the modal', () => {
  it('refuses a compensating control last tested 91 days ago, and accepts one tested 90 days ago', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);

    const error = await refusedInModal(harness, PEOPLE.owner, { controlTestedOn: '2026-10-06' }, R.controlTestedOn);
    expect(error).toContain('more than 90 days ago');

    await renewed(harness, PEOPLE.owner, { controlTestedOn: '2026-10-07' });
    expect(renewalRows(harness)).toEqual([expect.objectContaining({ controlTestedOn: '2026-10-07' })]);
  });

  it('refuses a control test date in the future', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    expect(await refusedInModal(harness, PEOPLE.owner, { controlTestedOn: '2027-01-06' }, R.controlTestedOn)).toMatch(/future/);
  });

  it('refuses missing or thin remediation progress and a non-https evidence link', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    expect(await refusedInModal(harness, PEOPLE.owner, { progress: 'Working on it.' }, R.progress)).toContain('at least 40 characters');
    expect(await refusedInModal(harness, PEOPLE.owner, { evidenceUrl: 'http://tickets.example.com/CHG-4711' }, R.evidenceUrl)).toContain('https://');
    expect(await refusedInModal(harness, PEOPLE.owner, { percentComplete: '120' }, R.percentComplete)).toContain('0 to 100');
  });

  it('no progress, no renewal: a second renewal reporting no more than the first approved one is refused', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner, { percentComplete: '60' });
    await assess(harness, REF, 2, 2);
    await clickButton(harness, renewalDecisionCard(harness, REF, 1), ACTION_IDS.approve, PEOPLE.deputy);
    expect(exception(harness)).toMatchObject({ status: 'active', expiresOn: '2027-03-01', renewalCount: 1 });

    at(harness, '2027-02-20T09:00:00Z');
    const second = { controlTestedOn: '2027-02-10', expiresOn: '2027-05-01' };
    for (const percentComplete of ['60', '45']) {
      const error = await refusedInModal(harness, PEOPLE.owner, { ...second, percentComplete }, R.percentComplete);
      expect(error).toMatch(/^No progress, no renewal/);
      expect(error).toContain('60%');
    }
    await renewed(harness, PEOPLE.owner, { ...second, percentComplete: '61' });
    expect(renewalRows(harness).map((r) => [r.round, r.percentComplete])).toEqual([
      [1, 60],
      [2, 61],
    ]);
  });

  it('refuses a new expiry more than MAX_EXCEPTION_DAYS from today (not from the old expiry)', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    // 2027-01-05 + 90 days = 2027-04-05.
    const error = await refusedInModal(harness, PEOPLE.owner, { expiresOn: '2027-04-06' }, R.expiresOn);
    expect(error).toContain('An exception can last at most 90 days');
    expect(error).toContain('2027-04-05');
    expect(await refusedInModal(harness, PEOPLE.owner, { expiresOn: '2027-01-05' }, R.expiresOn)).toMatch(/future/);

    await renewed(harness, PEOPLE.owner, { expiresOn: '2027-04-05' });
    expect(renewalRows(harness)).toEqual([expect.objectContaining({ requestedExpiresOn: '2027-04-05' })]);
  });

  it("refuses a new expiry over the policy's own max_days, and the modal says which limit applies", async () => {
    const harness = await start({ policiesCsv: POLICIES_WITH_LIMIT });
    await activeOnFastPath(harness, { policy: 'PATCH-03', expiresOn: '2026-12-20' });
    expect(loadExceptionRecord(harness.app.register.db, 1)!.policy).toMatchObject({ key: 'PATCH-03', maxDays: 30 });
    at(harness, '2026-12-10T09:00:00Z');

    const modal = await commandModal(harness, PEOPLE.owner, `renew ${REF}`);
    const shown = JSON.stringify(modal!.view);
    expect(shown).toContain('The PATCH-03 policy allows exceptions of at most 30 days');
    // The default offered is the longest allowed: 2026-12-10 + 30 days.
    expect(shown).toContain('"initial_date":"2027-01-09"');

    const error = await refusedInModal(harness, PEOPLE.owner, { controlTestedOn: '2026-12-01', expiresOn: '2027-01-10' }, R.expiresOn);
    expect(error).toContain('The PATCH-03 policy allows exceptions of at most 30 days');
    expect(error).toContain('2027-01-09');

    await renewed(harness, PEOPLE.owner, { controlTestedOn: '2026-12-01', expiresOn: '2027-01-09' });
    expect(renewalRows(harness)).toEqual([expect.objectContaining({ requestedExpiresOn: '2027-01-09' })]);
  });
});

describe('renewal routing: never lighter than the original, the second always to the committee', () => {
  it("sends the renewal of a committee exception to the committee even at low risk; an approver's click does not count", async () => {
    const harness = await start();
    await activeByCommittee(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner);
    await assess(harness, REF, 1, 2); // score 2: the fast path on its own

    expect(exception(harness)).toMatchObject({ route: 'committee', riskScore: 2 });
    const card = renewalDecisionCard(harness, REF, 1, CHANNELS.committee);
    expect(JSON.stringify(card.blocks)).toContain('the original exception was decided by the committee');
    expect(approvalCardsIn(harness, CHANNELS.approvals)).toEqual([]);

    await clickButton(harness, card, ACTION_IDS.approve, PEOPLE.ciso);
    expect(ephemeralsTo(harness, PEOPLE.ciso)).toEqual([expect.stringContaining('steering committee')]);
    await clickButton(harness, renewalDecisionCard(harness, REF, 1, CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
    expect(renewalRows(harness)[0]!.status).toBe('pending_approval');
    expect(exception(harness).expiresOn).toBe(ORIGINAL_EXPIRY);
    await clickButton(harness, renewalDecisionCard(harness, REF, 1, CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee3);

    expect(renewalRows(harness)[0]).toMatchObject({ status: 'approved', newExpiresOn: '2027-03-01' });
    expect(exception(harness)).toMatchObject({ status: 'active', expiresOn: '2027-03-01', originalExpiresOn: ORIGINAL_EXPIRY, renewalCount: 1 });
    expect(harness.standIn.rejected()).toEqual([]);
  });

  it('decides a low-risk renewal of a fast-path exception with one approver', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner);
    await assess(harness, REF, 2, 2);
    expect(exception(harness).route).toBe('fast_path');
    expect(approvalCardsIn(harness, CHANNELS.committee)).toEqual([]);

    await clickButton(harness, renewalDecisionCard(harness, REF, 1), ACTION_IDS.approve, PEOPLE.deputy);

    const db = harness.app.register.db;
    expect(db.select().from(decisions).where(and(eq(decisions.exceptionId, 1), eq(decisions.round, 1))).all()).toEqual([
      expect.objectContaining({ deciderId: PEOPLE.deputy, outcome: 'approve' }),
    ]);
    expect(renewalRows(harness)[0]).toMatchObject({ status: 'approved', newExpiresOn: '2027-03-01' });
    expect(exception(harness)).toMatchObject({ status: 'active', expiresOn: '2027-03-01', originalExpiresOn: ORIGINAL_EXPIRY, renewalCount: 1 });
  });

  it('sends a high-risk renewal of a fast-path exception to the committee', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner);
    await assess(harness, REF, 4, 4);
    expect(exception(harness).route).toBe('committee');
    expect(buttons(renewalDecisionCard(harness, REF, 1, CHANNELS.committee)).slice(0, 2)).toEqual([ACTION_IDS.approve, ACTION_IDS.reject]);
  });

  it('sends the second renewal to the committee at low risk, and the register keeps every renewal and its evidence', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner);
    await assess(harness, REF, 2, 2);
    await clickButton(harness, renewalDecisionCard(harness, REF, 1), ACTION_IDS.approve, PEOPLE.deputy);

    at(harness, '2027-02-20T09:00:00Z');
    const second = {
      progress: 'All 40 users on SSO with MFA; the legacy login page is switched off next week after the payroll run.',
      percentComplete: '90',
      evidenceUrl: 'https://wiki.example.com/hr-app/mfa-rollout',
      controlTestedOn: '2027-02-15',
      expiresOn: '2027-04-15',
    };
    await renewed(harness, PEOPLE.requester, second);
    await assess(harness, REF, 1, 2);

    expect(exception(harness).route).toBe('committee');
    const card = renewalDecisionCard(harness, REF, 2, CHANNELS.committee);
    expect(JSON.stringify(card.blocks)).toContain('renewal number 2');
    await clickButton(harness, card, ACTION_IDS.approve, PEOPLE.deputy);
    expect(renewalRows(harness)[1]!.status).toBe('pending_approval');
    await clickButton(harness, renewalDecisionCard(harness, REF, 2, CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee2);
    await clickButton(harness, renewalDecisionCard(harness, REF, 2, CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee3);

    const record = loadExceptionRecord(harness.app.register.db, 1)!;
    expect(record).toMatchObject({ status: 'active', expiresOn: '2027-04-15', originalExpiresOn: ORIGINAL_EXPIRY, renewalCount: 2 });
    expect(record.renewals).toEqual([
      expect.objectContaining({
        round: 1,
        status: 'approved',
        requestedBy: PEOPLE.owner,
        progress: GOOD.progress,
        percentComplete: 60,
        evidenceUrl: GOOD.evidenceUrl,
        controlTestedOn: GOOD.controlTestedOn,
        requestedExpiresOn: '2027-03-01',
        newExpiresOn: '2027-03-01',
      }),
      expect.objectContaining({
        round: 2,
        status: 'approved',
        requestedBy: PEOPLE.requester,
        progress: second.progress,
        percentComplete: 90,
        evidenceUrl: second.evidenceUrl,
        controlTestedOn: '2027-02-15',
        requestedExpiresOn: '2027-04-15',
        newExpiresOn: '2027-04-15',
      }),
    ]);
  });
});

describe('renewal and expiry', () => {
  it('expires an exception whose renewal is still pending; a later approval reactivates it with the new expiry', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, '2027-01-12T09:00:00Z');
    await renewed(harness, PEOPLE.owner, { controlTestedOn: '2027-01-02', expiresOn: '2027-03-15' });
    await assess(harness, REF, 2, 2);

    at(harness, '2027-01-16T08:00:00Z');
    const [sweep] = await harness.runJobs();
    expect(sweep).toMatchObject({ job: 'expiry_sweep', result: `expired: ${REF}` });
    expect(exception(harness)).toMatchObject({ status: 'expired', expiresOn: ORIGINAL_EXPIRY });
    expect(harness.standIn.dmsTo(PEOPLE.owner).filter((m) => m.text?.includes(`${REF} has expired`))).toHaveLength(1);
    expect(renewalRows(harness)[0]!.status).toBe('pending_approval');
    // The card says it expired meanwhile; the renewal can still be decided.
    expect(JSON.stringify(cardFor(harness, REF).blocks)).toContain('Expired · renewal 1 waiting for a decision');
    expect(buttons(renewalDecisionCard(harness, REF, 1))).toEqual([ACTION_IDS.approve, ACTION_IDS.reject, ACTION_IDS.viewRecord]);

    at(harness, '2027-01-18T10:00:00Z');
    await clickButton(harness, renewalDecisionCard(harness, REF, 1), ACTION_IDS.approve, PEOPLE.deputy);

    expect(exception(harness)).toMatchObject({ status: 'active', expiresOn: '2027-03-15', originalExpiresOn: ORIGINAL_EXPIRY, renewalCount: 1 });
    expect(renewalRows(harness)[0]).toMatchObject({ status: 'approved', newExpiresOn: '2027-03-15' });
    const approved = harness.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, 'renewal.approved')).all();
    expect(approved).toHaveLength(1);
    expect(JSON.parse(approved[0]!.payload)).toMatchObject({ reactivated: true, newExpiresOn: '2027-03-15' });
    expect(harness.standIn.dmsTo(PEOPLE.owner).at(-1)!.text).toContain(`renewal of ${REF} was approved`);

    // Active again: the next sweep leaves it alone until the new date has passed.
    at(harness, '2027-01-19T08:00:00Z');
    await harness.runJobs();
    expect(exception(harness).status).toBe('active');
  });

  it('leaves the exception active until its expiry when the renewal is rejected', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner);
    await assess(harness, REF, 2, 2);
    await reject(harness, renewalDecisionCard(harness, REF, 1), PEOPLE.deputy, 'The migration plan has slipped twice; finish it before the expiry date.');

    expect(renewalRows(harness)[0]!.status).toBe('rejected');
    expect(exception(harness)).toMatchObject({ status: 'active', expiresOn: ORIGINAL_EXPIRY, renewalCount: 0 });
    const dm = harness.standIn.dmsTo(PEOPLE.owner).at(-1)!;
    expect(dm.text).toContain(`renewal of ${REF} was rejected`);
    expect(JSON.stringify(dm.blocks)).toContain('It still expires Fri 15 Jan (in 10 days), ending at midnight UTC.');

    at(harness, '2027-01-15T23:30:00Z');
    await harness.runJobs();
    expect(exception(harness).status).toBe('active');
    at(harness, '2027-01-16T00:30:00Z');
    await harness.runJobs();
    expect(exception(harness).status).toBe('expired');
  });
});

describe('closing a remediated exception', () => {
  const NOTE = 'MFA enabled for all 40 users through the new SSO connector; legacy login disabled.';

  it('the owner closes with a note: a too-short note is refused in the modal; then closed, the requester told, cards updated', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);

    const before = snapshot(harness);
    const short = await submitClose(harness, PEOPLE.owner, 'Fixed it.');
    expect(short.response?.json).toMatchObject({ response_action: 'errors', errors: { [CLOSING_NOTE_BLOCK_ID]: expect.stringContaining('at least 20 characters') } });
    expect(snapshot(harness)).toEqual(before);

    const updates = harness.standIn.callsTo('chat.update').length;
    const closed = await submitClose(harness, PEOPLE.owner, NOTE);
    expect(closed.response?.status).toBe(200);
    // The modal becomes the confirmation: what happened and who is told.
    const confirmation = closed.response?.json as { response_action: string; view: { title: { text: string }; blocks: unknown[] } };
    expect(confirmation).toMatchObject({ response_action: 'update', view: { title: { text: 'Exception closed' } } });
    expect(JSON.stringify(confirmation.view.blocks)).toContain(`<@${PEOPLE.requester}> is told by DM`);

    expect(exception(harness)).toMatchObject({ status: 'closed', closingNote: NOTE, closedAt: '2027-01-05T09:00:00.000Z' });
    const events = harness.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, 'exception.closed')).all();
    expect(events).toEqual([expect.objectContaining({ actorId: PEOPLE.owner })]);

    const told = harness.standIn.dmsTo(PEOPLE.requester).filter((m) => /was closed/.test(m.text ?? ''));
    expect(told).toHaveLength(1);
    expect(told[0]!.text).toContain(`${REF} was closed`);
    expect(JSON.stringify(told[0]!.blocks)).toContain('legacy login disabled');
    // The owner closed it and needs no message about it.
    expect(harness.standIn.dmsTo(PEOPLE.owner).filter((m) => /was closed/.test(m.text ?? ''))).toEqual([]);

    expect(harness.standIn.callsTo('chat.update').length).toBe(updates + 2);
    expect(JSON.stringify(cardFor(harness, REF).blocks)).toContain('Closed');
    const decision = decisionCard(harness, REF);
    expect(JSON.stringify(decision.blocks)).toContain('Closed');
    expect(buttons(decision)).toEqual([]);

    // Closed means no reminders and no expiry later.
    at(harness, '2027-01-16T09:00:00Z');
    await harness.runJobs();
    expect(exception(harness).status).toBe('closed');
    expect(harness.standIn.dmsTo(PEOPLE.owner).filter((m) => /expires soon|has expired/.test(m.text ?? ''))).toEqual([]);
    expect(harness.standIn.rejected()).toEqual([]);
  });

  it('the requester may close too, and then the owner is told', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    await submitClose(harness, PEOPLE.requester, NOTE);
    expect(exception(harness).status).toBe('closed');
    expect(harness.standIn.dmsTo(PEOPLE.owner).filter((m) => m.text === `${REF} was closed.`)).toHaveLength(1);
  });

  it('a bystander may not close: no modal, a private explanation, and a forged submission changes nothing', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    const before = snapshot(harness);

    const { modal } = await submitClose(harness, PEOPLE.bystander, NOTE);
    expect(modal).toBeUndefined();
    expect(ephemeralsTo(harness, PEOPLE.bystander)).toEqual([expect.stringContaining('There is no exception EXC-0001 that you can see')]);

    const forged = await harness.driver.viewSubmission({
      userId: PEOPLE.bystander,
      callbackId: CALLBACK_IDS.close,
      viewId: 'V0FORGED01',
      privateMetadata: '1',
      values: { [CLOSING_NOTE_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: NOTE } } },
    });
    await harness.settle();
    expect(forged.json).toMatchObject({ response_action: 'errors', errors: { [CLOSING_NOTE_BLOCK_ID]: expect.stringContaining('There is no exception EXC-0001 that you can see') } });
    expect(snapshot(harness)).toEqual(before);
  });
});

describe('a renewal in the middle of other changes', () => {
  it('expiring while the renewal waits for assessment leaves the original decision message as it was decided', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    const original = decisionCard(harness, REF);
    at(harness, '2027-01-12T09:00:00Z');
    await renewed(harness, PEOPLE.owner, { expiresOn: '2027-03-15' });
    at(harness, '2027-01-16T09:00:00Z');
    await harness.runJobs();
    expect(exception(harness).status).toBe('expired');
    const after = harness.standIn.messages(original.channel).find((m) => m.ts === original.ts)!;
    expect(JSON.stringify(after.blocks)).not.toContain('renewal 1 of');
    expect(JSON.stringify(after.blocks)).toContain('*Approved* by');

    await assess(harness, REF, 2, 2);
    expect(approvalCardsIn(harness, CHANNELS.approvals).filter((m) => JSON.stringify(m.blocks).includes('renewal 1 of'))).toHaveLength(1);
  });

  it('closing withdraws a renewal that is still waiting: no nudges, no assessment, no decision afterwards', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner);
    const card = triageMessage(harness, REF);
    const { response } = await submitClose(harness, PEOPLE.owner, 'Hardware keys rolled out to everyone; MFA enforced since this morning.');
    expect(response?.json).toMatchObject({ response_action: 'update' });
    expect(exception(harness).status).toBe('closed');
    expect(renewalRows(harness)).toEqual([expect.objectContaining({ round: 1, status: 'withdrawn' })]);

    at(harness, '2027-01-15T09:00:00Z');
    await harness.runJobs();
    expect(harness.standIn.messages(CHANNELS.approvals).filter((m) => m.threadTs && /waited/.test(m.text ?? ''))).toEqual([]);
    await clickButton(harness, card, ACTION_IDS.assessRisk, PEOPLE.security);
    expect(ephemeralsTo(harness, PEOPLE.security)).toEqual([expect.stringMatching(/not waiting for a risk assessment/)]);
  });

  it("asks the approver to confirm the renewal's new date, not the current one", async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner, { expiresOn: '2027-03-15' });
    await assess(harness, REF, 2, 2);
    const card = approvalCardsIn(harness, CHANNELS.approvals).find((m) => JSON.stringify(m.blocks).includes('renewal 1 of'))!;
    expect(JSON.stringify(card.blocks)).toContain('until 2027-03-15');
    expect(JSON.stringify(card.blocks)).not.toContain(`until ${ORIGINAL_EXPIRY}`);
  });
});

describe('no progress, no renewal, counted over every earlier renewal', () => {
  it('a renewal after a rejected one must report more than the rejected one did', async () => {
    const harness = await start();
    await activeOnFastPath(harness);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner, { percentComplete: '60' });
    await assess(harness, REF, 2, 2);
    await reject(harness, renewalDecisionCard(harness, REF, 1), PEOPLE.ciso, 'Show the cut-over plan first, with a date.');
    expect(renewalRows(harness)).toEqual([expect.objectContaining({ round: 1, status: 'rejected' })]);
    await refusedInModal(harness, PEOPLE.owner, { percentComplete: '60' }, R.percentComplete);
    await renewed(harness, PEOPLE.owner, { percentComplete: '65' });
    expect(renewalRows(harness).map((r) => [r.round, r.status, r.percentComplete])).toEqual([
      [1, 'rejected', 60],
      [2, 'requested', 65],
    ]);
  });
});

describe('one top-level message per exception in the committee channel', () => {
  it("decides a committee exception's renewal in the thread of its first committee card", async () => {
    const harness = await start();
    await activeByCommittee(harness);
    const first = decisionCard(harness, REF, CHANNELS.committee);
    at(harness, RENEWAL_DAY);
    await renewed(harness, PEOPLE.owner);
    await assess(harness, REF, 2, 2);
    const renewalCard = renewalDecisionCard(harness, REF, 1, CHANNELS.committee);
    expect(renewalCard.threadTs).toBe(first.ts);
    expect(harness.standIn.messages(CHANNELS.committee).filter((m) => !m.threadTs)).toHaveLength(1);
    await clickButton(harness, renewalCard, ACTION_IDS.approve, PEOPLE.committee1);
    await clickButton(harness, renewalDecisionCard(harness, REF, 1, CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee2);
    expect(exception(harness)).toMatchObject({ status: 'active', renewalCount: 1 });
    expect(buttons(renewalDecisionCard(harness, REF, 1, CHANNELS.committee))).toEqual([]);
    expect(harness.standIn.rejected()).toEqual([]);
  });
});
