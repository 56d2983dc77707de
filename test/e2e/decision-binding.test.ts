import { count, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { assessments, auditEvents, decisions, exceptions, outbox, renewals } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS, INPUT_ACTION_ID, REJECTION_BLOCK_ID, ASSESSMENT_BLOCK_IDS } from '../../src/slack/ids';
import type { StoredMessage } from '../support/slack-stand-in';
import { CHANNELS, PEOPLE, startHarness, type Harness, type HarnessOptions } from './harness';
import {
  assess,
  assessmentValues,
  cardFor,
  clickButton,
  decisionCard,
  ephemeralsTo,
  renewalDecisionCard,
  submitRenewal,
  submitRequest,
  type RenewalFormValues,
} from './flows';

// Issue 10 §1: a decision acts only on what the person saw.

let h: Harness;
async function start(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness(options); // 2026-11-25T10:00Z; VALID_FORM asks until 2027-01-15
  return h;
}
afterEach(async () => {
  await h?.close();
});

const RENEWAL: RenewalFormValues = {
  progress: 'SSO connector deployed to staging; 30 of 40 users migrated; cut-over planned for February.',
  percentComplete: '60',
  evidenceUrl: 'https://tickets.example.com/CHG-4711',
  controlTestedOn: '2026-12-20',
  expiresOn: '2027-03-01',
};
const REASON = 'The compensating control does not cover remote logins at all.';

const at = (iso: string) => {
  h.clock.now = new Date(iso);
};
const db = () => h.app.register.db;
const exception = () => db().select().from(exceptions).where(eq(exceptions.id, 1)).get()!;
const renewalRow = () => db().select().from(renewals).get();

/** Every table a decision writes to, and what is queued for Slack: a refusal leaves all of it as it was. */
function registerState() {
  const rows = (table: typeof auditEvents | typeof outbox) => db().select({ n: count() }).from(table).get()!.n;
  return {
    exceptions: db().select().from(exceptions).all(),
    renewals: db().select().from(renewals).all(),
    assessments: db().select().from(assessments).all(),
    decisions: db().select().from(decisions).all(),
    events: rows(auditEvents),
    outbox: rows(outbox),
  };
}

/** The message as it looked at this moment; the stand-in updates its stored copy in place. */
const copyOf = (message: StoredMessage): StoredMessage => structuredClone(message);

function valueOf(message: { blocks?: unknown[] }, actionId: string): string {
  const element = (message.blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[])
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .find((e) => e.action_id === actionId);
  expect(element, `${actionId} on the message`).toBeDefined();
  return element!.value!;
}

/** Presses a button on a message exactly as it was (an old copy, a legacy value), without the flow helpers' checks. */
async function pressOn(message: StoredMessage, actionId: string, userId: string, value = valueOf(message, actionId)) {
  const response = await h.driver.blockAction({ userId, actionId, value, message: { channel: message.channel, ts: message.ts, blocks: message.blocks, text: message.text } });
  expect(response.status).toBe(200);
  await h.settle();
}

/** A modal Slack opened for `userId` when they pressed `actionId` on `message`. */
async function modalFrom(message: StoredMessage, actionId: string, userId: string) {
  const before = h.standIn.callsTo('views.open').length;
  await clickButton(h, message, actionId, userId);
  expect(h.standIn.callsTo('views.open'), `${actionId} opened a modal`).toHaveLength(before + 1);
  return h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
}

/** EXC-0001 approved on the fast path by the CISO in November; renewal 1 asked in January and assessed. */
async function renewalWaitingForDecision(firstDecision?: (card: StoredMessage) => Promise<void>) {
  await submitRequest(h);
  await assess(h, 'EXC-0001', 2, 2);
  const card = decisionCard(h, 'EXC-0001');
  await firstDecision?.(card);
  await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
  expect(exception()).toMatchObject({ status: 'active', expiresOn: '2027-01-15' });
  at('2027-01-05T09:00:00Z');
  // The modal turns into the confirmation of what happens next.
  expect(JSON.parse((await submitRenewal(h, PEOPLE.owner, RENEWAL)).response!.text)).toMatchObject({ response_action: 'update', view: { type: 'modal' } });
  await assess(h, 'EXC-0001', 2, 2, PEOPLE.security2);
  expect(renewalRow()).toMatchObject({ round: 1, status: 'pending_approval' });
}

