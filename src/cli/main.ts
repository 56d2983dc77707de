import { accessSync, closeSync, constants, fchmodSync, lstatSync, openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { auditTrail, useAuditKey } from '../db/audit-chain';
import { openRegister, RegisterUnavailableError, type OpenMode, type Register } from '../db/client';
import { OWNER_CONFIRMATION_NOTES } from '../domain/authority';
import { DomainError, isDomainError } from '../domain/errors';
import { EXCEPTION_STATUSES, parseExceptionRef, STATUS_LABELS } from '../domain/exception';
import { ConfigError, Environment, loadConfig } from '../config';
import { parseAnchorFile } from '../domain/audit-anchor';
import { verifyAudit, type AuditVerifyOptions } from './audit-verify';
import { indented, visible } from './terminal-text';
import { appliedFields, historyNote } from './applied-text';
import { checkIntegrations, IntegrationCheckFailed } from './integrations-check';
import { createConnectors } from '../integrations/connectors';
import { isCalendarDate } from '../domain/calendar';
import { refuseTimeBeforeLastRun, runJobs } from '../jobs/run-jobs';
import { createServiceContext } from '../services/context';
import { getExceptionRecord } from '../services/exception-record';
import { csvLines, exportRegister } from '../services/export-register';
import { listExceptions } from '../services/list-exceptions';
import { importPolicies, listPolicies } from '../services/policy-catalogue';
import { version } from '../../package.json';

interface Streams {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

interface CommandHelp {
  /** Each form of the command with what it does, as the list of commands shows them. */
  forms: [form: string, does: string][];
  /** What `exceptions help COMMAND` adds: the arguments, what is refused, what is printed. */
  details: string;
}

const COMMANDS = {
  migrate: {
    forms: [['migrate', 'create or upgrade the register (DATABASE_PATH)']],
    details: `Creates the register file if there is none and applies any pending migrations; changes nothing when
the register is up to date. The app does this itself at start-up: run it to prepare a register before
the first start, or to check one after an upgrade.`,
  },
  policies: {
    forms: [
      ['policies import FILE.csv', 'add or update policies (columns: key,title and optional description,max_days)'],
      ['policies list', 'show the policy catalogue'],
    ],
    details: `The CSV starts with a header row naming its columns: key and title are required, description and
max_days optional. A key is 1 to 64 letters, digits, dots, dashes or underscores; max_days, when given,
caps every exception from that policy when it is shorter than MAX_EXCEPTION_DAYS (or, for a structural
exception, STRUCTURAL_MAX_DAYS). A re-import updates policies by key and never deletes one. A file with
a bad row imports nothing and names every bad row.

policies.example.csv, beside package.json, is a starter catalogue to copy and edit:
  cp policies.example.csv policies.csv && exceptions policies import policies.csv`,
  },
  list: {
    forms: [['list [STATUS]', `list exceptions, newest first (${EXCEPTION_STATUSES.join(', ')})`]],
    details: `Without STATUS, every exception. EXPIRES shows the requested date in brackets until an approval
fixes the expiry; RISK is "-" until the security team has assessed it.`,
  },
  show: {
    forms: [['show EXC-n', 'the full record of one exception with its audit trail']],
    details: 'EXC-n is the ID Slack shows, e.g. EXC-0001. Exits 1 when there is no such exception.',
  },
  export: {
    forms: [
      [
        'export --format csv|json [--status STATUS] [--from DATE] [--to DATE]',
        'the audit-ready register on standard output, one row per exception (DATE: YYYY-MM-DD, the day it was requested in TZ)',
      ],
    ],
    details: `--format defaults to csv. --status is one of ${EXCEPTION_STATUSES.join(', ')}. --from and --to are
inclusive days in TZ (default UTC), the days the app counts in. The export is the register at one
instant, even while the app keeps writing; redirect it to a file:
  exceptions export --format csv > register.csv`,
  },
  audit: {
    forms: [
      [
        'audit verify [--anchors FILE] [--slack]',
        "check the audit trail's hash chain, its head against anchors kept outside the register, and every exception's rows against its events; exits 1 naming each problem",
      ],
    ],
    details: `Every change to the register writes an audit event that carries the hash of the one before, so an
edited, deleted or reordered event breaks the chain where it happened. With AUDIT_HMAC_KEY (the app's)
every seal is checked too. Each exception is then replayed from its events and compared with its rows
(status, expiry, owner, risk, decisions, renewals...): every difference is named.

An anchor is the chain's head at one moment: how many events there were and the last one's hash. Each
weekly committee post shows one ("Audit trail anchor: COUNT HASH"); a trail cut short or recomputed
since no longer matches it.
  --anchors FILE  anchors an admin keeps, one a line: COUNT HASH as the post shows it (anything after the
                  hash is a note), or JSON such as {"count": 1234, "hash": "..."}; # starts a comment.
                  Give it more than once for several files.
  --slack         read the weekly posts back from COMMITTEE_CHANNEL (needs SLACK_BOT_TOKEN and the app
                  in that channel). Only the app's own posts count.
Exits 0 when everything holds.`,
  },
  backup: {
    forms: [['backup FILE', 'a consistent copy of the register, safe while the app runs']],
    details: `FILE must not exist yet, nor be a symbolic link (no backup is ever overwritten or written elsewhere),
and its folder must. The copy is readable by its owner only (0600) and is the register as it is: one
at an older schema is copied without being upgraded, so a backup taken before an upgrade can go back
to the version that wrote it. The copy is a register in its own right: DATABASE_PATH=FILE exceptions
audit verify checks it.`,
  },
  jobs: {
    forms: [
      [
        'jobs run [--at ISO]',
        "run every scheduled job now, or as of a time with its offset (expiry, reminders, stalled decisions, control check-ins, quarterly review, weekly metrics); needs the app's environment; the running app delivers what they queue",
      ],
    ],
    details: `--at takes a date and time with its offset, e.g. 2026-12-01T09:00:00Z, no earlier than the time the
jobs last ran as of: the register has moved past it, so that is refused (exit 1) and nothing runs.
Each job does what is due as of then and not yet done, so running it twice changes nothing the second
time. The weekly metrics and the quarterly review are stored for good under their week or quarter,
so they are taken only as of now: as of another time their line says "not run". A job another run
is busy with is skipped. Prints one line per job.`,
  },
  integrations: {
    forms: [
      [
        'integrations check',
        "check each configured vendor's credentials, permissions and bound groups, and print what the app would change there for the current register, changing nothing; needs the app's environment",
      ],
    ],
    details: `For Okta, Microsoft Entra ID and Jira, whichever are configured: each check is printed as ok or FAIL
with what to fix. Then, reading the members of every bypass group the register names, what the app
would do: people it would add or remove, and Jira issues it would create or comment on. Nothing is
changed in the register or in any vendor, and no token is printed. Exits 1 when any check fails;
prints "No integration is configured" and exits 0 when none is.`,
  },
  help: {
    forms: [['help [COMMAND]', 'this text, or the details of one command (also: COMMAND --help)']],
    details: 'exceptions --version prints the version.',
  },
} satisfies Record<string, CommandHelp>;
type CommandName = keyof typeof COMMANDS;

const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

const FOOTER = 'The register file is DATABASE_PATH (default ./data/exceptions.db).';

/** Forms and what they do in two columns, wrapped to a terminal's 100 characters. */
function formList(forms: [string, string][], prefix = ''): string {
  const column = 30 + prefix.length;
  return forms
    .map(([form, does]) => {
      const lines = wrap(does, 100 - column);
      const first = `  ${prefix}${form}`;
      return first.length < column ? [first.padEnd(column) + lines[0], ...lines.slice(1).map((l) => ' '.repeat(column) + l)].join('\n') : [first, ...lines.map((l) => ' '.repeat(column) + l)].join('\n');
    })
    .join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

const USAGE = `Usage: exceptions <command>

${formList(Object.values(COMMANDS).flatMap((c) => c.forms))}

Run "exceptions help COMMAND" for one command's details, "exceptions --version" for the version.
${FOOTER}`;

function commandHelp(name: CommandName): string {
  return `Usage:\n${formList(COMMANDS[name].forms, 'exceptions ')}\n\n${COMMANDS[name].details}\n\n${FOOTER}`;
}

const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema);

const CliEnvironment = z.object({
  DATABASE_PATH: z.string().min(1, { error: 'must be a file path' }).default('./data/exceptions.db'),
  // Every command that writes seals its events with the app's key, and audit verify checks the seals with it.
  AUDIT_HMAC_KEY: unsetIfEmpty(Environment.shape.AUDIT_HMAC_KEY),
  TZ: unsetIfEmpty(Environment.shape.TZ),
});

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

function runScheduledJobs(open: () => Register, args: string[], env: Record<string, string | undefined>, out: Streams['out']): void {
  const [sub, flag, value] = args;
  if (sub !== 'run' || (flag !== undefined && flag !== '--at')) throw new UsageError('Use "jobs run" or "jobs run --at 2026-12-01T09:00:00Z".');
  const asOf = flag ? new Date(value ?? '') : new Date();
  const wellFormed = !flag || (ISO_INSTANT.test(value ?? '') && isCalendarDate((value ?? '').slice(0, 10)));
  if (!wellFormed || Number.isNaN(asOf.getTime())) throw new UsageError(`"${value ?? ''}" is not a date and time with its offset; use ISO 8601, e.g. 2026-12-01T09:00:00Z.`);
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`jobs run needs the app's configuration:\n${error.problems.join('\n')}`);
    throw error;
  }
  const ctx = createServiceContext(open().db, () => new Date(), config);
  if (flag) refuseTimeBeforeLastRun(ctx, asOf);
  if (asOf.getTime() > Date.now() + 60_000) out.write(`Running as of ${asOf.toISOString()}, which is in the future: what falls due by then is done now.\n`);
  for (const report of runJobs(ctx, asOf)) out.write(`${report.job.padEnd(18)} ${report.error === undefined ? report.result : `failed: ${report.error}`}\n`);
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

async function exportTo(open: () => Register, args: string[], env: Record<string, string | undefined>, out: Streams['out']): Promise<void> {
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
  const zone = Environment.shape.TZ.safeParse(env.TZ === '' ? undefined : env.TZ);
  if (!zone.success) throw new UsageError(`TZ: ${zone.error.issues[0]?.message}`);
  const timeZone = zone.data;
  const db = open().db;
  const rows = exportRegister(db, {
    statuses: status ? [status as (typeof EXCEPTION_STATUSES)[number]] : undefined,
    from: options.get('--from'),
    to: options.get('--to'),
    timeZone,
  });
  // One read transaction across the pages: the export is the register at one instant while the app keeps writing.
  db.run(sql`begin`);
  try {
    await writeStreamed(out, format === 'csv' ? csvLines(rows) : jsonArray(rows));
  } finally {
    db.run(sql`commit`);
  }
}

/** Words for the file errors a person can fix, instead of an errno and a stack trace. */
const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'part of the path is a file, not a folder',
};

