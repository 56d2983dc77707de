import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text, uniqueIndex, type SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { APPROVAL_ROUTES, DECISION_OUTCOMES, EXCEPTION_STATUSES } from '../domain/exception';
import { CHANGE_VENDORS, IDENTITY_VENDORS } from '../integrations/port';

export const AUDIT_EVENT_KINDS = [
  'exception.requested',
  'exception.assessed',
  'exception.vote_recorded',
  'exception.approved',
  'exception.rejected',
  'exception.expired',
  'exception.closed',
  'exception.revoked',
  /** Its requester withdrew a request before its assessment (SPEC §1: requested ──withdraw──▶ rejected; issue 11). */
  'exception.withdrawn',
  'exception.reminded',
  'exception.nudged',
  'exception.escalated',
  'exception.checkin_asked',
  'exception.checkin_answered',
  'exception.checkin_overdue',
  'exception.reapproved',
  'exception.owner_accepted',
  'exception.owner_declined',
  /** Sent back to its requester with what to change (issue 11); `exception.amended` answers it. */
  'exception.changes_requested',
  'exception.amended',
  'renewal.requested',
  'renewal.assessed',
  'renewal.vote_recorded',
  'renewal.approved',
  'renewal.rejected',
  /** A change to an active exception's terms (scope, affected systems, compensating control), decided as a round of its own (issue 11). */
  'amendment.requested',
  'amendment.assessed',
  'amendment.vote_recorded',
  'amendment.approved',
  'amendment.rejected',
  /** A change applied in an identity provider or change-management tool, or an attempt that failed (issue 12). */
  'integration.applied',
  'integration.failed',
  /** Reconciliation found a bypass-group member the register does not cover, or an active exception's person missing. */
  'integration.drift_found',
  'policy.imported',
  'review.posted',
  'metrics.posted',
  'audit.sealed',
] as const;
export type AuditEventKind = (typeof AUDIT_EVENT_KINDS)[number];

