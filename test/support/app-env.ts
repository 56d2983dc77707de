import type { SlackStandIn } from './slack-stand-in.js';

/**
 * The smallest complete configuration for starting the real app as a process against the stand-in: what every test
 * that spawns `dist/main.js` (or the sources) gives it, before adding what it is about.
 */
export function appEnv(standIn: Pick<SlackStandIn, 'botToken' | 'url'>, databasePath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: standIn.botToken,
    SLACK_SIGNING_SECRET: 'spawned-app-signing-secret-0123',
    SLACK_API_URL: standIn.url,
    PORT: '0',
    DATABASE_PATH: databasePath,
    SECURITY_TEAM_IDS: 'U0SEC1',
    APPROVER_IDS: 'U0CISO',
    COMMITTEE_IDS: 'U0COM1,U0COM2',
    APPROVALS_CHANNEL: 'C0APPROVALS',
    COMMITTEE_CHANNEL: 'C0COMMITTEE',
    TZ: 'UTC',
    ...extra,
  };
}
