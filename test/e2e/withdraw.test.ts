import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, exceptions } from '../../src/db/schema';
import { verifyRegister } from '../../src/services/verify-register';
import { ACTION_IDS, CALLBACK_IDS, CHANGES_BLOCK_ID, INPUT_ACTION_ID, WITHDRAWAL_REASON_BLOCK_ID } from '../../src/slack/ids';
import type { StoredMessage } from '../support/slack-stand-in';
import { PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, cardFor, clickButton, commandModal, decisionCard, ephemeralsTo, submitRequest, type OpenedModal } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const REASON = 'The vendor shipped MFA support <!channel> last week; we no longer need this.';
const ESCAPED_REASON = 'The vendor shipped MFA support &lt;!channel&gt; last week; we no longer need this.';

const exception = () => h.app.register.db.select().from(exceptions).get()!;
const withdrawals = () => h.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, 'exception.withdrawn')).all().map((e) => ({ ...e, payload: JSON.parse(e.payload) as Record<string, unknown> }));
const said = (message: { blocks?: unknown[] }) => JSON.stringify(message.blocks);
const trailMatchesRegister = () => expect(verifyRegister(h.app.register.db, { timeZone: 'UTC' }).findings).toEqual([]);
/** Replies in the thread of `parent` that say the request was withdrawn. */
const withdrawnNotes = (parent: StoredMessage) => h.standIn.messages(parent.channel).filter((m) => m.threadTs === parent.ts && m.text === 'EXC-0001 was withdrawn by its requester.');

/** The latest App Home published for `userId`, after opening the tab. */
async function openHome(userId: string) {
  await h.driver.event({ type: 'app_home_opened', user: userId, channel: 'D0HOME', tab: 'home' });
  await h.settle();
  const published = h.standIn.callsTo('views.publish').findLast((c) => c.args.user_id === userId)!;
  return { id: (published.response.view as { id: string }).id, blocks: (published.args.view as { blocks: unknown[] }).blocks };
}

/** Presses "Withdraw request" on App Home as `userId`; returns the modal Slack opened, if any. */
async function withdrawFromHome(userId: string): Promise<OpenedModal | undefined> {
  const home = await openHome(userId);
  const opened = h.standIn.callsTo('views.open').length;
  await h.driver.blockAction({ userId, actionId: ACTION_IDS.withdrawRequest, value: '1', view: { id: home.id } });
  await h.settle();
  if (h.standIn.callsTo('views.open').length === opened) return undefined;
  const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  return { id: view.id, privateMetadata: view.private_metadata, view: view as unknown as Record<string, unknown> };
}

async function submitWithdrawal(modal: OpenedModal, reason: string | null, userId: string = PEOPLE.requester) {
  const response = await h.driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.withdrawal,
    viewId: modal.id,
    privateMetadata: modal.privateMetadata,
    values: { [WITHDRAWAL_REASON_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: reason } } },
  });
  await h.settle();
  return response;
}

