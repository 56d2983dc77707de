import { desc, eq, inArray, type SQL } from 'drizzle-orm';
import { exceptions, policies } from '../db/schema';
import { formatExceptionRef, type ExceptionStatus } from '../domain/exception';
import type { Reader } from './exception-record';

export interface ExceptionSummary {
  ref: string;
  status: ExceptionStatus;
  policyKey: string;
  title: string;
  ownerId: string;
  requesterId: string;
  expiresOn: string | null;
  requestedExpiresOn: string;
  riskScore: number | null;
}

export function listExceptions(db: Reader, filter: { statuses?: readonly ExceptionStatus[]; limit?: number } = {}): ExceptionSummary[] {
  const where: SQL | undefined = filter.statuses?.length ? inArray(exceptions.status, [...filter.statuses]) : undefined;
  return db
    .select({
      id: exceptions.id,
      status: exceptions.status,
      policyKey: policies.key,
      title: exceptions.title,
      ownerId: exceptions.ownerId,
      requesterId: exceptions.requesterId,
      expiresOn: exceptions.expiresOn,
      requestedExpiresOn: exceptions.requestedExpiresOn,
      riskScore: exceptions.riskScore,
    })
    .from(exceptions)
    .innerJoin(policies, eq(policies.id, exceptions.policyId))
    .where(where)
    .orderBy(desc(exceptions.id))
    .limit(filter.limit ?? 1000)
    .all()
    .map(({ id, ...rest }) => ({ ref: formatExceptionRef(id), ...rest }));
}
