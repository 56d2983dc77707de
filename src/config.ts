import { readFileSync } from 'node:fs';
import cron from 'node-cron';
import { z } from 'zod';
import { isTimeZone } from './domain/calendar';
import { SLACK_USER_ID } from './domain/exception';
import { partlyConfigured, type IntegrationSettings } from './integrations/connectors';
import type { Roles } from './domain/roles';

const SLACK_CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

/** An entry listed twice is usually a typo for another one, so it is refused rather than quietly merged. */
const listedOnce = (what: string) => (entries: readonly (string | number)[], ctx: z.RefinementCtx) => {
  const repeated = entries.find((entry, i) => entries.indexOf(entry) !== i);
  if (repeated !== undefined) ctx.addIssue({ code: 'custom', message: `lists ${repeated} twice; list each ${what} once` });
};

const userIds = (required: boolean) =>
  z
    .string()
    .transform((value) => value.split(',').map((id) => id.trim()).filter(Boolean))
    .pipe(
      z
        .array(z.string().regex(SLACK_USER_ID, { error: 'each entry must be a Slack user ID like U012ABCDEF' }))
        .min(required ? 1 : 0, { error: 'needs at least one Slack user ID (comma-separated)' })
        .superRefine(listedOnce('person')),
    );

/** Plain decimal digits only: Number() would also take "0x0e", "1e1", "1.5", "+3" and " ", which nobody means as a count. */
const wholeNumber = (min: number, max: number, error: string) =>
  z
    .string()
    .regex(/^\d+$/, { error })
    .transform(Number)
    .pipe(z.number().min(min, { error }).max(max, { error }));

const days = (max: number) => wholeNumber(1, max, `must be a whole number of days from 1 to ${max}`);

const REMINDER_DAYS_ERROR = 'must be comma-separated whole days from 1 to 365, such as 14,7,1';

/** The weekly metrics are due from an hour on Monday (services/weekly-metrics.ts), so only Monday schedules mean what they say. */
const METRICS_SCHEDULE_ERROR = 'the weekly metrics are posted on Mondays, so day of month, month and weekday must be "* * 1"; choose the minute and hours, e.g. "0 9 * * 1" or "0 9,17 * * 1"';
/** The quarterly review is due from the first Monday of the quarter (services/quarterly-review.ts). */
const REVIEW_SCHEDULE_ERROR = 'the quarterly review is posted on the first Monday of each quarter, so day of month, month and weekday must be "1-7 1,4,7,10 1"; choose the minute and hours, e.g. "0 9 1-7 1,4,7,10 1"';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sameDays = (field: readonly (number | string)[], expected: readonly number[]) => field.length === expected.length && expected.every((day) => field.includes(day));

const schedule = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((expression) => cron.validate(expression), { error: 'must be a cron expression such as "0 9 * * 1" (minute hour day month weekday)', abort: true });

/** A schedule whose days are fixed by the job it triggers: only its minute and hours are free. */
const scheduleOn = (fallback: string, day: { dayOfMonth: number[]; month: number[]; dayOfWeek: number[] }, error: string) =>
  schedule(fallback).refine(
    (expression) => {
      const fields = cron.parse(expression);
      return sameDays(fields.dayOfMonth, day.dayOfMonth) && sameDays(fields.month, day.month) && sameDays(fields.dayOfWeek, day.dayOfWeek);
    },
    { error },
  );

/**
 * A vendor's base URL: https, or plain http only to this machine (the stand-ins in tests), with no credentials in
 * it (they would end up in error messages and logs), and no trailing slash so paths join one way.
 */
const vendorUrl = (example: string) =>
  z
    .url({ error: `must be a URL such as ${example}` })
    .refine((url) => /^https:\/\//i.test(url) || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/i.test(url), { error: `must use https (plain http only to 127.0.0.1 or localhost), such as ${example}` })
    .refine((url) => !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url), { error: 'must not carry a user name or password; the credentials go in their own variables' })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional();

const secret = (what: string) => z.string().trim().min(8, { error: `must be ${what}` }).optional();

const channelId = z.string().regex(SLACK_CHANNEL_ID, { error: 'must be a Slack channel ID like C012ABCDEF' });

