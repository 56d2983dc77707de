import { afterEach, describe, expect, it } from 'vitest';
import { CHANNELS, startHarness, type Harness } from '../e2e/harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const posts = (harness: Harness) => harness.standIn.messages(CHANNELS.committee).filter((m) => (m.text ?? '').startsWith('Exception register, week'));

describe('METRICS_CRON as written', () => {
  it('with a list of hours, the weekly post is due from the first of them on Monday, and goes out once', async () => {
    h = await startHarness({ env: { METRICS_CRON: '0 17,8 * * 1' } });
    h.clock.now = new Date('2026-11-30T07:59:00Z'); // Monday, before 08:00
    await h.runJobs();
    expect(posts(h)).toEqual([]);
    h.clock.now = new Date('2026-11-30T08:00:00Z');
    await h.runJobs();
    h.clock.now = new Date('2026-11-30T17:00:00Z');
    await h.runJobs();
    expect(posts(h).map((post) => post.text)).toEqual([expect.stringMatching(/^Exception register, week 2026-W49 \(from Mon 30 Nov\): First report: 0 active exceptions/)]);
  });
});
