import { addCalendarDays, daysBetween, type CalendarDate } from './calendar';
import type { ExceptionStatus } from './exception';

/** ISO 8601 week of a day, e.g. 2026-W48: the weekly post is made once per such week. */
export function isoWeek(date: CalendarDate): string {
  const day = new Date(`${date}T00:00:00Z`);
  const weekday = (day.getUTCDay() + 6) % 7;
  const thursday = addCalendarDays(date, 3 - weekday);
  const year = Number(thursday.slice(0, 4));
  const week = Math.floor(daysBetween(`${year}-01-01`, thursday) / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

export function mondayOf(date: CalendarDate): CalendarDate {
  const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7;
  return addCalendarDays(date, -weekday);
}

export const AGE_BUCKETS = ['0–90', '91–180', '181–365', 'over 365'] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];

export function ageBucket(days: number): AgeBucket {
  if (days <= 90) return '0–90';
  if (days <= 180) return '91–180';
  if (days <= 365) return '181–365';
  return 'over 365';
}

/** A policy with this many active exceptions "is not a policy; it is a wish" (the seed's words), so it is flagged. */
export const MANY_EXCEPTIONS_PER_POLICY = 10;

/** One week's figures as its snapshot kept them; `ages` is missing from snapshots taken before it was kept. */
export interface WeekFigures {
  week: string;
  active: number;
  overOneEighty: number;
  ages?: Record<AgeBucket, number>;
}

/** A week on the chart's time axis: a week without a snapshot (no post was made) is a gap, not left out. */
export interface WeekPoint {
  week: string;
  monday: CalendarDate;
  active: number | null;
  ages: Record<AgeBucket, number> | null;
}

export interface MetricsInput {
  today: CalendarDate;
  /** Active exceptions: the day each was first approved, and its policy. */
  active: { approvedOn: CalendarDate; policyKey: string }[];
  policyCount: number;
  /** Everything waiting for an assessment or a decision, since when (an instant) and since which day in TZ. */
  waiting: { exceptionId: number; since: string; sinceDay: CalendarDate }[];
  /** Active exceptions whose expiry day is within the next 14 days. */
  expiring: { exceptionId: number; expiresOn: CalendarDate }[];
  renewalsThisQuarter: number;
  /** Exceptions the register has ended whose bypass an identity provider still holds. */
  stillApplied?: StillAppliedItem[];
  /** Earlier weekly snapshots, any order. */
  history: WeekFigures[];
}

/** "Expired in the register, still applied in Okta": the exception that quietly becomes permanent. */
export interface StillAppliedItem {
  exceptionId: number;
  status: ExceptionStatus;
  vendorLabel: string;
  groupName: string;
  people: number;
}

export const VERDICTS = ['better', 'worse', 'steady'] as const;
export type Verdict = (typeof VERDICTS)[number];

/**
 * Better, worse or steady, and against what: the same week last quarter when there is one, else last week. The
 * over-180-days group counts as much as the total, so that a steady total cannot hide exceptions becoming permanent.
 */
export interface VerdictFigures {
  direction: Verdict;
  comparedWith: 'last quarter' | 'last week';
  /** The week compared with, as its Monday. */
  since: CalendarDate;
  activeChange: number;
  overOneEightyChange: number;
}

export interface Metrics {
  week: string;
  /** The Monday the week begins: how people name a week. */
  monday: CalendarDate;
  today: CalendarDate;
  active: number;
  changeSinceLastWeek: number | null;
  changeSinceLastQuarter: number | null;
  /** The snapshot the quarter is compared with: the same week last quarter, or the nearest week next to it. */
  quarterAgo: (WeekFigures & { monday: CalendarDate }) | null;
  ages: Record<AgeBucket, number>;
  overOneEighty: number;
  overOneEightyGrew: boolean;
  perPolicy: number;
  topPolicies: { key: string; active: number; many: boolean }[];
  trend: 'up' | 'down' | 'flat' | 'not enough history';
  verdict: VerdictFigures | null;
  waiting: number;
  oldestWaitingSince: string | null;
  /** Oldest first, with whole days waited. */
  waitingItems: { exceptionId: number; since: string; days: number }[];
  expiringIn14Days: number;
  /** Soonest first. */
  expiringItems: { exceptionId: number; expiresOn: CalendarDate }[];
  renewalsThisQuarter: number;
  /** Ended in the register and still applied in an identity provider, by ID. */
  stillAppliedItems: StillAppliedItem[];
  /** Week by week from the same week last quarter (or the first snapshot, if later) to this week, gaps included. */
  series: WeekPoint[];
}

/** Flat within 5% (or one exception) either way: a mature programme holds steady; monotonically up is the warning. */
function tolerance(before: number): number {
  return Math.max(1, Math.round(before * 0.05));
}

/** How far back the weekly chart reaches: the same week last quarter, so that its reference point is on it. */
export const WEEKS_BACK = 13;

/**
 * One point per week from `fromMonday` to `toMonday`: the snapshot's figures where there is one, nulls where the
 * week had no post, and `current` (this week's figures, not yet a snapshot) for the last week when given.
 */
export function weeklySeries(history: readonly WeekFigures[], fromMonday: CalendarDate, toMonday: CalendarDate, current?: WeekFigures): WeekPoint[] {
  const byWeek = new Map(history.map((s) => [s.week, s]));
  if (current) byWeek.set(current.week, current);
  const points: WeekPoint[] = [];
  for (let monday = fromMonday; monday <= toMonday; monday = addCalendarDays(monday, 7)) {
    const week = isoWeek(monday);
    const figures = byWeek.get(week);
    points.push({ week, monday, active: figures?.active ?? null, ages: figures?.ages ?? null });
  }
  return points;
}

function verdictOf(active: number, overOneEighty: number, basis: (WeekFigures & { monday: CalendarDate }) | undefined, comparedWith: VerdictFigures['comparedWith']): VerdictFigures | null {
  if (!basis) return null;
  const activeChange = active - basis.active;
  const overOneEightyChange = overOneEighty - basis.overOneEighty;
  const margin = tolerance(basis.active);
  const direction: Verdict =
    activeChange > margin || overOneEightyChange > 0 ? 'worse' : activeChange < -margin || (activeChange <= margin && overOneEightyChange < 0) ? 'better' : 'steady';
  return { direction, comparedWith, since: basis.monday, activeChange, overOneEightyChange };
}

/** The four figures the steering committee reviews, and the three that show whether the process keeps up. */
export function computeMetrics(input: MetricsInput): Metrics {
  const week = isoWeek(input.today);
  const monday = mondayOf(input.today);
  const ages = Object.fromEntries(AGE_BUCKETS.map((bucket) => [bucket, 0])) as Record<AgeBucket, number>;
  for (const exception of input.active) ages[ageBucket(daysBetween(exception.approvedOn, input.today))]++;
  const overOneEighty = ages['181–365'] + ages['over 365'];
  const withMonday = (days: number) => {
    const found = input.history.find((s) => s.week === isoWeek(addCalendarDays(input.today, days)));
    return found && { ...found, monday: mondayOf(addCalendarDays(input.today, days)) };
  };
  const weekAgo = withMonday(-7);
  // The same week last quarter, or the nearest week next to it if that week's post was missed.
  const quarterAgo = [-91, -84, -98].map(withMonday).find(Boolean);
  const byPolicy = new Map<string, number>();
  for (const exception of input.active) byPolicy.set(exception.policyKey, (byPolicy.get(exception.policyKey) ?? 0) + 1);
  const change = quarterAgo ? input.active.length - quarterAgo.active : null;
  const margin = quarterAgo ? tolerance(quarterAgo.active) : 0;
  const earlier = input.history.filter((s) => s.week < week).map((s) => s.week).sort();
  const chartFrom = addCalendarDays(monday, -7 * WEEKS_BACK);
  const firstSnapshotMonday = earlier.length > 0 ? mondayOfIsoWeek(earlier[0]!) : monday;
  const waitingItems = [...input.waiting]
    .sort((a, b) => a.since.localeCompare(b.since) || a.exceptionId - b.exceptionId)
    .map(({ exceptionId, since, sinceDay }) => ({ exceptionId, since, days: Math.max(0, daysBetween(sinceDay, input.today)) }));
  return {
    week,
    monday,
    today: input.today,
    active: input.active.length,
    changeSinceLastWeek: weekAgo ? input.active.length - weekAgo.active : null,
    changeSinceLastQuarter: change,
    quarterAgo: quarterAgo ?? null,
    ages,
    overOneEighty,
    overOneEightyGrew: weekAgo !== undefined && overOneEighty > weekAgo.overOneEighty,
    perPolicy: input.policyCount > 0 ? Math.round((input.active.length / input.policyCount) * 100) / 100 : 0,
    topPolicies: [...byPolicy]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 5)
      .map(([key, active]) => ({ key, active, many: active >= MANY_EXCEPTIONS_PER_POLICY })),
    trend: change === null ? 'not enough history' : change > margin ? 'up' : change < -margin ? 'down' : 'flat',
    verdict: verdictOf(input.active.length, overOneEighty, quarterAgo, 'last quarter') ?? verdictOf(input.active.length, overOneEighty, weekAgo, 'last week'),
    waiting: input.waiting.length,
    oldestWaitingSince: waitingItems[0]?.since ?? null,
    waitingItems,
    expiringIn14Days: input.expiring.length,
    expiringItems: [...input.expiring].sort((a, b) => a.expiresOn.localeCompare(b.expiresOn) || a.exceptionId - b.exceptionId),
    renewalsThisQuarter: input.renewalsThisQuarter,
    stillAppliedItems: [...(input.stillApplied ?? [])].sort((a, b) => a.exceptionId - b.exceptionId),
    series: weeklySeries(input.history, chartFrom > firstSnapshotMonday ? chartFrom : firstSnapshotMonday, monday, { week, active: input.active.length, overOneEighty, ages }),
  };
}

