import { and, eq, inArray, like, or, sql } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import type { Tx } from '../db/client';
import { auditEvents, followUps } from '../db/schema';
import { decidersFor } from '../domain/authority';
import { calendarDateIn } from '../domain/calendar';
import { formatExceptionRef } from '../domain/exception';
import { ESCALATION_TARGETS, escalationTarget, stallFollowUpDue, stallKey, workingDaysSince, type EscalationTarget, type StallFollowUp } from '../domain/follow-ups';
import { SCHEDULER_ACTOR, type ServiceContext } from './context';
import { ID_CHUNK, listWaiting, type WaitingItem } from './exception-record';
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

/** How often each first request waiting now was amended: every amendment starts its wait, and its follow-ups, afresh. */
function amendmentCounts(tx: Tx, items: readonly WaitingItem[]): Map<number, number> {
  const ids = items.filter((i) => i.open.round === 0).map((i) => i.id);
  const counts = new Map<number, number>();
  for (let from = 0; from < ids.length; from += ID_CHUNK) {
    for (const row of tx
      .select({ exceptionId: auditEvents.exceptionId, amendments: sql<number>`count(*)` })
      .from(auditEvents)
      .where(and(eq(auditEvents.kind, 'exception.amended'), inArray(auditEvents.exceptionId, ids.slice(from, from + ID_CHUNK))))
      .groupBy(auditEvents.exceptionId)
      .all()) {
      counts.set(row.exceptionId!, row.amendments);
    }
  }
  return counts;
}

const AUDIT_KINDS: Record<StallFollowUp['kind'], 'exception.nudged' | 'exception.escalated'> = { nudge: 'exception.nudged', escalation: 'exception.escalated', nudge_again: 'exception.nudged' };

/**
 * A request waiting more than two working days for assessment or a decision is nudged in its thread; after five it
 * is escalated once, and then nudged again every few working days until it stops waiting. Whoever
 * asked is told when it stalls and when it is escalated. An amended request waits afresh from its amendment, and
 * stalls afresh. A process nobody acts on is the failure the seeds describe.
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
      const escalated: { id: number; workingDays: number; to: EscalationTarget }[] = [];
      const waitingNow = listWaiting(tx);
      const amendments = amendmentCounts(tx, waitingNow);
      for (const item of waitingNow) {
        const { id } = item;
        const waiting = waitingOn(ctx, item);
        if (!waiting) continue;
        const workingDays = workingDaysSince(calendarDateIn(new Date(waiting.since), ctx.timeZone), today);
        const stage = item.open.stage;
        const key = stallKey(item.open.round, stage, amendments.get(id) ?? 0);
        const sent = tx
          .select({ kind: followUps.kind, key: followUps.key })
          .from(followUps)
          .where(and(eq(followUps.exceptionId, id), or(eq(followUps.key, key), like(followUps.key, `${key}:again:%`))))
          .all();
        const lastRepeat = Math.max(0, ...sent.filter((f) => f.key !== key).map((f) => Number(f.key.slice(key.length + ':again:'.length))));
        const due = stallFollowUpDue(workingDays, {
          nudged: sent.some((f) => f.key === key && f.kind === 'stall_nudge'),
          escalated: sent.some((f) => f.key === key && f.kind === 'stall_escalation'),
          lastRepeat,
        });
        if (!due) continue;
        const record = (kind: 'stall_nudge' | 'stall_escalation', followUpKey: string) => tx.insert(followUps).values({ exceptionId: id, kind, key: followUpKey, sentAt: at }).onConflictDoNothing().run();
        if (due.kind === 'nudge_again') {
          record('stall_nudge', `${key}:again:${due.repeat}`);
        } else {
          record(due.kind === 'escalation' ? 'stall_escalation' : 'stall_nudge', key);
          // An escalation after downtime stands in for the nudge that was never sent; that nudge is not sent later.
          if (due.kind === 'escalation') record('stall_nudge', key);
          if (due.kind === 'escalation' && due.covers > 0) record('stall_nudge', `${key}:again:${due.covers}`);
        }
        const to = due.kind === 'escalation' ? escalationTarget(item.open.stage, item.route) : undefined;
        appendAuditEvent(tx, {
          exceptionId: id,
          actorId: SCHEDULER_ACTOR,
          kind: AUDIT_KINDS[due.kind],
          payload: {
            stage: due.kind === 'escalation' ? 'stall_escalation' : 'stall_nudge',
            round: item.open.round,
            workingDays,
            waitingFor: stage,
            mentions: waiting.mentions,
            ...(due.kind === 'nudge_again' ? { repeat: due.repeat } : {}),
            ...(to ? { escalatedTo: to } : {}),
          },
          occurredAt: at,
        });
        if (to) {
          escalated.push({ id, workingDays, to });
        } else {
          notifications.push({ kind: 'thread_reply', exceptionId: id, card: waiting.card, message: due.kind === 'nudge' ? 'stall_nudge' : 'stall_nudge_again', mentions: waiting.mentions, workingDays });
          nudged.push(formatExceptionRef(id));
        }
        // Whoever asked hears when it stalls and when it is escalated; the nudges again are for whoever has to act.
        if (due.kind !== 'nudge_again') {
          notifications.push({ kind: 'direct_message', message: 'stall_notice', exceptionId: id, recipientId: item.askedBy, round: item.open.round, stage, escalated: due.kind === 'escalation', workingDays });
        }
      }
      for (const to of ESCALATION_TARGETS) {
        const group = escalated.filter((e) => e.to === to);
        if (group.length === 0) continue;
        notifications.push({
          kind: 'channel_post',
          // The CISO and delegates work in the approvals channel; the committee in its own.
          channel: to === 'committee' ? ctx.channels.committee : ctx.channels.approvals,
          message: 'stall_escalation',
          exceptionIds: group.map((e) => e.id),
          workingDays: Math.max(...group.map((e) => e.workingDays)),
          to,
        });
      }
      queueNotifications(tx, notifications, recordedAt);
      return { nudged, escalated: escalated.map((e) => formatExceptionRef(e.id)) };
    },
    { behavior: 'immediate' },
  );
}