async function openHome(userId: string) {
  await h.driver.event({ type: 'app_home_opened', user: userId, channel: 'D0HOME', tab: 'home' });
  await h.settle();
  const published = h.standIn.callsTo('views.publish').at(-1)!;
  expect(published.args.user_id).toBe(userId);
  return { id: (published.response.view as { id: string }).id, blocks: (published.args.view as { blocks: unknown[] }).blocks };
}

describe('a button or form acts only on the round it was shown for', () => {
  it('refuses an Approve pressed on an old copy of the first decision message once a renewal waits, and links to the renewal', async () => {
    await start();
    let firstCopy: StoredMessage | undefined;
    await renewalWaitingForDecision(async (card) => {
      firstCopy = copyOf(card);
    });
    expect(JSON.stringify(firstCopy!.blocks)).toContain('until 2027-01-15');
    const before = registerState();

    await pressOn(firstCopy!, ACTION_IDS.approve, PEOPLE.deputy);

    const renewalCard = renewalDecisionCard(h, 'EXC-0001', 1);
    expect(ephemeralsTo(h, PEOPLE.deputy)).toEqual([
      `This was for the original request; renewal 1 is decided here: https://stand-in.slack.com/archives/${renewalCard.channel}/p${renewalCard.ts.replace('.', '')}?thread_ts=${renewalCard.threadTs}&cid=${renewalCard.channel}\nNothing was changed.`,
    ]);
    expect(registerState()).toEqual(before);
    expect(exception()).toMatchObject({ expiresOn: '2027-01-15', renewalCount: 0 });

    // The renewal's own message still decides it.
    await clickButton(h, renewalCard, ACTION_IDS.approve, PEOPLE.deputy);
    expect(exception()).toMatchObject({ expiresOn: '2027-03-01', renewalCount: 1 });
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('refuses a Reject form opened for the original request and submitted after the renewal was assessed', async () => {
    await start();
    let form: { id: string; private_metadata: string } | undefined;
    await renewalWaitingForDecision(async (card) => {
      form = await modalFrom(card, ACTION_IDS.reject, PEOPLE.deputy);
    });
    const before = registerState();

    const response = await h.driver.viewSubmission({
      userId: PEOPLE.deputy,
      callbackId: CALLBACK_IDS.rejection,
      viewId: form!.id,
      privateMetadata: form!.private_metadata,
      values: { [REJECTION_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: REASON } } },
    });
    await h.settle();

    expect(response.json).toMatchObject({ response_action: 'errors', errors: { [REJECTION_BLOCK_ID]: expect.stringMatching(/^This was for the original request; renewal 1 is decided here: https:\/\//) } });
    expect(registerState()).toEqual(before);
    expect(renewalRow()).toMatchObject({ status: 'pending_approval' });
  });

  it("refuses an Assess risk form opened in November and submitted in January: it never becomes the renewal's assessment", async () => {
    await start();
    await submitRequest(h);
    const november = await modalFrom(cardFor(h, 'EXC-0001'), ACTION_IDS.assessRisk, PEOPLE.security);
    await assess(h, 'EXC-0001', 2, 2, PEOPLE.security2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    at('2027-01-05T09:00:00Z');
    await submitRenewal(h, PEOPLE.owner, RENEWAL);
    expect(renewalRow()).toMatchObject({ round: 1, status: 'requested' });
    const before = registerState();

    const response = await h.driver.viewSubmission({
      userId: PEOPLE.security,
      callbackId: CALLBACK_IDS.assessment,
      viewId: november.id,
      privateMetadata: november.private_metadata,
      values: assessmentValues(1, 1, 'Only forty users, all behind the VPN; negligible.'),
    });
    await h.settle();

    expect(response.json).toMatchObject({
      response_action: 'errors',
      errors: { [ASSESSMENT_BLOCK_IDS.rationale]: expect.stringMatching(/^This was for the original request; renewal 1 is assessed here: https:\/\//) },
    });
    expect(registerState()).toEqual(before);
    expect(db().select().from(assessments).all().map((a) => a.round)).toEqual([0]);
  });

  it('refuses an Approve from an App Home tab not refreshed since the original request', async () => {
    await start();
    let home: { id: string; blocks: unknown[] } | undefined;
    await renewalWaitingForDecision(async () => {
      home = await openHome(PEOPLE.deputy);
    });
    const before = registerState();

    await h.driver.blockAction({ userId: PEOPLE.deputy, actionId: ACTION_IDS.approve, value: valueOf(home!, ACTION_IDS.approve), view: { id: home!.id } });
    await h.settle();

    // App Home has no response_url: the refusal comes by DM.
    expect(h.standIn.dmsTo(PEOPLE.deputy).map((m) => m.text)).toEqual([expect.stringMatching(/^This was for the original request; renewal 1 is decided here: https:\/\//)]);
    expect(registerState()).toEqual(before);
  });

  it("App Home's Approve asks for the same confirmation as the card's, naming the round's expiry", async () => {
    await start();
    await renewalWaitingForDecision();
    const home = await openHome(PEOPLE.deputy);
    const approve = (blocks: unknown[]) =>
      (blocks as { type: string; elements?: { action_id?: string; confirm?: unknown }[] }[]).flatMap((b) => b.elements ?? []).find((e) => e.action_id === ACTION_IDS.approve)!;
    const card = renewalDecisionCard(h, 'EXC-0001', 1);
    expect(approve(home.blocks).confirm).toEqual(approve(card.blocks!).confirm);
    expect(JSON.stringify(approve(home.blocks).confirm)).toContain('until 2027-03-01');
    expect(JSON.stringify(approve(home.blocks).confirm)).toContain('renewal 1 of');
  });
});

describe('button values posted before rounds were carried (a bare exception number)', () => {
  it('still decide the original request while nothing has been renewed', async () => {
    await start();
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    await pressOn(decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso, '1');
    expect(exception().status).toBe('active');
  });

  it('are refused on the first decision message once a renewal waits, and from App Home, but decide on the renewal’s own message', async () => {
    await start();
    let firstCopy: StoredMessage | undefined;
    await renewalWaitingForDecision(async (card) => {
      firstCopy = copyOf(card);
    });
    const before = registerState();

    await pressOn(firstCopy!, ACTION_IDS.approve, PEOPLE.deputy, '1');
    expect(ephemeralsTo(h, PEOPLE.deputy)).toEqual([expect.stringMatching(/^This was posted before the latest renewal; renewal 1 is decided here: https:\/\//)]);
    await h.driver.blockAction({ userId: PEOPLE.deputy, actionId: ACTION_IDS.approve, value: '1', view: { id: (await openHome(PEOPLE.deputy)).id } });
    await h.settle();
    expect(h.standIn.dmsTo(PEOPLE.deputy)).toHaveLength(1);
    expect(registerState()).toEqual(before);

    await pressOn(renewalDecisionCard(h, 'EXC-0001', 1), ACTION_IDS.approve, PEOPLE.deputy, '1');
    expect(exception()).toMatchObject({ expiresOn: '2027-03-01', renewalCount: 1 });
  });
});

describe('whoever assessed a round never decides it', () => {
  it('a CISO on the security team who assessed 1×1 cannot approve or reject it; the card says so and names the other approver', async () => {
    await start({ env: { SECURITY_TEAM_IDS: `${PEOPLE.security},${PEOPLE.ciso}` } });
    await submitRequest(h);
    await assess(h, 'EXC-0001', 1, 1, PEOPLE.ciso);
    const card = decisionCard(h, 'EXC-0001');
    const text = JSON.stringify(card.blocks);
    expect(text).toContain(`<@${PEOPLE.ciso}> assessed this round's risk, so they cannot also decide it (separation of duties).`);
    expect(text).toContain(`Approvers: <@${PEOPLE.deputy}>`);
    expect(text).not.toContain(`Approvers: <@${PEOPLE.ciso}>`);
    const before = registerState();

    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.ciso);
    const opened = h.standIn.callsTo('views.open').length;
    await clickButton(h, card, ACTION_IDS.reject, PEOPLE.ciso);
    expect(h.standIn.callsTo('views.open')).toHaveLength(opened);
    expect(ephemeralsTo(h, PEOPLE.ciso)).toEqual([expect.stringMatching(/You assessed the risk of this round.*separation of duties/), expect.stringMatching(/You assessed the risk/)]);
    expect(registerState()).toEqual(before);
    // Nor does it wait for them in App Home.
    expect(JSON.stringify((await openHome(PEOPLE.ciso)).blocks)).not.toContain('home_1');

    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.deputy);
    expect(exception().status).toBe('active');
  });

  it('a committee member who assessed the round cannot vote on it', async () => {
    await start({ env: { SECURITY_TEAM_IDS: `${PEOPLE.security},${PEOPLE.committee1}` } });
    await submitRequest(h);
    await assess(h, 'EXC-0001', 4, 4, PEOPLE.committee1);
    const card = decisionCard(h, 'EXC-0001', CHANNELS.committee);
    expect(JSON.stringify(card.blocks)).toContain(`<@${PEOPLE.committee1}> assessed this round's risk, so they cannot also decide it`);
    const before = registerState();
    await clickButton(h, card, ACTION_IDS.approve, PEOPLE.committee1);
    expect(ephemeralsTo(h, PEOPLE.committee1)).toEqual([expect.stringMatching(/separation of duties/)]);
    expect(registerState()).toEqual(before);
  });
});

describe('an approver named as owner', () => {
  it('is a conflict both cards show', async () => {
    await start();
    await submitRequest(h, { owner: PEOPLE.deputy });
    expect(JSON.stringify(cardFor(h, 'EXC-0001').blocks)).toContain(`*Conflict:* the owner <@${PEOPLE.deputy}> is also an approver or committee member`);
    await assess(h, 'EXC-0001', 2, 2);
    const decision = JSON.stringify(decisionCard(h, 'EXC-0001').blocks);
    expect(decision).toContain('*Conflict:*');
    expect(decision).toContain(`Approvers: <@${PEOPLE.ciso}>`);
    expect(decision).not.toContain(`Approvers: <@${PEOPLE.ciso}> <@${PEOPLE.deputy}>`);
  });
});

describe('a refusal tells a bystander nothing about an exception they may not see', () => {
  const NEUTRAL = (ref: string) =>
    `There is no exception ${ref} that you can see: an exception is shown only to its requester and owner, the security team, approvers, the committee and auditors. \`/exception list\` shows the ones you requested or own.`;

  it('answers renew, close and show the same for an exception that exists and one that does not, naming nobody', async () => {
    await start();
    await submitRequest(h);
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    const modals = h.standIn.callsTo('views.open').length;
    /** What the bystander is told: the acknowledgement's text, or what comes through the response_url after it. */
    async function answerTo(text: string): Promise<string> {
      const posts = h.standIn.responseUrlPosts.length;
      const response = await h.driver.slashCommand({ userId: PEOPLE.bystander, text });
      await h.settle();
      return response.json?.text ?? String(h.standIn.responseUrlPosts.slice(posts).find((p) => p.userId === PEOPLE.bystander)?.body.text);
    }
    for (const [text, ref] of [
      ['renew EXC-0001', 'EXC-0001'],
      ['renew EXC-0099', 'EXC-0099'],
      ['close EXC-0001', 'EXC-0001'],
      ['show EXC-0001', 'EXC-0001'],
      ['show EXC-0099', 'EXC-0099'],
    ]) {
      expect(await answerTo(text!), text).toBe(NEUTRAL(ref!));
    }
    expect(h.standIn.callsTo('views.open')).toHaveLength(modals);
  });
});