export const OUTBOX_STATES = ['pending', 'delivered', 'dead'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

export const NOTIFICATION_KINDS = ['post_card', 'refresh_card', 'direct_message', 'thread_reply', 'reminder_digest', 'expiry_digest', 'channel_post', 'checkin_question', 'informal_pointer'] as const;
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
  /** A policy's own, shorter ceiling on duration; requests and renewals use the smaller of it and MAX_EXCEPTION_DAYS. */
  maxDays: integer('max_days'),
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
    /** The first decision card posted top-level in the committee channel: later rounds reply in its thread. */
    committeeTs: text('committee_ts'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    activatedAt: text('activated_at'),
    closedAt: text('closed_at'),
    closingNote: text('closing_note'),
    /** 0 while the first request is decided; n while renewal n is assessed and decided. */
    currentRound: integer('current_round').notNull().default(0),
    renewalCount: integer('renewal_count').notNull().default(0),
    /** The last day the owner confirmed the compensating control is in place and working. */
    lastCheckinOn: text('last_checkin_on'),
    /** Why the approvers should look at it now (a failed or unanswered control check-in); null when all is well. */
    attentionReason: text('attention_reason'),
    lastReviewedAt: text('last_reviewed_at'),
    lastReviewedBy: text('last_reviewed_by'),
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

export const RENEWAL_STATUSES = ['requested', 'pending_approval', 'approved', 'rejected', 'withdrawn'] as const;
export type RenewalStatus = (typeof RENEWAL_STATUSES)[number];

/** The columns a later round (a renewal, a change of terms) starts with: whose it is, which round, who asked. */
function laterRoundHead() {
  return {
    id: integer('id').primaryKey(),
    exceptionId: integer('exception_id')
      .notNull()
      .references(() => exceptions.id),
    round: integer('round').notNull(),
    requestedBy: text('requested_by').notNull(),
  };
}

/** ...and the ones it ends with: where it stands, the route it is decided on, the form it came from, when. */
function laterRoundTail<S extends readonly [string, ...string[]]>(statuses: S) {
  return {
    status: text('status', { enum: statuses as unknown as [S[number], ...S[number][]] }).notNull(),
    route: text('route', { enum: APPROVAL_ROUTES }),
    submissionKey: text('submission_key').unique(),
    createdAt: text('created_at').notNull(),
    decidedAt: text('decided_at'),
  };
}

export const renewals = sqliteTable(
  'renewals',
  {
    ...laterRoundHead(),
    progress: text('progress').notNull(),
    percentComplete: integer('percent_complete').notNull(),
    evidenceUrl: text('evidence_url'),
    controlTestedOn: text('control_tested_on').notNull(),
    requestedExpiresOn: text('requested_expires_on').notNull(),
    newExpiresOn: text('new_expires_on'),
    ...laterRoundTail(RENEWAL_STATUSES),
  },
  (table) => [
    uniqueIndex('renewals_round_idx').on(table.exceptionId, table.round),
    // Open renewals are few among many decided ones; App Home, nudges and metrics look them up on every run.
    index('renewals_status_idx').on(table.status),
    check('renewals_status_check', oneOf(table.status, RENEWAL_STATUSES)),
    check('renewals_percent_check', sql`${table.percentComplete} between 0 and 100`),
  ],
);

export const AMENDMENT_STATUSES = ['requested', 'pending_approval', 'approved', 'rejected', 'withdrawn'] as const;
export type AmendmentStatus = (typeof AMENDMENT_STATUSES)[number];

/**
 * A change to an active exception's terms, assessed and decided as a round of its own (numbered with the renewals):
 * the exception stays active on its old terms, kept here beside the new ones, until the change is approved.
 */
export const amendments = sqliteTable(
  'amendments',
  {
    ...laterRoundHead(),
    reason: text('reason').notNull(),
    scope: text('scope').notNull(),
    affectedSystems: text('affected_systems'),
    compensatingControls: text('compensating_controls').notNull(),
    previousScope: text('previous_scope').notNull(),
    previousAffectedSystems: text('previous_affected_systems'),
    previousCompensatingControls: text('previous_compensating_controls').notNull(),
    ...laterRoundTail(AMENDMENT_STATUSES),
  },
  (table) => [
    uniqueIndex('amendments_round_idx').on(table.exceptionId, table.round),
    index('amendments_status_idx').on(table.status),
    check('amendments_status_check', oneOf(table.status, AMENDMENT_STATUSES)),
  ],
);

export const CHECKIN_ANSWERS = ['yes', 'no'] as const;
export type CheckinAnswer = (typeof CHECKIN_ANSWERS)[number];

/** Each time the owner was asked whether the compensating control is still in place and working. */
export const checkins = sqliteTable(
  'checkins',
  {
    id: integer('id').primaryKey(),
    exceptionId: integer('exception_id')
      .notNull()
      .references(() => exceptions.id),
    askedOn: text('asked_on').notNull(),
    askedAt: text('asked_at').notNull(),
    answer: text('answer', { enum: CHECKIN_ANSWERS }),
    answeredBy: text('answered_by'),
    answeredAt: text('answered_at'),
    /** When silence past the grace period was reported to the approvers. */
    overdueReportedAt: text('overdue_reported_at'),
  },
  (table) => [
    uniqueIndex('checkins_once_a_day_idx').on(table.exceptionId, table.askedOn),
    index('checkins_open_idx').on(table.answer, table.overdueReportedAt),
    check('checkins_answer_check', sql`${table.answer} is null or ${oneOf(table.answer, CHECKIN_ANSWERS)}`),
  ],
);

/** One quarterly review post per quarter, whatever the schedule and however often the job runs. */
export const reviews = sqliteTable('reviews', {
  id: integer('id').primaryKey(),
  quarter: text('quarter').notNull().unique(),
  postedAt: text('posted_at').notNull(),
});

/** One snapshot per ISO week, taken when the weekly post is made: the history trends are computed from. */
export const metricSnapshots = sqliteTable('metric_snapshots', {
  id: integer('id').primaryKey(),
  week: text('week').notNull().unique(),
  active: integer('active').notNull(),
  overOneEighty: integer('over_one_eighty').notNull(),
  figures: text('figures').notNull(),
  takenAt: text('taken_at').notNull(),
});

/** How far the webhook has delivered the audit trail: every event after this one is still to be sent, in order. */
export const webhookCursor = sqliteTable('webhook_cursor', {
  id: integer('id').primaryKey(),
  lastEventId: integer('last_event_id').notNull().default(0),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: text('next_attempt_at'),
  lastError: text('last_error'),
});

/** Threads in watched channels where the app pointed to the formal process: once per thread, with the ask kept. */
export const informalAsks = sqliteTable(
  'informal_asks',
  {
    id: integer('id').primaryKey(),
    channel: text('channel').notNull(),
    threadTs: text('thread_ts').notNull(),
    messageTs: text('message_ts').notNull(),
    askedBy: text('asked_by').notNull(),
    text: text('text').notNull(),
    answeredAt: text('answered_at').notNull(),
  },
  (table) => [uniqueIndex('informal_asks_once_per_thread_idx').on(table.channel, table.threadTs)],
);

export const FOLLOW_UP_KINDS = ['expiry_reminder', 'stall_nudge', 'stall_escalation'] as const;
export type FollowUpKind = (typeof FOLLOW_UP_KINDS)[number];

/** Every reminder, nudge and escalation sent, keyed so that none is ever sent twice, across restarts and processes. */
export const followUps = sqliteTable(
  'follow_ups',
  {
    id: integer('id').primaryKey(),
    exceptionId: integer('exception_id')
      .notNull()
      .references(() => exceptions.id),
    kind: text('kind', { enum: FOLLOW_UP_KINDS }).notNull(),
    /** Which one: the reminder threshold in days, or the decision round that stalled. */
    key: text('key').notNull(),
    sentAt: text('sent_at').notNull(),
  },
  (table) => [uniqueIndex('follow_ups_once_idx').on(table.exceptionId, table.kind, table.key), check('follow_ups_kind_check', oneOf(table.kind, FOLLOW_UP_KINDS))],
);

export const JOB_NAMES = ['expiry_sweep', 'reminders', 'stalled_decisions', 'control_checkins', 'quarterly_review', 'weekly_metrics'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** The last run of each job, for /healthz, and a lease so two processes never run the same job at once. */
export const jobRuns = sqliteTable('job_runs', {
  job: text('job', { enum: JOB_NAMES }).primaryKey(),
  leaseUntil: text('lease_until'),
  lastStartedAt: text('last_started_at'),
  lastFinishedAt: text('last_finished_at'),
  lastAsOf: text('last_as_of'),
  lastResult: text('last_result'),
  lastError: text('last_error'),
});

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
    /** The event's identity outside the register (the webhook's X-Exceptions-Event-Id): unlike `id`, never handed out again after a restore. */
    uid: text('uid').notNull().unique(),
    /** Hashed with AUDIT_HMAC_KEY (HMAC-SHA256) rather than plain SHA-256. */
    keyed: integer('keyed', { mode: 'boolean' }).notNull().default(false),
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
    /** Set while one process delivers the row, so a second process on the same register leaves it alone. */
    claimedUntil: text('claimed_until'),
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

const VENDORS = [...IDENTITY_VENDORS, ...CHANGE_VENDORS] as const;

/** The bypass group an exception carries in an identity provider: one group in one vendor, chosen when it is requested. */
export const exceptionBindings = sqliteTable(
  'exception_bindings',
  {
    id: integer('id').primaryKey(),
    exceptionId: integer('exception_id')
      .notNull()
      .references(() => exceptions.id),
    vendor: text('vendor', { enum: IDENTITY_VENDORS }).notNull(),
    groupId: text('group_id').notNull(),
    /** As the vendor named it when chosen: cards and audit events read it without a call to the vendor. */
    groupName: text('group_name').notNull(),
    /** What the vendor holds as far as the register last applied: `none` until approved, `applied`, then `removed`. */
    appliedState: text('applied_state', { enum: ['none', 'applied', 'removed'] }).notNull().default('none'),
    appliedAt: text('applied_at'),
    removedAt: text('removed_at'),
    createdAt: text('created_at').notNull(),
  },
  (table) => [
    uniqueIndex('exception_bindings_exception_idx').on(table.exceptionId),
    index('exception_bindings_group_idx').on(table.vendor, table.groupId),
    check('exception_bindings_vendor_check', oneOf(table.vendor, IDENTITY_VENDORS)),
    check('exception_bindings_applied_state_check', oneOf(table.appliedState, ['none', 'applied', 'removed'])),
  ],
);

/** The people a binding covers: picked in Slack, found in the vendor by their Slack profile's email. */
export const exceptionBindingPeople = sqliteTable(
  'exception_binding_people',
  {
    id: integer('id').primaryKey(),
    bindingId: integer('binding_id')
      .notNull()
      .references(() => exceptionBindings.id),
    slackUserId: text('slack_user_id'),
    vendorUserId: text('vendor_user_id').notNull(),
    email: text('email'),
    displayName: text('display_name'),
  },
  (table) => [uniqueIndex('exception_binding_people_once_idx').on(table.bindingId, table.vendorUserId)],
);

/** The change-management issue that tracks an exception's remediation: created by the app, or referenced by the requester. */
export const exceptionIssues = sqliteTable(
  'exception_issues',
  {
    id: integer('id').primaryKey(),
    exceptionId: integer('exception_id')
      .notNull()
      .references(() => exceptions.id),
    vendor: text('vendor', { enum: CHANGE_VENDORS }).notNull(),
    issueKey: text('issue_key').notNull(),
    url: text('url').notNull(),
    createdByApp: integer('created_by_app', { mode: 'boolean' }).notNull(),
    linkedAt: text('linked_at').notNull(),
  },
  (table) => [uniqueIndex('exception_issues_once_idx').on(table.exceptionId, table.vendor), check('exception_issues_vendor_check', oneOf(table.vendor, CHANGE_VENDORS))],
);

/** How far each vendor's planner has read the audit trail, and a vendor-wide pause when it asked us to slow down. */
export const integrationCursor = sqliteTable('integration_cursor', {
  vendor: text('vendor', { enum: VENDORS }).primaryKey(),
  lastEventId: integer('last_event_id').notNull().default(0),
  /** Set from the vendor's rate-limit headers: no call to this vendor before then. */
  pausedUntil: text('paused_until'),
  lastError: text('last_error'),
});

export const INTEGRATION_TASK_KINDS = ['sync_membership', 'link_issue', 'comment_issue', 'transition_issue'] as const;
export type IntegrationTaskKind = (typeof INTEGRATION_TASK_KINDS)[number];
export const INTEGRATION_TASK_STATES = ['pending', 'done'] as const;
export type IntegrationTaskState = (typeof INTEGRATION_TASK_STATES)[number];

/**
 * One change to make in one vendor, planned from one audit event in the same transaction that moves the cursor past
 * it. Done in id order per exception; a failed one waits (with backoff) and holds back that exception's later ones.
 */
export const integrationTasks = sqliteTable(
  'integration_tasks',
  {
    id: integer('id').primaryKey(),
    vendor: text('vendor', { enum: VENDORS }).notNull(),
    exceptionId: integer('exception_id')
      .notNull()
      .references(() => exceptions.id),
    /** The audit event it was planned from. */
    eventId: integer('event_id').notNull(),
    kind: text('kind', { enum: INTEGRATION_TASK_KINDS }).notNull(),
    payload: text('payload').notNull().default('{}'),
    state: text('state', { enum: INTEGRATION_TASK_STATES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: text('next_attempt_at').notNull(),
    lastError: text('last_error'),
    /** The ConnectorError code of the last failure: `refused`, `rate_limited` or `unavailable`. */
    lastErrorCode: text('last_error_code'),
    /** When the first failure was reported to the approvals channel, so it is reported once. */
    reportedAt: text('reported_at'),
    createdAt: text('created_at').notNull(),
    doneAt: text('done_at'),
  },
  (table) => [
    uniqueIndex('integration_tasks_once_idx').on(table.vendor, table.eventId, table.kind),
    index('integration_tasks_due_idx').on(table.state, table.vendor, table.nextAttemptAt),
    index('integration_tasks_exception_idx').on(table.exceptionId, table.vendor, table.state),
    check('integration_tasks_kind_check', oneOf(table.kind, INTEGRATION_TASK_KINDS)),
    check('integration_tasks_state_check', oneOf(table.state, INTEGRATION_TASK_STATES)),
  ],
);

/** Each daily reconciliation of a vendor's bypass groups against the register, for /healthz and the export. */
export const reconciliationRuns = sqliteTable('reconciliation_runs', {
  id: integer('id').primaryKey(),
  vendor: text('vendor', { enum: IDENTITY_VENDORS }).notNull(),
  startedAt: text('started_at').notNull(),
  finishedAt: text('finished_at'),
  groupsChecked: integer('groups_checked').notNull().default(0),
  membersChecked: integer('members_checked').notNull().default(0),
  findings: integer('findings').notNull().default(0),
  error: text('error'),
});

/** Drift posted to the approvals channel, keyed by `findingKey`, so each finding is posted once while it holds. */
export const driftFindings = sqliteTable('drift_findings', {
  key: text('key').primaryKey(),
  vendor: text('vendor', { enum: IDENTITY_VENDORS }).notNull(),
  groupId: text('group_id').notNull(),
  kind: text('kind', { enum: ['uncovered', 'missing'] }).notNull(),
  /** The vendor's id for the person, and their email as the vendor listed it, for a post people can read. */
  person: text('person').notNull(),
  personEmail: text('person_email'),
  exceptionId: integer('exception_id').references(() => exceptions.id),
  firstSeenAt: text('first_seen_at').notNull(),
  postedAt: text('posted_at'),
});
