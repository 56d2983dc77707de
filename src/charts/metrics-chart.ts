import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { AGE_BUCKETS, type WeekFigures, type WeekPoint } from '../domain/metrics';

const require = createRequire(import.meta.url);
/** A font shipped with the project, so the chart's text renders the same on every machine, with or without fonts. */
const FONT_FILE = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
const FONT = 'DejaVu Sans';

/**
 * Slack shows an image block about 360 px high in the channel before anyone opens it: a 16:9 panel drawn at twice
 * its size keeps 15 px axis text readable at that size.
 */
const WIDTH = 600;
const HEIGHT = 260;
const SCALE = 2;
const AGE_COLOURS = ['#4c78a8', '#72b7b2', '#f58518', '#e45756'];
/**
 * Without a canvas Vega guesses text as 0.8 em a character, which reserves a third more room than DejaVu Sans takes and
 * leaves a blank band beside every long title; these are the font's own advance widths, near enough.
 */
function dejaVuWidth(item: { fontSize?: number }, text: unknown): number {
  const size = item.fontSize ?? 11;
  let em = 0;
  for (const char of String(text ?? '')) {
    if (" ijlt.,:;'|!()[]".includes(char)) em += 0.33;
    else if ('mwMW–—'.includes(char)) em += 0.95;
    else if (/[0-9]/.test(char)) em += 0.64;
    else if (/[A-Z]/.test(char)) em += 0.72;
    else em += 0.6;
  }
  return em * size;
}
// vega-scenegraph exports textMetrics for exactly this (vl-convert does the same); vega's typings leave it out.
(vega as unknown as { textMetrics: { width: typeof dejaVuWidth } }).textMetrics.width = dejaVuWidth;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** What the panels compare with: the same week last quarter, or for a quarterly review the quarter's first week. */
export interface ChartReference extends WeekFigures {
  monday: string;
  label: string;
}

export interface WeeklyCharts {
  active: Buffer;
  ages: Buffer;
}

