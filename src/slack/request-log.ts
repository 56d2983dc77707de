import { LogLevel, type AnyMiddlewareArgs, type Middleware } from '@slack/bolt';
import { formatExceptionRef, parseExceptionRef } from '../domain/exception';
import { withLogFields, type StructuredLogger } from '../logger';

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

/** The exception a request is about, where the request itself says: a button's value, a modal's, or `EXC-n` typed. */
function exceptionOf(body: Body): string | undefined {
  const fromValue = (value: string | undefined) => (value && /^\d+$/.test(value) ? formatExceptionRef(Number(value)) : undefined);
  const typed = body.text ? /EXC-\d{4,}/i.exec(body.text)?.[0] : undefined;
  const typedId = typed ? parseExceptionRef(typed) : undefined;
  return fromValue(body.actions?.[0]?.value) ?? fromValue(body.view?.private_metadata) ?? (typedId ? formatExceptionRef(typedId) : undefined);
}

/** What the request is, in a few words: never its body, which holds what people typed. */
function whatOf(body: Body): Record<string, unknown> {
  if (body.command) return { kind: 'command', command: body.command, subCommand: body.text?.trim().split(/\s+/)[0]?.toLowerCase().slice(0, 20) };
  if (body.type === 'block_actions') return { kind: 'block_actions', action: body.actions?.[0]?.action_id };
  if (body.type === 'view_submission' || body.type === 'view_closed') return { kind: body.type, callbackId: body.view?.callback_id };
  if (body.type === 'event_callback') return { kind: 'event', event: body.event?.type };
  return { kind: body.type, callbackId: body.callback_id };
}

/**
 * Every line logged while a Slack request is handled carries its request ID, who sent it and the exception it is
 * about; one line at the end says how it went and how long it took.
 */
export function requestLog(logger: StructuredLogger): Middleware<AnyMiddlewareArgs> {
  return async ({ body, context, next }) => {
    const b = body as Body;
    const fields = {
      slackRequestId: requestIdOf(b),
      user: b.user_id ?? b.user?.id ?? b.event?.user,
      exceptionId: exceptionOf(b),
      ...(context.retryNum ? { slackRetryNum: context.retryNum } : {}),
    };
    const started = performance.now();
    await withLogFields(fields, async () => {
      try {
        await next();
      } finally {
        logger.event(LogLevel.INFO, 'slack request handled', { ...whatOf(b), ms: Math.round((performance.now() - started) * 10) / 10 });
      }
    });
  };
}