export const Environment = z.object({
    SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', { error: 'must be a bot token starting with xoxb-' }),
    SLACK_SIGNING_SECRET: z.string().min(8, { error: 'must be the signing secret from the app settings' }),
    SLACK_APP_TOKEN: z.string().startsWith('xapp-', { error: 'must be an app-level token starting with xapp-' }).optional(),
    SLACK_API_URL: z.url({ error: 'must be a URL such as https://slack.com/api/' }).default('https://slack.com/api/'),
    PORT: wholeNumber(0, 65535, 'must be a port number from 0 to 65535').default(3000),
    DATABASE_PATH: z.string().min(1).default('./data/exceptions.db'),
    SECURITY_TEAM_IDS: userIds(true),
    APPROVER_IDS: userIds(true),
    COMMITTEE_IDS: userIds(true),
    AUDITOR_IDS: userIds(false).default([]),
    APPROVALS_CHANNEL: channelId,
    COMMITTEE_CHANNEL: channelId,
    // Bounded in fact by the committee's size, checked below.
    COMMITTEE_QUORUM: wholeNumber(1, 100, 'must be a whole number of approvals from 1 to 100').default(2),
    COMMITTEE_RISK_THRESHOLD: wholeNumber(1, 25, 'must be a risk score from 1 to 25').default(12),
    // Past a year an ordinary exception is a structural one; past five years a structural one is a change of policy.
    MAX_EXCEPTION_DAYS: days(365).default(90),
    STRUCTURAL_MAX_DAYS: days(1825).default(365),
    REMINDER_DAYS: z
      .string()
      .default('14,7,1')
      .transform((value) => value.split(',').map((day) => day.trim()))
      .pipe(z.array(wholeNumber(1, 365, REMINDER_DAYS_ERROR)).superRefine(listedOnce('day'))),
    CHECKIN_DAYS: days(365).default(30),
    CHECKIN_GRACE_DAYS: days(90).default(7),
    WATCH_CHANNELS: z
      .string()
      .default('')
      .transform((value) => value.split(',').map((c) => c.trim()).filter(Boolean))
      .pipe(z.array(channelId)),
    // Credentials in a URL end up in error messages, logs and the register; the secret below signs every delivery instead.
    EXCEPTIONS_WEBHOOK_URL: z
      .url({ error: 'must be a URL such as https://hooks.example.com/exceptions' })
      .refine((url) => !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url), { error: 'must not carry a user name or password (https://user:pass@…); remove them, the deliveries are signed with EXCEPTIONS_WEBHOOK_SECRET' })
      .optional(),
    EXCEPTIONS_WEBHOOK_SECRET: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
    HEALTHZ_TOKEN: z.string().min(16, { error: 'must be at least 16 characters; make one with: openssl rand -hex 16' }).optional(),
    // 32 characters of `openssl rand -hex 32` are 128 bits; a shorter key is a password someone could guess offline.
    AUDIT_HMAC_KEY: z.string().min(32, { error: 'must be at least 32 characters; make one with: openssl rand -hex 32' }).optional(),
    // Each connector is optional and configured only when all of its variables are set (integrations/connectors.ts).
    OKTA_ORG_URL: vendorUrl('https://example.okta.com'),
    OKTA_API_TOKEN: secret('the API token from Okta Admin → Security → API → Tokens'),
    ENTRA_TENANT_ID: z.string().regex(/^[0-9a-f-]{36}$|^[a-z0-9.-]+\.[a-z]{2,}$/i, { error: 'must be the directory (tenant) ID, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47, or a domain such as example.onmicrosoft.com' }).optional(),
    ENTRA_CLIENT_ID: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, { error: 'must be the application (client) ID, a GUID' }).optional(),
    ENTRA_CLIENT_SECRET: secret('the client secret value from the app registration (Certificates & secrets)'),
    // Sovereign clouds (and the test stand-ins) have other endpoints; the defaults are Microsoft's global ones.
    ENTRA_LOGIN_URL: vendorUrl('https://login.microsoftonline.com'),
    ENTRA_GRAPH_URL: vendorUrl('https://graph.microsoft.com'),
    JIRA_BASE_URL: vendorUrl('https://example.atlassian.net'),
    JIRA_EMAIL: z.email({ error: 'must be the email address of the Jira account the API token belongs to' }).optional(),
    JIRA_API_TOKEN: secret('the API token from id.atlassian.com → Security → API tokens'),
    JIRA_PROJECT_KEY: z.string().regex(/^[A-Z][A-Z0-9_]{1,9}$/, { error: 'must be a Jira project key such as SEC (capital letters, digits, underscore)' }).optional(),
    TZ: z.string().default('UTC').refine(isTimeZone, { error: 'must be an IANA time zone such as Europe/Berlin' }),
    METRICS_CRON: scheduleOn('0 9 * * 1', { dayOfMonth: range(1, 31), month: range(1, 12), dayOfWeek: [1] }, METRICS_SCHEDULE_ERROR),
    EXPIRY_CRON: schedule('0 * * * *'),
    REVIEW_CRON: scheduleOn('0 9 1-7 1,4,7,10 1', { dayOfMonth: range(1, 7), month: [1, 4, 7, 10], dayOfWeek: [1] }, REVIEW_SCHEDULE_ERROR),
    // The daily comparison of each identity provider's bypass groups with the register; runs only when one is configured.
    RECONCILE_CRON: schedule('30 6 * * *'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error'], { error: 'must be one of debug, info, warn, error' }).default('info'),
  });

