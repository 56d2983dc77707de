import { asc, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvent } from '../db/audit-chain';
import { policies } from '../db/schema';
import type { Db } from '../db/client';
import { DomainError } from '../domain/errors';
import { CONTROL_CHARACTERS } from '../domain/request';
import type { Clock } from './context';

export const PolicyRow = z.object({
  key: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'key must be 1–64 letters, digits, dots, dashes or underscores' }),
  // A title is shown on one line everywhere (the picker, cards, `exceptions show`), so it takes no line break either.
  title: z
    .string()
    .trim()
    .min(1, { error: 'title is required' })
    .max(150, { error: 'title must be at most 150 characters' })
    .refine((value) => !CONTROL_CHARACTERS.test(value), { error: 'title contains control characters; type it as plain text' })
    .refine((value) => !/[\r\n]/.test(value), { error: 'title must be one line' }),
  description: z
    .string()
    .trim()
    .max(1000, { error: 'description must be at most 1000 characters' })
    .refine((value) => !CONTROL_CHARACTERS.test(value), { error: 'description contains control characters; type it as plain text' })
    .default(''),
  max_days: z
    .string()
    .trim()
    .default('')
    .transform((value) => (value === '' ? null : Number(value)))
    .refine((days) => days === null || (Number.isInteger(days) && days >= 1 && days <= 3650), { error: 'max_days must be empty or a whole number of days from 1 to 3650' }),
});
export type PolicyRow = z.infer<typeof PolicyRow>;

export interface Policy {
  id: number;
  key: string;
  title: string;
  description: string;
  maxDays: number | null;
}

export interface CsvRow {
  /** The file line the row starts on, so an error points where a person looks. */
  line: number;
  cells: string[];
}

/** RFC 4180: quoted fields may hold commas, doubled quotes and line breaks. Blank lines are skipped. */
export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowStart = 1;
  const input = text.replace(/^\uFEFF/, '');
  const endRow = () => {
    row.push(field);
    if (row.some((cell) => cell.trim() !== '')) rows.push({ line: rowStart, cells: row });
    row = [];
    field = '';
  };
  for (let i = 0; i < input.length; i++) {
    const char = input[i];
    if (char === '\n' || (char === '\r' && input[i + 1] !== '\n')) line++;
    if (quoted) {
      if (char === '"' && input[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && input[i + 1] === '\n') {
        i++;
        line++;
      }
      endRow();
      rowStart = line;
    } else field += char;
  }
  if (quoted) throw new DomainError('invalid_request', 'The CSV has an unterminated quoted field.');
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

export function parsePolicyCsv(text: string): PolicyRow[] {
  const [header, ...body] = parseCsv(text);
  const columns = (header?.cells ?? []).map((h) => h.trim().toLowerCase());
  for (const required of ['key', 'title']) {
    if (!columns.includes(required)) throw new DomainError('invalid_request', `The CSV header must name the columns key and title (description and max_days are optional); "${required}" is missing.`);
  }
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const rows = body.flatMap(({ cells, line }) => {
    const record = Object.fromEntries(columns.map((column, i) => [column, cells[i] ?? '']));
    const parsed = PolicyRow.safeParse(record);
    if (!parsed.success) {
      problems.push(`row ${line}: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
      return [];
    }
    const earlier = seen.get(parsed.data.key);
    if (earlier) problems.push(`row ${line}: key ${parsed.data.key} already appears on row ${earlier}`);
    seen.set(parsed.data.key, line);
    return [parsed.data];
  });
  if (problems.length > 0) throw new DomainError('invalid_request', `Nothing was imported:\n${problems.join('\n')}`);
  return rows;
}

/** Re-importing the same file updates titles and descriptions in place; keys never duplicate. */
export function importPolicies(db: Db, clock: Clock, csv: string, actorId: string): { created: number; updated: number } {
  const rows = parsePolicyCsv(csv);
  const at = clock().toISOString();
  return db.transaction(
    (tx) => {
      const existing = new Set(tx.select({ key: policies.key }).from(policies).all().map((p) => p.key));
      for (const row of rows) {
        const values = { title: row.title, description: row.description, maxDays: row.max_days };
        tx.insert(policies)
          .values({ key: row.key, ...values, createdAt: at, updatedAt: at })
          .onConflictDoUpdate({ target: policies.key, set: { ...values, updatedAt: at } })
          .run();
      }
      const created = rows.filter((r) => !existing.has(r.key)).length;
      const result = { created, updated: rows.length - created };
      appendAuditEvent(tx, { exceptionId: null, actorId, kind: 'policy.imported', payload: { ...result, keys: rows.map((r) => r.key) }, occurredAt: at });
      return result;
    },
    { behavior: 'immediate' },
  );
}

export function listPolicies(db: Db): Policy[] {
  return db.select({ id: policies.id, key: policies.key, title: policies.title, description: policies.description, maxDays: policies.maxDays }).from(policies).orderBy(asc(policies.key)).all();
}

/** Feeds the policy picker; Slack shows at most 100 options, so the person narrows by typing. */
export function searchPolicies(db: Db, query: string, limit = 100): Policy[] {
  const pattern = `%${query.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db
    .select({ id: policies.id, key: policies.key, title: policies.title, description: policies.description, maxDays: policies.maxDays })
    .from(policies)
    .where(sql`${policies.key} like ${pattern} escape '\\' or ${policies.title} like ${pattern} escape '\\'`)
    .orderBy(asc(policies.key))
    .limit(limit)
    .all();
}

/** Until the first import nothing can be requested, and the request form and its policy picker say so. */
export function catalogueIsEmpty(db: Db): boolean {
  return db.select({ id: policies.id }).from(policies).limit(1).get() === undefined;
}
