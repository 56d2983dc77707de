import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { AGE_BUCKETS, type Metrics } from '../domain/metrics';

const require = createRequire(import.meta.url);
/** A font shipped with the project, so the chart's text renders the same on every machine, with or without fonts. */
const FONT_FILE = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
const FONT = 'DejaVu Sans';

function chartSpec(metrics: Metrics): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: { font: FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, title: { fontSize: 14 } },
    background: 'white',
    hconcat: [
      {
        title: 'Active exceptions, last 12 weeks',
        width: 420,
        height: 220,
        data: { values: metrics.series },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'week', type: 'ordinal', title: null, axis: { labelAngle: -45 } },
          y: { field: 'active', type: 'quantitative', title: 'active', axis: { tickMinStep: 1 } },
        },
      },
      {
        title: 'Age since first approval (days)',
        width: 260,
        height: 220,
        data: { values: AGE_BUCKETS.map((bucket) => ({ bucket, count: metrics.ages[bucket] })) },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'bucket', type: 'ordinal', sort: [...AGE_BUCKETS], title: null, axis: { labelAngle: 0 } },
          y: { field: 'count', type: 'quantitative', title: 'exceptions', axis: { tickMinStep: 1 } },
          color: { field: 'bucket', type: 'nominal', sort: [...AGE_BUCKETS], legend: null, scale: { range: ['#4c78a8', '#72b7b2', '#f58518', '#e45756'] } },
        },
      },
    ],
  };
}

/** Vega-Lite to SVG in process, then SVG to PNG with resvg: no browser, no network, no system fonts. */
export async function renderMetricsChart(metrics: Metrics): Promise<Buffer> {
  const view = new vega.View(vega.parse(compile(chartSpec(metrics)).spec), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  const png = new Resvg(svg, { font: { fontFiles: [FONT_FILE], loadSystemFonts: false, defaultFontFamily: FONT }, background: 'white' }).render().asPng();
  return Buffer.from(png);
}
