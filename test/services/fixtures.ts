import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asc } from 'drizzle-orm';
import { openRegister, type Register } from '../../src/db/client';
import { auditEvents, outbox } from '../../src/db/schema';
import type { ExceptionRequestDraft } from '../../src/domain/request';
import type { ServiceContext } from '../../src/services/context';
import { DomainError } from '../../src/domain/errors';
import { assessRisk } from '../../src/services/assess-risk';
import { importPolicies } from '../../src/services/policy-catalogue';
import { requestException } from '../../src/services/request-exception';

export const NOW = new Date('2026-11-25T10:00:00Z');
export const TODAY = '2026-11-25';
/** TODAY + 90 days: the default and maximum expiry. */
export const MAX_EXPIRY = '2027-02-23';

export const SECURITY = ['U0SEC1', 'U0SEC2'] as const;
export const APPROVERS = ['U0CISO', 'U0DEP'] as const;
export const COMMITTEE = ['U0COM1', 'U0COM2', 'U0COM3'] as const;
export const REQUESTER = 'U0REQ';
export const OWNER = 'U0OWN';
export const APPROVALS_CHANNEL = 'C0APPROVAL';
export const COMMITTEE_CHANNEL = 'C0COMMITTEE';

export const POLICY_CSV = [
  'key,title,description',
  'AC-2,Account management,Every account belongs to one named person.',
  'IA-2,Multi-factor authentication,MFA on every interactive login.',
  'SC-8,Transmission confidentiality,TLS 1.2 or later everywhere.',
].join('\n');

export interface TestRegister {
  dir: string;
  path: string;
  register: Register;
  ctx: ServiceContext;
  /** A context on the same register with some settings changed, e.g. a later clock. */
  with(overrides: Partial<Omit<ServiceContext, 'db'>>): ServiceContext;
  close(): void;
}

export function buildContext(register: Register, overrides: Partial<Omit<ServiceContext, 'db'>> = {}): ServiceContext {
  return {
    db: register.db,
    clock: () => NOW,
    roles: {
      securityTeam: new Set(SECURITY),
      approvers: new Set(APPROVERS),
      committee: new Set(COMMITTEE),
      auditors: new Set(),
    },
    rules: { committeeQuorum: 2, committeeRiskThreshold: 12, maxExceptionDays: 90, structuralMaxDays: 365, reminderDays: [14, 7, 1], checkinEveryDays: 30, checkinGraceDays: 7, reviewHour: 9, metricsHour: 9 },
    timeZone: 'UTC',
    channels: { approvals: APPROVALS_CHANNEL, committee: COMMITTEE_CHANNEL },
    connectors: { identity: {} },
    ...overrides,
  };
}

/** A fresh register file with the real migrations applied; `policies` seeds the catalogue unless false. */
export function openTestRegister(options: { policies?: boolean } = {}): TestRegister {
  const dir = mkdtempSync(join(tmpdir(), 'exception-register-'));
  const path = join(dir, 'register.db');
  const register = openRegister(path);
  const ctx = buildContext(register);
  if (options.policies !== false) importPolicies(ctx.db, ctx.clock, POLICY_CSV, SECURITY[0]);
  return {
    dir,
    path,
    register,
    ctx,
    with: (overrides) => buildContext(register, overrides),
    close: () => {
      register.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function validRequest(overrides: Partial<ExceptionRequestDraft> = {}): ExceptionRequestDraft {
  return {
    policy: 'IA-2',
    title: 'No MFA on the legacy payroll console',
    scope: 'The payroll console PAY-01, used by the two payroll administrators.',
    justification: 'The payroll vendor cannot add MFA before their February release; we upgrade the week it ships.',
    compensatingControls: 'Console reachable only from the admin VLAN; logins alert the SOC in real time.',
    owner: OWNER,
    expiresOn: '2027-01-31',
    ...overrides,
  };
}

export const LOW_RISK = { likelihood: 2, impact: 3, rationale: 'Reachable only from the admin VLAN; two users, both known.' };
export const HIGH_RISK = { likelihood: 3, impact: 4, rationale: 'Payroll data of every employee, and the console is widely known.' };

/** Row counts of every table the migrations created, so a refusal can be shown to write nothing anywhere. */
export function countRows(register: Register): Record<string, number> {
  const tables = register.sqlite
    .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '__drizzle%' order by name")
    .all() as { name: string }[];
  return Object.fromEntries(
    tables.map(({ name }) => [name, (register.sqlite.prepare(`select count(*) as n from "${name}"`).get() as { n: number }).n]),
  );
}

export function auditRows(register: Register) {
  return register.db.select().from(auditEvents).orderBy(asc(auditEvents.id)).all();
}

/** What a service queued, less App Home's refresh, which follows every card change (test/services/home-refresh.test.ts). */
export function outboxRows(register: Register) {
  return register.db
    .select()
    .from(outbox)
    .orderBy(asc(outbox.id))
    .all()
    .map((row) => ({ ...row, payload: JSON.parse(row.payload) as Record<string, unknown> }))
    .filter((row) => row.payload.card !== 'home');
}

/** Files a valid request and returns its id; fails the test if the request is refused. */
export function fileRequest(ctx: ServiceContext, overrides: Partial<ExceptionRequestDraft> = {}, requesterId = REQUESTER): number {
  const result = requestException(ctx, { requesterId, input: validRequest(overrides) });
  if (!result.ok) throw new Error(`request refused: ${JSON.stringify(result.errors)}`);
  return result.exceptionId;
}

/** Assesses an exception and returns the route; fails the test if the assessment is refused. */
export function assess(ctx: ServiceContext, exceptionId: number, risk: typeof LOW_RISK, assessorId: string = SECURITY[0]) {
  const result = assessRisk(ctx, { exceptionId, assessorId, input: risk });
  if (!result.ok) throw new Error(`assessment refused: ${JSON.stringify(result.errors)}`);
  return result;
}

/** The DomainError a call throws; fails the test if it returns or throws anything else. */
export function domainErrorOf(call: () => unknown): DomainError {
  try {
    call();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}
