import type { Db } from '../db/client';
import type { Roles } from '../domain/roles';
import { createConnectors, type Connectors, type IntegrationSettings } from '../integrations/connectors';

export type Clock = () => Date;

/** The actor recorded for what the scheduler does by itself: expiry, reminders, nudges, check-ins, reviews. */
export const SCHEDULER_ACTOR = 'scheduler';

export interface Rules {
  committeeQuorum: number;
  committeeRiskThreshold: number;
  maxExceptionDays: number;
  structuralMaxDays: number;
  /** Days before expiry on which the owner is reminded, e.g. [14, 7, 1]. */
  reminderDays: readonly number[];
  /** How often the owner is asked whether the compensating control still works, and how long they have to answer. */
  checkinEveryDays: number;
  checkinGraceDays: number;
  /** The hour (in TZ) from which the quarterly review is due on the first Monday, taken from REVIEW_CRON. */
  reviewHour: number;
  /** The hour (in TZ) from which Monday's weekly metrics are due, taken from METRICS_CRON. */
  metricsHour: number;
}

/** What every service needs: the register, the time, who holds which role, and the organisation's rules. */
export interface ServiceContext {
  db: Db;
  clock: Clock;
  roles: Roles;
  rules: Rules;
  timeZone: string;
  channels: { approvals: string; committee: string };
  /** The identity providers and change-management tool configured; a vendor not configured is absent. */
  connectors: Connectors;
}

/** The one way a context is built from configuration, for the app and the command line alike. */
export function createServiceContext(
  db: Db,
  clock: Clock,
  config: { roles: Roles; rules: Rules; timeZone: string; channels: { approvals: string; committee: string }; integrations?: IntegrationSettings },
): ServiceContext {
  return {
    db,
    clock,
    roles: config.roles,
    rules: config.rules,
    timeZone: config.timeZone,
    channels: { approvals: config.channels.approvals, committee: config.channels.committee },
    connectors: createConnectors(config.integrations ?? {}, { clock }),
  };
}
