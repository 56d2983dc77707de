import { createHmac } from 'node:crypto';
import { count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, exceptions } from '../../src/db/schema';
import { REQUEST_TEXT_LIMITS } from '../../src/domain/request';
import { ACTION_IDS, CALLBACK_IDS, REQUEST_BLOCK_IDS } from '../../src/slack/ids';
import type { SlackCall } from '../support/slack-stand-in';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, clickButton, decisionCard, reject, requestValues, submitRequest, triageMessage, VALID_FORM, type RequestForm } from './flows';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const exceptionCount = () => h.app.register.db.select({ n: count() }).from(exceptions).get()!.n;
const auditCount = () => h.app.register.db.select({ n: count() }).from(auditEvents).get()!.n;

interface TextObject { type: 'mrkdwn' | 'plain_text'; text: string }

/** Every text object in a block tree (sections, fields, context elements, headers, buttons, inputs…). */
function textObjects(node: unknown, found: TextObject[] = []): TextObject[] {
  if (Array.isArray(node)) {
    for (const item of node) textObjects(item, found);
  } else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if ((record.type === 'mrkdwn' || record.type === 'plain_text') && typeof record.text === 'string') found.push(record as unknown as TextObject);
    for (const value of Object.values(record)) textObjects(value, found);
  }
  return found;
}

/** What Slack parses for markup in a message or view: the mrkdwn objects and the top-level `text` (mrkdwn by default). */
function markupTexts(call: SlackCall): string[] {
  const fromBlocks = (blocks: unknown) => textObjects(blocks).filter((t) => t.type === 'mrkdwn').map((t) => t.text);
  if (call.method === 'views.open' || call.method === 'views.update') return fromBlocks((call.args.view as { blocks?: unknown }).blocks);
  return [...(typeof call.args.text === 'string' ? [call.args.text] : []), ...fromBlocks(call.args.blocks)];
}

