import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text, uniqueIndex, type SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { APPROVAL_ROUTES, DECISION_OUTCOMES, EXCEPTION_STATUSES } from '../domain/exception';

export const AUDIT_EVENT_KINDS = [
  'exception.requested',
  'exception.assessed',
  'exception.vote_recorded',
  'exception.approved',
  'exception.rejected',
  'policy.imported',
] as const;
export type AuditEventKind = (typeof AUDIT_EVENT_KINDS)[number];

export const OUTBOX_STATES = ['pending', 'delivered', 'dead'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

export const NOTIFICATION_KINDS = ['post_card', 'refresh_card', 'direct_message'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** A CHECK constraint from the same `as const` array the types come from, so the database refuses what the code cannot name. */
function oneOf(column: SQLiteColumn, values: readonly string[]) {
  return sql`${column} in (${sql.join(
    values.map((value) => sql.raw(`'${value}'`)),
    sql`, `,
  )})`;
}

export const policies = sqliteTable('policies', {
  id: integer('id').primaryKey(),
  key: text('key').notNull().unique(),
  title: text('title').notNull(),
  description: text('description').notNull().default(''),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
});

export const exceptions = sqliteTable(
  'exceptions',
  {
    // The row id is the public number: EXC-0001 is id 1. SQLite hands out max(id)+1 inside the writer lock, so no gaps.
    id: integer('id').primaryKey(),
    policyId: integer('policy_id')
      .notNull()
      .references(() => policies.id),
    title: text('title').notNull(),
    scope: text('scope').notNull(),
    justification: text('justification').notNull(),
    compensatingControls: text('compensating_controls').notNull(),
    affectedSystems: text('affected_systems'),
    externalRef: text('external_ref'),
    requesterId: text('requester_id').notNull(),
    ownerId: text('owner_id').notNull(),
    structural: integer('structural', { mode: 'boolean' }).notNull().default(false),
    structuralReason: text('structural_reason'),
    requestedExpiresOn: text('requested_expires_on').notNull(),
    expiresOn: text('expires_on'),
    originalExpiresOn: text('original_expires_on'),
    status: text('status', { enum: EXCEPTION_STATUSES }).notNull(),
    route: text('route', { enum: APPROVAL_ROUTES }),
    riskScore: integer('risk_score'),
    originPermalink: text('origin_permalink'),
    // Slack's view id of the submitted modal: a retried submission finds the exception it already created.
    submissionKey: text('submission_key').unique(),
    triageChannel: text('triage_channel'),
    triageTs: text('triage_ts'),
    approvalChannel: text('approval_channel'),
    approvalTs: text('approval_ts'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    activatedAt: text('activated_at'),
    closedAt: text('closed_at'),
  },
  (table) => [
    index('exceptions_status_idx').on(table.status, table.expiresOn),
    index('exceptions_requester_idx').on(table.requesterId),
    index('exceptions_owner_idx').on(table.ownerId),
    index('exceptions_policy_idx').on(table.policyId),
    check('exceptions_status_check', oneOf(table.status, EXCEPTION_STATUSES)),
    check('exceptions_route_check', sql`${table.route} is null or ${oneOf(table.route, APPROVAL_ROUTES)}`),
  ],
);

export const assessments = sqliteTable(
  'assessments',
  {
    id: integer('id').primaryKey(),
    exceptionId: integer('exception_id')
      .notNull()
      .references(() => exceptions.id),
    round: integer('round').notNull().default(0),
    assessorId: text('assessor_id').notNull(),
    likelihood: integer('likelihood').notNull(),
    impact: integer('impact').notNull(),
    score: integer('score').notNull(),
    rationale: text('rationale').notNull(),
    route: text('route', { enum: APPROVAL_ROUTES }).notNull(),
    routeReasons: text('route_reasons').notNull().default(''),
    assessedAt: text('assessed_at').notNull(),
  },
  (table) => [
    uniqueIndex('assessments_round_idx').on(table.exceptionId, table.round),
    check('assessments_scale_check', sql`${table.likelihood} between 1 and 5 and ${table.impact} between 1 and 5`),
    check('assessments_route_check', oneOf(table.route, APPROVAL_ROUTES)),
  ],
);

export const decisions = sqliteTable(
  'decisions',
  {
    id: integer('id').primaryKey(),
    exceptionId: integer('exception_id')
      .notNull()
      .references(() => exceptions.id),
    round: integer('round').notNull().default(0),
    deciderId: text('decider_id').notNull(),
    outcome: text('outcome', { enum: DECISION_OUTCOMES }).notNull(),
    comment: text('comment'),
    decidedAt: text('decided_at').notNull(),
  },
  // One decision per person per round: a double click or a retried delivery cannot count twice.
  (table) => [
    uniqueIndex('decisions_one_per_person_idx').on(table.exceptionId, table.round, table.deciderId),
    check('decisions_outcome_check', oneOf(table.outcome, DECISION_OUTCOMES)),
  ],
);

export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: integer('id').primaryKey(),
    exceptionId: integer('exception_id').references(() => exceptions.id),
    actorId: text('actor_id').notNull(),
    kind: text('kind', { enum: AUDIT_EVENT_KINDS }).notNull(),
    payload: text('payload').notNull(),
    occurredAt: text('occurred_at').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull().unique(),
  },
  // No CHECK on kind: a new kind would make SQLite rebuild the table, and the rebuild would drop the append-only triggers.
  (table) => [index('audit_events_exception_idx').on(table.exceptionId)],
);

export const outbox = sqliteTable(
  'outbox',
  {
    id: integer('id').primaryKey(),
    exceptionId: integer('exception_id').references(() => exceptions.id),
    kind: text('kind', { enum: NOTIFICATION_KINDS }).notNull(),
    payload: text('payload').notNull(),
    state: text('state', { enum: OUTBOX_STATES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: text('next_attempt_at').notNull(),
    lastError: text('last_error'),
    createdAt: text('created_at').notNull(),
    deliveredAt: text('delivered_at'),
  },
  (table) => [
    index('outbox_pending_idx').on(table.state, table.nextAttemptAt),
    check('outbox_kind_check', oneOf(table.kind, NOTIFICATION_KINDS)),
    check('outbox_state_check', oneOf(table.state, OUTBOX_STATES)),
  ],
);
