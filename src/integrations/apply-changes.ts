import { LogLevel } from '@slack/bolt';
import { and, asc, eq, gt, inArray, lt, lte, max, ne, notLike, sql } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import type { Db, Tx } from '../db/client';
import { bindingOf, issueOf, type Binding } from '../db/integrations';
import { auditEvents, exceptionBindingPeople, exceptionBindings, exceptionIssues, exceptions, integrationCursor, integrationTasks, type IntegrationTaskKind } from '../db/schema';
import { createDeliveryLoop } from '../delivery-loop';
import { formatExceptionRef, type ExceptionStatus } from '../domain/exception';
import { bypassIntent, looksLikeJiraKey, membershipSentence, retryDelayMs, type MembershipChange } from '../domain/integrations';
import { withoutUrlSecrets, type StructuredLogger } from '../logger';
import type { Clock } from '../services/context';
import { loadExceptionRecord } from '../services/exception-record';
import { queueNotifications, type Notification } from '../services/notifications';
import type { Connectors } from './connectors';
import { ConnectorError, IDENTITY_VENDORS, isConnectorError, VENDOR_LABELS, type ConnectorErrorCode, type IdentityVendor, type Vendor } from './port';

/**
 * Applies the register's decisions in the identity providers and the change-management tool, driven from the audit
 * trail like the webhook. A planner per vendor reads the trail with its own cursor and turns each event that matters
 * into tasks, in the transaction that moves the cursor; a worker carries the tasks out in order per exception, with
 * backoff, honouring the vendor's rate limits. A task only ever says "bring this exception in line": what that means
 * is read from the register when it runs, so a retry that lands after an expiry never adds anyone back.
 */

export interface ChangeApplierDeps {
  db: Db;
  connectors: Connectors;
  clock: Clock;
  logger: StructuredLogger;
  /** Where a change a vendor has not taken is reported, once, and its recovery after. */
  approvalsChannel?: string;
  /** Called once this run queued Slack notifications (alerts, card refreshes), so they go out now. */
  notified?: () => void;
}

/** What a task carries from the event it was planned from. */
export type TaskPayload =
  | { kind: 'sync_membership'; event: string }
  | { kind: 'link_issue'; reference?: string }
  | { kind: 'comment_issue'; text: string }
  | { kind: 'transition_issue'; toStatus: string };

/** What a task did or tried to do, as the alert and the audit event name it. */
export interface ChangeFacts {
  vendor: Vendor;
  taskKind: IntegrationTaskKind;
  /** An identity change: which way, how many people, in which group. */
  change?: MembershipChange;
  people?: number;
  groupId?: string;
  groupName?: string;
  issueKey?: string;
}

/** A task worked out against the register as it stands: what to record, whom to move, and how to say it. */
interface Plan {
  facts: ChangeFacts;
  people?: string[];
  sentenceFor: (failed?: string) => string;
}

const PLAN_BATCH = 500;
const WORK_BATCH = 50;
/** A refusal (a permission taken away, a token revoked) is put right by a person: trying hourly notices when it is. */
const REFUSED_RETRY_MS = 60 * 60_000;
const STOP_WAIT_MS = 3000;
/** The status a Jira issue is moved to when its exception ends, where the workflow offers it. */
const DONE_STATUS = 'Done';

const IDENTITY_EVENTS = new Set(['exception.approved', 'renewal.approved', 'exception.expired', 'exception.closed', 'exception.revoked', 'exception.withdrawn', 'exception.rejected']);
const ENDING_EVENTS = new Set(['exception.expired', 'exception.closed', 'exception.revoked']);

interface PlannedEvent {
  id: number;
  exceptionId: number;
  kind: string;
  payload: string;
  occurredAt: string;
}

const day = (iso: string) => iso.slice(0, 10);

/**
 * The comment a Jira issue gets when its exception moves: plain words, the day it happened, and what became of the
 * bypass. Fixed when planned, so a retry says what happened then.
 */
