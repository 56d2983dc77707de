import { addCalendarDays, daysBetween, type CalendarDate } from './calendar';

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

export interface MetricsInput {
  today: CalendarDate;
  /** Active exceptions: the day each was first approved, and its policy. */
  active: { approvedOn: CalendarDate; policyKey: string }[];
  policyCount: number;
  waitingSince: string[];
  expiringIn14Days: number;
  renewalsThisQuarter: number;
  /** Earlier weekly snapshots, any order. */
  history: { week: string; active: number; overOneEighty: number }[];
}

export interface Metrics {
  week: string;
  active: number;
  changeSinceLastWeek: number | null;
  changeSinceLastQuarter: number | null;
  ages: Record<AgeBucket, number>;
  overOneEighty: number;
  overOneEightyGrew: boolean;
  perPolicy: number;
  topPolicies: { key: string; active: number; many: boolean }[];
  trend: 'up' | 'down' | 'flat' | 'not enough history';
  waiting: number;
  oldestWaitingSince: string | null;
  expiringIn14Days: number;
  renewalsThisQuarter: number;
  /** Active exceptions week by week, the last 12 weeks up to this one, for the chart. */
  series: { week: string; active: number }[];
}

/** The four figures the steering committee reviews, and the three that show whether the process keeps up. */
export function computeMetrics(input: MetricsInput): Metrics {
  const week = isoWeek(input.today);
  const ages = Object.fromEntries(AGE_BUCKETS.map((bucket) => [bucket, 0])) as Record<AgeBucket, number>;
  for (const exception of input.active) ages[ageBucket(daysBetween(exception.approvedOn, input.today))]++;
  const overOneEighty = ages['181–365'] + ages['over 365'];
  const weekAgo = input.history.find((s) => s.week === isoWeek(addCalendarDays(input.today, -7)));
  // The same week last quarter, or the nearest week next to it if that week's post was missed.
  const quarterAgo = [-91, -84, -98].map((days) => input.history.find((s) => s.week === isoWeek(addCalendarDays(input.today, days)))).find(Boolean);
  const byPolicy = new Map<string, number>();
  for (const exception of input.active) byPolicy.set(exception.policyKey, (byPolicy.get(exception.policyKey) ?? 0) + 1);
  const change = quarterAgo ? input.active.length - quarterAgo.active : null;
  // Flat within 5% (or one exception) either way: a mature programme holds steady; monotonically up is the warning.
  const tolerance = quarterAgo ? Math.max(1, Math.round(quarterAgo.active * 0.05)) : 0;
  return {
    week,
    active: input.active.length,
    changeSinceLastWeek: weekAgo ? input.active.length - weekAgo.active : null,
    changeSinceLastQuarter: change,
    ages,
    overOneEighty,
    overOneEightyGrew: weekAgo !== undefined && overOneEighty > weekAgo.overOneEighty,
    perPolicy: input.policyCount > 0 ? Math.round((input.active.length / input.policyCount) * 100) / 100 : 0,
    topPolicies: [...byPolicy]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 5)
      .map(([key, active]) => ({ key, active, many: active >= MANY_EXCEPTIONS_PER_POLICY })),
    trend: change === null ? 'not enough history' : change > tolerance ? 'up' : change < -tolerance ? 'down' : 'flat',
    waiting: input.waitingSince.length,
    oldestWaitingSince: input.waitingSince.length > 0 ? [...input.waitingSince].sort()[0]! : null,
    expiringIn14Days: input.expiringIn14Days,
    renewalsThisQuarter: input.renewalsThisQuarter,
    series: [
      ...input.history
        .filter((s) => s.week < week)
        .sort((a, b) => a.week.localeCompare(b.week))
        .slice(-11)
        .map((s) => ({ week: s.week, active: s.active })),
      { week, active: input.active.length },
    ],
  };
}
