import { existsSync, readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { auditTrail, verifyAuditChain } from '../db/audit-chain';
import { openRegister, type Register } from '../db/client';
import { DomainError, isDomainError } from '../domain/errors';
import { EXCEPTION_STATUSES, parseExceptionRef, STATUS_LABELS } from '../domain/exception';
import { ConfigError, loadConfig } from '../config';
import { isCalendarDate } from '../domain/calendar';
import { runJobs } from '../jobs/run-jobs';
import { createServiceContext } from '../services/context';
import { getExceptionRecord } from '../services/exception-record';
import { csvLines, exportRegister } from '../services/export-register';
import { listExceptions } from '../services/list-exceptions';
import { importPolicies, listPolicies } from '../services/policy-catalogue';

interface Streams {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

const USAGE = `Usage: exceptions <command>

  migrate                     create or upgrade the register (DATABASE_PATH)
  policies import FILE.csv    add or update policies (columns: key,title and optional
                              description,max_days)
  policies list               show the policy catalogue
  list [STATUS]               list exceptions, newest first (${EXCEPTION_STATUSES.join(', ')})
  show EXC-n                  the full record of one exception with its audit trail
  export --format csv|json [--status STATUS] [--from DATE] [--to DATE]
                              the audit-ready register on standard output, one row per
                              exception (DATE: YYYY-MM-DD, the day it was requested)
  audit verify                check the audit trail's hash chain; exits 1 at the first event
                              that was edited, deleted or reordered
  backup FILE                 a consistent copy of the register, safe while the app runs
  jobs run [--at ISO]         run every scheduled job now, or as of a time with its offset
                              (expiry, reminders, stalled decisions, control check-ins,
                              quarterly review); needs the app's environment; the running
                              app delivers what they queue
  help                        show this text

The register file is DATABASE_PATH (default ./data/exceptions.db).`;

const CliEnvironment = z.object({ DATABASE_PATH: z.string().min(1).default('./data/exceptions.db') });

class UsageError extends Error {}

/**
 * A date and time with its offset, so it means the same instant on every machine; the date must exist
 * (JavaScript would roll 2027-02-30 over to March).
 */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

function runScheduledJobs(register: Register, args: string[], env: Record<string, string | undefined>, out: Streams['out']): void {
  const [sub, flag, value] = args;
  if (sub !== 'run' || (flag !== undefined && flag !== '--at')) throw new UsageError('Use "jobs run" or "jobs run --at 2026-12-01T09:00:00Z".');
  const asOf = flag ? new Date(value ?? '') : new Date();
  const wellFormed = !flag || (ISO_INSTANT.test(value ?? '') && isCalendarDate((value ?? '').slice(0, 10)));
  if (!wellFormed || Number.isNaN(asOf.getTime())) throw new UsageError(`"${value ?? ''}" is not a date and time with its offset; use ISO 8601, e.g. 2026-12-01T09:00:00Z.`);
  if (asOf.getTime() > Date.now() + 60_000) out.write(`Running as of ${asOf.toISOString()}, which is in the future: what falls due by then is done now.\n`);
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`jobs run needs the app's configuration:\n${error.problems.join('\n')}`);
    throw error;
  }
  const ctx = createServiceContext(register.db, () => new Date(), config);
  for (const report of runJobs(ctx, asOf)) {
    out.write(`${report.job.padEnd(18)} ${report.ran ? (report.error ? `failed: ${report.error}` : report.result) : 'skipped: another run holds the lease'}\n`);
  }
}

/** Writes in large chunks and waits whenever the reader falls behind, so an export of any size stays in bounded memory. */
async function writeStreamed(out: Streams['out'], pieces: Iterable<string>): Promise<void> {
  const drained = () => new Promise<void>((resolve) => (out as Partial<NodeJS.WritableStream>).once?.('drain', () => resolve()) ?? resolve());
  let chunk = '';
  for (const piece of pieces) {
    chunk += piece;
    if (chunk.length < 64 * 1024) continue;
    if (out.write(chunk) === false) await drained();
    chunk = '';
  }
  if (chunk) out.write(chunk);
}

function* jsonArray(rows: Iterable<unknown>): Generator<string> {
  let first = true;
  for (const row of rows) {
    yield `${first ? '[\n' : ',\n'}${JSON.stringify(row, null, 2).replace(/^/gm, '  ')}`;
    first = false;
  }
  yield first ? '[]\n' : '\n]\n';
}

