import type { Db } from '../db/client';
import type { Roles } from '../domain/roles';

export type Clock = () => Date;

export interface Rules {
  committeeQuorum: number;
  committeeRiskThreshold: number;
  maxExceptionDays: number;
  structuralMaxDays: number;
}

/** What every service needs: the register, the time, who holds which role, and the organisation's rules. */
export interface ServiceContext {
  db: Db;
  clock: Clock;
  roles: Roles;
  rules: Rules;
  timeZone: string;
  channels: { approvals: string; committee: string };
}
