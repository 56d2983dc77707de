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
    expect(posts()[0]!.text).toBe('Exception register, week 2026-W49: 1 active');
    expect(first).toContain('0–90 days: *1*');
    // The second request has waited since 2026-11-25 10:00 UTC: its day is shown in each reader's own time zone.
    expect(first).toContain(`Waiting for assessment or a decision: *1* (oldest since <!date^${Date.parse('2026-11-25T10:00:00Z') / 1000}^{date_short}|2026-11-25 UTC>)`);
    expect(first).toContain('MFA-01: 1');

    at('2026-12-07T10:00:00Z'); // the next Monday: one more, compared with last week
    await h.runJobs();
    expect(posts()).toHaveLength(2);
    expect(posts()[1]!.text).toContain('week 2026-W50: 1 active (no change since last week)');
    expect(h.app.register.db.select().from(metricSnapshots).all().map((s) => s.week)).toEqual(['2026-W49', '2026-W50']);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('carries a chart: a PNG rendered in process and uploaded to the post', async () => {
    at('2026-11-30T09:05:00Z');
    await h.runJobs();
    expect(posts()).toHaveLength(1);
    expect(h.standIn.uploads).toHaveLength(1);
    const [upload] = h.standIn.uploads;
    expect(upload!.filename).toBe('exception-metrics-2026-W49.png');
    expect(upload!.channelId).toBe(CHANNELS.committee);
    const png = upload!.bytes;
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBeGreaterThan(600);
    expect(png.readUInt32BE(20)).toBeGreaterThan(200);
  });

  it('still posts the figures, once, when the chart cannot be uploaded', async () => {
    h.standIn.fail({ status: 500, methods: ['files.getUploadURLExternal'] });
    at('2026-11-30T09:05:00Z');
    await h.runJobs();
    h.clock.advance(60_000);
    await h.settle();
    expect(posts()).toHaveLength(1);
    expect(h.standIn.uploads).toEqual([]);
    expect(h.logs.some((line) => line.includes('the weekly chart could not be attached'))).toBe(true);
  });

  it('catches up later in the week when the app was down on Monday', async () => {
    at('2026-12-02T15:00:00Z'); // Wednesday of 2026-W49
    await h.runJobs();
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.text).toContain('2026-W49');
  });

  it('/exception metrics shows the same figures to the person asking', async () => {
    await submitRequest(h, { title: 'First gap' });
    const response = await h.driver.slashCommand({ userId: PEOPLE.bystander, text: 'metrics' });
    expect(response.json).toMatchObject({ response_type: 'ephemeral', text: 'Exception register, week 2026-W48: 0 active' });
    expect(JSON.stringify(response.json.blocks)).toContain('Waiting for assessment or a decision: *1*');
  });
});