export function issueComment(event: PlannedEvent, ref: string, binding: Pick<Binding, 'vendor' | 'groupName'> | undefined): string {
  const details = JSON.parse(event.payload) as { expiresOn?: string; newExpiresOn?: string; note?: string };
  const bypass = binding ? `; the bypass in ${VENDOR_LABELS[binding.vendor]} group ${binding.groupName} is removed` : '';
  switch (event.kind) {
    case 'renewal.approved':
      return `${ref} was renewed in the exception register on ${day(event.occurredAt)}; it now expires on ${details.newExpiresOn ?? 'the new date on its record'}.`;
    case 'exception.expired':
      return `${ref} expired in the exception register on ${details.expiresOn ?? day(event.occurredAt)}${bypass}.`;
    case 'exception.closed':
      return `${ref} was closed in the exception register on ${day(event.occurredAt)} as remediated${bypass}.${details.note ? `\n\nClosing note: ${details.note}` : ''}`;
    default:
      return `${ref} was revoked in the exception register on ${day(event.occurredAt)}${bypass}.${details.note ? `\n\nReason: ${details.note}` : ''}`;
  }
}

/** The vendors configured now: a vendor configured later starts where its cursor starts (see cursorOf). */
function configuredVendors(connectors: Connectors): Vendor[] {
  return [...IDENTITY_VENDORS.filter((vendor) => connectors.identity[vendor]), ...(connectors.change ? [connectors.change.vendor] : [])];
}

function isIdentity(vendor: Vendor): vendor is IdentityVendor {
  return (IDENTITY_VENDORS as readonly string[]).includes(vendor);
}

/** The tasks one audit event calls for in one vendor; inserted once however often the event is read. */
export function planTasks(tx: Tx, vendor: Vendor, event: PlannedEvent, now: Date): void {
  const at = now.toISOString();
  const insert = (payload: TaskPayload) =>
    tx
      .insert(integrationTasks)
      .values({ vendor, exceptionId: event.exceptionId, eventId: event.id, kind: payload.kind, payload: JSON.stringify(payload), nextAttemptAt: at, createdAt: at })
      .onConflictDoNothing()
      .run();

  if (isIdentity(vendor)) {
    if (!IDENTITY_EVENTS.has(event.kind)) return;
    // A renewal of an active exception changes nothing in the group; only one that reactivates an expired one does.
    if (event.kind === 'renewal.approved' && !(JSON.parse(event.payload) as { reactivated?: boolean }).reactivated) return;
    const bound = tx.select({ id: exceptionBindings.id }).from(exceptionBindings).where(and(eq(exceptionBindings.exceptionId, event.exceptionId), eq(exceptionBindings.vendor, vendor))).get();
    if (bound) insert({ kind: 'sync_membership', event: event.kind });
    return;
  }

  if (event.kind === 'exception.approved') {
    const reference = tx.select({ externalRef: exceptions.externalRef }).from(exceptions).where(eq(exceptions.id, event.exceptionId)).get()?.externalRef?.trim();
    insert(reference && looksLikeJiraKey(reference) ? { kind: 'link_issue', reference } : { kind: 'link_issue' });
    return;
  }
  if (event.kind !== 'renewal.approved' && !ENDING_EVENTS.has(event.kind)) return;
  // An exception approved before Jira was configured has no issue to tell.
  const linked = tx
    .select({ id: integrationTasks.id })
    .from(integrationTasks)
    .where(and(eq(integrationTasks.exceptionId, event.exceptionId), eq(integrationTasks.vendor, vendor), eq(integrationTasks.kind, 'link_issue')))
    .get();
  if (!linked) return;
  const binding = ENDING_EVENTS.has(event.kind) ? bindingOf(tx, event.exceptionId) : undefined;
  insert({ kind: 'comment_issue', text: issueComment(event, formatExceptionRef(event.exceptionId), binding) });
  if (ENDING_EVENTS.has(event.kind)) insert({ kind: 'transition_issue', toStatus: DONE_STATUS });
}

/** Why a task failed, for its row, its audit event and the alert: a ConnectorError as it is, anything else as unavailable. */
function failureOf(error: unknown): { code: ConnectorErrorCode; message: string; retryAfterMs?: number } {
  if (isConnectorError(error)) return { code: error.code, message: error.message, retryAfterMs: error.retryAfterMs };
  return { code: 'unavailable', message: withoutUrlSecrets(`Unexpected error: ${error instanceof Error ? error.message : String(error)}. The register will try again.`) };
}

