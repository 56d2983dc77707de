/**
 * `npm run demo`: the real app against the local Slack stand-in with a throwaway register, playing a short story.
 * Prints what each person sees in Slack; needs no workspace and no network.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startApplication } from '../../src/application';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { importPolicies } from '../../src/services/policy-catalogue';
import { runJobs } from '../../src/jobs/run-jobs';
import { and, eq } from 'drizzle-orm';
import { checkins } from '../../src/db/schema';
import { ACTION_IDS, ASSESSMENT_BLOCK_IDS, CALLBACK_IDS, CHANGES_BLOCK_ID, CLOSING_NOTE_BLOCK_ID, INPUT_ACTION_ID, REJECTION_BLOCK_ID, RENEWAL_BLOCK_IDS, REQUEST_BLOCK_IDS, TERM_CHANGE_BLOCK_IDS, WITHDRAWAL_REASON_BLOCK_ID } from '../../src/slack/ids';
import { requestValues, type RequestForm } from '../e2e/flows';
import { createSlackDriver } from '../support/slack-driver';
import { startSlackStandIn, type SlackCall, type StoredMessage } from '../support/slack-stand-in';
import { blocksAsText, readable } from './slack-as-text';

const PEOPLE = {
  alice: 'U0ALICE',
  bob: 'U0BOB',
  carol: 'U0CAROL',
  sam: 'U0SAM',
  ciso: 'U0CISO',
  dana: 'U0DANA',
  erin: 'U0ERIN',
  frank: 'U0FRANK',
} as const;
const NAMES: Record<string, string> = {
  U0ALICE: 'alice (finance)',
  U0BOB: 'bob (infrastructure)',
  U0CAROL: 'carol (marketing)',
  U0SAM: 'sam (security team)',
  U0CISO: 'ciso',
  U0DANA: 'dana (committee)',
  U0ERIN: 'erin (committee)',
  U0FRANK: 'frank (committee)',
};
const CHANNEL_NAMES: Record<string, string> = { C0APPROVALS: '#security-approvals', C0COMMITTEE: '#risk-committee' };

const dir = mkdtempSync(join(tmpdir(), 'exceptions-demo-'));
const standIn = await startSlackStandIn({ users: Object.entries(NAMES).map(([id, name]) => ({ id, name })) });
const signingSecret = 'demo-signing-secret-0123456789';
const config = loadConfig({
  SLACK_BOT_TOKEN: standIn.botToken,
  SLACK_SIGNING_SECRET: signingSecret,
  SLACK_API_URL: standIn.url,
  PORT: '0',
  DATABASE_PATH: join(dir, 'register.db'),
  SECURITY_TEAM_IDS: PEOPLE.sam,
  APPROVER_IDS: PEOPLE.ciso,
  COMMITTEE_IDS: `${PEOPLE.dana},${PEOPLE.erin},${PEOPLE.frank}`,
  APPROVALS_CHANNEL: 'C0APPROVALS',
  COMMITTEE_CHANNEL: 'C0COMMITTEE',
  LOG_LEVEL: 'error',
});
// The demo's own clock, so that weeks can pass in a second; the app reads time only through it. It starts on a fixed
// Tuesday so that the story reaches the first Monday of a quarter (the quarterly review) where it says it does.
let now = new Date('2026-12-01T09:00:00Z');
const app = await startApplication(config, { logger: createLogger('error'), clock: () => now, schedule: false, channelSpacingMs: 0 });
const driver = createSlackDriver({ appUrl: `http://127.0.0.1:${app.port}/slack/events`, signingSecret, standIn });
importPolicies(
  app.register.db,
  () => now,
  [
    'key,title,description,max_days',
    'MFA-01,Multi-factor authentication,"Every interactive login uses a second factor; phishing-resistant where the system supports it.",60',
    'NET-02,Network segmentation,"Production, corporate and vendor systems sit in separate network zones; traffic between them is allowed by rule only.",',
    'AUTH-04,Modern authentication for tier-0 systems,"Tier-0 systems (identity, payroll, finance ledgers) authenticate through the identity provider with MFA.",',
  ].join('\n'),
  'demo',
);

let seen = 0;
function where(channel: string): string {
  if (CHANNEL_NAMES[channel]) return CHANNEL_NAMES[channel];
  const dm = standIn.calls.find((c) => c.method === 'conversations.open' && (c.response.channel as { id?: string })?.id === channel);
  return dm ? `DM to ${NAMES[String(dm.args.users)]}` : channel;
}

/** Prints every Slack effect since the last call, as the people involved would see it. */
function show(): void {
  const fresh = standIn.calls.slice(seen).filter((c) => c.response.ok !== false);
  seen = standIn.calls.length;
  for (const call of fresh) printCall(call);
}

