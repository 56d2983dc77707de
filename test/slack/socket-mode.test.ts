import { count } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { exceptions } from '../../src/db/schema';
import { REQUEST_BLOCK_IDS } from '../../src/slack/ids';
import { submitRequest, VALID_FORM } from '../e2e/flows';
import { HEALTHZ_DETAILS, PEOPLE, startHarness, type Harness } from '../e2e/harness';

// The whole end-to-end suite also runs over Socket Mode (the `socket-mode` test project); these are the behaviours
// only Socket Mode has: the connection itself, its refreshes and outages, and acks owed at shutdown.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const socket = () => h!.socketMode!;
const stored = () => h!.app.register.db.select({ n: count() }).from(exceptions).get()!.n;
const healthz = async () => (await (await fetch(`http://127.0.0.1:${h!.app.port}/healthz`, { headers: HEALTHZ_DETAILS })).json()) as { ok: boolean; socketMode?: { connected: boolean; since: string; connections: number; reconnects: number; lastError: { message: string } | null } };
const connectionOpens = () => h!.standIn.calls.filter((call) => call.method === 'apps.connections.open');

describe('Socket Mode: envelopes and acks', () => {
  it('takes a slash command as a slash_commands envelope and acks it with nothing, then opens the modal', async () => {
    h = await startHarness({ socketMode: true });
    const response = await h.driver.slashCommand({ userId: PEOPLE.requester, text: 'request' });
    expect(response.status).toBe(200);
    await h.settle();
    const [envelope] = socket().envelopes;
    expect(envelope).toMatchObject({ envelope: { type: 'slash_commands', accepts_response_payload: true, payload: { command: '/exception', text: 'request' } }, ack: {} });
    expect(envelope!.ackMs).toBeLessThan(3000);
    expect(h.standIn.callsTo('views.open')).toHaveLength(1);
    // The app-level token, and only it, opened the connection.
    expect(connectionOpens().map((call) => call.token)).toEqual([socket().appToken]);
  });

  it('returns field errors in the ack of a submission, and stores nothing', async () => {
    h = await startHarness({ socketMode: true });
    const { response } = await submitRequest(h, { compensatingControls: '' });
    expect(response.json).toMatchObject({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.compensatingControls]: expect.stringMatching(/compensating control/i) } });
    expect(socket().envelopes.at(-1)).toMatchObject({ envelope: { type: 'interactive', payload: { type: 'view_submission' } }, ack: { response_action: 'errors' } });
    expect(stored()).toBe(0);
  });

  it('acks an event once when Slack sends it again with retry_attempt, and acts on it once', async () => {
    h = await startHarness({ socketMode: true, env: { WATCH_CHANNELS: 'C0WAIVERS' } });
    const event = { type: 'message', channel: 'C0WAIVERS', user: PEOPLE.requester, text: 'can I get an exception to skip MFA on the HR app?', ts: '1764590000.000100' };
    await h.driver.event(event, { eventId: 'Ev0SAME' });
    await h.driver.event(event, { eventId: 'Ev0SAME', retryNum: 1 });
    await h.settle();
    const events = socket().envelopes.filter((e) => e.envelope.type === 'events_api');
    expect(events.map((e) => [e.envelope.retry_attempt, e.ack !== undefined])).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(h.standIn.callsTo('chat.postMessage').filter((call) => call.args.channel === 'C0WAIVERS')).toHaveLength(1);
  });

  it('logs no typed text, response_url or trigger_id at LOG_LEVEL=debug', async () => {
    h = await startHarness({ socketMode: true, env: { LOG_LEVEL: 'debug' } });
    const typed = 'Zebra-quartz-7731 compensating control text';
    const command = await h.driver.slashCommand({ userId: PEOPLE.requester, text: 'request' });
    await submitRequest(h, { compensatingControls: typed });
    await h.settle();
    expect(stored()).toBe(1);
    // The libraries' own debug lines are there (so the level took effect), without what they carried.
    expect(h.logs.some((line) => line.includes('Received a message on the WebSocket'))).toBe(true);
    expect(h.logs.some((line) => line.includes('http request body'))).toBe(true);
    // The trigger ID is the request's correlation ID (slackRequestId); nowhere else may it, or any payload, appear.
    const withoutRequestIds = h.logs.map((line) => line.replaceAll(`"slackRequestId":"${command.triggerId}"`, ''));
    const leaks = withoutRequestIds.filter((line) => line.includes('Zebra-quartz-7731') || line.includes(command.responseUrl) || line.includes(command.triggerId));
    expect(leaks.map((line) => line.slice(0, 300))).toEqual([]);
  });
});