/** A file named on the command line that cannot be used; nothing was changed. */
class FileProblem extends Error {}

function fileProblem(what: string, error: unknown): unknown {
  const reason = FILE_PROBLEMS[(error as NodeJS.ErrnoException).code ?? ''];
  return reason ? new FileProblem(`${what}: ${reason}`) : error;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw fileProblem(`cannot read ${file}`, error);
  }
}

/**
 * Created here rather than by SQLite, which would write through a symbolic link and leave the mode to the umask:
 * O_EXCL refuses any existing name, a dangling link included, and the copy is its owner's alone (0600), as the
 * register holds who may skip which control.
 */
function createPrivately(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileProblem(`cannot write ${file}`, error);
    if (lstatSync(file).isSymbolicLink()) throw new DomainError('conflict', `${file} is a symbolic link (to ${readlinkSync(file)}); name a new file, so the backup cannot be written somewhere else.`);
    throw new DomainError('conflict', `${file} already exists; choose a new file name so no backup is overwritten.`);
  }
  try {
    // open() applies the umask, which may have taken the owner's write bit.
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/** SQLite's online backup: a consistent snapshot while the app keeps writing (WAL), page by page. */
async function backupTo(open: () => Register, file: string, out: Streams['out']): Promise<void> {
  const folder = dirname(file);
  // Checked before the copy starts, so the refusal names the folder rather than SQLite's "unable to open".
  try {
    if (!statSync(folder).isDirectory()) throw new FileProblem(`cannot write ${file}: ${folder} is a file, not a folder`);
    accessSync(folder, constants.W_OK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FileProblem(`cannot write ${file}: the folder ${folder} does not exist; create it first or choose another path`);
    throw fileProblem(`cannot write ${file}`, error);
  }
  // Opened before the file is created, so a register that cannot be read leaves no empty file to block the next try.
  const { sqlite } = open();
  createPrivately(file);
  const { totalPages } = await sqlite.backup(file);
  out.write(`Backed up the register to ${file} (${count(totalPages, 'page')}).\n`);
}

const count = (n: number, one: string) => `${n} ${n === 1 ? one : `${one}s`}`;

/** `--slack` reads the weekly posts back with the app's own token, from the channel it posts them in. */
function committeeChannel(env: Record<string, string | undefined>): AuditVerifyOptions['committee'] {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = Environment.pick({ SLACK_BOT_TOKEN: true, COMMITTEE_CHANNEL: true, SLACK_API_URL: true }).safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${present[String(issue.path[0])] === undefined ? 'is required but not set' : issue.message}`);
    throw new UsageError(`audit verify --slack reads the committee channel with the app's bot token:\n${problems.join('\n')}`);
  }
  const { SLACK_BOT_TOKEN: botToken, COMMITTEE_CHANNEL: channel, SLACK_API_URL: url } = parsed.data;
  return { botToken, channel, apiUrl: url.endsWith('/') ? url : `${url}/` };
}

async function auditVerify(open: () => Register, args: string[], env: Record<string, string | undefined>, out: Streams['out']): Promise<void> {
  const [sub, ...options] = args;
  if (sub !== 'verify') throw new UsageError('Use "audit verify", with --anchors FILE or --slack to check against anchors.');
  const files: string[] = [];
  let slack = false;
  for (let i = 0; i < options.length; i++) {
    const [option, value] = [options[i], options[i + 1]];
    if (option === '--slack') slack = true;
    else if (option === '--anchors' && value !== undefined) files.push(options[++i]!);
    else throw new UsageError(`Unknown or incomplete option "${option ?? ''}". Use: audit verify [--anchors FILE] [--slack]`);
  }
  const { AUDIT_HMAC_KEY: key, TZ: timeZone } = CliEnvironment.parse(env);
  const committee = slack ? committeeChannel(env) : undefined;
  // Read before the register is opened: a mistyped file name checks nothing.
  const anchors = files.flatMap((file) => parseAnchorFile(readText(file), file));
  await verifyAudit(open().db, { key, timeZone, anchors, committee }, out);
}

function importCatalogue(open: () => Register, args: string[], out: Streams['out']): void {
  const [sub, file, extra] = args;
  if (sub === 'import') {
    if (!file) throw new UsageError('policies import needs a CSV file: exceptions policies import policies.csv');
    if (extra !== undefined) throw new UsageError(`policies import takes one file, not also "${extra}".`);
    // Read before the register is opened: a mistyped file name creates no register.
    const csv = readText(file);
    const result = importPolicies(open().db, () => new Date(), csv, 'cli');
    out.write(`Imported ${file}: ${result.created} new, ${result.updated} updated.\n`);
    return;
  }
  if (sub === 'list') {
    const policies = listPolicies(open().db);
    if (policies.length === 0) out.write('The catalogue is empty. Import one with: exceptions policies import policies.csv (start from policies.example.csv)\n');
    else out.write(`${table([['KEY', 'MAX DAYS', 'TITLE'], ...policies.map((p) => [p.key, p.maxDays?.toString() ?? '-', p.title])])}\n`);
    return;
  }
  throw new UsageError(`Unknown policies command "${sub ?? ''}". Use "policies import FILE.csv" or "policies list".`);
}

function run(command: CommandName, rest: string[], open: () => Register, out: Streams['out'], env: Record<string, string | undefined>): void | Promise<void> {
  switch (command) {
    case 'migrate':
      open();
      out.write('The register is up to date.\n');
      return;
    case 'policies':
      return importCatalogue(open, rest, out);
    case 'list': {
      const status = rest[0];
      if (status && !(EXCEPTION_STATUSES as readonly string[]).includes(status)) {
        throw new UsageError(`Unknown status "${status}". Use one of: ${EXCEPTION_STATUSES.join(', ')}.`);
      }
      const rows = listExceptions(open().db, { statuses: status ? [status as (typeof EXCEPTION_STATUSES)[number]] : undefined });
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
      const db = open().db;
      const r = getExceptionRecord(db, id);
      // Every value a person typed is escaped and its later lines indented: none can pass for a line of ours.
      const field = (label: string, value: string) => `${`${label}:`.padEnd(21)} ${indented(value, ' '.repeat(22))}`;
      const lines = [
        `${r.ref}  ${visible(r.title)}`,
        field('Status', r.sentBack ? `${STATUS_LABELS[r.status]}, sent back for changes` : STATUS_LABELS[r.status]),
        field('Policy', `${r.policy.key} (${r.policy.title})`),
        field('Requester / owner', `${r.requesterId} / ${r.ownerId}${OWNER_CONFIRMATION_NOTES[r.ownerConfirmation]}`),
        field('Expiry', `${r.expiresOn ?? `${r.requestedExpiresOn} (requested)`}${r.originalExpiresOn ? `, original ${r.originalExpiresOn}` : ''}`),
        field('Risk score', `${r.riskScore ?? 'not assessed'}${r.route ? ` (${r.route.replace('_', ' ')})` : ''}`),
        field('Scope', r.scope),
        field('Justification', r.justification),
        field('Compensating control', r.compensatingControls),
        ...(r.affectedSystems ? [field('Affected systems', r.affectedSystems)] : []),
        ...(r.externalRef ? [field('External reference', r.externalRef)] : []),
        ...appliedFields(r.status, r.integration).map(([label, value]) => `${`${label}:`.padEnd(21)} ${value}`),
        ...(r.structural ? [field('Structural', r.structuralReason ?? '')] : []),
        field('Renewals', String(r.renewalCount)),
        ...r.renewals.map(
          (n) =>
            `  renewal ${n.round} (${n.status.replace('_', ' ')}), asked ${n.createdAt.slice(0, 10)} by ${visible(n.requestedBy)}: ${n.percentComplete}% done, control tested ${n.controlTestedOn}, ` +
            `until ${n.newExpiresOn ?? n.requestedExpiresOn}${n.evidenceUrl ? `, evidence ${visible(n.evidenceUrl)}` : ''}\n    ${indented(n.progress, '    ')}`,
        ),
        field('Last control check-in', `${r.lastCheckinOn ?? 'none yet'}${r.attentionReason ? `  NEEDS ATTENTION: ${r.attentionReason}` : ''}`),
        field('Last review', r.lastReviewedAt ? `${r.lastReviewedAt} by ${r.lastReviewedBy}` : 'none yet'),
        ...(r.closingNote ? [field('Closing note', r.closingNote)] : []),
        '',
        'History:',
        ...auditTrail(db, id).map((e) => `  ${e.occurredAt}  ${e.kind.padEnd(24)}  ${visible(e.actorId)}${historyNote(e)}`),
      ];
      out.write(`${lines.join('\n')}\n`);
      return;
    }
    case 'jobs':
      runScheduledJobs(open, rest, env, out);
      return;
    case 'export':
      return exportTo(open, rest, env, out);
    case 'audit':
      return auditVerify(open, rest, env, out);
    case 'backup': {
      const file = rest[0];
      if (!file) throw new UsageError('backup needs a file to write: exceptions backup register-2026-11-25.db');
      return backupTo(open, file, out);
    }
    case 'integrations': {
      if (rest[0] !== 'check' || rest.length > 1) throw new UsageError('Use "integrations check".');
      let config;
      try {
        config = loadConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) throw new UsageError(`integrations check needs the app's configuration:\n${error.problems.join('\n')}`);
        throw error;
      }
      const connectors = createConnectors(config.integrations, { clock: () => new Date() });
      return checkIntegrations(() => open().db, connectors, { jiraProjectKey: config.integrations.jira?.projectKey }, out);
    }
    case 'help':
      return showHelp(rest[0], out);
  }
}

