import { count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, decisions, exceptions, outbox } from '../../src/db/schema';
import { verifyRegister } from '../../src/services/verify-register';
import { ACTION_IDS, REQUEST_BLOCK_IDS } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, buttons, cardFor, clickButton, decisionCard, ephemeralsTo, submitRequest, triageMessage } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const rowCount = (table: typeof exceptions | typeof outbox | typeof auditEvents) => h.app.register.db.select({ n: count() }).from(table).get()!.n;
const usersInfoCalls = () => h.standIn.calls.filter((c) => c.method === 'users.info');

describe('who can be named owner', () => {
  it.each([
    ['a bot or app user', { id: 'U0BOTTY', name: 'botty', isBot: true }, 'Choose a person as owner, not an app or bot: the owner is accountable for the exception.'],
    ['a deactivated account', { id: 'U0GONE', name: 'gone', deleted: true }, 'That account is deactivated. Choose an active person as owner.'],
  ])('keeps the modal open with an error on the owner when Slack knows the owner as %s, and stores nothing', async (_label, user, message) => {
    h.standIn.addUser(user);
    const { response } = await submitRequest(h, { owner: user.id });

    expect(response.status).toBe(200);
    expect(response.json).toEqual({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.owner]: message } });
    expect(usersInfoCalls().map((c) => c.args.user)).toEqual([user.id]);
    expect(rowCount(exceptions)).toBe(0);
    expect(rowCount(outbox)).toBe(0);
    expect(rowCount(auditEvents)).toBe(1); // the policy import only
    expect(h.standIn.callsTo('conversations.open')).toHaveLength(0);
    expect(h.standIn.callsTo('chat.postMessage')).toHaveLength(0);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('tells a distinct owner by DM, escaped and naming the requester, after the triage card and the receipt', async () => {
    const { response } = await submitRequest(h, { title: 'Skip MFA <!channel> & <https://evil.example|click>' });
    expect(response.text).toBe('');
    expect(usersInfoCalls().map((c) => c.args.user)).toEqual([PEOPLE.owner]);

    const [named, ...more] = h.standIn.dmsTo(PEOPLE.owner);
    expect(more).toEqual([]);
    expect(named!.text).toBe('You were named owner of EXC-0001.');
    const blocks = JSON.stringify(named!.blocks);
    expect(blocks).toContain(`<@${PEOPLE.requester}> named you the *owner*`);
    expect(blocks).toContain('*EXC-0001* (Skip MFA &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;)');
    expect(blocks).not.toContain('<!channel>');
    expect(blocks).not.toContain('<https://evil.example|click>');

    // Receipt, then the owner's note, then the triage card: two DMs opened, three messages posted.
    const [receipt] = h.standIn.dmsTo(PEOPLE.requester);
    const triage = triageMessage(h, 'EXC-0001');
    expect(h.standIn.callsTo('chat.postMessage').map((c) => c.response.ts)).toEqual([triage.ts, receipt!.ts, named!.ts]);
    expect(h.standIn.callsTo('conversations.open').map((c) => c.args.users)).toEqual([PEOPLE.requester, PEOPLE.owner]);
    expect(h.standIn.messages(CHANNELS.approvals)).toHaveLength(1);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('sends no owner note when the requester names themselves owner', async () => {
    await submitRequest(h, { owner: PEOPLE.requester });
    expect(rowCount(exceptions)).toBe(1);
    expect(h.standIn.dmsTo(PEOPLE.requester).map((m) => m.text)).toEqual([expect.stringContaining('received')]);
    expect(h.standIn.callsTo('conversations.open')).toHaveLength(1);
    expect(h.standIn.callsTo('chat.postMessage')).toHaveLength(2);
  });

  it('still accepts the request when users.info fails, and tells the owner', async () => {
    h.standIn.fail({ status: 500, methods: ['users.info'] });
    const { response } = await submitRequest(h);

    expect(response.status).toBe(200);
    expect(response.text).toBe('');
    expect(usersInfoCalls().map((c) => [c.args.user, c.httpStatus])).toEqual([[PEOPLE.owner, 500]]);
    expect(h.app.register.db.select().from(exceptions).all()).toEqual([expect.objectContaining({ id: 1, status: 'requested', ownerId: PEOPLE.owner })]);
    expect(h.standIn.dmsTo(PEOPLE.requester).map((m) => m.text)).toEqual([expect.stringContaining('EXC-0001')]);
    expect(h.standIn.dmsTo(PEOPLE.owner).map((m) => m.text)).toEqual(['You were named owner of EXC-0001.']);
    expect(triageMessage(h, 'EXC-0001')).toBeDefined();
  });
});

describe("Slack's answer about an owner, kept for a while", () => {
  it('asks users.info once for an owner named in several requests, so the acknowledgement waits on no round trip', async () => {
    for (let i = 0; i < 3; i++) await submitRequest(h, { title: `Request number ${i + 1} for the same owner` });
    expect(rowCount(exceptions)).toBe(3);
    expect(usersInfoCalls().map((c) => c.args.user)).toEqual([PEOPLE.owner]);
  });

  it('asks again after a failed lookup, since only answers are kept', async () => {
    h.standIn.fail({ status: 500, methods: ['users.info'], times: 1 });
    await submitRequest(h, { title: 'Submitted while users.info failed' });
    await submitRequest(h, { title: 'Submitted after users.info recovered' });
    expect(rowCount(exceptions)).toBe(2);
    expect(usersInfoCalls().filter((c) => c.httpStatus === 200).map((c) => c.args.user)).toEqual([PEOPLE.owner]);
    expect(usersInfoCalls().length).toBe(2);
  });
});

describe('the named owner accepts or declines from the DM that tells them', () => {
  const ownerNote = () => {
    const [named, ...more] = h.standIn.dmsTo(PEOPLE.owner);
    expect(more).toEqual([]);
    return named!;
  };
  const cardText = () => JSON.stringify(cardFor(h, 'EXC-0001').blocks);
  const ownerAnswers = () => h.app.register.db.select().from(auditEvents).all().filter((e) => e.kind.startsWith('exception.owner_')).map((e) => [e.kind, e.actorId]);
  const trailMatchesRegister = () => expect(verifyRegister(h.app.register.db, { timeZone: 'UTC' }).findings).toEqual([]);

  it('shows the owner as not yet confirmed until they accept; Accept replaces the buttons and a second press records nothing more', async () => {
    await submitRequest(h);
    const note = ownerNote();
    expect(buttons(note)).toEqual([ACTION_IDS.acceptOwnership, ACTION_IDS.declineOwnership]);
    expect(cardText()).toContain(`<@${PEOPLE.owner}> (owner not yet confirmed)`);

    await clickButton(h, note, ACTION_IDS.acceptOwnership, PEOPLE.owner);
    expect(cardText()).not.toContain('not yet confirmed');
    expect(buttons(ownerNote())).toEqual([]);
    expect(ownerNote().text).toBe('You accepted being the owner of EXC-0001.');
    expect(ownerAnswers()).toEqual([['exception.owner_accepted', PEOPLE.owner]]);

    await clickButton(h, note, ACTION_IDS.acceptOwnership, PEOPLE.owner); // an older copy of the DM
    expect(ownerAnswers()).toEqual([['exception.owner_accepted', PEOPLE.owner]]);
    expect(ephemeralsTo(h, PEOPLE.owner)).toEqual([]);
    trailMatchesRegister();
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('tells the requester about a Decline, says so on the cards, and refuses approval with the reason, changing nothing', async () => {
    await submitRequest(h);
    const note = ownerNote();
    await clickButton(h, note, ACTION_IDS.declineOwnership, PEOPLE.owner);
    expect(ownerNote().text).toBe('You declined being the owner of EXC-0001.');
    expect(buttons(ownerNote())).toEqual([]);

    const told = h.standIn.dmsTo(PEOPLE.requester).at(-1)!;
    expect(told.text).toBe('EXC-0001: the owner you named declined.');
    expect(JSON.stringify(told.blocks)).toContain('naming the right owner');
    expect(cardText()).toContain(`<@${PEOPLE.owner}> (declined to be owner)`);
    expect(cardText()).toContain('*Owner declined:*');

    await assess(h, 'EXC-0001', 1, 1);
    const card = decisionCard(h, 'EXC-0001');
    expect(JSON.stringify(card.blocks)).toContain('*Owner declined:*');
    const before = h.app.register.db.select().from(exceptions).get();
    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.ciso);
    expect(ephemeralsTo(h, PEOPLE.ciso)).toEqual([expect.stringContaining(`EXC-0001 cannot be approved: its named owner <@${PEOPLE.owner}> declined to own it`)]);
    expect(h.app.register.db.select().from(exceptions).get()).toEqual(before);
    expect(h.app.register.db.select().from(decisions).all()).toEqual([]);

    await clickButton(h, note, ACTION_IDS.declineOwnership, PEOPLE.owner); // an older copy of the DM
    expect(ownerAnswers()).toEqual([['exception.owner_declined', PEOPLE.owner]]);
    expect(h.standIn.dmsTo(PEOPLE.requester).filter((m) => m.text?.includes('declined'))).toHaveLength(1);
    expect(ephemeralsTo(h, PEOPLE.owner)).toEqual([]);
    trailMatchesRegister();
    expect(h.standIn.rejected()).toEqual([]);
  });

  it.each([
    ['a bystander, who learns nothing about it', PEOPLE.bystander, 'There is no exception EXC-0001 that you can see'],
    ['someone who may see it but is not its owner', PEOPLE.security, `Only the named owner of EXC-0001 (<@${PEOPLE.owner}>) can accept or decline owning it.`],
  ])('refuses Accept from %s, privately', async (_label, userId, refusal) => {
    await submitRequest(h);
    await clickButton(h, ownerNote(), ACTION_IDS.acceptOwnership, userId);
    expect(ephemeralsTo(h, userId)).toEqual([expect.stringContaining(refusal)]);
    expect(ownerAnswers()).toEqual([]);
    expect(buttons(ownerNote())).toEqual([ACTION_IDS.acceptOwnership, ACTION_IDS.declineOwnership]);
    expect(cardText()).toContain('(owner not yet confirmed)');
  });

  it('counts a requester who names themselves owner as confirmed from the start', async () => {
    await submitRequest(h, { owner: PEOPLE.requester });
    expect(cardText()).not.toContain('not yet confirmed');
  });
});
