import { and, asc, eq, gte, inArray, isNull, lt, lte, ne, or, sql } from 'drizzle-orm';
import { integrationStatus, type BypassStatus } from '../db/integrations';
import { exceptionBindings, exceptions } from '../db/schema';
import { decidersFor, maySeeEverything } from '../domain/authority';
import { addCalendarDays, calendarDateIn, daysBetween } from '../domain/calendar';
import { firstDayOfQuarter } from '../domain/follow-ups';
import { mayWithdraw } from '../domain/withdrawal';
import type { ServiceContext } from './context';
import { listWaiting, loadExceptionRecord, type ExceptionRecord, type WaitingItem } from './exception-record';
import { listExceptions, type ExceptionSummary } from './list-exceptions';

/** What App Home shows at most of each list; the rest is one command away. */
export const HOME_LIST_LIMIT = 15;

export interface WaitingOnMe {
  record: ExceptionRecord;
  /** A review: open past its original expiry and not re-approved or closed since the quarter began. */
  stage: 'assessment' | 'decision' | 'review';
}

export interface Figures {
  active: number;
  waitingForDecision: number;
  expiringIn14Days: number;
}

export interface MyException extends ExceptionSummary {
  daysLeft: number | null;
  /** What a renewal of it waits for, if one is open. */
  renewing: 'assessment' | 'decision' | null;
  /** Whether what is open is a change of its terms rather than a renewal. */
  changingTerms: boolean;
  /** The bypass group it carries, when it names one, and whether the identity provider has caught up. */
  bypass: BypassStatus | null;
  /** Their own request, not yet decided: they may withdraw it. */
  mayWithdraw: boolean;
}

export interface HomeOverview {
  today: string;
  mine: MyException[];
  moreMine: boolean;
  waiting: WaitingOnMe[];
  moreWaiting: boolean;
  /** The person's own exceptions (as requester or owner), counted: what staff see first. */
  own: Figures;
  /** The whole register's figures, for those who may see it. */
  headline: Figures | null;
  /** Auditors read the register and its trail; App Home tells them how. */
  auditor: boolean;
}

/** Can this person act on what the exception waits for now? The same rules the buttons enforce. */
function canAct(ctx: ServiceContext, userId: string, item: WaitingItem): boolean {
  if (userId === item.requesterId || userId === item.ownerId) return false;
  if (item.open.stage === 'assessment') return ctx.roles.securityTeam.has(userId);
  return item.route !== null && decidersFor(item.route, ctx.roles).has(userId) && !item.deciders.includes(userId) && userId !== item.assessorId;
}

/** Only as many reviews as the tab shows (and one more, to know there are more): the register may hold thousands. */
function reviewsFor(ctx: ServiceContext, userId: string, today: string, limit: number): WaitingOnMe[] {
  const quarterBegan = `${firstDayOfQuarter(today)}T00:00:00.000Z`;
  return ctx.db
    .select({ id: exceptions.id })
    .from(exceptions)
    .where(
      and(
        eq(exceptions.status, 'active'),
        lt(exceptions.originalExpiresOn, today),
        or(isNull(exceptions.lastReviewedAt), lt(exceptions.lastReviewedAt, quarterBegan)),
        ne(exceptions.ownerId, userId),
        ne(exceptions.requesterId, userId),
      ),
    )
    .orderBy(asc(exceptions.id))
    .limit(limit)
    .all()
    .flatMap(({ id }) => {
      const record = loadExceptionRecord(ctx.db, id);
      return record ? [{ record, stage: 'review' as const }] : [];
    });
}

export function homeOverview(ctx: ServiceContext, userId: string): HomeOverview {
  const today = calendarDateIn(ctx.clock(), ctx.timeZone);
  const mine = listExceptions(ctx.db, { involving: userId, limit: HOME_LIST_LIMIT + 1 });
  const open = listWaiting(ctx.db);
  const renewing = new Map(open.filter((item) => item.open.round > 0).map((item) => [item.id, item.open.stage]));
  const changing = new Set(open.filter((item) => item.kind === 'amendment').map((item) => item.id));
  // Full records only for what the tab shows, oldest wait first.
  const actionable = open.filter((item) => canAct(ctx, userId, item));
  const decisions = actionable.slice(0, HOME_LIST_LIMIT).flatMap((item) => {
    const record = loadExceptionRecord(ctx.db, item.id);
    return record?.open ? [{ record, stage: record.open.stage }] : [];
  });
  // Reviews fill what decisions leave of the list, and one more tells whether there are more.
  const reviews = ctx.roles.committee.has(userId) ? reviewsFor(ctx, userId, today, HOME_LIST_LIMIT + 1 - decisions.length) : [];
  const waiting: WaitingOnMe[] = [...decisions, ...reviews];
  const count = (where: ReturnType<typeof and>) => ctx.db.select({ n: sql<number>`count(*)` }).from(exceptions).where(where).get()?.n ?? 0;
  const theirs = or(eq(exceptions.requesterId, userId), eq(exceptions.ownerId, userId));
  const figures = (among?: ReturnType<typeof or>): Figures => ({
    active: count(and(eq(exceptions.status, 'active'), among)),
    waitingForDecision: among ? open.filter((item) => item.requesterId === userId || item.ownerId === userId).length : open.length,
    expiringIn14Days: count(and(eq(exceptions.status, 'active'), gte(exceptions.expiresOn, today), lte(exceptions.expiresOn, addCalendarDays(today, 14)), among)),
  });
  const shown = mine.slice(0, HOME_LIST_LIMIT);
  // One read finds which of them carry a bypass; only those are read further.
  const bound = new Set(shown.length === 0 ? [] : ctx.db.select({ id: exceptionBindings.exceptionId }).from(exceptionBindings).where(inArray(exceptionBindings.exceptionId, shown.map((row) => row.id))).all().map((b) => b.id));
  return {
    today,
    mine: shown.map((row) => ({
      ...row,
      daysLeft: row.expiresOn && row.status === 'active' ? daysBetween(today, row.expiresOn) : null,
      renewing: renewing.get(row.id) ?? null,
      changingTerms: changing.has(row.id),
      bypass: bound.has(row.id) ? (integrationStatus(ctx.db, row.id, row.status).bypass ?? null) : null,
      mayWithdraw: mayWithdraw(userId, row),
    })),
    moreMine: mine.length > HOME_LIST_LIMIT,
    waiting: waiting.slice(0, HOME_LIST_LIMIT),
    moreWaiting: actionable.length + reviews.length > HOME_LIST_LIMIT,
    own: figures(theirs),
    headline: maySeeEverything(userId, ctx.roles) ? figures() : null,
    auditor: ctx.roles.auditors.has(userId),
  };
}

/**
 * Whose App Home lists an exception, so that theirs is published again when it moves: its requester and owner, the
 * security team (whose list it enters when filed and leaves when assessed or sent back), its route's deciders (it
 * leaves their list when decided) and, once open past its original expiry, the committee that reviews it.
 */
export function homesConcerned(ctx: ServiceContext, exceptionId: number): string[] {
  const record = loadExceptionRecord(ctx.db, exceptionId);
  if (!record) return [];
  const today = calendarDateIn(ctx.clock(), ctx.timeZone);
  const inReview = record.originalExpiresOn !== null && record.originalExpiresOn < today;
  return [
    ...new Set([record.requesterId, record.ownerId, ...ctx.roles.securityTeam, ...(record.route ? decidersFor(record.route, ctx.roles) : []), ...(inReview ? ctx.roles.committee : [])]),
  ];
}