describe('withdrawing a request while it waits for its risk assessment', () => {
  beforeEach(async () => {
    await submitRequest(h);
  });

  it('from App Home, with a reason: rejected as SPEC §1 draws it, marked withdrawn, the card loses Assess, the security team and the owner are told', async () => {
    expect(said(await openHome(PEOPLE.requester))).toContain(`"action_id":"${ACTION_IDS.withdrawRequest}"`);
    expect(said(await openHome(PEOPLE.owner))).not.toContain(ACTION_IDS.withdrawRequest);

    const modal = await withdrawFromHome(PEOPLE.requester);
    expect(modal!.view.callback_id).toBe(CALLBACK_IDS.withdrawal);
    expect(JSON.stringify(modal!.view.blocks)).toContain('It waits for its risk assessment');
    const tooLong = await submitWithdrawal(modal!, 'x'.repeat(1001));
    expect(tooLong.json).toMatchObject({ response_action: 'errors', errors: { [WITHDRAWAL_REASON_BLOCK_ID]: expect.stringMatching(/at most 1000 characters/) } });
    expect(exception().status).toBe('requested');

    const response = await submitWithdrawal(modal!, REASON);
    expect(response.json).toMatchObject({ response_action: 'update', view: { title: { text: 'Request withdrawn' } } });
    expect(JSON.stringify(response.json)).toContain('EXC-0001 is withdrawn.');
    expect(exception()).toMatchObject({ status: 'rejected', closingNote: `Withdrawn by the requester: ${REASON}`, activatedAt: null });
    expect(withdrawals()).toEqual([expect.objectContaining({ actorId: PEOPLE.requester, payload: { note: `Withdrawn by the requester: ${REASON}`, waitingFor: 'assessment' } })]);
    expect(h.app.register.db.select().from(auditEvents).where(eq(auditEvents.kind, 'exception.rejected')).all()).toEqual([]);

    const card = cardFor(h, 'EXC-0001');
    expect(buttons(card)).toEqual([]);
    expect(said(card)).toContain(`:wastebasket: *Withdrawn* by <@${PEOPLE.requester}>`);
    expect(said(card)).toContain(ESCAPED_REASON);
    expect(said(card)).toContain(ACTION_IDS.viewRecord);
    expect(card.text).toContain('(Withdrawn)');

    const [note] = withdrawnNotes(card);
    expect(said(note!)).toContain(`<@${PEOPLE.security}> <@${PEOPLE.security2}> :wastebasket: <@${PEOPLE.requester}> withdrew EXC-0001`);
    expect(said(note!)).not.toContain('<!channel>');
    const ownerDm = h.standIn.dmsTo(PEOPLE.owner).find((m) => m.text === 'EXC-0001 was withdrawn by its requester.');
    expect(said(ownerDm!)).toContain('which named you as its owner. Nothing is asked of you.');
    expect(said(await openHome(PEOPLE.requester))).not.toContain(ACTION_IDS.withdrawRequest);
    const shown = JSON.stringify((await h.driver.slashCommand({ userId: PEOPLE.security, text: 'show 1' })).json);
    expect(shown).toContain('withdrew the request before it was assessed');
    expect(shown).not.toContain('Why it was rejected');
    expect(shown).toContain(`*Closing note*\\nWithdrawn by the requester: ${ESCAPED_REASON}`);

    // Nobody is nudged about it, and its old Assess button is refused.
    h.clock.advance(8 * 24 * 3600_000);
    const [, , stalled] = await h.runJobs();
    expect(stalled).toMatchObject({ job: 'stalled_decisions', result: 'nudged: none; escalated: none' });
    expect(h.standIn.rejected()).toEqual([]);
    trailMatchesRegister();
  });

  it('refuses anyone but the requester, privately, opening no modal, and a second withdrawal', async () => {
    // A press made up by the owner (their App Home offers no such button) is refused privately, in their DM with the app.
    expect(await withdrawFromHome(PEOPLE.owner)).toBeUndefined();
    expect(h.standIn.dmsTo(PEOPLE.owner).at(-1)?.text).toMatch(/^Only its requester \(<@U0REQUEST>\) can withdraw EXC-0001/);
    expect(await commandModal(h, PEOPLE.security, 'withdraw EXC-0001')).toBeUndefined();
    expect(ephemeralsTo(h, PEOPLE.security).at(-1)).toMatch(/^Only its requester \(<@U0REQUEST>\) can withdraw EXC-0001\. To stop it, ask the security team or an approver to reject it\./);

    const modal = await commandModal(h, PEOPLE.requester, 'withdraw EXC-1');
    // Opened by the requester, submitted by someone else: refused in the form, nothing recorded.
    const forged = await submitWithdrawal(modal!, null, PEOPLE.bystander);
    expect(forged.json).toMatchObject({ response_action: 'errors', errors: { [WITHDRAWAL_REASON_BLOCK_ID]: expect.stringMatching(/^There is no exception EXC-0001 that you can see/) } });
    expect((await submitWithdrawal(modal!, null)).json).toMatchObject({ response_action: 'update' });
    const again = await submitWithdrawal(modal!, null);
    expect(again.json).toMatchObject({ response_action: 'errors', errors: { [WITHDRAWAL_REASON_BLOCK_ID]: expect.stringMatching(/^EXC-0001 is already decided \(rejected\), so it cannot be withdrawn\. Nothing is left to withdraw\./) } });
    expect(withdrawals()).toHaveLength(1);
    expect(exception().closingNote).toBe('Withdrawn by the requester.');
    trailMatchesRegister();
  });
});

