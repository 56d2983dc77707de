import { and, eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { followUps } from '../db/schema';
import { decidersFor } from '../domain/authority';
import { calendarDateIn } from '../domain/calendar';
import { formatExceptionRef } from '../domain/exception';
import { stallStage, workingDaysSince } from '../domain/follow-ups';
import { SCHEDULER_ACTOR, type ServiceContext } from './context';
import { listWaiting, type WaitingItem } from './exception-record';
import { queueNotifications, type Notification } from './notifications';

interface Waiting {
  item: WaitingItem;
  since: string;
  /** Who can act now, never the requester or owner, nor whoever assessed the round being decided. */
  mentions: string[];
  card: 'triage' | 'approval';
}

function waitingOn(ctx: ServiceContext, item: WaitingItem): Waiting | undefined {
  const { open } = item;
  const parties = new Set([item.requesterId, item.ownerId]);
  if (open.stage === 'assessment') {
    return { item, since: open.since, card: 'triage', mentions: [...ctx.roles.securityTeam].filter((id) => !parties.has(id)) };
  }
  if (!item.route) return undefined;
  const voted = new Set(item.deciders);
  const mentions = [...decidersFor(item.route, ctx.roles)].filter((id) => !parties.has(id) && !voted.has(id) && id !== item.assessorId);
  return { item, since: open.since, card: 'approval', mentions };
}

/**
 * A request waiting more than two working days for assessment or a decision gets one nudge in its thread; after
 * five it is escalated once to the committee channel. A process nobody acts on is the failure the seeds describe.
 */
export function nudgeStalled(ctx: ServiceContext, now: Date): { nudged: string[]; escalated: string[] } {
  const today = calendarDateIn(now, ctx.timeZone);
  // `now` decides what is due; the register and the outbox record when it was actually done.
  const recordedAt = ctx.clock();
  const at = recordedAt.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const notifications: Notification[] = [];
      const nudged: string[] = [];
      const escalated: { id: number; workingDays: number }[] = [];
      for (const item of listWaiting(tx)) {
        const { id } = item;
        const waiting = waitingOn(ctx, item);
        if (!waiting) continue;
        const workingDays = workingDaysSince(calendarDateIn(new Date(waiting.since), ctx.timeZone), today);
        const stage = stallStage(workingDays);
        if (!stage) continue;
        const key = `${item.open.round}:${waiting.card === 'triage' ? 'assessment' : 'decision'}`;
        const sent = new Set(
          tx
            .select({ kind: followUps.kind })
            .from(followUps)
            .where(and(eq(followUps.exceptionId, id), eq(followUps.key, key)))
            .all()
            .map((f) => f.kind),
        );
        if (sent.has(stage) || (stage === 'stall_nudge' && sent.has('stall_escalation'))) continue;
        // An escalation after downtime stands in for the nudge that was never sent; that nudge is not sent later.
        const stages = stage === 'stall_escalation' ? (['stall_escalation', 'stall_nudge'] as const) : (['stall_nudge'] as const);
        for (const kind of stages) tx.insert(followUps).values({ exceptionId: id, kind, key, sentAt: at }).onConflictDoNothing().run();
        appendAuditEvent(tx, {
          exceptionId: id,
          actorId: SCHEDULER_ACTOR,
          kind: stage === 'stall_escalation' ? 'exception.escalated' : 'exception.nudged',
          payload: { stage, round: item.open.round, workingDays, waitingFor: waiting.card === 'triage' ? 'assessment' : 'decision', mentions: waiting.mentions },
          occurredAt: at,
        });
        if (stage === 'stall_escalation') {
          escalated.push({ id, workingDays });
        } else {
          notifications.push({ kind: 'thread_reply', exceptionId: id, card: waiting.card, message: 'stall_nudge', mentions: waiting.mentions, workingDays });
          nudged.push(formatExceptionRef(id));
        }
      }
      if (escalated.length > 0) {
        notifications.push({
          kind: 'channel_post',
          channel: ctx.channels.committee,
          message: 'stall_escalation',
          exceptionIds: escalated.map((e) => e.id),
          workingDays: Math.max(...escalated.map((e) => e.workingDays)),
        });
      }
      queueNotifications(tx, notifications, recordedAt);
      return { nudged, escalated: escalated.map((e) => formatExceptionRef(e.id)) };
    },
    { behavior: 'immediate' },
  );
}