const renderingCalls = () => h.standIn.calls.filter((c) => ['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'views.open', 'views.update'].includes(c.method));

describe('user text is escaped for mrkdwn everywhere it is shown', () => {
  const ATTACK = '<!channel> & <@U0CISO> <https://evil.example|click>';
  const ESCAPED = '&lt;!channel&gt; &amp; &lt;@U0CISO&gt; &lt;https://evil.example|click&gt;';
  const hostile: RequestForm = {
    title: `Skip MFA ${ATTACK}`,
    scope: `Scope hr-app-01 ${ATTACK} only`,
    justification: `Justification: the vendor cannot do MFA before Q4 ${ATTACK} and we have a plan.`,
    compensatingControls: `Controls: VPN with device certificates ${ATTACK} reviewed weekly.`,
    affectedSystems: `hr-app-01 ${ATTACK}`,
    externalRef: `CHG-1234 ${ATTACK}`,
  };

  beforeEach(async () => {
    h = await startHarness();
  });

  /** Asserts no markup-parsed text carries the raw attack, and every piece of user text there is escaped. */
  function expectNoRawMarkup(calls: SlackCall[]) {
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      for (const text of markupTexts(call)) {
        expect(text, `${call.method} text`).not.toContain('<!channel>');
        expect(text, `${call.method} text`).not.toContain('<https://evil.example|click>');
        expect(text, `${call.method} text`).not.toContain('evil.example|click>');
        // A legitimate mention of the CISO (the approvers line) never shares a text object with user input.
        if (text.includes('evil.example')) expect(text, `${call.method} text`).not.toContain('<@U0CISO>');
      }
    }
  }

  it('renders the attack as text in the triage card, approval card, modals, DMs and every text fallback through to approval', async () => {
    await submitRequest(h, hostile);
    expect(exceptionCount()).toBe(1);
    await assess(h, 'EXC-0001', 2, 3);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.deputy);
    expect(h.app.register.db.select().from(exceptions).get()!.status).toBe('active');

    const calls = renderingCalls();
    expectNoRawMarkup(calls);

    // The stored messages (as they stand after every update) show the escaped form.
    const triage = textObjects(triageMessage(h, 'EXC-0001').blocks).filter((t) => t.type === 'mrkdwn').map((t) => t.text).join('\n');
    for (const field of ['scope', 'justification', 'compensatingControls', 'affectedSystems', 'externalRef'] as const) {
      expect(triage, field).toContain(hostile[field]!.replace(ATTACK, ESCAPED));
    }
    const approval = decisionCard(h, 'EXC-0001');
    expect(approval.text).toContain(`Skip MFA ${ESCAPED}`);
    expect(triageMessage(h, 'EXC-0001').text).toContain(`Skip MFA ${ESCAPED}`);

    // Each text fallback that names the title escapes it.
    const fallbacks = calls.filter((c) => c.method !== 'views.open' && typeof c.args.text === 'string' && String(c.args.text).includes('Skip MFA'));
    expect(fallbacks.length).toBeGreaterThanOrEqual(3);
    for (const call of fallbacks) expect(call.args.text).toContain(`Skip MFA ${ESCAPED}`);

    // DMs: the approval DM names the title, escaped.
    for (const person of [PEOPLE.requester, PEOPLE.owner]) {
      const approved = h.standIn.dmsTo(person).find((m) => m.text?.includes('approved'));
      expect(approved, `approval DM to ${person}`).toBeDefined();
      expect(JSON.stringify(approved!.blocks)).toContain(JSON.stringify(`Skip MFA ${ESCAPED}`).slice(1, -1));
    }

    // The assessment modal the security team saw.
    const modal = h.standIn.callsTo('views.open').find((c) => (c.args.view as { callback_id: string }).callback_id === CALLBACK_IDS.assessment)!;
    expect(markupTexts(modal).join('\n')).toContain(`Justification: the vendor cannot do MFA before Q4 ${ESCAPED}`);

    // What was stored is what was typed: escaping happens on the way out, not in the register.
    expect(h.app.register.db.select().from(exceptions).get()).toMatchObject({ title: hostile.title, justification: hostile.justification });
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('escapes the attack on the committee route and in the rejection, modal and DMs included', async () => {
    await submitRequest(h, hostile);
    await assess(h, 'EXC-0001', 5, 5);
    await clickButton(h, decisionCard(h, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
    await reject(h, decisionCard(h, 'EXC-0001', CHANNELS.committee), PEOPLE.committee2, `Rejected: ${ATTACK} is not a control.`);
    expect(h.app.register.db.select().from(exceptions).get()!.status).toBe('rejected');

    expectNoRawMarkup(renderingCalls());
    const card = decisionCard(h, 'EXC-0001', CHANNELS.committee);
    expect(JSON.stringify(card.blocks)).toContain(JSON.stringify(`Rejected: ${ESCAPED} is not a control.`).slice(1, -1));
    const rejectionModal = h.standIn.callsTo('views.open').find((c) => (c.args.view as { callback_id: string }).callback_id === CALLBACK_IDS.rejection)!;
    expect(markupTexts(rejectionModal).join('\n')).toContain(ESCAPED);
    for (const person of [PEOPLE.requester, PEOPLE.owner]) {
      const dm = h.standIn.dmsTo(person).find((m) => m.text?.includes('rejected'));
      expect(JSON.stringify(dm?.blocks)).toContain(JSON.stringify(`Rejected: ${ESCAPED} is not a control.`).slice(1, -1));
    }
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('posts text at every field limit, full of characters that grow when escaped, without any Slack rejection', async () => {
    const L = REQUEST_TEXT_LIMITS;
    // Exactly `length` characters, ending in one that trimming keeps.
    const fill = (unit: string, length: number) => `${unit.repeat(Math.ceil(length / unit.length)).slice(0, length - 1)}&`;
    const form: RequestForm = {
      title: fill('<&> ', L.title.max),
      scope: fill('<!channel> & ', L.scope.max),
      justification: fill('a & b < c > d ', L.justification.max),
      compensatingControls: fill('<&> ', L.compensatingControls.max),
      affectedSystems: fill('&', L.affectedSystems.max),
      externalRef: fill('<', L.externalRef.max),
      structural: true,
      structuralReason: fill('<@U0CISO> & ', L.structuralReason.max),
      expiresOn: '2027-11-20',
    };
    const { response } = await submitRequest(h, form);
    expect(response.text).toBe('');
    expect(exceptionCount()).toBe(1);
    const stored = h.app.register.db.select().from(exceptions).get()!;
    expect(stored.justification).toHaveLength(L.justification.max);

    await assess(h, 'EXC-0001', 3, 3);
    await clickButton(h, decisionCard(h, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee1);
    await clickButton(h, decisionCard(h, 'EXC-0001', CHANNELS.committee), ACTION_IDS.approve, PEOPLE.committee2);

    expect(h.app.register.db.select().from(exceptions).get()!).toMatchObject({ status: 'active', expiresOn: '2027-11-20' });
    expect(h.standIn.rejected()).toEqual([]);
    expect(h.standIn.dmsTo(PEOPLE.owner).filter((m) => m.text?.includes('approved'))).toHaveLength(1);
    expectNoRawMarkup(renderingCalls());
  });

  it('shortens plain text at the field limits on the cards, pointing to View details for the rest', async () => {
    const L = REQUEST_TEXT_LIMITS;
    const words = (length: number) => 'lorem ipsum dolor sit amet '.repeat(Math.ceil(length / 27)).slice(0, length - 1) + '.';
    const justification = words(L.justification.max);
    const compensatingControls = words(L.compensatingControls.max);
    await submitRequest(h, { title: 'T'.repeat(L.title.max), justification, compensatingControls });
    await assess(h, 'EXC-0001', 1, 1);
    expect(h.app.register.db.select().from(exceptions).get()).toMatchObject({ justification, compensatingControls });
    const texts = textObjects(decisionCard(h, 'EXC-0001').blocks).map((t) => t.text).join('\n');
    const triage = textObjects(triageMessage(h, 'EXC-0001').blocks).map((t) => t.text).join('\n');
    // The ask stays near the top of a busy channel; the register and "View details" keep the whole text.
    expect(triage).toContain(`*Business justification*\n${justification.slice(0, 250)}`);
    expect(triage).toContain(`*Compensating control*\n${compensatingControls.slice(0, 250)}`);
    expect(triage).not.toContain(justification.trim());
    expect(triage).toContain('*View details* shows the whole request');
    expect(JSON.stringify(triageMessage(h, 'EXC-0001').blocks)).toContain(`"action_id":"${ACTION_IDS.viewRecord}"`);
    expect(`${texts}\n${triage}`).toContain('T'.repeat(100));
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('keeps emoji and right-to-left text intact', async () => {
    const title = 'Backup server 🔐 שרת הגיבוי خادم 👩🏽‍💻';
    const justification = 'הספק לא תומך באימות דו-שלבי עד הרבעון הרביעי 🚧 والخطة هي الاستبدال قبل نهاية العام \u200Fبالتأكيد.';
    await submitRequest(h, { title, justification, scope: 'خادم النسخ الاحتياطي 🗄️ backup-01 only' });
    expect(h.app.register.db.select().from(exceptions).get()).toMatchObject({ title, justification });
    await assess(h, 'EXC-0001', 1, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);

    const triage = textObjects(triageMessage(h, 'EXC-0001').blocks).map((t) => t.text).join('\n');
    expect(triage).toContain(title);
    expect(triage).toContain(justification);
    expect(triage).toContain('خادم النسخ الاحتياطي 🗄️ backup-01 only');
    expect(triageMessage(h, 'EXC-0001').text).toContain(title);
    expect(decisionCard(h, 'EXC-0001').text).toContain(title);
    expect(JSON.stringify(h.standIn.dmsTo(PEOPLE.owner).at(-1)!.blocks)).toContain(title);
    expect(h.standIn.rejected()).toEqual([]);
  });
});

// Signatures are how Slack's HTTP requests prove where they came from; Socket Mode has none to check.
describe('request signing', () => {
  beforeEach(async () => {
    h = await startHarness({ socketMode: false });
  });

  /** A view_submission that would create an exception if the app accepted it. */
  function submissionBody(userId: string = PEOPLE.requester): string {
    const payload = {
      type: 'view_submission',
      team: { id: h.standIn.teamId, domain: 'stand-in' },
      user: { id: userId, username: 'requester', name: 'requester', team_id: h.standIn.teamId },
      api_app_id: h.standIn.appId,
      token: 'stand-in-verification-token',
      trigger_id: h.standIn.issueTriggerId({ userId }),
      view: {
        id: 'VSIGNED0001',
        team_id: h.standIn.teamId,
        type: 'modal',
        callback_id: CALLBACK_IDS.request,
        private_metadata: '{}',
        blocks: [],
        state: { values: requestValues(VALID_FORM) },
        hash: '1.stand-in',
        app_id: h.standIn.appId,
        bot_id: h.standIn.botId,
      },
      response_urls: [],
      is_enterprise_install: false,
    };
    return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  }

  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const now = () => Math.floor(Date.now() / 1000);

  it.each([
    ['a forged signature', (body: string) => ({ body, headers: { 'x-slack-request-timestamp': String(now()), 'x-slack-signature': `v0=${createHmac('sha256', 'not-the-secret').update(`v0:${now()}:${body}`).digest('hex')}` } })],
    ['a body tampered with after signing', (body: string) => ({ body: body.replace(PEOPLE.requester, PEOPLE.ciso), headers: h.driver.sign(body) })],
    ['no signature headers', (body: string) => ({ body, headers: {} })],
    ['a timestamp but no signature', (body: string) => ({ body, headers: { 'x-slack-request-timestamp': String(now()) } })],
    ['a signature but no timestamp', (body: string) => ({ body, headers: { 'x-slack-signature': h.driver.sign(body)['x-slack-signature'] } })],
    ['a correctly signed timestamp older than five minutes', (body: string) => ({ body, headers: h.driver.sign(body, now() - 5 * 60 - 30) })],
  ])('answers %s with 401 and changes nothing', async (_label, forge) => {
    await h.settle();
    const calls = h.standIn.calls.length;
    const audit = auditCount();
    const { body, headers } = forge(submissionBody());

    const response = await h.driver.raw(body, { ...FORM, ...headers });
    await h.settle();

    expect(response.status).toBe(401);
    expect(exceptionCount()).toBe(0);
    expect(auditCount()).toBe(audit);
    expect(h.standIn.calls.slice(calls)).toEqual([]);

    // The same body, correctly signed now, is accepted: the refusal was about the signature alone.
    const genuineBody = submissionBody();
    const genuine = await h.driver.raw(genuineBody, { ...FORM, ...h.driver.sign(genuineBody) });
    await h.settle();
    expect(genuine.status).toBe(200);
    expect(exceptionCount()).toBe(1);
  });

  it('answers a forged slash command with 401 and opens no modal', async () => {
    const calls = h.standIn.calls.length;
    const body = new URLSearchParams({ command: '/exception', text: 'request', user_id: PEOPLE.requester, team_id: h.standIn.teamId, trigger_id: h.standIn.issueTriggerId({ userId: PEOPLE.requester }) }).toString();
    const signed = h.driver.sign(body);
    const response = await h.driver.raw(body, { ...FORM, ...signed, 'x-slack-signature': signed['x-slack-signature'].replace(/.$/, (c) => (c === '0' ? '1' : '0')) });
    await h.settle();
    expect(response.status).toBe(401);
    expect(h.standIn.calls.slice(calls)).toEqual([]);
  });
});

describe('policy picker over a large catalogue', () => {
  const ENCRYPTION = new Set([7, 77, 142]);
  const csv = [
    'key,title,description',
    ...Array.from({ length: 150 }, (_, i) => {
      const n = i + 1;
      const key = `POL-${String(n).padStart(3, '0')}`;
      return `${key},${ENCRYPTION.has(n) ? `Encryption at rest for tier ${n}` : `Control objective ${n}`},Policy number ${n}`;
    }),
  ].join('\n');

  beforeEach(async () => {
    h = await startHarness({ policiesCsv: csv });
  });

  const suggest = async (value: string) => {
    const response = await h.driver.blockSuggestion({ userId: PEOPLE.requester, actionId: ACTION_IDS.policyPicker, blockId: REQUEST_BLOCK_IDS.policy, value });
    expect(response.status).toBe(200);
    return (response.json as { options: { text: { type: string; text: string }; value: string }[] }).options;
  };

  it('returns at most 100 options when nothing is typed, each within Slack limits', async () => {
    const options = await suggest('');
    expect(options).toHaveLength(100);
    expect(new Set(options.map((o) => o.value)).size).toBe(100);
    for (const option of options) {
      expect(option.text.type).toBe('plain_text');
      expect([...option.text.text].length).toBeLessThanOrEqual(75);
      expect(option.value.length).toBeLessThanOrEqual(150);
    }
  });

  it('filters by the typed text, on the key and on the title, case-insensitively', async () => {
    expect((await suggest('POL-14')).map((o) => o.value)).toEqual(Array.from({ length: 10 }, (_, i) => `POL-14${i}`));
    expect((await suggest('encryption')).map((o) => o.value)).toEqual(['POL-007', 'POL-077', 'POL-142']);
    expect((await suggest('pol-150')).map((o) => o.value)).toEqual(['POL-150']);
    expect(await suggest('no such policy')).toEqual([]);
  });

  it('treats SQL wildcards in the typed text literally', async () => {
    expect(await suggest('%')).toEqual([]);
    expect(await suggest('POL_1')).toEqual([]);
  });

  it('lets a request pick a policy beyond the first 100', async () => {
    const [option] = await suggest('POL-150');
    const { response } = await submitRequest(h, { policy: option!.value });
    expect(response.text).toBe('');
    expect(JSON.stringify(triageMessage(h, 'EXC-0001').blocks)).toContain('POL-150');
  });
});

describe('policy picker with per-policy limits', () => {
  beforeEach(async () => {
    h = await startHarness({ policiesCsv: `key,title,max_days\nNET-9,Network segmentation for every production zone and its jump hosts,30\nMFA-01,Multi-factor authentication,\n` });
  });

  it("shows a policy's own maximum in its option, within Slack's 75 characters", async () => {
    const response = await h.driver.blockSuggestion({ userId: PEOPLE.requester, actionId: ACTION_IDS.policyPicker, blockId: REQUEST_BLOCK_IDS.policy, value: '' });
    const options = (response.json as { options: { text: { text: string }; value: string }[] }).options;
    const net = options.find((o) => o.value === 'NET-9')!;
    expect(net.text.text).toMatch(/^NET-9 · Network segmentation.*\(max 30 d\)$/);
    expect([...net.text.text].length).toBeLessThanOrEqual(75);
    expect(options.find((o) => o.value === 'MFA-01')!.text.text).toBe('MFA-01 · Multi-factor authentication');
  });
});
