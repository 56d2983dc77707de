import { eq } from 'drizzle-orm';
import { policies } from '../db/schema';
import { addCalendarDays, calendarDateIn, type CalendarDate } from '../domain/calendar';
import { durationCeiling } from '../domain/request';
import type { ServiceContext } from './context';

/** What the request form says while it is filled in: the chosen policy in its own words, and the longest expiry allowed. */
export interface RequestLimits {
  policy?: { key: string; title: string; description: string; maxDays: number | null };
  structural: boolean;
  days: number;
  because: string;
  /** The last expiry day the limit allows, counted from today. */
  lastDay: CalendarDate;
  today: CalendarDate;
}

/** The same ceiling the submission is checked against: the policy's own limit or MAX_EXCEPTION_DAYS, or STRUCTURAL_MAX_DAYS. */
export function requestLimits(ctx: ServiceContext, choice: { policyKey?: string; structural: boolean }): RequestLimits {
  const policy = choice.policyKey
    ? ctx.db.select({ key: policies.key, title: policies.title, description: policies.description, maxDays: policies.maxDays }).from(policies).where(eq(policies.key, choice.policyKey)).get()
    : undefined;
  const ceiling = durationCeiling(choice.structural, ctx.rules, policy);
  const today = calendarDateIn(ctx.clock(), ctx.timeZone);
  return { ...(policy ? { policy } : {}), structural: choice.structural, days: ceiling.days, because: ceiling.because, lastDay: addCalendarDays(today, ceiling.days), today };
}