async function exportTo(db: Register['db'], args: string[], out: Streams['out']): Promise<void> {
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i] ?? '', args[i + 1]];
    if (!['--format', '--status', '--from', '--to'].includes(flag) || value === undefined) {
      throw new UsageError(`Unknown or incomplete option "${flag}". Use: export --format csv|json [--status STATUS] [--from YYYY-MM-DD] [--to YYYY-MM-DD]`);
    }
    options.set(flag, value);
  }
  const format = options.get('--format') ?? 'csv';
  if (format !== 'csv' && format !== 'json') throw new UsageError(`--format must be csv or json, not "${format}".`);
  const status = options.get('--status');
  if (status && !(EXCEPTION_STATUSES as readonly string[]).includes(status)) throw new UsageError(`Unknown status "${status}". Use one of: ${EXCEPTION_STATUSES.join(', ')}.`);
  for (const flag of ['--from', '--to']) {
    const value = options.get(flag);
    if (value !== undefined && !isCalendarDate(value)) throw new UsageError(`${flag} must be a date such as 2026-01-31, not "${value}".`);
  }
  const rows = exportRegister(db, {
    statuses: status ? [status as (typeof EXCEPTION_STATUSES)[number]] : undefined,
    from: options.get('--from'),
    to: options.get('--to'),
  });
  // One read transaction across the pages: the export is the register at one instant while the app keeps writing.
  db.run(sql`begin`);
  try {
    await writeStreamed(out, format === 'csv' ? csvLines(rows) : jsonArray(rows));
  } finally {
    db.run(sql`commit`);
  }
}

/** SQLite's online backup: a consistent snapshot while the app keeps writing (WAL), page by page. */
async function backupTo(register: Register, file: string, out: Streams['out']): Promise<void> {
  const { totalPages } = await register.sqlite.backup(file);
  out.write(`Backed up the register to ${file} (${totalPages} pages).\n`);
}