/** The Monday of an ISO week such as 2026-W48. */
export function mondayOfIsoWeek(week: string): CalendarDate {
  const [year, number] = week.split('-W').map(Number) as [number, number];
  // 4 January is always in week 1.
  return addCalendarDays(mondayOf(`${year}-01-04`), (number - 1) * 7);
}

/**
 * Figures queued before the post named its exceptions and drew a time axis lack those fields: they go out with
 * what they have (counts, no names, no chart) rather than stall the committee channel's queue.
 */
export function completeMetrics(queued: Partial<Metrics> & Pick<Metrics, 'week' | 'active'>): Metrics {
  const monday = queued.monday ?? mondayOfIsoWeek(queued.week);
  return {
    changeSinceLastWeek: null,
    changeSinceLastQuarter: null,
    quarterAgo: null,
    ages: Object.fromEntries(AGE_BUCKETS.map((bucket) => [bucket, 0])) as Record<AgeBucket, number>,
    overOneEighty: 0,
    overOneEightyGrew: false,
    perPolicy: 0,
    topPolicies: [],
    trend: 'not enough history',
    verdict: null,
    waiting: 0,
    oldestWaitingSince: null,
    expiringIn14Days: 0,
    renewalsThisQuarter: 0,
    ...queued,
    monday,
    today: queued.today ?? monday,
    waitingItems: queued.waitingItems ?? [],
    expiringItems: queued.expiringItems ?? [],
    stillAppliedItems: queued.stillAppliedItems ?? [],
    series: queued.series?.every((p) => typeof p.monday === 'string') ? queued.series : [],
  };
}
