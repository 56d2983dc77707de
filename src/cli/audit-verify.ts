import { webApi } from '@slack/bolt';
import { anchorHolds, type ChainVerdict } from '../db/audit-chain';
import type { Db } from '../db/client';
import type { SourcedAnchor } from '../domain/audit-anchor';
import { DomainError } from '../domain/errors';
import { readPostedAnchors } from '../slack/posted-anchors';
import { verifyRegister, type ExceptionFinding } from '../services/verify-register';
import { visible } from './terminal-text';

export interface AuditVerifyOptions {
  key?: string;
  timeZone: string;
  /** Read from the files named with --anchors. */
  anchors: SourcedAnchor[];
  /** With --slack: where the weekly posts, and the anchors they carry, are read back from. */
  committee?: { botToken: string; channel: string; apiUrl: string };
}

/** Past this many, the differences are counted rather than listed: a rewritten register would bury the summary. */
const LISTED = 50;

const count = (n: number, one: string) => `${n.toLocaleString('en')} ${n === 1 ? one : `${one}s`}`;

function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  return `${n}${teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')}`;
}

const short = (hash: string) => `${hash.slice(0, 12)}…`;

function breakProblem(chain: ChainVerdict): string[] {
  const broken = chain.broken;
  if (!broken) return [];
  const what = {
    edited: 'was changed after it was written',
    deleted_or_reordered: 'does not follow the event before it: an event was deleted or inserted, or the order changed',
    uid_changed: 'carries a uid its hash does not give: its identifier was changed',
    unsealed:
      chain.sealedFrom === null
        ? 'ends a trail no event of which is sealed with AUDIT_HMAC_KEY: the trail was recomputed without the key, or the app has not started since the key was set (it seals the trail at start-up)'
        : `is not sealed with AUDIT_HMAC_KEY, though the trail is from event ${chain.sealedFrom} on: it was written or recomputed without the key`,
  }[broken.problem];
  return [`The audit trail is broken at event ${broken.eventId} (the ${ordinal(broken.position)}): it ${what}.`];
}

function chainProblems(chain: ChainVerdict): string[] {
  const problems = breakProblem(chain);
  if (chain.unchecked > 0) {
    const [are, they] = chain.unchecked === 1 ? ['is', 'it says'] : ['are', 'they say'];
    problems.push(`${count(chain.unchecked, 'event')} ${are} sealed with AUDIT_HMAC_KEY, which is not set here: the chain's links were checked, but not what ${they}. Set AUDIT_HMAC_KEY to the app's key and verify again.`);
  }
  for (const { anchor, found } of chain.anchors.filter((a) => !anchorHolds(a))) {
    problems.push(
      found === null
        ? `${anchor.source} says the audit trail had ${count(anchor.count, 'event')}; it has only ${chain.events.toLocaleString('en')} now: events were removed from its end.`
        : `${anchor.source} says event ${anchor.count} had the hash ${short(anchor.hash)}; it has ${short(found)} now: the trail was rewritten at or before that event.`,
    );
  }
  return problems;
}

function findingLines(finding: ExceptionFinding): string[] {
  if (finding.unreplayable) {
    const at = finding.unreplayable.eventId === null ? '' : ` (event ${finding.unreplayable.eventId})`;
    return [`${finding.ref}${at}: ${visible(finding.unreplayable.problem)}.`];
  }
  return finding.discrepancies.map((d) => `${finding.ref} ${visible(d.field)}: the register says ${visible(d.register)}, the audit trail says ${visible(d.trail)}.`);
}

function summary(chain: ChainVerdict, exceptions: number, key: string | undefined, committee: boolean): string[] {
  const lines = [chain.events === 0 ? 'The audit trail is empty: nothing has been recorded yet.' : `The audit trail is intact: ${count(chain.events, 'event')}${chain.events > 1 ? ', each linked to the one before' : ''}.`];
  if (key && chain.sealedFrom !== null) {
    const sealed = chain.sealedFrom === chain.events ? `Event ${chain.events} is sealed with AUDIT_HMAC_KEY and checks` : `Events ${chain.sealedFrom} to ${chain.events} are sealed with AUDIT_HMAC_KEY and check`;
    lines.push(
      chain.sealedFrom === 1 ? 'Every event is sealed with AUDIT_HMAC_KEY and checks with it.' : `${sealed} with it; the ${count(chain.sealedFrom - 1, 'event')} written before the key was set are bound by the first sealed one.`,
    );
  } else if (chain.events > 0) {
    lines.push('No event is sealed: without AUDIT_HMAC_KEY, whoever can write the register file can also recompute the chain; the anchors are then what shows it.');
  }
  if (chain.anchors.length > 0) {
    const latest = Math.max(...chain.anchors.map((a) => a.anchor.count));
    const after = chain.events > latest ? `; the ${count(chain.events - latest, 'event')} since have no anchor yet` : '';
    lines.push(`It matches ${count(chain.anchors.length, 'anchor')} kept outside the register, the latest at event ${latest}${after}.`);
  } else if (committee) {
    lines.push('The committee channel holds no weekly post with an anchor yet: nothing was checked against it.');
  }
  lines.push(exceptions === 0 ? 'The register holds no exception yet.' : `The register agrees with its audit trail: ${count(exceptions, 'exception')} replayed from their events.`);
  return lines;
}

/**
 * `exceptions audit verify`: the chain, its seals and its anchors, then every exception replayed and compared with
 * its rows. Prints what held and returns; or throws with one line per problem found (exit code 1).
 */
export async function verifyAudit(db: Db, options: AuditVerifyOptions, out: { write(text: string): unknown }): Promise<void> {
  const committee = options.committee;
  const posted = committee
    ? await readPostedAnchors(new webApi.WebClient(committee.botToken, { slackApiUrl: committee.apiUrl, retryConfig: { retries: 2 }, timeout: 10_000, logLevel: webApi.LogLevel.ERROR }), committee.channel)
    : [];
  const { chain, exceptions, findings } = verifyRegister(db, { key: options.key, timeZone: options.timeZone, anchors: [...options.anchors, ...posted] });
  const differences = findings.flatMap(findingLines);
  const problems = [...chainProblems(chain), ...differences.slice(0, LISTED)];
  if (differences.length > LISTED) problems.push(`… and ${count(differences.length - LISTED, 'more difference')} between the register and its audit trail.`);
  if (problems.length > 0) throw new DomainError('audit_broken', problems.join('\n'));
  out.write(`${summary(chain, exceptions, options.key, committee !== undefined).join('\n')}\n`);
}
