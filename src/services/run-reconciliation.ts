import { asc, desc, isNull } from 'drizzle-orm';
import { driftFindings, exceptionBindings } from '../db/schema';
import { reconcileIdentity, type VendorReconciliation } from '../integrations/reconcile';
import type { IdentityVendor } from '../integrations/port';
import type { ServiceContext } from './context';
import { queueNotifications } from './notifications';

/** One finding as the approvals channel reads it: who, in which group, and (for a missing person) which exception. */
export interface DriftReportItem {
  vendor: IdentityVendor;
  groupName: string;
  kind: 'uncovered' | 'missing';
  /** Their email, as the vendor listed it or the request named it; the vendor's id for them when neither did. */
  person: string;
  exceptionId?: number;
}

/** Findings one post carries by name; the rest are counted (each is also an audit event), so a flood stays one message. */
const LISTED_PER_POST = 100;

/**
 * The daily reconciliation and its post: what each identity provider holds is compared with the register, and every
 * finding not posted yet (this run's, or one a crash kept from its post) goes to the approvals channel in one message.
 */
export async function runReconciliation(ctx: ServiceContext, now: Date): Promise<{ vendors: VendorReconciliation[]; posted: number }> {
  const vendors = await reconcileIdentity(ctx, now);
  return { vendors, posted: queueDriftReport(ctx, now) };
}

function queueDriftReport(ctx: ServiceContext, now: Date): number {
  return ctx.db.transaction(
    (tx) => {
      const unposted = tx
        .select()
        .from(driftFindings)
        .where(isNull(driftFindings.postedAt))
        // A person in a bypass group without cover comes first: that is the exemption nobody approved.
        .orderBy(asc(driftFindings.vendor), asc(driftFindings.groupId), desc(driftFindings.kind), asc(driftFindings.exceptionId), asc(driftFindings.person))
        .all();
      if (unposted.length === 0) return 0;
      const names = new Map<string, string>();
      for (const binding of tx.select({ vendor: exceptionBindings.vendor, groupId: exceptionBindings.groupId, groupName: exceptionBindings.groupName }).from(exceptionBindings).orderBy(asc(exceptionBindings.id)).all()) {
        names.set(`${binding.vendor}:${binding.groupId}`, binding.groupName);
      }
      const findings = unposted.slice(0, LISTED_PER_POST).map(
        (row): DriftReportItem => ({
          vendor: row.vendor,
          groupName: names.get(`${row.vendor}:${row.groupId}`) ?? row.groupId,
          kind: row.kind,
          person: row.personEmail ?? row.person,
          ...(row.exceptionId === null ? {} : { exceptionId: row.exceptionId }),
        }),
      );
      queueNotifications(tx, [{ kind: 'channel_post', channel: ctx.channels.approvals, message: 'drift_report', findings, total: unposted.length }], now);
      tx.update(driftFindings).set({ postedAt: now.toISOString() }).where(isNull(driftFindings.postedAt)).run();
      return unposted.length;
    },
    { behavior: 'immediate' },
  );
}