function printCall(call: SlackCall): void {
  const args = call.args as { channel?: string; user?: string; user_id?: string; text?: string; blocks?: unknown[]; view?: { title?: { text: string }; blocks: unknown[] }; ts?: string };
  switch (call.method) {
    case 'chat.postMessage':
      console.log(`\n  ${where(String(args.channel ?? ''))} · ${(args as { thread_ts?: string }).thread_ts ? 'reply in the thread' : 'new message'}`);
      console.log(blocksAsText(args.blocks ?? [], NAMES));
      break;
    case 'chat.update':
      console.log(`\n  ${where(String(args.channel ?? ''))} · message updated`);
      console.log(blocksAsText(args.blocks ?? [], NAMES));
      break;
    case 'chat.postEphemeral':
      console.log(`\n  ${where(String(args.channel ?? ''))} · only visible to ${NAMES[String(args.user)]}`);
      console.log(`  │ ${readable(String(args.text), NAMES)}`);
      break;
    case 'views.open':
    case 'views.push':
      console.log(`\n  Modal "${args.view?.title?.text}" opens${call.method === 'views.push' ? ' on top of the last one' : ''}`);
      console.log(blocksAsText(args.view?.blocks ?? [], NAMES));
      break;
    case 'views.update':
      console.log(`\n  Modal "${args.view?.title?.text}" changes as the person fills it in`);
      console.log(blocksAsText(args.view?.blocks ?? [], NAMES));
      break;
    case 'views.publish':
      console.log(`\n  App Home of ${NAMES[String(args.user_id)]} (published again)`);
      console.log(blocksAsText(args.view?.blocks ?? [], NAMES));
      break;
  }
}

function say(text: string): void {
  console.log(`\n\x1b[1m▶ ${text}\x1b[0m`);
}

/** A slash command answered in its acknowledgement: what only the person who typed it sees. */
async function command(userId: string, text: string): Promise<void> {
  const response = await driver.slashCommand({ userId, text });
  const reply = response.json as { text?: string; blocks?: unknown[] } | undefined;
  console.log(`\n  /exception ${text} · only visible to ${NAMES[userId]}`);
  console.log(reply?.blocks ? blocksAsText(reply.blocks, NAMES) : `  │ ${readable(String(reply?.text ?? response.text), NAMES)}`);
  await settle();
}

async function settle(): Promise<void> {
  await app.idle();
  show();
}

async function request(userId: string, form: RequestForm, options: { showPolicyChoice?: boolean } = {}): Promise<void> {
  await driver.slashCommand({ userId, text: 'request' });
  await settle();
  const viewId = (standIn.callsTo('views.open').at(-1)!.response.view as { id: string }).id;
  if (options.showPolicyChoice && form.policy) {
    // Choosing the policy redraws the form with its description and the limit that applies to the expiry.
    await driver.blockAction({ userId, actionId: ACTION_IDS.policyPicker, blockId: REQUEST_BLOCK_IDS.policy, value: form.policy, view: { id: viewId } });
    await settle();
  }
  const response = await driver.viewSubmission({ userId, callbackId: CALLBACK_IDS.request, viewId, values: requestValues(form) });
  if (response.json?.response_action === 'errors') {
    console.log('\n  The modal stays open with errors next to the fields:');
    for (const [field, message] of Object.entries(response.json.errors as Record<string, string>)) console.log(`  │ ${field}: ${message}`);
  }
  await settle();
}

