import { and, eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { amendments, assessments, exceptions, renewals } from '../db/schema';
import { sentBackRefusal } from '../domain/amendment';
import { assertMayAssess } from '../domain/authority';
import { calendarDateIn, daysBetween } from '../domain/calendar';
import { DomainError } from '../domain/errors';
import { nextStatus } from '../domain/lifecycle';
import { renewalRoute } from '../domain/renewal';
import { routeApproval, validateAssessment, type AssessmentField, type Routing } from '../domain/risk';
import type { FieldErrors } from '../domain/request';
import type { ApprovalRoute } from '../domain/exception';
import { assertShownFor, type ShownFor } from '../domain/shown-for';
import type { ServiceContext } from './context';
import { currentRoundOf, getRecordFor, type ExceptionRecord } from './exception-record';
import { queueNotifications } from './notifications';

/** Only a request or a renewal that waits for its assessment can be assessed, as it was shown, and only by the security team. */
function assertAssessable(ctx: ServiceContext, record: ExceptionRecord, actorId: string, shown: ShownFor | undefined): void {
  assertMayAssess(actorId, record, ctx.roles);
  if (shown) assertShownFor(shown, currentRoundOf(record), 'assessment');
  if (record.open?.stage === 'assessment') return;
  if (record.sentBack) throw sentBackRefusal(record.ref, record.requesterId, 'assessed');
  if (record.round === 0) nextStatus(record.status, 'assess');
  const round = record.renewal ? ` (its renewal is ${record.renewal.status.replace('_', ' ')})` : record.amendment ? ` (the change of its terms is ${record.amendment.status.replace('_', ' ')})` : '';
  throw new DomainError('invalid_transition', `${record.ref} is not waiting for a risk assessment${round}.`);
}

/** Checked before the assessment modal opens, so nobody fills in a form they may not submit. */
export function authorizeAssessment(ctx: ServiceContext, exceptionId: number, actorId: string, shown?: ShownFor): ExceptionRecord {
  const record = getRecordFor(ctx.db, exceptionId, actorId, ctx.roles);
  assertAssessable(ctx, record, actorId, shown);
  return record;
}

export interface AssessRiskCommand {
  exceptionId: number;
  assessorId: string;
  input: { likelihood: unknown; impact: unknown; rationale: unknown };
  /** What the form was opened for: an assessment of one round, never of a later one. */
  shown?: ShownFor;
}

export type AssessRiskResult =
  | { ok: true; ref: string; score: number; route: ApprovalRoute }
  | { ok: false; errors: FieldErrors<AssessmentField> };

/** The duration asked for, counted from the day it was asked, as the person saw it in the form; a change of terms keeps its expiry. */
function requestedDays(ctx: ServiceContext, record: ExceptionRecord): number {
  const askedOn = record.renewal?.createdAt ?? record.amendment?.createdAt ?? record.createdAt;
  const until = currentRoundOf(record).expiresOn;
  return daysBetween(calendarDateIn(new Date(askedOn), ctx.timeZone), until);
}

export function assessRisk(ctx: ServiceContext, command: AssessRiskCommand): AssessRiskResult {
  const validation = validateAssessment(command.input);
  if (!validation.ok) return validation;
  const { assessment } = validation;
  const now = ctx.clock();

  return ctx.db.transaction(
    (tx) => {
      const record = getRecordFor(tx, command.exceptionId, command.assessorId, ctx.roles);
      assertAssessable(ctx, record, command.assessorId, command.shown);
      const assessed = routeApproval({ score: assessment.score, structural: record.structural, durationDays: requestedDays(ctx, record) }, ctx.rules);
      // A change of terms, like a renewal, is never decided on a lighter route than the exception was; it is no renewal, so it counts none.
      const later = record.renewal ? renewalRoute(assessed.route, record.originalRoute, record.renewal.number) : record.amendment ? renewalRoute(assessed.route, record.originalRoute, 0) : null;
      const routing: Routing = later ? { route: later.route, reasons: [...assessed.reasons, ...later.reasons] } : assessed;
      const at = now.toISOString();

      const moved = record.amendment
        ? tx
            .update(amendments)
            .set({ status: 'pending_approval', route: routing.route })
            .where(and(eq(amendments.exceptionId, record.id), eq(amendments.round, record.round), eq(amendments.status, 'requested')))
            .run()
        : record.renewal
        ? tx
            .update(renewals)
            .set({ status: 'pending_approval', route: routing.route })
            .where(and(eq(renewals.exceptionId, record.id), eq(renewals.round, record.round), eq(renewals.status, 'requested')))
            .run()
        : tx
            .update(exceptions)
            .set({ status: nextStatus(record.status, 'assess'), updatedAt: at })
            .where(and(eq(exceptions.id, record.id), eq(exceptions.status, record.status)))
            .run();
      if (moved.changes === 0) throw new DomainError('conflict', `${record.ref} was assessed by someone else a moment ago.`);
      tx.update(exceptions).set({ route: routing.route, riskScore: assessment.score, updatedAt: at }).where(eq(exceptions.id, record.id)).run();
      tx.insert(assessments)
        .values({
          exceptionId: record.id,
          round: record.round,
          assessorId: command.assessorId,
          likelihood: assessment.likelihood,
          impact: assessment.impact,
          score: assessment.score,
          rationale: assessment.rationale,
          route: routing.route,
          routeReasons: routing.reasons.join('\n'),
          assessedAt: at,
        })
        .run();
      appendAuditEvent(tx, {
        exceptionId: record.id,
        actorId: command.assessorId,
        kind: record.renewal ? 'renewal.assessed' : record.amendment ? 'amendment.assessed' : 'exception.assessed',
        payload: { round: record.round, ...assessment, route: routing.route, reasons: routing.reasons },
        occurredAt: at,
      });
      queueNotifications(
        tx,
        [
          { kind: 'refresh_card', exceptionId: record.id, card: 'triage' },
          {
            kind: 'post_card',
            exceptionId: record.id,
            card: 'approval',
            channel: routing.route === 'committee' ? ctx.channels.committee : ctx.channels.approvals,
          },
          // Whoever asked learns whom it now waits on, without having to ask.
          { kind: 'direct_message', exceptionId: record.id, recipientId: record.renewal?.requestedBy ?? record.amendment?.requestedBy ?? record.requesterId, message: 'assessed' },
        ],
        now,
      );
      return { ok: true as const, ref: record.ref, score: assessment.score, route: routing.route };
    },
    { behavior: 'immediate' },
  );
}
