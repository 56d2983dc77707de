import { AsyncLocalStorage } from 'node:async_hooks';
import { LogLevel, type Logger } from '@slack/bolt';

const ORDER: Record<LogLevel, number> = { [LogLevel.DEBUG]: 10, [LogLevel.INFO]: 20, [LogLevel.WARN]: 30, [LogLevel.ERROR]: 40 };
const SECRET_PATTERN = /\b(xox[abpr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)\b/g;

/** What every line logged while handling one Slack request carries: its request ID and, once known, the exception. */
const requestFields = new AsyncLocalStorage<Record<string, unknown>>();

/** Runs `work` so that every line it logs, however deep, carries `fields`. */
export function withLogFields<T>(fields: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
  return requestFields.run({ ...fields }, work);
}

/** Runs `work` outside any request's fields: work it starts (deliveries) belongs to no one request. */
export function withoutLogFields<T>(work: () => T): T {
  return requestFields.exit(work);
}

/** Adds to the fields of the request being handled, e.g. the exception a submission just created. */
export function addLogFields(fields: Record<string, unknown>): void {
  const current = requestFields.getStore();
  if (current) Object.assign(current, fields);
}

export interface StructuredLogger extends Logger {
  event(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

function render(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const { code, data } = value as { code?: unknown; data?: { error?: unknown } };
  return { name: value.name, message: value.message, code, slackError: data?.error, stack: value.stack };
}

/** One JSON object per line, so logs can be searched by exception or request; tokens are masked wherever they appear. */
export function createLogger(level: `${LogLevel}` = 'info', write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): StructuredLogger {
  let threshold = ORDER[level as LogLevel];
  let name = 'exceptions';
  const emit = (lvl: LogLevel, message: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[lvl] < threshold) return;
    const entry = { time: new Date().toISOString(), level: lvl, name, message, ...requestFields.getStore(), ...fields };
    write(JSON.stringify(entry, (_key, value) => render(value)).replace(SECRET_PATTERN, '[redacted]'));
  };
  const fromArgs = (lvl: LogLevel) => (...msg: unknown[]) => {
    const [first, ...rest] = msg;
    const text = first instanceof Error ? first.message : String(first);
    emit(lvl, text, rest.length > 0 || first instanceof Error ? { details: [first instanceof Error ? first : undefined, ...rest].filter(Boolean) } : {});
  };
  return {
    debug: fromArgs(LogLevel.DEBUG),
    info: fromArgs(LogLevel.INFO),
    warn: fromArgs(LogLevel.WARN),
    error: fromArgs(LogLevel.ERROR),
    setLevel: (next) => {
      threshold = ORDER[next];
    },
    getLevel: () => (Object.keys(ORDER) as LogLevel[]).find((key) => ORDER[key] === threshold) ?? LogLevel.INFO,
    setName: (next) => {
      name = next;
    },
    event: emit,
  };
}