function showHelp(topic: string | undefined, out: Streams['out']): void {
  if (topic === undefined) out.write(`${USAGE}\n`);
  else if (isCommand(topic)) out.write(`${commandHelp(topic)}\n`);
  else throw new UsageError(`There is no command "${topic}". Run "exceptions help" for the list of commands.`);
}

const HELP_FLAGS = ['--help', '-h'];

/**
 * Commands that only read open the register as it is, never creating or upgrading it: they work on an auditor's
 * read-only copy, and a backup taken before an upgrade is the register as the old version left it.
 */
const OPEN_MODES: Partial<Record<CommandName, OpenMode>> = { list: 'read', show: 'read', export: 'read', audit: 'read', integrations: 'read', backup: 'copy' };

/** Returns the exit code: 0 done, 1 refused (bad input, nothing changed), 2 wrong usage. */
export async function runCli(args: string[], env: Record<string, string | undefined>, streams: Streams): Promise<number> {
  const parsedEnv = CliEnvironment.safeParse(env);
  if (!parsedEnv.success) {
    streams.err.write(`${parsedEnv.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`).join('\n')}\n`);
    return 2;
  }
  const [command = 'help', ...rest] = args;
  if (command === '--version') {
    streams.out.write(`${version}\n`);
    return 0;
  }
  let register: Register | undefined;
  // Opened by the command that needs it, so help, a usage error or an unreadable file never creates a register.
  const mode = (isCommand(command) && OPEN_MODES[command]) || 'write';
  const open = () => {
    if (register) return register;
    register = openRegister(parsedEnv.data.DATABASE_PATH, mode);
    useAuditKey(register.db, parsedEnv.data.AUDIT_HMAC_KEY);
    return register;
  };
  try {
    if (HELP_FLAGS.includes(command)) showHelp(undefined, streams.out);
    else if (!isCommand(command)) throw new UsageError(`Unknown command "${command}". Run "exceptions help" for the list of commands.`);
    // Any argument asking for help is that, never a file name or a value: "policies import --help" imports nothing.
    else if (rest.some((arg) => HELP_FLAGS.includes(arg))) showHelp(command, streams.out);
    else await run(command, rest, open, streams.out, env);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      streams.err.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof RegisterUnavailableError) {
      streams.err.write(`DATABASE_PATH: ${error.message}\n`);
      return 1;
    }
    if (isDomainError(error) || error instanceof FileProblem || error instanceof IntegrationCheckFailed) {
      streams.err.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    register?.close();
  }
}

/** bin/exceptions.js reads .env as the app does, so `jobs run` has the app's environment. */
export { loadEnvFile } from '../config';