function run(register: Register, args: string[], out: Streams['out'], env: Record<string, string | undefined>): void | Promise<void> {
  const [command, ...rest] = args;
  const db = register.db;
  switch (command) {
    case 'migrate':
      out.write('The register is up to date.\n');
      return;
    case 'policies': {
      const [sub, file] = rest;
      if (sub === 'import') {
        if (!file) throw new UsageError('policies import needs a CSV file: exceptions policies import policies.csv');
        const result = importPolicies(db, () => new Date(), readFileSync(file, 'utf8'), 'cli');
        out.write(`Imported ${file}: ${result.created} new, ${result.updated} updated.\n`);
        return;
      }
      if (sub === 'list') {
        const policies = listPolicies(db);
        if (policies.length === 0) out.write('The catalogue is empty. Import one with: exceptions policies import FILE.csv\n');
        else out.write(`${table([['KEY', 'MAX DAYS', 'TITLE'], ...policies.map((p) => [p.key, p.maxDays?.toString() ?? '-', p.title])])}\n`);
        return;
      }
      throw new UsageError(`Unknown policies command "${sub ?? ''}". Use "policies import FILE.csv" or "policies list".`);
    }
    case 'list': {
      const status = rest[0];
      if (status && !(EXCEPTION_STATUSES as readonly string[]).includes(status)) {
        throw new UsageError(`Unknown status "${status}". Use one of: ${EXCEPTION_STATUSES.join(', ')}.`);
      }
      const rows = listExceptions(db, { statuses: status ? [status as (typeof EXCEPTION_STATUSES)[number]] : undefined });
      if (rows.length === 0) out.write('No exceptions.\n');
      else
        out.write(
          `${table([
            ['ID', 'STATUS', 'POLICY', 'OWNER', 'EXPIRES', 'RISK', 'TITLE'],
            ...rows.map((r) => [r.ref, r.status, r.policyKey, r.ownerId, r.expiresOn ?? `(${r.requestedExpiresOn})`, r.riskScore?.toString() ?? '-', r.title]),
          ])}\n`,
        );
      return;
    }
    case 'show': {
      const id = parseExceptionRef(rest[0] ?? '');
      if (!id) throw new UsageError('show needs an exception ID such as EXC-0001.');
      const r = getExceptionRecord(db, id);
      const lines = [
        `${r.ref}  ${r.title}`,
        `Status:               ${STATUS_LABELS[r.status]}`,
        `Policy:               ${r.policy.key} (${r.policy.title})`,
        `Requester / owner:    ${r.requesterId} / ${r.ownerId}`,
        `Expiry:               ${r.expiresOn ?? `${r.requestedExpiresOn} (requested)`}${r.originalExpiresOn ? `, original ${r.originalExpiresOn}` : ''}`,
        `Risk score:           ${r.riskScore ?? 'not assessed'}${r.route ? ` (${r.route.replace('_', ' ')})` : ''}`,
        `Scope:                ${r.scope}`,
        `Justification:        ${r.justification}`,
        `Compensating control: ${r.compensatingControls}`,
        ...(r.affectedSystems ? [`Affected systems:     ${r.affectedSystems}`] : []),
        ...(r.externalRef ? [`External reference:   ${r.externalRef}`] : []),
        ...(r.structural ? [`Structural:           ${r.structuralReason ?? ''}`] : []),
        `Renewals:             ${r.renewalCount}`,
        ...r.renewals.map(
          (n) =>
            `  renewal ${n.round} (${n.status.replace('_', ' ')}), asked ${n.createdAt.slice(0, 10)} by ${n.requestedBy}: ${n.percentComplete}% done, control tested ${n.controlTestedOn}, ` +
            `until ${n.newExpiresOn ?? n.requestedExpiresOn}${n.evidenceUrl ? `, evidence ${n.evidenceUrl}` : ''}\n    ${n.progress}`,
        ),
        `Last control check-in: ${r.lastCheckinOn ?? 'none yet'}${r.attentionReason ? `  NEEDS ATTENTION: ${r.attentionReason}` : ''}`,
        `Last review:          ${r.lastReviewedAt ? `${r.lastReviewedAt} by ${r.lastReviewedBy}` : 'none yet'}`,
        ...(r.closingNote ? [`Closing note:         ${r.closingNote}`] : []),
        '',
        'History:',
        ...auditTrail(db, id).map((e) => `  ${e.occurredAt}  ${e.kind.padEnd(24)}  ${e.actorId}`),
      ];
      out.write(`${lines.join('\n')}\n`);
      return;
    }
    case 'jobs':
      runScheduledJobs(register, rest, env, out);
      return;
    case 'export':
      return exportTo(db, rest, out);
    case 'audit': {
      if (rest[0] !== 'verify') throw new UsageError('Use "audit verify".');
      const verdict = verifyAuditChain(db);
      if (verdict.ok) {
        out.write(`The audit trail is intact: ${verdict.events} events, each linked to the one before.\n`);
        return;
      }
      const what = verdict.problem === 'edited' ? 'was changed after it was written' : 'does not follow the event before it: an event was deleted or the order changed';
      throw new DomainError('conflict', `The audit trail is broken at event ${verdict.eventId} (the ${verdict.events}th): it ${what}.`);
    }
    case 'backup': {
      const file = rest[0];
      if (!file) throw new UsageError('backup needs a file to write: exceptions backup register-2026-11-25.db');
      if (existsSync(file)) throw new DomainError('conflict', `${file} already exists; choose a new file name so no backup is overwritten.`);
      return backupTo(register, file, out);
    }
    default:
      throw new UsageError(`Unknown command "${command}".\n\n${USAGE}`);
  }
}

/** Returns the exit code: 0 done, 1 refused (bad input, nothing changed), 2 wrong usage. */
export async function runCli(args: string[], env: Record<string, string | undefined>, streams: Streams): Promise<number> {
  const parsedEnv = CliEnvironment.safeParse(env);
  if (!parsedEnv.success) {
    streams.err.write('DATABASE_PATH: must be a file path\n');
    return 2;
  }
  if (args[0] === undefined || args[0] === 'help' || args[0] === '--help') {
    streams.out.write(`${USAGE}\n`);
    return 0;
  }
  const register = openRegister(parsedEnv.data.DATABASE_PATH);
  try {
    await run(register, args, streams.out, env);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      streams.err.write(`${error.message}\n`);
      return 2;
    }
    if (isDomainError(error)) {
      streams.err.write(`${error.message}\n`);
      return 1;
    }
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
      streams.err.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    register.close();
  }
}