export interface Config {
  slack: { botToken: string; signingSecret: string; appToken?: string; apiUrl: string };
  port: number;
  databasePath: string;
  roles: Roles;
  channels: { approvals: string; committee: string; watch: string[] };
  rules: {
    committeeQuorum: number;
    committeeRiskThreshold: number;
    maxExceptionDays: number;
    structuralMaxDays: number;
    reminderDays: number[];
    checkinEveryDays: number;
    checkinGraceDays: number;
    reviewHour: number;
    metricsHour: number;
  };
  webhook?: { url: string; secret: string };
  /** The identity providers and change-management tool the register applies exceptions in; each absent unless configured. */
  integrations: IntegrationSettings;
  /** Lets GET /healthz show its details (job results and errors name exceptions) to `Authorization: Bearer <token>`. */
  healthToken?: string;
  /** Seals every audit event (HMAC-SHA256), so a trail recomputed without it fails `audit verify`. */
  auditKey?: string;
  timeZone: string;
  schedules: { metrics: string; expiry: string; review: string; reconcile: string };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Configuration is invalid:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The first hour of the day a schedule runs at: from then on its job is due that day ("0 9,17 * * 1" → 9). */
function firstHour(expression: string): number {
  return Math.min(...cron.parse(expression).hour);
}

/** Rules between variables, checked on whatever parses on its own, so they are reported alongside every other problem. */
function crossVariableProblems(present: Record<string, string | undefined>): string[] {
  const read = <K extends keyof typeof Environment.shape>(key: K) => Environment.shape[key].safeParse(present[key]).data as z.output<(typeof Environment.shape)[K]> | undefined;
  const problems: string[] = [];
  const maxDays = read('MAX_EXCEPTION_DAYS');
  const structuralMaxDays = read('STRUCTURAL_MAX_DAYS');
  if (maxDays !== undefined && structuralMaxDays !== undefined && structuralMaxDays < maxDays) {
    problems.push(`STRUCTURAL_MAX_DAYS: is ${structuralMaxDays} but must be at least MAX_EXCEPTION_DAYS (${maxDays})`);
  }
  const quorum = read('COMMITTEE_QUORUM');
  const committee = read('COMMITTEE_IDS');
  if (quorum !== undefined && committee !== undefined && quorum > committee.length) {
    problems.push(`COMMITTEE_QUORUM: is ${quorum} but COMMITTEE_IDS lists only ${committee.length} members`);
  }
  problems.push(...partlyConfigured(present));
  if (present.EXCEPTIONS_WEBHOOK_URL && !present.EXCEPTIONS_WEBHOOK_SECRET) {
    problems.push('EXCEPTIONS_WEBHOOK_SECRET: is required when EXCEPTIONS_WEBHOOK_URL is set');
  }
  const approvals = read('APPROVALS_CHANNEL');
  if (approvals !== undefined && approvals === read('COMMITTEE_CHANNEL')) {
    problems.push(`COMMITTEE_CHANNEL: is ${approvals}, the same channel as APPROVALS_CHANNEL; committee decisions need a channel of their own`);
  }
  const acting = { SECURITY_TEAM_IDS: read('SECURITY_TEAM_IDS'), APPROVER_IDS: read('APPROVER_IDS'), COMMITTEE_IDS: committee };
  for (const auditor of read('AUDITOR_IDS') ?? []) {
    const roles = Object.entries(acting).filter(([, ids]) => ids?.includes(auditor)).map(([variable]) => variable);
    if (roles.length > 0) problems.push(`AUDITOR_IDS: ${auditor} is also in ${roles.join(' and ')}; an auditor only reads and never acts, so list them in one or the other`);
  }
  return problems;
}

/**
 * Allowed overlaps worth a word at start-up: one line, so an admin who meant it reads it once. Someone both assessing
 * and deciding never decides a round they assessed, so each such exception needs another approver or member.
 */
export function roleWarnings(roles: Roles): string[] {
  const both = [...roles.securityTeam].filter((id) => roles.approvers.has(id) || roles.committee.has(id));
  if (both.length === 0) return [];
  return [`SECURITY_TEAM_IDS: ${both.join(', ')} ${both.length === 1 ? 'also decides' : 'also decide'} (APPROVER_IDS or COMMITTEE_IDS); allowed, but they will never decide an exception whose risk they assessed, so another approver or committee member must`];
}

const ENV_ASSIGNMENT = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*(.*)$/;

/** The numbers of the lines Node's .env parser would skip without a word: neither NAME=value, a comment nor blank. */
export function unreadableEnvLines(text: string): number[] {
  const lines = text.split(/\r?\n/);
  const unreadable: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const value = ENV_ASSIGNMENT.exec(line)?.[1];
    if (value === undefined) {
      unreadable.push(i + 1);
      continue;
    }
    // A quoted value may run over several lines, up to its closing quote, as Node reads it.
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === '`') && !value.slice(1).includes(quote)) {
      const closing = lines.findIndex((later, j) => j > i && later.includes(quote));
      if (closing !== -1) i = closing;
    }
  }
  return unreadable;
}