export function createChangeApplier(deps: ChangeApplierDeps) {
  const { db, connectors, clock, logger } = deps;
  const vendors = configuredVendors(connectors);
  // A task done can free the one of the same exception waiting behind it, so a run goes on while it gets anything done.
  const loop = createDeliveryLoop({ runOnce, more: (handled) => handled > 0, logger, failure: 'applying changes in the integrations failed' });

  /**
   * An identity vendor starts from the beginning of the trail: a binding exists only where it was configured, and
   * bringing each in line is always right. Jira starts where the trail stands when it is first configured, or every
   * exception ever approved would get an issue.
   */
  function cursorOf(vendor: Vendor) {
    const start = isIdentity(vendor) ? 0 : (db.select({ head: max(auditEvents.id) }).from(auditEvents).get()?.head ?? 0);
    db.insert(integrationCursor).values({ vendor, lastEventId: start }).onConflictDoNothing().run();
    return db.select().from(integrationCursor).where(eq(integrationCursor.vendor, vendor)).get()!;
  }

  function plan(vendor: Vendor): void {
    for (;;) {
      const cursor = cursorOf(vendor);
      const head = db.select({ head: max(auditEvents.id) }).from(auditEvents).get()?.head ?? 0;
      if (head <= cursor.lastEventId) return;
      const events = db
        .select({ id: auditEvents.id, exceptionId: auditEvents.exceptionId, kind: auditEvents.kind, payload: auditEvents.payload, occurredAt: auditEvents.occurredAt })
        .from(auditEvents)
        // The register's own integration events never call for a change.
        .where(and(gt(auditEvents.id, cursor.lastEventId), lte(auditEvents.id, head), sql`${auditEvents.exceptionId} is not null`, notLike(auditEvents.kind, 'integration.%')))
        .orderBy(asc(auditEvents.id))
        .limit(PLAN_BATCH)
        .all() as PlannedEvent[];
      const through = events.length === PLAN_BATCH ? events.at(-1)!.id : head;
      const now = clock();
      db.transaction(
        (tx) => {
          for (const event of events) planTasks(tx, vendor, event, now);
          tx.update(integrationCursor).set({ lastEventId: through }).where(and(eq(integrationCursor.vendor, vendor), eq(integrationCursor.lastEventId, cursor.lastEventId))).run();
        },
        { behavior: 'immediate' },
      );
      if (events.length < PLAN_BATCH) return;
    }
  }

  type TaskRow = typeof integrationTasks.$inferSelect;

  function dueTasks(now: Date): TaskRow[] {
    const at = now.toISOString();
    const paused = db
      .select({ vendor: integrationCursor.vendor })
      .from(integrationCursor)
      .where(sql`${integrationCursor.pausedUntil} > ${at}`)
      .all()
      .map((row) => row.vendor);
    const open = vendors.filter((vendor) => !paused.includes(vendor));
    if (open.length === 0) return [];
    return db
      .select()
      .from(integrationTasks)
      .where(
        and(
          eq(integrationTasks.state, 'pending'),
          inArray(integrationTasks.vendor, open),
          lte(integrationTasks.nextAttemptAt, at),
          // An exception's later task waits while an earlier one in the same vendor is still to do.
          sql`not exists (select 1 from ${integrationTasks} as earlier where earlier.exception_id = ${integrationTasks.exceptionId} and earlier.vendor = ${integrationTasks.vendor} and earlier.state = 'pending' and earlier.id < ${integrationTasks.id})`,
        ),
      )
      .orderBy(asc(integrationTasks.id))
      .limit(WORK_BATCH)
      .all();
  }

  function statusOf(exceptionId: number): ExceptionStatus | undefined {
    return db.select({ status: exceptions.status }).from(exceptions).where(eq(exceptions.id, exceptionId)).get()?.status;
  }

  /**
   * People this binding covers whom another active exception also holds in the same group: a removal leaves them
   * in, or ending one exception would take away another's bypass.
   */
  function stillCovered(binding: Binding): Set<string> {
    const rows = db
      .select({ person: exceptionBindingPeople.vendorUserId })
      .from(exceptionBindingPeople)
      .innerJoin(exceptionBindings, eq(exceptionBindings.id, exceptionBindingPeople.bindingId))
      .innerJoin(exceptions, eq(exceptions.id, exceptionBindings.exceptionId))
      .where(and(eq(exceptionBindings.vendor, binding.vendor), eq(exceptionBindings.groupId, binding.groupId), ne(exceptionBindings.exceptionId, binding.exceptionId), eq(exceptions.status, 'active')))
      .all();
    return new Set(rows.map((row) => row.person));
  }

  /** What a task would do, worked out from the register now; undefined when there is nothing (left) to do. */
  function planOf(task: TaskRow): Plan | undefined {
    const ref = formatExceptionRef(task.exceptionId);
    const label = VENDOR_LABELS[task.vendor];
    const payload = JSON.parse(task.payload) as TaskPayload;
    if (payload.kind === 'sync_membership') {
      const status = statusOf(task.exceptionId);
      const binding = bindingOf(db, task.exceptionId);
      if (!status || !binding || binding.vendor !== task.vendor) return undefined;
      const intent = bypassIntent(status);
      if (intent === 'none') return undefined;
      const change: MembershipChange = intent === 'apply' ? 'add' : 'remove';
      const kept = change === 'remove' ? stillCovered(binding) : new Set<string>();
      const people = binding.people.map((person) => person.vendorUserId).filter((person) => !kept.has(person));
      const sentenceFor = (failed?: string) => {
        const sentence = membershipSentence({ change, count: people.length, vendorLabel: label, groupName: binding.groupName, exceptionRef: ref, failed });
        return kept.size > 0 && !failed ? `${sentence}; ${kept.size} kept, still covered by another active exception` : sentence;
      };
      return { facts: { vendor: task.vendor, taskKind: task.kind, change, people: people.length, groupId: binding.groupId, groupName: binding.groupName }, people, sentenceFor };
    }
    const issue = issueOf(db, task.exceptionId);
    if (payload.kind === 'link_issue') {
      const key = issue?.key ?? payload.reference;
      const what = payload.reference ? `link ${label} issue ${payload.reference} to ${ref}` : `create the ${label} issue for ${ref}`;
      return { facts: { vendor: task.vendor, taskKind: task.kind, issueKey: key }, sentenceFor: (failed) => (failed ? `could not ${what}: ${failed}` : payload.reference ? `linked ${label} issue ${payload.reference} to ${ref} and commented on it` : `created ${label} issue ${key} for ${ref}`) };
    }
    if (!issue) return undefined;
    if (payload.kind === 'comment_issue') {
      return { facts: { vendor: task.vendor, taskKind: task.kind, issueKey: issue.key }, sentenceFor: (failed) => (failed ? `could not comment on ${label} issue ${issue.key} for ${ref}: ${failed}` : `commented on ${label} issue ${issue.key} for ${ref}`) };
    }
    return { facts: { vendor: task.vendor, taskKind: task.kind, issueKey: issue.key }, sentenceFor: (failed) => (failed ? `could not move ${label} issue ${issue.key} to ${payload.toStatus} for ${ref}: ${failed}` : `moved ${label} issue ${issue.key} to ${payload.toStatus} for ${ref}`) };
  }

  /** The vendor calls; resolves with the sentence that says what was done, when it differs from the plan's. */
  async function carryOut(task: TaskRow, work: Plan): Promise<{ sentence?: string; issue?: { key: string; url: string; createdByApp: boolean } }> {
    const payload = JSON.parse(task.payload) as TaskPayload;
    const ref = formatExceptionRef(task.exceptionId);
    if (payload.kind === 'sync_membership') {
      const connector = connectors.identity[task.vendor as IdentityVendor]!;
      for (const person of work.people ?? []) {
        if (work.facts.change === 'add') await connector.addMember(work.facts.groupId!, person);
        else await connector.removeMember(work.facts.groupId!, person);
      }
      return {};
    }
    const jira = connectors.change!;
    const label = VENDOR_LABELS[jira.vendor];
    if (payload.kind === 'link_issue') {
      if (issueOf(db, task.exceptionId)) return {};
      const record = loadExceptionRecord(db, task.exceptionId);
      if (!record) return {};
      if (payload.reference) {
        const found = await jira.findIssue(payload.reference);
        if (!found) throw new ConnectorError({ code: 'refused', reason: 'not_found', vendor: jira.vendor, message: `${label} has no issue ${payload.reference} that the register's account can see. Check the account may browse its project.` });
        await jira.comment(found.key, `This issue now tracks the remediation for security exception ${ref} (${record.title}), approved in the exception register until ${record.expiresOn ?? record.requestedExpiresOn}.`);
        return { issue: { key: found.key, url: found.url, createdByApp: false } };
      }
      const created = await jira.createIssue({
        exceptionRef: ref,
        summary: record.title,
        policy: `${record.policy.key} ${record.policy.title}`,
        scope: record.scope,
        compensatingControl: record.compensatingControls,
        owner: `Slack user ${record.ownerId}`,
        expiresOn: record.expiresOn ?? record.requestedExpiresOn,
      });
      return { issue: { key: created.key, url: created.url, createdByApp: true }, sentence: `created ${label} issue ${created.key} for ${ref}` };
    }
    const issue = issueOf(db, task.exceptionId)!;
    if (payload.kind === 'comment_issue') {
      await jira.comment(issue.key, payload.text);
      return {};
    }
    const outcome = await jira.transition(issue.key, payload.toStatus);
    if (outcome === 'already_there') return { sentence: `${label} issue ${issue.key} was already ${payload.toStatus} for ${ref}` };
    if (outcome === 'no_matching_transition') return { sentence: `left ${label} issue ${issue.key} as it is for ${ref}: its workflow offers no way to ${payload.toStatus}` };
    return {};
  }

  function cardRefreshes(exceptionId: number): Notification[] {
    return [
      { kind: 'refresh_card', exceptionId, card: 'triage' },
      { kind: 'refresh_card', exceptionId, card: 'approval' },
    ];
  }

  function succeeded(task: TaskRow, facts: ChangeFacts, sentence: string, issue: { key: string; url: string; createdByApp: boolean } | undefined, now: Date): void {
    const at = now.toISOString();
    db.transaction(
      (tx) => {
        const moved = tx.update(integrationTasks).set({ state: 'done', doneAt: at, lastError: null, lastErrorCode: null }).where(and(eq(integrationTasks.id, task.id), eq(integrationTasks.state, 'pending'))).run();
        if (moved.changes === 0) return;
        if (facts.change) {
          const binding = tx.select({ appliedState: exceptionBindings.appliedState }).from(exceptionBindings).where(eq(exceptionBindings.exceptionId, task.exceptionId)).get();
          // A removal of a bypass the register never applied leaves it "never applied", not "removed".
          if (facts.change === 'add') tx.update(exceptionBindings).set({ appliedState: 'applied', appliedAt: at }).where(eq(exceptionBindings.exceptionId, task.exceptionId)).run();
          else if (binding?.appliedState === 'applied') tx.update(exceptionBindings).set({ appliedState: 'removed', removedAt: at }).where(eq(exceptionBindings.exceptionId, task.exceptionId)).run();
        }
        if (issue) tx.insert(exceptionIssues).values({ exceptionId: task.exceptionId, vendor: 'jira', issueKey: issue.key, url: issue.url, createdByApp: issue.createdByApp, linkedAt: at }).onConflictDoNothing().run();
        appendAuditEvent(tx, {
          exceptionId: task.exceptionId,
          actorId: task.vendor,
          kind: 'integration.applied',
          payload: { ...facts, issueKey: issue?.key ?? facts.issueKey, taskId: task.id, attempt: task.attempts + 1, sentence },
          occurredAt: at,
        });
        const recovered: Notification[] =
          task.reportedAt && deps.approvalsChannel ? [{ kind: 'channel_post', channel: deps.approvalsChannel, message: 'integration_alert', exceptionIds: [task.exceptionId], outcome: 'done', facts, sentence }] : [];
        queueNotifications(tx, [...cardRefreshes(task.exceptionId), ...recovered], now);
      },
      { behavior: 'immediate' },
    );
    logger.event(LogLevel.INFO, sentence, { exceptionId: formatExceptionRef(task.exceptionId), vendor: task.vendor, taskId: task.id });
  }

  function failed(task: TaskRow, facts: ChangeFacts, sentenceFor: (failed?: string) => string, error: unknown, now: Date): void {
    const failure = failureOf(error);
    const attempts = task.attempts + 1;
    // Only a 429's wait is the vendor asking: Okta sends its rate-limit reset on every answer, a 5xx too.
    const waitMs = failure.code === 'refused' ? REFUSED_RETRY_MS : failure.code === 'rate_limited' ? retryDelayMs(1, failure.retryAfterMs) : retryDelayMs(attempts);
    const next = new Date(now.getTime() + waitMs).toISOString();
    const at = now.toISOString();
    // The vendor's own pace limits every call we make to it, not only this one's.
    const report = !task.reportedAt && failure.code !== 'rate_limited';
    db.transaction(
      (tx) => {
        const moved = tx
          .update(integrationTasks)
          .set({ attempts, nextAttemptAt: next, lastError: failure.message, lastErrorCode: failure.code, ...(report ? { reportedAt: at } : {}) })
          .where(and(eq(integrationTasks.id, task.id), eq(integrationTasks.state, 'pending')))
          .run();
        if (moved.changes === 0) return;
        if (failure.code === 'rate_limited') tx.update(integrationCursor).set({ pausedUntil: next }).where(eq(integrationCursor.vendor, task.vendor)).run();
        tx.update(integrationCursor).set({ lastError: failure.message }).where(eq(integrationCursor.vendor, task.vendor)).run();
        appendAuditEvent(tx, {
          exceptionId: task.exceptionId,
          actorId: task.vendor,
          kind: 'integration.failed',
          payload: { ...facts, taskId: task.id, attempt: attempts, code: failure.code, error: failure.message, nextAttemptAt: next, sentence: sentenceFor(failure.message) },
          occurredAt: at,
        });
        if (report) {
          const alert: Notification[] = deps.approvalsChannel
            ? [{ kind: 'channel_post', channel: deps.approvalsChannel, message: 'integration_alert', exceptionIds: [task.exceptionId], outcome: 'failing', facts, error: failure.message, code: failure.code, nextAttemptAt: next, retryEveryMs: failure.code === 'refused' ? REFUSED_RETRY_MS : undefined }]
            : [];
          queueNotifications(tx, [...alert, ...cardRefreshes(task.exceptionId)], now);
        }
      },
      { behavior: 'immediate' },
    );
    logger.event(attempts >= 10 || failure.code === 'refused' ? LogLevel.ERROR : LogLevel.WARN, 'a change in an integration will be retried', {
      exceptionId: formatExceptionRef(task.exceptionId),
      vendor: task.vendor,
      taskId: task.id,
      kind: task.kind,
      attempts,
      code: failure.code,
      nextAttemptAt: next,
      error: failure.message,
    });
    if (!isConnectorError(error)) logger.event(LogLevel.ERROR, 'unexpected error applying a change in an integration', { taskId: task.id, error: failure.message });
  }

  async function runOnce(): Promise<number> {
    for (const vendor of vendors) plan(vendor);
    let handled = 0;
    const pausedNow = new Set<Vendor>();
    for (const task of dueTasks(clock())) {
      if (loop.stopping()) break;
      if (pausedNow.has(task.vendor)) continue;
      // A task of this exception finished earlier in this batch may have been the one this waits behind; it counts.
      const earlier = db
        .select({ id: integrationTasks.id })
        .from(integrationTasks)
        .where(and(eq(integrationTasks.exceptionId, task.exceptionId), eq(integrationTasks.vendor, task.vendor), eq(integrationTasks.state, 'pending'), lt(integrationTasks.id, task.id)))
        .get();
      if (earlier) continue;
      const planned = planOf(task);
      const now = clock();
      if (!planned) {
        db.update(integrationTasks).set({ state: 'done', doneAt: now.toISOString() }).where(and(eq(integrationTasks.id, task.id), eq(integrationTasks.state, 'pending'))).run();
        handled++;
        continue;
      }
      try {
        const done = await carryOut(task, planned);
        succeeded(task, { ...planned.facts, ...(done.issue ? { issueKey: done.issue.key } : {}) }, done.sentence ?? planned.sentenceFor(), done.issue, clock());
      } catch (error) {
        failed(task, planned.facts, planned.sentenceFor, error, clock());
        if (isConnectorError(error) && error.code === 'rate_limited') pausedNow.add(task.vendor);
      }
      handled++;
    }
    if (handled > 0) deps.notified?.();
    return handled;
  }

  return {
    deliverDue: loop.deliverDue,
    wake: loop.wake,
    idle: loop.idle,
    start: loop.start,
    // A vendor call that hangs must not hold up shutdown; a task it finished but we could not record is done again (idempotently).
    stop: () => loop.stop(STOP_WAIT_MS),
  };
}

export type ChangeApplier = ReturnType<typeof createChangeApplier>;