describe('Socket Mode: Slack weather', () => {
  it('starts through HTTP 503s from apps.connections.open, reports them in /healthz, and connects when Slack recovers', async () => {
    h = await startHarness({ socketMode: true, beforeStart: (standIn) => standIn.fail({ status: 503, times: 4, methods: ['apps.connections.open'] }) });
    const during = await healthz();
    expect(during.socketMode).toMatchObject({ connected: false, lastError: { message: expect.stringContaining('503') } });
    await socket().waitForConnections(1);
    expect(connectionOpens().map((call) => call.httpStatus)).toEqual([503, 503, 503, 503, 200]);
    const after = await healthz();
    expect(after.socketMode).toMatchObject({ connected: true, connections: 1 });
    await submitRequest(h);
    expect(stored()).toBe(1);
  });

  it('waits as long as Slack says in Retry-After when apps.connections.open is rate limited', async () => {
    h = await startHarness({ socketMode: true, beforeStart: (standIn) => standIn.fail({ status: 429, times: 1, retryAfterSeconds: 1, methods: ['apps.connections.open'] }) });
    await socket().waitForConnections(1);
    const [limited, accepted] = connectionOpens();
    expect(limited!.httpStatus).toBe(429);
    expect(accepted!.at - limited!.at).toBeGreaterThanOrEqual(1000);
  });

  it('opens the replacement before letting a refreshed connection go, so nothing sent meanwhile is lost', async () => {
    h = await startHarness({ socketMode: true });
    await socket().waitForConnections(1);
    const [first] = socket().connectionIds();
    socket().requestRefresh(first, 'refresh_requested');
    const answers = [];
    // Commands keep coming while the connection is replaced: none may find nowhere to go.
    for (let i = 0; i < 20; i++) {
      answers.push(await socket().deliver('slash_commands', { command: '/exception', text: 'help', user_id: PEOPLE.requester, team_id: h.standIn.teamId, channel_id: 'C0GENERAL', trigger_id: h.standIn.issueTriggerId(), response_url: h.standIn.responseUrl() }));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await h.standIn.waitFor(() => socket().connectionIds().length === 1 && socket().connectionIds()[0] !== first);
    expect(answers.every((answer) => answer.acked)).toBe(true);
    expect(new Set(answers.map((answer) => answer.connection)).size).toBe(2);
    // The only moment without a connection is before the app first connected.
    expect(socket().gaps()).toHaveLength(1);
    expect((await healthz()).socketMode).toMatchObject({ connected: true, reconnects: 1 });
  });

  it('survives HTTP 503s at a refresh: the old connection serves until the new one is open', async () => {
    h = await startHarness({ socketMode: true });
    await socket().waitForConnections(1);
    h.standIn.fail({ status: 503, times: 3, methods: ['apps.connections.open'] });
    socket().requestRefresh(undefined, 'warning');
    await h.standIn.waitFor(() => connectionOpens().filter((call) => call.httpStatus === 200).length === 2);
    await h.standIn.waitFor(() => socket().openConnections() === 1);
    expect(connectionOpens().map((call) => call.httpStatus)).toEqual([200, 503, 503, 503, 200]);
    expect(socket().gaps()).toHaveLength(1);
    await submitRequest(h);
    expect(stored()).toBe(1);
  });

  it('reconnects after the network drops every connection, with the gap it leaves measured', async () => {
    h = await startHarness({ socketMode: true });
    await socket().waitForConnections(1);
    socket().dropAll();
    await h.standIn.waitFor(() => socket().gaps().length === 2);
    await socket().waitForConnections(1);
    const [, outage] = socket().gaps();
    // Backoff starts at 50 ms in tests (1 s in production), so the gap is one attempt's wait plus a handshake.
    expect(outage!.to! - outage!.from).toBeLessThan(2000);
    expect((await healthz()).socketMode).toMatchObject({ connected: true, reconnects: 1 });
    await submitRequest(h);
    expect(stored()).toBe(1);
  });
});

describe('Socket Mode: shutdown', () => {
  it('acks a submission that is in flight when the app stops, before closing the connection', async () => {
    h = await startHarness({ socketMode: true });
    const modal = await h.driver.slashCommand({ userId: PEOPLE.requester, text: 'request' });
    expect(modal.status).toBe(200);
    await h.standIn.waitFor(() => h!.standIn.callsTo('views.open').length === 1);
    const viewId = (h.standIn.callsTo('views.open')[0]!.response.view as { id: string }).id;
    // The owner check holds the ack for a while, as a slow Slack would.
    h.standIn.slowDown('users.info', 400);
    const { requestValues } = await import('../e2e/flows');
    const submission = h.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: 'exception_request', viewId, values: requestValues(VALID_FORM) });
    await h.standIn.waitFor(() => socket().envelopes.length === 2, 2000);
    const stopping = h.app.stop();
    const response = await submission;
    await stopping;
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
    await h.standIn.waitFor(() => socket().openConnections() === 0, 2000);
    const app = h;
    h = undefined;
    // The request the person was told about is in the register.
    const { openRegister } = await import('../../src/db/client');
    const register = openRegister(app.databasePath);
    expect(register.db.select({ n: count() }).from(exceptions).get()!.n).toBe(1);
    register.close();
    await app.socketMode!.close();
    await app.standIn.close();
  });
});
