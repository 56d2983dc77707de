import { count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, exceptions, outbox } from '../../src/db/schema';
import { REQUEST_BLOCK_IDS } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { submitRequest, triageMessage } from './flows';

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
