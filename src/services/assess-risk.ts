import { and, eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { assessments, exceptions } from '../db/schema';
import { assertMayAssess } from '../domain/authority';
import { calendarDateIn, daysBetween } from '../domain/calendar';
import { DomainError } from '../domain/errors';
import { nextStatus } from '../domain/lifecycle';
import { routeApproval, validateAssessment, type AssessmentField } from '../domain/risk';
import type { FieldErrors } from '../domain/request';
import type { ApprovalRoute } from '../domain/exception';
import type { ServiceContext } from './context';
import { getExceptionRecord, type ExceptionRecord } from './exception-record';
import { queueNotifications } from './notifications';

/** Checked before the assessment modal opens, so nobody fills in a form they may not submit. */
export function authorizeAssessment(ctx: ServiceContext, exceptionId: number, actorId: string): ExceptionRecord {
  const record = getExceptionRecord(ctx.db, exceptionId);
  assertMayAssess(actorId, record, ctx.roles);
  nextStatus(record.status, 'assess');
  return record;
}

export interface AssessRiskCommand {
  exceptionId: number;
  assessorId: string;
  input: { likelihood: unknown; impact: unknown; rationale: unknown };
}

export type AssessRiskResult =
  | { ok: true; ref: string; score: number; route: ApprovalRoute }
  | { ok: false; errors: FieldErrors<AssessmentField> };

export function assessRisk(ctx: ServiceContext, command: AssessRiskCommand): AssessRiskResult {
  const validation = validateAssessment(command.input);
  if (!validation.ok) return validation;
  const { assessment } = validation;
  const now = ctx.clock();

  return ctx.db.transaction(
    (tx) => {
      const record = getExceptionRecord(tx, command.exceptionId);
      assertMayAssess(command.assessorId, record, ctx.roles);
      const status = nextStatus(record.status, 'assess');
      // The duration asked for, counted from the day of the request, as the requester saw it in the form.
      const durationDays = daysBetween(calendarDateIn(new Date(record.createdAt), ctx.timeZone), record.requestedExpiresOn);
      const routing = routeApproval({ score: assessment.score, structural: record.structural, durationDays }, ctx.rules);
      const at = now.toISOString();

      const moved = tx
        .update(exceptions)
        .set({ status, route: routing.route, riskScore: assessment.score, updatedAt: at })
        .where(and(eq(exceptions.id, record.id), eq(exceptions.status, record.status)))
        .run();
      if (moved.changes === 0) throw new DomainError('conflict', `${record.ref} was assessed by someone else a moment ago.`);
      tx.insert(assessments)
        .values({
          exceptionId: record.id,
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
        kind: 'exception.assessed',
        payload: { ...assessment, route: routing.route, reasons: routing.reasons },
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
        ],
        now,
      );
      return { ok: true as const, ref: record.ref, score: assessment.score, route: routing.route };
    },
    { behavior: 'immediate' },
  );
}
