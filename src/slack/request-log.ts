import { LogLevel, type AnyMiddlewareArgs, type Context, type Middleware } from '@slack/bolt';
import { formatExceptionRef, parseExceptionRef } from '../domain/exception';
import type { StructuredLogger } from '../logger';
import { ACTION_IDS } from './ids';
import { readShownFor } from './shown-for-value';

type Body = Record<string, unknown> & {
  type?: string;
  event_id?: string;
  trigger_id?: string;
  command?: string;
  text?: string;
  user_id?: string;
  user?: { id?: string };
  actions?: { action_id?: string; value?: string }[];
  view?: { callback_id?: string; private_metadata?: string };
  callback_id?: string;
  event?: { type?: string; user?: string };
};

/**
 * Slack sends no request ID of its own on HTTP requests; the event ID (events) or the trigger ID (commands,
 * clicks, submissions, shortcuts) is unique to one delivery and the same on Slack's retries of it.
 */
function requestIdOf(body: Body): string | undefined {
  return body.event_id ?? body.trigger_id;
}

/** The buttons whose value names the exception (a check-in's or an informal ask's buttons carry their own). */
const EXCEPTION_BUTTONS: ReadonlySet<string> = new Set([
  ACTION_IDS.assessRisk,
  ACTION_IDS.approve,
  ACTION_IDS.reject,
  ACTION_IDS.renew,
  ACTION_IDS.changeTerms,
  ACTION_IDS.close,
  ACTION_IDS.reapprove,
  ACTION_IDS.revoke,
]);

/** The exception a request is about, where the request itself says: a button's value, a modal's, or `EXC-n` typed. */
function exceptionOf(body: Body): string | undefined {
  const fromValue = (value: string | undefined) => {
    const shown = readShownFor(value);
    return shown ? formatExceptionRef(shown.exceptionId) : undefined;
  };
  const action = body.actions?.[0];
  const typed = body.text ? /EXC-\d{4,}/i.exec(body.text)?.[0] : undefined;
  const typedId = typed ? parseExceptionRef(typed) : undefined;
  return (
    (action?.action_id && EXCEPTION_BUTTONS.has(action.action_id) ? fromValue(action.value) : undefined) ??
    // Every modal but the request form names its exception in its private metadata.
    fromValue(body.view?.private_metadata) ??
    (typedId ? formatExceptionRef(typedId) : undefined)
  );
}

/** The words logged as a sub-command; anything else typed stays out of the logs. */
const SUB_COMMANDS: ReadonlySet<string> = new Set(['request', 'list', 'show', 'renew', 'close', 'metrics', 'export', 'help']);

/** What the request is, in a few words: never its body, which holds what people typed. */
function whatOf(body: Body): Record<string, unknown> {
  if (body.command) {
    const first = body.text?.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
    return { kind: 'command', command: body.command, subCommand: SUB_COMMANDS.has(first) ? first : first ? 'other' : 'none' };
  }
  if (body.type === 'block_actions') return { kind: 'block_actions', action: body.actions?.[0]?.action_id };
  if (body.type === 'view_submission' || body.type === 'view_closed') return { kind: body.type, callbackId: body.view?.callback_id };
  if (body.type === 'event_callback') return { kind: 'event', event: body.event?.type };
  return { kind: body.type, callbackId: body.callback_id };
}

/** Where a request's logger and its fields travel: Bolt hands the same context to every middleware and listener. */
const REQUEST_LOG = 'requestLog';

interface RequestLog {
  fields: Record<string, unknown>;
  logger: StructuredLogger;
}

/**
 * The logger for the Slack request a listener is handling: every line it writes carries the request's ID, who sent
 * it and the exception. (Passed along rather than found in an AsyncLocalStorage: on Node 20 that puts a hook on every
 * promise in the process, and it was most of what our middleware added to each acknowledgement.)
 */
export function requestLogger(context: Context, fallback: StructuredLogger): StructuredLogger {
  return (context[REQUEST_LOG] as RequestLog | undefined)?.logger ?? fallback;
}

/** Adds to what the request's lines carry from now on, e.g. the exception a submission just created. */
export function addLogFields(context: Context, fields: Record<string, unknown>): void {
  const log = context[REQUEST_LOG] as RequestLog | undefined;
  if (log) Object.assign(log.fields, fields);
}

/**
 * Every line logged for a Slack request through its logger (`requestLogger`) carries its request ID, who sent it and
 * the exception it is about; one line at the end says how it went and how long it took.
 */
export function requestLog(logger: StructuredLogger): Middleware<AnyMiddlewareArgs> {
  return async ({ body, context, next }) => {
    const b = body as Body;
    const fields: Record<string, unknown> = {
      slackRequestId: requestIdOf(b),
      user: b.user_id ?? b.user?.id ?? b.event?.user,
      exceptionId: exceptionOf(b),
      ...(context.retryNum ? { slackRetryNum: context.retryNum } : {}),
    };
    const log = logger.child(fields);
    context[REQUEST_LOG] = { fields, logger: log } satisfies RequestLog;
    const started = performance.now();
    let failure: { error: unknown } | undefined;
    try {
      await next();
    } catch (error) {
      // Bolt's error handler logs it too, but only this line says which request it was.
      failure = { error };
      throw error;
    } finally {
      log.event(LogLevel.INFO, 'slack request handled', { ...whatOf(b), ms: Math.round((performance.now() - started) * 10) / 10, ...(failure ? { failed: true, error: failure.error } : {}) });
    }
  };
}