function card(ref: string, channel: string, decision: boolean): StoredMessage {
  return standIn
    .messages(channel)
    .find((m) => JSON.stringify(m.blocks).includes(ref) && JSON.stringify(m.blocks).includes('"text":"Decision needed') === decision)!;
}

/** The value of the button with this action id: a message may carry several exceptions' buttons. */
function buttonValue(blocks: unknown[] | undefined, actionId: string): string | undefined {
  const buttons = (blocks ?? []).flatMap((b) => ((b as { elements?: unknown[]; accessory?: unknown }).elements ?? [(b as { accessory?: unknown }).accessory]) as { action_id?: string; value?: string }[]);
  return buttons.find((e) => e?.action_id === actionId)?.value;
}

async function click(message: StoredMessage, actionId: string, userId: string): Promise<void> {
  const value = buttonValue(message.blocks, actionId);
  await driver.blockAction({ userId, actionId, value, message: { channel: message.channel, ts: message.ts, blocks: message.blocks } });
  await settle();
}

async function assess(ref: string, likelihood: number, impact: number, rationale: string): Promise<void> {
  await click(card(ref, 'C0APPROVALS', false), ACTION_IDS.assessRisk, PEOPLE.sam);
  const view = standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  const pick = (n: number) => ({ type: 'static_select', selected_option: { text: { type: 'plain_text', text: String(n) }, value: String(n) } });
  await driver.viewSubmission({
    userId: PEOPLE.sam,
    callbackId: CALLBACK_IDS.assessment,
    viewId: view.id,
    privateMetadata: view.private_metadata,
    values: {
      [ASSESSMENT_BLOCK_IDS.likelihood]: { [INPUT_ACTION_ID]: pick(likelihood) },
      [ASSESSMENT_BLOCK_IDS.impact]: { [INPUT_ACTION_ID]: pick(impact) },
      [ASSESSMENT_BLOCK_IDS.rationale]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: rationale } },
    },
  });
  await settle();
}

const inDays = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);

async function timePasses(days: number): Promise<void> {
  now = new Date(now.getTime() + days * 86_400_000);
  console.log(`\n\x1b[2m… ${days} days later (${now.toISOString().slice(0, 10)}): the scheduler runs its jobs\x1b[0m`);
  runJobs(app.services, now);
  await settle();
}

/** What a submitted modal turns into, when it turns into a confirmation. */
function printConfirmation(json: Record<string, unknown> | undefined): void {
  if (json?.response_action !== 'update') return;
  const confirmation = json.view as { title?: { text: string }; blocks: unknown[] };
  console.log(`\n  The form turns into "${confirmation.title?.text}"`);
  console.log(blocksAsText(confirmation.blocks, NAMES));
}

/** Opens App Home as `userId` and presses the button `actionId` on it. */
async function pressOnHome(userId: string, actionId: string): Promise<void> {
  await driver.event({ type: 'app_home_opened', user: userId, channel: 'D0HOME', tab: 'home' });
  await settle();
  const home = standIn.callsTo('views.publish').findLast((c) => c.args.user_id === userId)!;
  const view = home.response.view as { id: string; blocks: unknown[] };
  await driver.blockAction({ userId, actionId, value: buttonValue(view.blocks, actionId), view: { id: view.id } });
  await settle();
}

async function renew(userId: string, form: { progress: string; percent: string; testedDaysAgo: number; expiresInDays: number; evidence?: string }): Promise<void> {
  await driver.slashCommand({ userId, text: 'renew EXC-0001' });
  await settle();
  const view = standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  const response = await driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.renewal,
    viewId: view.id,
    privateMetadata: view.private_metadata,
    values: {
      [RENEWAL_BLOCK_IDS.progress]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: form.progress } },
      [RENEWAL_BLOCK_IDS.percentComplete]: { [INPUT_ACTION_ID]: { type: 'number_input', value: form.percent } },
      [RENEWAL_BLOCK_IDS.evidenceUrl]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: form.evidence ?? null } },
      [RENEWAL_BLOCK_IDS.controlTestedOn]: { [INPUT_ACTION_ID]: { type: 'datepicker', selected_date: inDays(-form.testedDaysAgo) } },
      [RENEWAL_BLOCK_IDS.expiresOn]: { [INPUT_ACTION_ID]: { type: 'datepicker', selected_date: inDays(form.expiresInDays) } },
    },
  });
  if (response.json?.response_action === 'errors') {
    console.log('\n  The renewal form stays open with errors next to the fields:');
    for (const [field, message] of Object.entries(response.json.errors as Record<string, string>)) console.log(`  │ ${field}: ${message}`);
  } else {
    printConfirmation(response.json);
  }
  await settle();
}

