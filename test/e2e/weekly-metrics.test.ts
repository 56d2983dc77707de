import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metricSnapshots } from '../../src/db/schema';
import { ACTION_IDS } from '../../src/slack/ids';
import { CHANNELS, PEOPLE, startHarness, type Harness } from './harness';
import { assess, clickButton, decisionCard, submitRequest } from './flows';

let h: Harness;
beforeEach(async () => {
  h = await startHarness(); // Wednesday 2026-11-25
});
afterEach(async () => {
  await h.close();
});

const at = (iso: string) => {
  h.clock.now = new Date(iso);
};
const posts = () => h.standIn.messages(CHANNELS.committee).filter((m) => (m.text ?? '').startsWith('Exception register, week'));

describe('the weekly metrics post', () => {
  it('goes out once per ISO week from Monday 09:00 in TZ, also across restarts, with the figures of the register', async () => {
    await submitRequest(h, { title: 'First gap' });
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    await submitRequest(h, { title: 'Second gap' });

    at('2026-11-30T08:30:00Z'); // Monday, before 09:00
    await h.runJobs();
    expect(posts()).toEqual([]);
    at('2026-11-30T09:05:00Z');
    await h.runJobs();
    await h.runJobs();
    await h.restart();
    await h.runJobs();
    expect(posts()).toHaveLength(1);
    const first = JSON.stringify(posts()[0]!.blocks);
    expect(posts()[0]!.text).toBe("Exception register, week 2026-W49 (from Mon 30 Nov): First report: 1 active exception, 0 older than 180 days. Next week's post compares with this one.");
    expect(first).toContain('0–90 days: *1*');
    // The second request is named, with how long it has waited since 2026-11-25 10:00 UTC (that day in each reader's own zone).
    expect(first).toContain('*Waiting for assessment or a decision*, oldest first: *1*');
    expect(first).toContain(`*EXC-0002* Second gap (MFA-01)\\nwaiting 5 days (since <!date^${Date.parse('2026-11-25T10:00:00Z') / 1000}^{date_short}|2026-11-25 UTC>)`);
    expect(posts()[0]!.blocks).toContainEqual(expect.objectContaining({ accessory: expect.objectContaining({ action_id: ACTION_IDS.viewRecord, value: '2' }) }));
    expect(first).toContain('MFA-01: 1');

    at('2026-12-07T10:00:00Z'); // the next Monday: one more, compared with last week
    await h.runJobs();
    expect(posts()).toHaveLength(2);
    expect(posts()[1]!.text).toContain('week 2026-W50 (from Mon 7 Dec): Steady since last week (Mon 30 Nov): 1 active exception (no change), 0 older than 180 days (no change).');
    expect(h.app.register.db.select().from(metricSnapshots).all().map((s) => s.week)).toEqual(['2026-W49', '2026-W50']);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('carries its two chart panels in the channel post itself: PNGs uploaded unshared, shown by image blocks', async () => {
    at('2026-11-30T09:05:00Z');
    await h.runJobs();
    expect(posts()).toHaveLength(1);
    expect(h.standIn.uploads.map((u) => [u.filename, u.channelId])).toEqual([
      ['exception-metrics-2026-W49-active.png', undefined],
      ['exception-metrics-2026-W49-ages.png', undefined],
    ]);
    for (const { bytes: png } of h.standIn.uploads) {
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(png.readUInt32BE(16)).toBeGreaterThan(1000); // drawn at twice its size, for Slack's preview
      expect(png.readUInt32BE(20)).toBeGreaterThan(500);
    }
    const images = (posts()[0]!.blocks as { type: string; slack_file?: { id: string }; title?: { text: string } }[]).filter((b) => b.type === 'image');
    expect(images.map((b) => b.slack_file?.id)).toEqual(h.standIn.uploads.map((u) => u.id));
    expect(images.map((b) => b.title?.text)).toEqual(['Active exceptions each week, 1 week from Mon 30 Nov', 'Age since first approval each week, 1 week from Mon 30 Nov']);
    // Nothing in a thread: the post is the whole report.
    expect(h.standIn.messages(CHANNELS.committee).filter((m) => m.threadTs)).toEqual([]);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('puts weeks on a real time axis from the same week last quarter, a missing week as a gap, and says better or worse and why', async () => {
    await submitRequest(h, { title: 'First gap' });
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    const snapshot = (week: string) => ({ week, active: 3, overOneEighty: 0, figures: JSON.stringify({ ages: { '0–90': 3, '91–180': 0, '181–365': 0, 'over 365': 0 } }), takenAt: '2026-09-01T09:00:00.000Z' });
    // 2026-W36 (Mon 31 Aug) is the same week last quarter; 2026-W45 had no post.
    const weeks = ['2026-W36', '2026-W37', '2026-W38', '2026-W39', '2026-W40', '2026-W41', '2026-W42', '2026-W43', '2026-W44', '2026-W46', '2026-W47', '2026-W48'];
    h.app.register.db.insert(metricSnapshots).values(weeks.map(snapshot)).run();

    at('2026-11-30T09:05:00Z');
    await h.runJobs();
    const [post] = posts();
    expect(post!.text).toContain('Better than the same week last quarter (Mon 31 Aug): 1 active exception (2 fewer), 0 older than 180 days (no change).');
    const images = (post!.blocks as { type: string; title?: { text: string }; alt_text?: string }[]).filter((b) => b.type === 'image');
    expect(images[0]!.title!.text).toBe('Active exceptions each week, 14 weeks from Mon 31 Aug');
    expect(images[0]!.alt_text).toContain('Mon 26 Oct 3, Mon 2 Nov no post, Mon 9 Nov 3');
    expect(JSON.stringify(post!.blocks)).toContain('since Mon 31 Aug, the same week last quarter: −2');
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('names the exceptions expiring within 14 days, soonest first, with their owners', async () => {
    await submitRequest(h, { title: 'Later gap', expiresOn: '2026-12-12' });
    await assess(h, 'EXC-0001', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
    await submitRequest(h, { title: 'Sooner gap', expiresOn: '2026-12-09' });
    await assess(h, 'EXC-0002', 2, 2);
    await clickButton(h, decisionCard(h, 'EXC-0002'), ACTION_IDS.approve, PEOPLE.ciso);
    at('2026-11-30T09:05:00Z');
    await h.runJobs();
    const shown = JSON.stringify(posts()[0]!.blocks);
    expect(shown).toContain('*Expiring within 14 days*, soonest first: *2*');
    expect(shown.indexOf('Sooner gap')).toBeLessThan(shown.indexOf('Later gap'));
    expect(shown).toContain(`expires Wed 9 Dec (in 9 days) · owner <@${PEOPLE.owner}>`);
  });

  it('still posts the figures, once, when the chart cannot be uploaded', async () => {
    h.standIn.fail({ status: 500, methods: ['files.getUploadURLExternal'] });
    at('2026-11-30T09:05:00Z');
    await h.runJobs();
    h.clock.advance(60_000);
    await h.settle();
    expect(posts()).toHaveLength(1);
    expect(h.standIn.uploads).toEqual([]);
    expect((posts()[0]!.blocks as { type: string }[]).filter((b) => b.type === 'image')).toEqual([]);
    expect(h.logs.some((line) => line.includes('the chart could not be attached; the figures were posted without it'))).toBe(true);
  });

  it('waits once for Slack to finish processing the chart files, then posts with them', async () => {
    h.standIn.processFilesFor(1000);
    at('2026-11-30T09:05:00Z');
    await h.runJobs();
    await h.standIn.waitFor(() => posts().length === 1, 10_000);
    expect((posts()[0]!.blocks as { type: string }[]).filter((b) => b.type === 'image')).toHaveLength(2);
    expect(h.standIn.rejected().map((c) => [c.method, c.response.error])).toEqual([['chat.postMessage', 'invalid_blocks']]);
  });

  it('posts the figures without the chart when Slack keeps refusing the chart files', async () => {
    h.standIn.processFilesFor(60_000);
    at('2026-11-30T09:05:00Z');
    await h.runJobs();
    await h.standIn.waitFor(() => posts().length === 1, 15_000);
    expect(posts()).toHaveLength(1);
    expect((posts()[0]!.blocks as { type: string }[]).filter((b) => b.type === 'image')).toEqual([]);
    expect(h.logs.some((line) => line.includes('Slack refused the chart; the figures were posted without it'))).toBe(true);
  }, 20_000);

  it('catches up later in the week when the app was down on Monday', async () => {
    at('2026-12-02T15:00:00Z'); // Wednesday of 2026-W49
    await h.runJobs();
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.text).toContain('2026-W49');
  });

  it('/exception metrics shows the same figures to the person asking', async () => {
    await submitRequest(h, { title: 'First gap' });
    const response = await h.driver.slashCommand({ userId: PEOPLE.bystander, text: 'metrics' });
    expect(response.json).toMatchObject({ response_type: 'ephemeral' });
    expect(response.json.text).toMatch(/^Exception register, week 2026-W48 \(from Mon 23 Nov\): First report: 0 active exceptions/);
    expect(JSON.stringify(response.json.blocks)).toContain('*Waiting for assessment or a decision*, oldest first: *1*');
  });
});
