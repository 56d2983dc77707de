import { afterEach, describe, expect, it } from 'vitest';
import { CALLBACK_IDS } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { openRequestModal, requestValues, VALID_FORM } from './flows';

const WAIVERS = 'C0WAIVERS';
/** Slack's pace is about one message a second per channel; shorter here so the flood drains quickly. */
const SPACING_MS = 500;
let h: Harness;
afterEach(async () => {
  await h.close();
});

const pointersPosted = () => h.standIn.callsTo('chat.postMessage').filter((call) => call.args.channel === WAIVERS);
const cardPost = () => h.standIn.callsTo('chat.postMessage').find((call) => call.args.channel === CHANNELS.approvals);

describe('delivery is fair between channels (issue 10 §5)', () => {
  it('fifteen "waiver" messages in a watched channel delay a triage card in the approvals channel by less than one spacing', async () => {
    h = await startHarness({ env: { WATCH_CHANNELS: WAIVERS }, channelSpacingMs: SPACING_MS });
    const viewId = await openRequestModal(h);
    for (let i = 0; i < 15; i++) {
      const response = await h.driver.event({ type: 'message', channel: WAIVERS, user: `U0FLOOD${String(i).padStart(2, '0')}`, text: `can I get a waiver for the kiosk ${i}?`, ts: `1764590000.0001${String(i).padStart(2, '0')}` });
      expect(response.status).toBe(200);
    }
    // The flood is queued and its channel is cooling down: one pointer has gone, the rest wait their turn.
    await h.standIn.waitFor(() => pointersPosted().length >= 1);
    const queued = h.app.register.sqlite.prepare("select count(*) as n from outbox where kind = 'informal_pointer' and state = 'pending'").get() as { n: number };
    expect(queued.n).toBeGreaterThan(0);

    const submitted = await h.driver.viewSubmission({ userId: PEOPLE.requester, callbackId: CALLBACK_IDS.request, viewId, values: requestValues(VALID_FORM) });
    const ackedAt = Date.now();
    expect(submitted.status).toBe(200);
    await h.standIn.waitFor(() => cardPost() !== undefined, 10_000);
    expect(cardPost()!.at - ackedAt).toBeLessThan(SPACING_MS);
    // The card went out while the flood was still draining: the watched channel alone waited.
    expect(pointersPosted().length).toBeLessThan(queued.n + 1);

    await h.settle();
    const times = pointersPosted().map((call) => call.at);
    // Still one spacing apart, give or take the jitter between the app sending a call and the stand-in receiving it.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(SPACING_MS - 50);
    expect(h.standIn.rejected()).toEqual([]);
  }, 30_000);
});