/** `/exception amend EXC-0001` as `userId`, with the form's three terms as `terms` gives them and the reason for the change. */
async function changeTerms(userId: string, terms: { scope: string; compensatingControls: string; reason: string }): Promise<void> {
  await driver.slashCommand({ userId, text: 'amend EXC-0001' });
  await settle();
  const view = standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string; blocks: { block_id?: string; element?: { initial_value?: string } }[] };
  const prefilled = (block: string) => view.blocks.find((b) => b.block_id === block)?.element?.initial_value ?? null;
  const text = (value: string | null) => ({ [INPUT_ACTION_ID]: { type: 'plain_text_input', value } });
  const response = await driver.viewSubmission({
    userId,
    callbackId: CALLBACK_IDS.changeTerms,
    viewId: view.id,
    privateMetadata: view.private_metadata,
    values: {
      [TERM_CHANGE_BLOCK_IDS.scope]: text(terms.scope),
      [TERM_CHANGE_BLOCK_IDS.affectedSystems]: text(prefilled(TERM_CHANGE_BLOCK_IDS.affectedSystems)),
      [TERM_CHANGE_BLOCK_IDS.compensatingControls]: text(terms.compensatingControls),
      [TERM_CHANGE_BLOCK_IDS.reason]: text(terms.reason),
    },
  });
  printConfirmation(response.json);
  await settle();
}

