import { describe, expect, it } from 'vitest';
import { renderWeeklyCharts } from '../../src/charts/metrics-chart';
import { weeklySeries } from '../../src/domain/metrics';

const ages = { '0–90': 3, '91–180': 2, '181–365': 1, 'over 365': 1 };
const size = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

describe('the weekly chart panels', () => {
  it('draws each panel as its own PNG, about 16:9 at twice its size, with a missing week and a reference line', async () => {
    const history = ['2026-W36', '2026-W37', '2026-W39', '2026-W49'].map((week) => ({ week, active: 7, overOneEighty: 2, ages }));
    const points = weeklySeries(history, '2026-08-31', '2026-11-30');
    const charts = await renderWeeklyCharts(points, { ...history[0]!, monday: '2026-08-31', label: 'the same week last quarter' });
    for (const png of [charts.active, charts.ages]) {
      expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
      const { width, height } = size(png);
      // Wide enough for Slack's preview to keep axis text readable, and not so wide that a blank band is left beside it.
      expect(width).toBeGreaterThanOrEqual(1200);
      expect(width).toBeLessThanOrEqual(1400);
      expect(width / height).toBeGreaterThan(1.5);
    }
  });

  it('draws a first week alone, and refuses an empty series', async () => {
    const charts = await renderWeeklyCharts(weeklySeries([{ week: '2026-W49', active: 0, overOneEighty: 0, ages }], '2026-11-30', '2026-11-30'), null);
    expect(size(charts.active).width).toBeGreaterThan(1000);
    await expect(renderWeeklyCharts([], null)).rejects.toThrow('a chart needs at least one week');
  });
});
