import { afterEach, describe, expect, it } from 'vitest';
import { LogLevel } from '@slack/bolt';
import { ACTION_IDS } from '../../src/slack/ids';
import { assess, clickButton, decisionCard, submitRequest } from './flows';
import { PEOPLE, SIGNING_SECRET, startHarness, type Harness } from './harness';

// Issue 9 §2: at LOG_LEVEL=debug the Slack libraries log every payload they send and receive: the request body
// with what people typed, the cards and DMs built from it, Socket Mode's envelopes. The app, run for real at debug
// level, keeps those lines and drops what they carried.

let h: Harness;
afterEach(async () => {
  await h.close();
});

const TYPED = {
  title: 'Quokka-title-1b7e legacy payroll box',
  scope: 'Quokka-scope-9c2d the forty users of hr-app-01',
  justification: 'Quokka-justification-5f0a the close runs on a system without MFA until Q4.',
  compensatingControls: 'Quokka-controls-3e8b VPN only, device certificates, logins reviewed weekly.',
  command: 'Quokka-command-7a61',
};

describe('LOG_LEVEL=debug', () => {
  it('logs what the Slack libraries do, and nothing anyone typed, nor a token', async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'debug' } });
    expect(h.app.app.logger.getLevel()).toBe(LogLevel.DEBUG);
    await h.driver.slashCommand({ userId: PEOPLE.requester, text: `list ${TYPED.command}` });
    await submitRequest(h, { title: TYPED.title, scope: TYPED.scope, justification: TYPED.justification, compensatingControls: TYPED.compensatingControls });
    await h.settle();
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    await h.settle();

    // The typed text did travel: Slack was sent it in the cards and messages the app posted.
    const sent = JSON.stringify(h.standIn.calls.map((c) => c.args));
    expect(sent).toContain(TYPED.title);
    expect(sent).toContain(TYPED.justification);

    const entries = h.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const messages = new Set(entries.map((e) => e.message));
    // Debug lines were written, with their payloads dropped.
    for (const line of ['http request body: [omitted]', 'http request headers: [omitted]', 'http request result: [omitted]']) expect(messages).toContain(line);
    if (h.socketMode) {
      expect(messages).toContain('Received a message on the WebSocket: [omitted]');
      expect([...messages].some((m) => typeof m === 'string' && /^Calling ack\(\) - type: \w+, envelope_id: [^,]+, data: \[omitted\]$/.test(m))).toBe(true);
      expect(messages).toContain('Sending a WebSocket message: [omitted]');
    }
    expect(entries.filter((e) => e.message === 'slack request handled').length).toBeGreaterThanOrEqual(4);

    const everything = h.logs.join('\n');
    for (const [field, text] of Object.entries(TYPED)) expect(everything, `the ${field} typed`).not.toContain(text.slice(0, 20));
    expect(everything).not.toContain(h.standIn.botToken);
    if (h.socketMode) expect(everything).not.toContain(h.socketMode.appToken);
    expect(everything).not.toContain(SIGNING_SECRET);
  });
});

describe('lines a listener logs carry its request', () => {
  it('an unexpected error opening the request modal names the request and the person', async () => {
    h = await startHarness();
    h.standIn.fail({ status: 500, methods: ['views.open'] });
    const command = await h.driver.slashCommand({ userId: PEOPLE.requester, text: 'request' });
    await h.settle();
    const entries = h.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const failure = entries.find((e) => e.message === 'unexpected error while handling a Slack request');
    expect(failure).toMatchObject({ level: 'error', slackRequestId: command.triggerId, user: PEOPLE.requester, command: '/exception' });
    const handled = entries.find((e) => e.message === 'slack request handled' && e.slackRequestId === command.triggerId);
    expect(handled).toMatchObject({ user: PEOPLE.requester, kind: 'command', subCommand: 'request' });
  });
});