describe('a request already assessed', () => {
  it('is not withdrawn (SPEC §1 draws no such arrow): the requester is told to ask an approver to reject it or send it back, and has no Withdraw button', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    expect(said(await openHome(PEOPLE.requester))).not.toContain(ACTION_IDS.withdrawRequest);
    expect(await commandModal(h, PEOPLE.requester, 'withdraw EXC-0001')).toBeUndefined();
    expect(h.standIn.responseUrlPosts.at(-1)?.body.text).toBe(
      'EXC-0001 has been assessed and waits for its decision, so it can no longer be withdrawn. Ask an approver to reject it, or to send it back to you for changes; then you can withdraw it.',
    );
    expect(exception().status).toBe('pending_approval');
    expect(buttons(decisionCard(h, 'EXC-0001'))).toContain(ACTION_IDS.approve);
    expect(withdrawals()).toEqual([]);
  });

  it('refuses once it is decided, saying what to do instead', async () => {
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    expect(await commandModal(h, PEOPLE.requester, 'withdraw EXC-0001')).toBeUndefined();
    expect(h.standIn.responseUrlPosts.at(-1)?.body.text).toMatch(/^EXC-0001 is already decided \(active\), so it cannot be withdrawn\. Its owner closes it once the gap is remediated \(`\/exception close EXC-0001`\)/);
    expect(exception().status).toBe('active');
  });
});

describe('withdrawing a request sent back for changes', () => {
  it('from the sent-back DM: that DM loses its Amend and Withdraw buttons and says so, and whoever sent it back is told', async () => {
    await submitRequest(h);
    const card = cardFor(h, 'EXC-0001');
    await clickButton(h, card, ACTION_IDS.askForChanges, PEOPLE.security);
    const askModal = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
    await h.driver.viewSubmission({
      userId: PEOPLE.security,
      callbackId: CALLBACK_IDS.changesRequested,
      viewId: askModal.id,
      privateMetadata: askModal.private_metadata,
      values: { [CHANGES_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'Scope: only the 12 payroll users, not all 40.' } } },
    });
    await h.settle();
    const dm = h.standIn.dmsTo(PEOPLE.requester).find((m) => m.text === 'EXC-0001 was sent back to you for changes.')!;
    expect(buttons(dm)).toEqual([ACTION_IDS.amendRequest, ACTION_IDS.withdrawRequest, ACTION_IDS.viewRecord]);

    const opened = h.standIn.callsTo('views.open').length;
    await clickButton(h, dm, ACTION_IDS.withdrawRequest, PEOPLE.requester);
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened + 1);
    const view = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string; blocks: unknown[] };
    expect(JSON.stringify(view.blocks)).toContain('It was sent back to you for changes');
    expect((await submitWithdrawal({ id: view.id, privateMetadata: view.private_metadata, view: view as unknown as Record<string, unknown> }, REASON)).json).toMatchObject({ response_action: 'update' });

    expect(exception().status).toBe('rejected');
    const update = h.standIn.callsTo('chat.update').findLast((c) => c.args.channel === dm.channel && c.args.ts === dm.ts);
    expect(update, 'the sent-back DM was updated').toBeDefined();
    const redrawn = h.standIn.dmsTo(PEOPLE.requester).find((m) => m.ts === dm.ts)!;
    expect(buttons(redrawn)).toEqual([ACTION_IDS.viewRecord]);
    expect(said(redrawn)).toContain(':wastebasket: *You withdrew it*');
    expect(said(redrawn)).toContain('Scope: only the 12 payroll users, not all 40.');

    const after = cardFor(h, 'EXC-0001');
    expect(buttons(after)).toEqual([]);
    expect(said(after)).not.toContain('Sent back');
    expect(said(after)).toContain(':wastebasket: *Withdrawn*');
    const [note] = withdrawnNotes(after);
    expect(said(note!)).toContain(`<@${PEOPLE.security}> :wastebasket:`);
    expect(said(note!)).not.toContain(`<@${PEOPLE.security2}>`);
    expect(h.standIn.rejected()).toEqual([]);
    trailMatchesRegister();
  });
});
