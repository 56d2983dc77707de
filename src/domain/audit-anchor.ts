import { DomainError } from './errors';

/**
 * The head of the audit chain at one moment, kept outside the register: how many events there were and the hash
 * of the last one. A register whose trail was cut below COUNT, or rewritten at or before it, no longer matches.
 */
export interface AuditAnchor {
  count: number;
  hash: string;
}

/** An anchor with where it was read from, so a mismatch names the post or the line to look at. */
export interface SourcedAnchor extends AuditAnchor {
  source: string;
}

/** An anchor as the weekly post shows it and as a line of an anchors file holds it: "COUNT HASH". */
export function formatAnchor(anchor: AuditAnchor): string {
  return `${anchor.count} ${anchor.hash}`;
}

const HASH = /^[0-9a-f]{64}$/;
const COUNT_AND_HASH = /^(\d{1,15})\s+([0-9a-f]{64})(?:\s.*)?$/;

/** The words around the anchor in the weekly post; they are what finds it again when the channel is read back. */
export const POSTED_ANCHOR_LABEL = 'Audit trail anchor:';
const POSTED = new RegExp(`${POSTED_ANCHOR_LABEL} \`(\\d{1,15}) ([0-9a-f]{64})\``);

/** The anchor a weekly post carries, if it carries one. */
export function anchorInPost(text: string): AuditAnchor | undefined {
  const match = POSTED.exec(text);
  return match ? { count: Number(match[1]), hash: match[2]! } : undefined;
}

function anchorOnLine(line: string): AuditAnchor | string {
  if (line.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return 'is not valid JSON';
    }
    const { count, hash } = (value ?? {}) as { count?: unknown; hash?: unknown };
    if (!Number.isSafeInteger(count) || (count as number) < 1) return 'needs "count", a whole number of events from 1';
    if (typeof hash !== 'string' || !HASH.test(hash)) return 'needs "hash", 64 lowercase hexadecimal characters';
    return { count: count as number, hash };
  }
  const match = COUNT_AND_HASH.exec(line);
  if (!match || Number(match[1]) < 1) return 'is not COUNT HASH (a number of events, then a 64-character hexadecimal hash) or a JSON object with count and hash';
  return { count: Number(match[1]), hash: match[2]! };
}

/**
 * An anchors file: one anchor a line, either `COUNT HASH` as the weekly post shows it (anything after the hash,
 * such as the week, is a note) or a JSON object with `count` and `hash` (other fields ignored). Blank lines and lines
 * starting with # are skipped. A bad line refuses the whole file, naming every bad line.
 */
export function parseAnchorFile(text: string, file: string): SourcedAnchor[] {
  const anchors: SourcedAnchor[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const anchor = anchorOnLine(line);
    if (typeof anchor === 'string') problems.push(`${file} line ${i + 1}: ${anchor}`);
    else anchors.push({ ...anchor, source: `${file} line ${i + 1}` });
  });
  if (problems.length > 0) throw new DomainError('invalid_request', `No anchor was checked:\n${problems.join('\n')}`);
  if (anchors.length === 0) throw new DomainError('invalid_request', `${file} holds no anchor: write one a line, COUNT HASH as the weekly post shows it.`);
  return anchors;
}