function utc(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

function shortDay(day: string): string {
  return `${Number(day.slice(8, 10))} ${MONTHS[Number(day.slice(5, 7)) - 1]}`;
}

function config(): TopLevelSpec['config'] {
  return {
    font: FONT,
    view: { stroke: null },
    axis: { labelFontSize: 15, titleFontSize: 15, labelColor: '#333', titleColor: '#333', grid: true, gridColor: '#e6e6e6' },
    legend: { labelFontSize: 15, titleFontSize: 15, symbolSize: 160, orient: 'top', direction: 'horizontal', title: null },
    title: { fontSize: 21, subtitleFontSize: 15, subtitleColor: '#555', anchor: 'start', offset: 12 },
  };
}

/** A time axis with a tick on every Monday that has room for its label: weeks as dates, evenly spaced by time. */
function weekAxis(points: readonly WeekPoint[]) {
  const step = points.length > 8 ? 2 : 1;
  const values = points.filter((_, i) => (points.length - 1 - i) % step === 0).map((p) => utc(p.monday));
  const first = utc(points[0]!.monday);
  const last = utc(points.at(-1)!.monday);
  const halfWeek = 3.5 * 86_400_000;
  return {
    field: 'at',
    type: 'temporal' as const,
    title: null,
    scale: { type: 'utc' as const, domain: [first - halfWeek, last + halfWeek] },
    axis: { values, format: '%-d %b', labelAngle: 0, grid: false, labelOverlap: true as const },
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function changeWords(now: number, before: number, what: string): string {
  const change = now - before;
  if (change === 0) return `as many as ${what}`;
  return `${Math.abs(change)} ${change > 0 ? 'more' : 'fewer'} than ${what}`;
}

function spanWords(points: readonly WeekPoint[]): string {
  const posted = points.filter((p) => p.active !== null).length;
  const weeks = `${plural(points.length, 'week')} from Mon ${shortDay(points[0]!.monday)}`;
  return posted === points.length ? weeks : `${weeks}; a break in the line is a week with no post`;
}

/** What both panels share: the schema, the look and the size Slack's preview shows well. */
function frame() {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: config(), background: 'white', width: WIDTH, height: HEIGHT };
}

function activeSpec(points: readonly WeekPoint[], reference: ChartReference | null): TopLevelSpec {
  const latest = points.at(-1)!;
  const values = points.map((p) => ({ at: utc(p.monday), active: p.active }));
  const x = weekAxis(points);
  return {
    ...frame(),
    title: {
      text: `Active exceptions: ${latest.active ?? 0}`,
      // The subtitle is the legend: the dashed line is named where the reader looks first.
      subtitle: [reference ? `${changeWords(latest.active ?? 0, reference.active, reference.label)} (dashed line, ${reference.active})` : 'nothing to compare with yet', spanWords(points)],
    },
    layer: [
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 3, color: '#1f5fa8', point: { size: 70, filled: true, color: '#1f5fa8' }, invalid: 'break-paths-show-domains' },
        encoding: { x, y: { field: 'active', type: 'quantitative', title: null, scale: { zero: true }, axis: { tickMinStep: 1, format: 'd' } } },
      },
      ...(reference
        ? [{ data: { values: [{ active: reference.active }] }, mark: { type: 'rule', strokeWidth: 2, strokeDash: [6, 4], color: '#777' }, encoding: { y: { field: 'active', type: 'quantitative' } } }]
        : []),
      {
        data: { values: [{ at: utc(latest.monday), active: latest.active ?? 0 }] },
        // Below the point when the reference line runs just above it, so the two never overlap.
        mark: { type: 'text', dy: reference && (latest.active ?? 0) < reference.active ? 26 : -16, fontSize: 17, fontWeight: 'bold', color: '#1f5fa8' },
        encoding: { x, y: { field: 'active', type: 'quantitative' }, text: { field: 'active', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

function agesSpec(points: readonly WeekPoint[], reference: ChartReference | null): TopLevelSpec {
  const latest = points.at(-1)!;
  const older = (ages: Record<string, number> | null) => (ages ? (ages['181–365'] ?? 0) + (ages['over 365'] ?? 0) : 0);
  const values = points.flatMap((p) => (p.ages ? AGE_BUCKETS.map((bucket, order) => ({ at: utc(p.monday), bucket: `${bucket} days`, order, count: p.ages![bucket] })) : []));
  const barWidth = Math.max(6, Math.floor((WIDTH / points.length) * 0.6));
  return {
    ...frame(),
    title: {
      text: `Older than 180 days: ${older(latest.ages)}`,
      subtitle: [
        reference ? changeWords(older(latest.ages), reference.overOneEighty, reference.label) : 'nothing to compare with yet',
        `active exceptions by days since first approval, each week${points.some((p) => !p.ages) ? '; no bar: no post that week' : ''}`,
      ],
    },
    data: { values },
    mark: { type: 'bar', width: barWidth },
    encoding: {
      x: weekAxis(points),
      y: { field: 'count', type: 'quantitative', stack: 'zero', title: null, axis: { tickMinStep: 1, format: 'd' } },
      color: {
        field: 'bucket',
        type: 'nominal',
        sort: AGE_BUCKETS.map((b) => `${b} days`),
        scale: { domain: AGE_BUCKETS.map((b) => `${b} days`), range: AGE_COLOURS },
      },
      order: { field: 'order', type: 'quantitative' },
    },
  } as TopLevelSpec;
}

/** Vega-Lite to SVG in process, then SVG to PNG with resvg: no browser, no network, no system fonts. */
async function render(spec: TopLevelSpec): Promise<Buffer> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG(SCALE);
  view.finalize();
  const png = new Resvg(svg, { font: { fontFiles: [FONT_FILE], loadSystemFonts: false, defaultFontFamily: FONT }, background: 'white' }).render().asPng();
  return Buffer.from(png);
}

/**
 * Two panels, one message each: how many exceptions are active against the reference week, and whether they are
 * getting older. Each is its own image so that Slack previews both at a readable size.
 */
export async function renderWeeklyCharts(points: readonly WeekPoint[], reference: ChartReference | null): Promise<WeeklyCharts> {
  if (points.length === 0) throw new Error('a chart needs at least one week');
  const [active, ages] = await Promise.all([render(activeSpec(points, reference)), render(agesSpec(points, reference))]);
  return { active, ages };
}
