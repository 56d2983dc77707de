import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadEnvFile, roleWarnings, unreadableEnvLines } from '../../src/config';

const VALID = {
  SLACK_BOT_TOKEN: 'xoxb-1234-5678-abcdef',
  SLACK_SIGNING_SECRET: '8f742231b10e8888abcd99yyyzzz85a5',
  SECURITY_TEAM_IDS: 'U0SEC1,U0SEC2',
  APPROVER_IDS: 'U0CISO, U0DEP',
  COMMITTEE_IDS: 'U0COM1,U0COM2,U0COM3',
  APPROVALS_CHANNEL: 'C0APPROVAL',
  COMMITTEE_CHANNEL: 'C0COMMITTEE',
};

const REQUIRED = Object.keys(VALID) as (keyof typeof VALID)[];

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig (SPEC §4 Environment)', () => {
  it('parses a minimal environment and fills in the documented defaults', () => {
    const config = loadConfig(VALID);
    expect(config.slack).toEqual({ botToken: VALID.SLACK_BOT_TOKEN, signingSecret: VALID.SLACK_SIGNING_SECRET, appToken: undefined, apiUrl: 'https://slack.com/api/' });
    expect(config.port).toBe(3000);
    expect(config.databasePath).toBe('./data/exceptions.db');
    expect(config.roles.securityTeam).toEqual(new Set(['U0SEC1', 'U0SEC2']));
    expect(config.roles.approvers).toEqual(new Set(['U0CISO', 'U0DEP']));
    expect(config.roles.committee).toEqual(new Set(['U0COM1', 'U0COM2', 'U0COM3']));
    expect(config.roles.auditors).toEqual(new Set());
    expect(config.channels).toEqual({ approvals: 'C0APPROVAL', committee: 'C0COMMITTEE', watch: [] });
    expect(config.rules).toEqual({ committeeQuorum: 2, committeeRiskThreshold: 12, maxExceptionDays: 90, structuralMaxDays: 365, reminderDays: [14, 7, 1], checkinEveryDays: 30, checkinGraceDays: 7, reviewHour: 9, metricsHour: 9 });
    expect(config.timeZone).toBe('UTC');
    expect(config.webhook).toBeUndefined();
  });

  it('reads every optional variable when it is set', () => {
    const config = loadConfig({
      ...VALID,
      SLACK_APP_TOKEN: 'xapp-1-A0-123-abc',
      SLACK_API_URL: 'http://127.0.0.1:4000/api',
      PORT: '8080',
      DATABASE_PATH: '/var/lib/exceptions/register.db',
      AUDITOR_IDS: 'U0AUD1,U0AUD2',
      COMMITTEE_QUORUM: '3',
      COMMITTEE_RISK_THRESHOLD: '15',
      MAX_EXCEPTION_DAYS: '60',
      STRUCTURAL_MAX_DAYS: '180',
      REMINDER_DAYS: '30, 7',
      CHECKIN_DAYS: '14',
      CHECKIN_GRACE_DAYS: '3',
      WATCH_CHANNELS: 'C0SEC,C0HELP',
      EXCEPTIONS_WEBHOOK_URL: 'https://hooks.example.com/exceptions',
      EXCEPTIONS_WEBHOOK_SECRET: 'a-secret-of-sixteen+',
      TZ: 'Europe/Berlin',
    });
    expect(config.slack.appToken).toBe('xapp-1-A0-123-abc');
    expect(config.slack.apiUrl).toBe('http://127.0.0.1:4000/api/');
    expect(config.port).toBe(8080);
    expect(config.databasePath).toBe('/var/lib/exceptions/register.db');
    expect(config.roles.auditors).toEqual(new Set(['U0AUD1', 'U0AUD2']));
    expect(config.channels.watch).toEqual(['C0SEC', 'C0HELP']);
    expect(config.rules).toEqual({ committeeQuorum: 3, committeeRiskThreshold: 15, maxExceptionDays: 60, structuralMaxDays: 180, reminderDays: [30, 7], checkinEveryDays: 14, checkinGraceDays: 3, reviewHour: 9, metricsHour: 9 });
    expect(config.webhook).toEqual({ url: 'https://hooks.example.com/exceptions', secret: 'a-secret-of-sixteen+' });
    expect(config.timeZone).toBe('Europe/Berlin');
  });

  it.each(REQUIRED)('without %s: one line naming it', (variable) => {
    const env: Record<string, string | undefined> = { ...VALID };
    delete env[variable];
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${variable}: `));
  });

  it.each(REQUIRED)('%s set to an empty string counts as missing', (variable) => {
    const problems = problemsOf({ ...VALID, [variable]: '' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${variable}: `));
  });

  it.each([
    ['SLACK_BOT_TOKEN', 'xoxp-user-token'],
    ['SLACK_SIGNING_SECRET', 'short'],
    ['SLACK_APP_TOKEN', 'xoxb-not-an-app-token'],
    ['SLACK_API_URL', 'not a url'],
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['SECURITY_TEAM_IDS', 'alice,bob'],
    ['APPROVER_IDS', 'U0CISO,#security'],
    ['COMMITTEE_IDS', 'U0COM1,carol,U0COM3'],
    ['AUDITOR_IDS', 'auditor@example.com'],
    ['APPROVALS_CHANNEL', '#approvals'],
    ['COMMITTEE_CHANNEL', 'U0COM1'],
    ['COMMITTEE_QUORUM', 'two'],
    ['COMMITTEE_QUORUM', '0'],
    ['COMMITTEE_QUORUM', '4'],
    ['COMMITTEE_RISK_THRESHOLD', '0'],
    ['COMMITTEE_RISK_THRESHOLD', '26'],
    ['MAX_EXCEPTION_DAYS', '-1'],
    ['MAX_EXCEPTION_DAYS', 'ninety'],
    ['STRUCTURAL_MAX_DAYS', '30'],
    ['REMINDER_DAYS', '14,x,1'],
    ['REMINDER_DAYS', '14,-7'],
    ['WATCH_CHANNELS', 'C0SEC,general'],
    ['EXCEPTIONS_WEBHOOK_SECRET', 'too-short'],
    ['HEALTHZ_TOKEN', 'too-short'],
    ['TZ', 'Mars/Olympus_Mons'],
    ['METRICS_CRON', 'every monday'],
    ['EXPIRY_CRON', '61 * * * *'],
    ['REVIEW_CRON', '0 9 * 13 1'],
    ['RECONCILE_CRON', '30 25 * * *'],
  ])('%s=%j: one line naming it', (variable, value) => {
    const problems = problemsOf({ ...VALID, [variable]: value, ...(variable === 'EXCEPTIONS_WEBHOOK_SECRET' ? { EXCEPTIONS_WEBHOOK_URL: 'https://hooks.example.com/x' } : {}) });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${variable}: \\S`));
  });

  it('a webhook URL that is not a URL names the URL', () => {
    expect(problemsOf({ ...VALID, EXCEPTIONS_WEBHOOK_URL: 'hooks.example.com', EXCEPTIONS_WEBHOOK_SECRET: 'a-secret-of-sixteen+' })).toEqual([
      expect.stringMatching(/^EXCEPTIONS_WEBHOOK_URL: \S/),
    ]);
  });

  it('a webhook URL with a user name or password in it is refused in one line naming the URL, never echoing the password', () => {
    for (const url of ['https://hook-user:Hunter2-webhook-pw@hooks.example.com/exceptions', 'https://Hunter2-webhook-pw@hooks.example.com/x', 'http://:Hunter2-webhook-pw@127.0.0.1:8080/']) {
      const problems = problemsOf({ ...VALID, EXCEPTIONS_WEBHOOK_URL: url, EXCEPTIONS_WEBHOOK_SECRET: 'a-secret-of-sixteen+' });
      expect(problems).toEqual([expect.stringMatching(/^EXCEPTIONS_WEBHOOK_URL: must not carry a user name or password/)]);
      expect(problems.join('\n')).not.toContain('Hunter2');
    }
    expect(loadConfig({ ...VALID, EXCEPTIONS_WEBHOOK_URL: 'https://hooks.example.com/x?from=a@b', EXCEPTIONS_WEBHOOK_SECRET: 'a-secret-of-sixteen+' }).webhook?.url).toBe('https://hooks.example.com/x?from=a@b');
  });

  it('COMMITTEE_IDS listing nobody names COMMITTEE_IDS', () => {
    expect(problemsOf({ ...VALID, COMMITTEE_IDS: ' , ' })).toContainEqual(expect.stringMatching(/^COMMITTEE_IDS: \S/));
  });

  it('AUDIT_HMAC_KEY: unset by default, taken when 32 characters or more, refused in one line when shorter', () => {
    expect(loadConfig(VALID).auditKey).toBeUndefined();
    expect(loadConfig({ ...VALID, AUDIT_HMAC_KEY: 'k'.repeat(32) }).auditKey).toBe('k'.repeat(32));
    expect(problemsOf({ ...VALID, AUDIT_HMAC_KEY: 'k'.repeat(31) })).toEqual(['AUDIT_HMAC_KEY: must be at least 32 characters; make one with: openssl rand -hex 32']);
  });

  it('a webhook URL without its secret names the secret', () => {
    const problems = problemsOf({ ...VALID, EXCEPTIONS_WEBHOOK_URL: 'https://hooks.example.com/exceptions' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^EXCEPTIONS_WEBHOOK_SECRET: /);
  });

  it('reports every problem at once, one line per variable', () => {
    const env: Record<string, string | undefined> = {
      ...VALID,
      SLACK_BOT_TOKEN: undefined,
      APPROVALS_CHANNEL: 'approvals',
      COMMITTEE_QUORUM: 'two',
      TZ: 'Nowhere/Land',
      REMINDER_DAYS: 'soon',
    };
    const problems = problemsOf(env);
    const named = problems.map((line) => line.slice(0, line.indexOf(':')));
    expect(named.sort()).toEqual(['APPROVALS_CHANNEL', 'COMMITTEE_QUORUM', 'REMINDER_DAYS', 'SLACK_BOT_TOKEN', 'TZ']);
  });

  it('reports a rule between variables even when another variable is missing', () => {
    const problems = problemsOf({ ...VALID, SLACK_BOT_TOKEN: undefined, MAX_EXCEPTION_DAYS: '90', STRUCTURAL_MAX_DAYS: '30', PORT: 'abc' });
    const named = problems.map((line) => line.slice(0, line.indexOf(':')));
    expect(named.sort()).toEqual(['PORT', 'SLACK_BOT_TOKEN', 'STRUCTURAL_MAX_DAYS']);
  });

  it('the error message lists every problem on its own line', () => {
    let caught: unknown;
    try {
      loadConfig({});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const { problems, message } = caught as ConfigError;
    expect(problems.map((line) => line.slice(0, line.indexOf(':'))).sort()).toEqual([...REQUIRED].sort());
    for (const line of problems) expect(message.split('\n')).toContain(line);
  });
});

describe('numbers are plain decimal digits within sane bounds', () => {
  it.each(['0x0e', '1e1', ' ', '1.5', '+3', '-1', '3 ', '٣'])('%j is refused for every number, one readable line each', (value) => {
    const variables = ['PORT', 'COMMITTEE_QUORUM', 'COMMITTEE_RISK_THRESHOLD', 'MAX_EXCEPTION_DAYS', 'STRUCTURAL_MAX_DAYS', 'CHECKIN_DAYS', 'CHECKIN_GRACE_DAYS'];
    const problems = problemsOf({ ...VALID, ...Object.fromEntries(variables.map((variable) => [variable, value])) });
    expect(problems.sort()).toEqual([
      'CHECKIN_DAYS: must be a whole number of days from 1 to 365',
      'CHECKIN_GRACE_DAYS: must be a whole number of days from 1 to 90',
      'COMMITTEE_QUORUM: must be a whole number of approvals from 1 to 100',
      'COMMITTEE_RISK_THRESHOLD: must be a risk score from 1 to 25',
      'MAX_EXCEPTION_DAYS: must be a whole number of days from 1 to 365',
      'PORT: must be a port number from 0 to 65535',
      'STRUCTURAL_MAX_DAYS: must be a whole number of days from 1 to 1825',
    ]);
  });

  it.each([
    ['PORT', '65535', '65536'],
    ['MAX_EXCEPTION_DAYS', '365', '366'],
    ['STRUCTURAL_MAX_DAYS', '1825', '1826'],
    ['CHECKIN_DAYS', '365', '366'],
    ['CHECKIN_GRACE_DAYS', '90', '91'],
    ['COMMITTEE_RISK_THRESHOLD', '25', '26'],
  ])('%s: %s is the most it takes, %s is refused', (variable, most, tooMany) => {
    expect(() => loadConfig({ ...VALID, [variable]: most })).not.toThrow();
    expect(problemsOf({ ...VALID, [variable]: tooMany })).toEqual([expect.stringMatching(new RegExp(`^${variable}: must be `))]);
  });

  it('takes leading zeros as the number they write', () => {
    expect(loadConfig({ ...VALID, PORT: '08080', MAX_EXCEPTION_DAYS: '030' })).toMatchObject({ port: 8080, rules: { maxExceptionDays: 30 } });
  });

  it.each([
    ['14,7,7', 'REMINDER_DAYS: lists 7 twice; list each day once'],
    ['7,07', 'REMINDER_DAYS: lists 7 twice; list each day once'],
    ['14,1e1', 'REMINDER_DAYS: must be comma-separated whole days from 1 to 365, such as 14,7,1'],
    ['14,,1', 'REMINDER_DAYS: must be comma-separated whole days from 1 to 365, such as 14,7,1'],
    ['400', 'REMINDER_DAYS: must be comma-separated whole days from 1 to 365, such as 14,7,1'],
    ['soon', 'REMINDER_DAYS: must be comma-separated whole days from 1 to 365, such as 14,7,1'],
  ])('REMINDER_DAYS=%j: %s', (value, line) => {
    expect(problemsOf({ ...VALID, REMINDER_DAYS: value })).toEqual([line]);
  });

  it('LOG_LEVEL reads like the others', () => {
    expect(problemsOf({ ...VALID, LOG_LEVEL: 'verbose' })).toEqual(['LOG_LEVEL: must be one of debug, info, warn, error']);
  });
});

describe('roles and channels', () => {
  it.each(['SECURITY_TEAM_IDS', 'APPROVER_IDS', 'COMMITTEE_IDS', 'AUDITOR_IDS'])('an ID listed twice in %s is refused, naming the ID', (variable) => {
    expect(problemsOf({ ...VALID, [variable]: 'U0TWICE, U0ONCE,U0TWICE' })).toEqual([`${variable}: lists U0TWICE twice; list each person once`]);
  });

  it('an auditor who also acts is refused, one line per auditor naming every role they hold', () => {
    expect(problemsOf({ ...VALID, SECURITY_TEAM_IDS: 'U0SEC1,U0BOTH', APPROVER_IDS: 'U0CISO,U0BOTH', AUDITOR_IDS: 'U0AUD1,U0BOTH,U0COM2' })).toEqual([
      'AUDITOR_IDS: U0BOTH is also in SECURITY_TEAM_IDS and APPROVER_IDS; an auditor only reads and never acts, so list them in one or the other',
      'AUDITOR_IDS: U0COM2 is also in COMMITTEE_IDS; an auditor only reads and never acts, so list them in one or the other',
    ]);
  });

  it('someone both assessing and deciding is allowed, with one warning line saying what it means', () => {
    const config = loadConfig({ ...VALID, SECURITY_TEAM_IDS: 'U0SEC1,U0CISO,U0COM1', APPROVER_IDS: 'U0CISO', COMMITTEE_IDS: 'U0COM1,U0COM2' });
    expect(roleWarnings(config.roles)).toEqual([
      'SECURITY_TEAM_IDS: U0CISO, U0COM1 also decide (APPROVER_IDS or COMMITTEE_IDS); allowed, but they will never decide an exception whose risk they assessed, so another approver or committee member must',
    ]);
    expect(roleWarnings(loadConfig(VALID).roles)).toEqual([]);
  });

  it('the committee needs a channel of its own', () => {
    expect(problemsOf({ ...VALID, COMMITTEE_CHANNEL: VALID.APPROVALS_CHANNEL })).toEqual([
      'COMMITTEE_CHANNEL: is C0APPROVAL, the same channel as APPROVALS_CHANNEL; committee decisions need a channel of their own',
    ]);
  });
});

describe('schedules', () => {
  it.each([
    ['0 9 * * 1', 9],
    ['0 9,17 * * 1', 9],
    ['0 17,8 * * mon', 8],
    ['30 6-18/4 * * 1', 6],
  ])('METRICS_CRON=%j: the weekly post is due from %i:00 on Monday', (expression, hour) => {
    expect(loadConfig({ ...VALID, METRICS_CRON: expression }).rules.metricsHour).toBe(hour);
  });

  it.each(['0 9 * * 5', '0 9 * * 1-5', '0 9 * * *', '0 9 1-7 * 1', '0 9 * 1 1', '0 9 * * 1#1'])('METRICS_CRON=%j: refused, saying what is supported', (expression) => {
    expect(problemsOf({ ...VALID, METRICS_CRON: expression })).toEqual([
      'METRICS_CRON: the weekly metrics are posted on Mondays, so day of month, month and weekday must be "* * 1"; choose the minute and hours, e.g. "0 9 * * 1" or "0 9,17 * * 1"',
    ]);
  });

  it('REVIEW_CRON keeps the first Monday of the quarter and gives the first of its hours', () => {
    expect(loadConfig({ ...VALID, REVIEW_CRON: '30 14,9 1-7 jan,apr,jul,oct mon' }).rules.reviewHour).toBe(9);
    expect(problemsOf({ ...VALID, REVIEW_CRON: '0 9 1 1,4,7,10 *' })).toEqual([
      'REVIEW_CRON: the quarterly review is posted on the first Monday of each quarter, so day of month, month and weekday must be "1-7 1,4,7,10 1"; choose the minute and hours, e.g. "0 9 1-7 1,4,7,10 1"',
    ]);
  });

  it('EXPIRY_CRON is taken as written', () => {
    expect(loadConfig({ ...VALID, EXPIRY_CRON: '*/15 7-19 * * 1-5' }).schedules.expiry).toBe('*/15 7-19 * * 1-5');
  });

  it('RECONCILE_CRON defaults to 06:30 every day and is otherwise taken as written', () => {
    expect(loadConfig(VALID).schedules.reconcile).toBe('30 6 * * *');
    expect(loadConfig({ ...VALID, RECONCILE_CRON: '0 5 * * 1-5' }).schedules.reconcile).toBe('0 5 * * 1-5');
    expect(problemsOf({ ...VALID, RECONCILE_CRON: 'daily' })).toEqual(['RECONCILE_CRON: must be a cron expression such as "0 9 * * 1" (minute hour day month weekday)']);
  });
});

describe('.env', () => {
  it.each([
    ['NAME=value, export, quotes, comments and blank lines', 'A=1\nexport B = "two"\n# a comment\n\n  C=\'x\' # trailing\nD=', []],
    ['a quoted value over several lines', 'KEY="-----BEGIN-----\nabc\n-----END-----"\nNEXT=1', []],
    ['a line without =', 'A=1\nxoxb-pasted-alone\nB=2', [2]],
    ['a name Node takes but no variable has', 'SLACK-BOT-TOKEN=xoxb-1\n1ST=2', [1, 2]],
    ['an opening quote never closed, read as one line', 'A="open\nB=2', []],
    ['Windows line ends', 'A=1\r\nB=2\r\n', []],
  ])('%s', (_case, text, lines) => {
    expect(unreadableEnvLines(text)).toEqual(lines);
  });

  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    delete process.env.EXCEPTIONS_TEST_FROM_FILE;
    delete process.env.EXCEPTIONS_TEST_ALREADY_SET;
  });

  it('fills only what is unset, and is no error when there is no file', () => {
    dir = mkdtempSync(join(tmpdir(), 'exceptions-env-'));
    writeFileSync(join(dir, '.env'), 'EXCEPTIONS_TEST_FROM_FILE=file\nEXCEPTIONS_TEST_ALREADY_SET=file\n');
    process.env.EXCEPTIONS_TEST_ALREADY_SET = 'environment';
    loadEnvFile(join(dir, '.env'));
    expect([process.env.EXCEPTIONS_TEST_FROM_FILE, process.env.EXCEPTIONS_TEST_ALREADY_SET]).toEqual(['file', 'environment']);
    expect(() => loadEnvFile(join(dir!, 'missing.env'))).not.toThrow();
  });

  it('refuses a .env it cannot read, and one with lines Node would skip, in one line', () => {
    dir = mkdtempSync(join(tmpdir(), 'exceptions-env-'));
    mkdirSync(join(dir, 'folder.env'));
    writeFileSync(join(dir, 'broken.env'), 'A=1\nnot a line\nB=2\nnor this\n');
    const problems = (path: string) => {
      try {
        loadEnvFile(path);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    expect(problems(join(dir, 'folder.env'))).toEqual(['.env: cannot be read (EISDIR); make it a readable file or remove it']);
    expect(problems(join(dir, 'broken.env'))).toEqual(['.env: lines 2, 4 are not NAME=value; fix them or start them with # to make a comment']);
  });
});

describe('integrations (issue 12)', () => {
  const OKTA = { OKTA_ORG_URL: 'https://acme.okta.com/', OKTA_API_TOKEN: '00abcdefghijklmnop' };
  const ENTRA = { ENTRA_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47', ENTRA_CLIENT_ID: '11111111-2222-3333-4444-555555555555', ENTRA_CLIENT_SECRET: 'abc~defghijklmnop' };
  const JIRA = { JIRA_BASE_URL: 'https://acme.atlassian.net', JIRA_EMAIL: 'security-bot@acme.com', JIRA_API_TOKEN: 'ATATT3xFfGF0abcdef', JIRA_PROJECT_KEY: 'SEC' };

  it('no connector is configured by default', () => {
    expect(loadConfig(VALID).integrations).toEqual({ okta: undefined, entra: undefined, jira: undefined });
  });

  it('takes each vendor whose variables are all set, without a trailing slash on its URL', () => {
    const config = loadConfig({ ...VALID, ...OKTA, ...ENTRA, ...JIRA });
    expect(config.integrations.okta).toEqual({ orgUrl: 'https://acme.okta.com', apiToken: '00abcdefghijklmnop' });
    expect(config.integrations.entra).toMatchObject({ tenantId: ENTRA.ENTRA_TENANT_ID, clientId: ENTRA.ENTRA_CLIENT_ID, clientSecret: ENTRA.ENTRA_CLIENT_SECRET });
    expect(config.integrations.jira).toEqual({ baseUrl: 'https://acme.atlassian.net', email: 'security-bot@acme.com', apiToken: 'ATATT3xFfGF0abcdef', projectKey: 'SEC' });
  });

  it('a vendor half configured names each missing variable, in one pass with every other problem', () => {
    const problems = problemsOf({ ...VALID, OKTA_ORG_URL: OKTA.OKTA_ORG_URL, JIRA_BASE_URL: JIRA.JIRA_BASE_URL, JIRA_PROJECT_KEY: 'SEC' });
    expect(problems).toContain('OKTA_API_TOKEN: is required when OKTA_ORG_URL is set');
    expect(problems).toContain('JIRA_EMAIL: is required when JIRA_BASE_URL and JIRA_PROJECT_KEY are set');
    expect(problems).toContain('JIRA_API_TOKEN: is required when JIRA_BASE_URL and JIRA_PROJECT_KEY are set');
  });

  it('a vendor URL must be https, except to this machine, and carries no credentials; the message never echoes them', () => {
    expect(problemsOf({ ...VALID, ...OKTA, OKTA_ORG_URL: 'http://acme.okta.com' })).toEqual([expect.stringMatching(/^OKTA_ORG_URL: must use https/)]);
    expect(loadConfig({ ...VALID, ...OKTA, OKTA_ORG_URL: 'http://127.0.0.1:8123' }).integrations.okta?.orgUrl).toBe('http://127.0.0.1:8123');
    const problems = problemsOf({ ...VALID, ...JIRA, JIRA_BASE_URL: 'https://bot:hunter2secret@acme.atlassian.net' });
    expect(problems).toEqual([expect.stringMatching(/^JIRA_BASE_URL: must not carry a user name or password/)]);
    expect(problems.join('\n')).not.toContain('hunter2secret');
  });

  it('Entra IDs and the Jira project key are checked for their shape', () => {
    const problems = problemsOf({ ...VALID, ...ENTRA, ...JIRA, ENTRA_CLIENT_ID: 'my-app', JIRA_PROJECT_KEY: 'sec' });
    expect(problems).toEqual([expect.stringMatching(/^ENTRA_CLIENT_ID: must be the application \(client\) ID/), expect.stringMatching(/^JIRA_PROJECT_KEY: must be a Jira project key/)]);
  });

  it('Entra endpoints may be pointed elsewhere (sovereign clouds)', () => {
    const config = loadConfig({ ...VALID, ...ENTRA, ENTRA_LOGIN_URL: 'https://login.microsoftonline.us', ENTRA_GRAPH_URL: 'https://graph.microsoft.us/' });
    expect(config.integrations.entra).toMatchObject({ loginUrl: 'https://login.microsoftonline.us', graphUrl: 'https://graph.microsoft.us' });
  });
});