/**
 * Fills what is not set from `.env` in the working directory, if there is one: a variable already set always wins,
 * as `process.loadEnvFile` does. A line Node cannot read would leave its variable silently unset, so it is refused.
 */
export function loadEnvFile(path = '.env'): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new ConfigError([`.env: cannot be read (${code}); make it a readable file or remove it`]);
  }
  const unreadable = unreadableEnvLines(text);
  if (unreadable.length > 0) {
    const [which, them] = unreadable.length === 1 ? [`line ${unreadable[0]} is`, 'it'] : [`lines ${unreadable.join(', ')} are`, 'them'];
    throw new ConfigError([`.env: ${which} not NAME=value; fix ${them} or start ${them} with # to make a comment`]);
  }
  process.loadEnvFile(path);
}

function integrationSettings(e: z.output<typeof Environment>): IntegrationSettings {
  return {
    okta: e.OKTA_ORG_URL && e.OKTA_API_TOKEN ? { orgUrl: e.OKTA_ORG_URL, apiToken: e.OKTA_API_TOKEN } : undefined,
    entra:
      e.ENTRA_TENANT_ID && e.ENTRA_CLIENT_ID && e.ENTRA_CLIENT_SECRET
        ? { tenantId: e.ENTRA_TENANT_ID, clientId: e.ENTRA_CLIENT_ID, clientSecret: e.ENTRA_CLIENT_SECRET, loginUrl: e.ENTRA_LOGIN_URL, graphUrl: e.ENTRA_GRAPH_URL }
        : undefined,
    jira: e.JIRA_BASE_URL && e.JIRA_EMAIL && e.JIRA_API_TOKEN && e.JIRA_PROJECT_KEY ? { baseUrl: e.JIRA_BASE_URL, email: e.JIRA_EMAIL, apiToken: e.JIRA_API_TOKEN, projectKey: e.JIRA_PROJECT_KEY } : undefined,
  };
}

/** Every problem at once, one line each naming the variable, so a misconfigured deploy is fixed in one pass. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = Environment.safeParse(present);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? 'environment');
        const missing = issue.code === 'invalid_type' && present[variable] === undefined;
        return `${variable}: ${missing ? 'is required but not set' : issue.message}`;
      });
  problems.push(...crossVariableProblems(present));
  if (!parsed.success || problems.length > 0) throw new ConfigError([...new Set(problems)]);
  const e = parsed.data;
  return {
    slack: { botToken: e.SLACK_BOT_TOKEN, signingSecret: e.SLACK_SIGNING_SECRET, appToken: e.SLACK_APP_TOKEN, apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/` },
    port: e.PORT,
    databasePath: e.DATABASE_PATH,
    roles: {
      securityTeam: new Set(e.SECURITY_TEAM_IDS),
      approvers: new Set(e.APPROVER_IDS),
      committee: new Set(e.COMMITTEE_IDS),
      auditors: new Set(e.AUDITOR_IDS),
    },
    channels: { approvals: e.APPROVALS_CHANNEL, committee: e.COMMITTEE_CHANNEL, watch: e.WATCH_CHANNELS },
    rules: {
      committeeQuorum: e.COMMITTEE_QUORUM,
      committeeRiskThreshold: e.COMMITTEE_RISK_THRESHOLD,
      maxExceptionDays: e.MAX_EXCEPTION_DAYS,
      structuralMaxDays: e.STRUCTURAL_MAX_DAYS,
      reminderDays: e.REMINDER_DAYS,
      checkinEveryDays: e.CHECKIN_DAYS,
      checkinGraceDays: e.CHECKIN_GRACE_DAYS,
      reviewHour: firstHour(e.REVIEW_CRON),
      metricsHour: firstHour(e.METRICS_CRON),
    },
    webhook: e.EXCEPTIONS_WEBHOOK_URL && e.EXCEPTIONS_WEBHOOK_SECRET ? { url: e.EXCEPTIONS_WEBHOOK_URL, secret: e.EXCEPTIONS_WEBHOOK_SECRET } : undefined,
    integrations: integrationSettings(e),
    healthToken: e.HEALTHZ_TOKEN,
    auditKey: e.AUDIT_HMAC_KEY,
    timeZone: e.TZ,
    schedules: { metrics: e.METRICS_CRON, expiry: e.EXPIRY_CRON, review: e.REVIEW_CRON, reconcile: e.RECONCILE_CRON },
    logLevel: e.LOG_LEVEL,
  };
}