try {
  say('Alice asks for an exception, but her justification is "because it\'s urgent" and she names no compensating control.');
  await request(PEOPLE.alice, { policy: 'MFA-01', title: 'Contractor MFA grace period', scope: 'Two contractors joining the finance team', justification: "because it's urgent", compensatingControls: '', owner: PEOPLE.alice, expiresOn: inDays(30) });

  say('Alice fills the form in properly. Choosing the policy shows what it asks for, and how long an exception to it may last.');
  await request(
    PEOPLE.alice,
    {
    policy: 'MFA-01',
    title: 'Contractor MFA grace period',
    scope: 'Two contractors joining the finance team on Monday',
    justification: 'Their hardware keys ship next week; they need the month-end close tools from day one to meet the audit deadline.',
    compensatingControls: 'Access only from managed laptops on the VPN, sessions limited to 8 hours, logins reviewed daily by the SOC.',
    owner: PEOPLE.alice,
    expiresOn: inDays(30),
    },
    { showPolicyChoice: true },
  );

  say('Alice tries to assess her own request; the app explains why not.');
  await click(card('EXC-0001', 'C0APPROVALS', false), ACTION_IDS.assessRisk, PEOPLE.alice);

  say('Sam from the security team assesses it: likelihood 2 × impact 2 = 4, the fast path. Alice is told whose decision it now waits for.');
  await assess('EXC-0001', 2, 2, 'Two named contractors, managed devices, short window; exploitation needs a stolen password plus VPN access.');

  say('The CISO approves it.');
  await click(card('EXC-0001', 'C0APPROVALS', true), ACTION_IDS.approve, PEOPLE.ciso);

  say('Bob asks for a structural exception for a tier-0 system that cannot do modern authentication.');
  await request(PEOPLE.bob, {
    policy: 'AUTH-04',
    title: 'Legacy payroll mainframe without modern auth',
    scope: 'The payroll mainframe pay-mf-01, isolated VLAN 40',
    justification: 'The quarterly close runs through a system that cannot do MFA, and its replacement is on the Q4 roadmap with budget approved.',
    compensatingControls: 'Isolated VLAN reachable only from two jump hosts with MFA; all sessions recorded; weekly access review.',
    owner: PEOPLE.bob,
    expiresOn: inDays(200),
    structural: true,
    structuralReason: 'A 90-day clock would force a rushed migration of the payroll system in the middle of the year-end close.',
  });

  say('Sam scores it 4 × 4 = 16: it goes to the steering committee.');
  await assess('EXC-0002', 4, 4, 'Tier-0 system holding payroll data; a compromise would be severe even with the VLAN isolation in place.');

  say('The committee card names who may vote and who still has to. Dana approves (1 of 2), Erin approves (2 of 2): both are credited, and the exception is active.');
  await click(card('EXC-0002', 'C0COMMITTEE', true), ACTION_IDS.approve, PEOPLE.dana);
  await click(card('EXC-0002', 'C0COMMITTEE', true), ACTION_IDS.approve, PEOPLE.erin);

  say('Carol asks to skip network segmentation for a marketing tool; the CISO rejects it with a reason.');
  await request(PEOPLE.carol, {
    policy: 'NET-02',
    title: 'Marketing analytics box on the production network',
    scope: 'One analytics VM mkt-an-02 in the production zone',
    justification: 'The vendor tool needs direct access to the production database replica to build the campaign dashboards on time.',
    compensatingControls: 'Read-only database user, host firewall allowing only the replica port, vendor access via screen share only.',
    owner: PEOPLE.carol,
    expiresOn: inDays(60),
  });
  await assess('EXC-0003', 3, 3, 'Production zone access from a vendor-managed tool; read-only but broad data exposure.');
  await click(card('EXC-0003', 'C0APPROVALS', true), ACTION_IDS.reject, PEOPLE.ciso);
  const rejectView = standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  await driver.viewSubmission({
    userId: PEOPLE.ciso,
    callbackId: CALLBACK_IDS.rejection,
    viewId: rejectView.id,
    privateMetadata: rejectView.private_metadata,
    values: { [REJECTION_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'Use the analytics replica in the data zone instead; the vendor can reach it through the existing connector.' } } },
  });
  await settle();

  say('Bob asks for build agents outside the CI network zone. The CISO asks for changes instead of rejecting; Bob amends the prefilled form and it is assessed afresh.');
  const vpn: RequestForm = {
    policy: 'NET-02',
    title: 'Build agents outside the CI network zone',
    scope: 'The whole CI fleet reaching the artifact store directly',
    justification: 'The new build agents cannot join the CI zone until the firewall migration lands next quarter, and releases cannot wait.',
    compensatingControls: 'Agents use short-lived credentials and every connection is logged and reviewed weekly.',
    owner: PEOPLE.bob,
    expiresOn: inDays(60),
  };
  await request(PEOPLE.bob, vpn);
  await assess('EXC-0004', 2, 3, 'Broad network reach from agents outside the zone; credentials are short-lived.');
  await click(card('EXC-0004', 'C0APPROVALS', true), ACTION_IDS.askForChanges, PEOPLE.ciso);
  const ask = standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  await driver.viewSubmission({
    userId: PEOPLE.ciso,
    callbackId: CALLBACK_IDS.changesRequested,
    viewId: ask.id,
    privateMetadata: ask.private_metadata,
    values: { [CHANGES_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'Scope: only the two new build agents (ci-agent-07, ci-agent-08), not the whole fleet.' } } },
  });
  await settle();
  const sentBack = standIn.dmsTo(PEOPLE.bob).findLast((m) => JSON.stringify(m.blocks).includes(ACTION_IDS.amendRequest))!;
  await click(sentBack, ACTION_IDS.amendRequest, PEOPLE.bob);
  const amend = standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  await driver.viewSubmission({
    userId: PEOPLE.bob,
    callbackId: CALLBACK_IDS.amendment,
    viewId: amend.id,
    privateMetadata: amend.private_metadata,
    values: requestValues({ ...vpn, scope: 'The two new build agents ci-agent-07 and ci-agent-08 reaching the artifact store' }),
  });
  await settle();
  await assess('EXC-0004', 2, 2, 'Two named agents, short-lived credentials, connections reviewed weekly.');
  await click(card('EXC-0004', 'C0APPROVALS', true), ACTION_IDS.approve, PEOPLE.ciso);

  say('Carol asks for a second exception, and nobody assesses it: the security team is nudged, then it is escalated, then nudged again; Carol is told each time it stalls.');
  await request(PEOPLE.carol, {
    policy: 'MFA-01',
    title: 'Shared kiosk login for the trade-show stand',
    scope: 'Two demo laptops at the trade-show stand, signed in to the CRM demo tenant',
    justification: 'The stand staff rotate every hour and the demo tenant holds no customer data; the show runs for three days.',
    compensatingControls: 'The demo tenant is separate from production, the laptops are wiped after the show, and the account expires with it.',
    owner: PEOPLE.carol,
    expiresOn: inDays(20),
  });
  await timePasses(4);
  await timePasses(4);
  await timePasses(4);

  say('The trade show is cancelled: Carol withdraws EXC-0005 from App Home, saying why. Its card loses Assess, the security team is told in its thread, and the nudges stop.');
  await pressOnHome(PEOPLE.carol, ACTION_IDS.withdrawRequest);
  const withdrawal = standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  const withdrawn = await driver.viewSubmission({
    userId: PEOPLE.carol,
    callbackId: CALLBACK_IDS.withdrawal,
    viewId: withdrawal.id,
    privateMetadata: withdrawal.private_metadata,
    values: { [WITHDRAWAL_REASON_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'The trade show was cancelled; the kiosk laptops stay in the store room.' } } },
  });
  printConfirmation(withdrawn.json);
  await settle();

  say('Sixteen days on, Alice gets one DM holding what needs her today: the reminder, with Renew, Close and View details.');
  await timePasses(4);

  say('Alice asks to renew, but the compensating control was last tested four months ago: refused.');
  await renew(PEOPLE.alice, { progress: 'Hardware keys arrived for one contractor; the second ships next week, then MFA is enforced for both.', percent: '50', testedDaysAgo: 120, expiresInDays: 30 });

  say('She has the control tested again and asks once more; Sam assesses the renewal and the CISO approves it.');
  await renew(PEOPLE.alice, {
    progress: 'Hardware keys arrived for one contractor; the second ships next week, then MFA is enforced for both.',
    percent: '50',
    testedDaysAgo: 2,
    expiresInDays: 20,
    evidence: 'https://tickets.example.com/SEC-2211',
  });
  await assess('EXC-0001', 2, 2, 'One contractor already on MFA; the remaining risk is one account for two more weeks.');
  const renewalCard = standIn.messages('C0APPROVALS').find((m) => JSON.stringify(m.blocks).includes('renewal 1 of EXC-0001') && JSON.stringify(m.blocks).includes('"text":"Decision needed'))!;
  await click(renewalCard, ACTION_IDS.approve, PEOPLE.ciso);

  say('The first contractor is on MFA now, so Alice asks to change the terms: the scope shrinks to one contractor, and the SOC reviews that login hourly. EXC-0001 stays active on its old terms until the change is assessed and approved.');
  await changeTerms(PEOPLE.alice, {
    scope: 'One contractor on the finance team, until the hardware key arrives',
    compensatingControls: 'Access only from a managed laptop on the VPN, sessions limited to 8 hours, logins reviewed hourly by the SOC.',
    reason: 'The first contractor has a hardware key and is on MFA; only the second one still needs the exception.',
  });
  await assess('EXC-0001', 2, 1, 'One account left, on a managed laptop, watched hourly.');
  const changeCard = standIn.messages('C0APPROVALS').findLast((m) => JSON.stringify(m.blocks).includes('change of terms of EXC-0001') && JSON.stringify(m.blocks).includes('"text":"Decision needed'))!;
  await click(changeCard, ACTION_IDS.approve, PEOPLE.ciso);

  say('Alice opens App Home: her own figures first, then EXC-0001 with its age, policy, risk, Renew, Close and View details.');
  await driver.event({ type: 'app_home_opened', user: PEOPLE.alice, channel: 'D0HOME', tab: 'home' });
  await settle();
  say('She presses View details: the whole record, with every reason and its history in plain words.');
  const home = standIn.callsTo('views.publish').findLast((c) => c.args.user_id === PEOPLE.alice)!;
  const homeView = home.response.view as { id: string; blocks: unknown[] };
  await driver.blockAction({ userId: PEOPLE.alice, actionId: ACTION_IDS.viewRecord, value: buttonValue(homeView.blocks, ACTION_IDS.viewRecord), view: { id: homeView.id } });
  await settle();
  say('Carol asks why EXC-0003 was refused: `/exception show 3` leads with the CISO’s reason.');
  await command(PEOPLE.carol, 'show 3');
  say('Sam lists the register: what waits first, then what expires soon, what needs attention, and what is active.');
  await command(PEOPLE.sam, 'list all');

  say('Monday 4 January, the first Monday of the quarter. The committee gets the quarterly review: EXC-0001 is open past its original expiry, marked for re-approval. Bob gets his control check-ins in one DM; EXC-0001 gets none, since it expires within CHECKIN_GRACE_DAYS (7) and Alice gets its expiry reminders instead.');
  await timePasses(18);
  const asked = (ref: number) => app.register.db.select().from(checkins).where(eq(checkins.exceptionId, ref)).all();
  console.log(`\n  Check-ins asked today: EXC-0002 ${asked(2).length}, EXC-0004 ${asked(4).length}, EXC-0001 ${asked(1).length} (it expires on ${inDays(2)}).`);

  say("Bob answers No for EXC-0004: the build agents' connection logs stopped reaching the SOC. The approvers get a needs-attention alert with Revoke.");
  const question = app.register.db.select().from(checkins).where(and(eq(checkins.exceptionId, 4))).get()!;
  const bobsDm = standIn.dmsTo(PEOPLE.bob).findLast((m) => JSON.stringify(m.blocks).includes(ACTION_IDS.checkinNo))!;
  await driver.blockAction({ userId: PEOPLE.bob, actionId: ACTION_IDS.checkinNo, value: String(question.id), message: { channel: bobsDm.channel, ts: bobsDm.ts, blocks: bobsDm.blocks } });
  await settle();

  say('The CISO revokes it from the alert: the alert and the cards lose their buttons, and Bob is told why.');
  const alert = standIn.messages('C0APPROVALS').findLast((m) => !m.threadTs && JSON.stringify(m.blocks).includes(ACTION_IDS.revoke))!;
  await click(alert, ACTION_IDS.revoke, PEOPLE.ciso);
  const revoking = standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string };
  const revoked = await driver.viewSubmission({
    userId: PEOPLE.ciso,
    callbackId: CALLBACK_IDS.close,
    viewId: revoking.id,
    privateMetadata: revoking.private_metadata,
    values: { [CLOSING_NOTE_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'Without the connection logs the agents run unwatched outside the CI zone; ask again once logging is back.' } } },
  });
  printConfirmation(revoked.json);
  await settle();

  say('Two days on, the renewed EXC-0001 reaches its new expiry date: it expires on its own, with one summary. Nobody has to click.');
  await timePasses(3);

  say('The register now holds:');
  const { listExceptions } = await import('../../src/services/list-exceptions');
  for (const row of listExceptions(app.register.db).reverse()) {
    console.log(`  ${row.ref}  ${row.status.padEnd(16)} ${row.policyKey.padEnd(8)} risk ${String(row.riskScore ?? '-').padEnd(3)} expires ${row.expiresOn ?? '-'}  ${row.title}`);
  }

  say("Monday morning: the steering committee's weekly post opens with its verdict and carries its charts, then names what waits and what expires soon.");
  const toMonday = (8 - now.getUTCDay()) % 7 || 7;
  now = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + toMonday, 9, 30));
  runJobs(app.services, now);
  await settle();
  for (const chart of standIn.uploads.filter((u) => u.filename.endsWith('.png'))) {
    const path = join(process.cwd(), 'demo-output', chart.filename);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, chart.bytes);
    console.log(`\n  A chart shown in the post itself; a copy is saved as ${path}`);
  }

  const refused = standIn.rejected();
  console.log(`\n${standIn.calls.length} Slack API calls, ${refused.length} refused by the stand-in's Block Kit and argument checks.`);
  if (refused.length > 0) process.exitCode = 1;
} finally {
  await app.stop();
  await standIn.close();
  rmSync(dir, { recursive: true, force: true });
}
