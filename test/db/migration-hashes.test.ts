import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { journalEntries, MIGRATIONS, type JournalEntry } from '../support/old-register';

// A committed migration is never edited, renamed or regenerated: registers were built with it as it was, and drizzle
// skips a migration it has recorded, so a change would reach new registers only. The list of hashes only grows.

interface Listed {
  tag: string;
  /** SHA-256 of drizzle/<tag>.sql. */
  sql: string;
  /** SHA-256 of its journal entry, keys sorted: its `when` decides whether drizzle applies it to a register. */
  journal: string;
}

const LIST = 'test/db/migration-hashes.json';
const LISTED = JSON.parse(readFileSync(join(import.meta.dirname, 'migration-hashes.json'), 'utf8')) as Listed[];

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');
const entryHash = (entry: JournalEntry) => sha256(JSON.stringify(entry, Object.keys(entry).sort()));

/** Every way the migrations in `folder` differ from the list, each naming the file and what to do. */
function migrationProblems(folder: string, listed: Listed[]): string[] {
  const entries = journalEntries(folder);
  const problems: string[] = [];
  listed.forEach((migration, i) => {
    const file = `drizzle/${migration.tag}.sql`;
    if (!existsSync(join(folder, `${migration.tag}.sql`))) problems.push(`${file} is missing; restore it from git: registers were built with it`);
    else if (sha256(readFileSync(join(folder, `${migration.tag}.sql`))) !== migration.sql) {
      problems.push(`${file} differs from the one committed; restore it from git and make the change in a new migration`);
    }
    const entry = entries[i];
    if (entry?.tag !== migration.tag) problems.push(`drizzle/meta/_journal.json: entry ${i} should be ${migration.tag}, not ${entry?.tag ?? 'missing'}; restore the journal from git`);
    else if (entryHash(entry) !== migration.journal) problems.push(`drizzle/meta/_journal.json: the entry for ${migration.tag} differs from the one committed; restore it from git`);
  });
  const listedTags = new Set(listed.map((migration) => migration.tag));
  const unlisted = new Set([...entries.map((entry) => entry.tag), ...readdirSync(folder).flatMap((name) => (name.endsWith('.sql') ? [name.slice(0, -4)] : []))].filter((tag) => !listedTags.has(tag)));
  for (const tag of unlisted) {
    const entry = entries.find((e) => e.tag === tag);
    if (!entry || !existsSync(join(folder, `${tag}.sql`))) {
      problems.push(`drizzle/${tag}.sql needs both the file and its journal entry; generate migrations with npm run db:generate`);
      continue;
    }
    const line = JSON.stringify({ tag, sql: sha256(readFileSync(join(folder, `${tag}.sql`))), journal: entryHash(entry) });
    problems.push(`drizzle/${tag}.sql is not in ${LIST}: append ${line} at its end, and never change a line already there`);
  }
  // drizzle applies only what is newer than the last migration a register recorded, so an older time is never applied.
  entries.forEach((entry, i) => {
    const before = entries[i - 1];
    if (before && entry.when <= before.when) problems.push(`drizzle/meta/_journal.json: ${entry.tag} is dated before ${before.tag}, so registers already at ${before.tag} would never get it; date it after`);
  });
  return problems;
}

describe('committed migrations never change', () => {
  it(`every migration in drizzle/ is in ${LIST}, as it was committed`, () => {
    expect(LISTED.map((migration) => migration.tag)).toEqual(expect.arrayContaining(['0000_foundation', '0004_renewals_status_index']));
    expect(migrationProblems(MIGRATIONS, LISTED)).toEqual([]);
  });

  describe('the check itself, on a copy of drizzle/', () => {
    let copy: string;
    beforeEach(() => {
      copy = join(mkdtempSync(join(tmpdir(), 'exceptions-migration-hashes-')), 'drizzle');
      cpSync(MIGRATIONS, copy, { recursive: true });
    });
    afterEach(() => rmSync(join(copy, '..'), { recursive: true, force: true }));

    const journalPath = () => join(copy, 'meta/_journal.json');
    const editJournal = (edit: (entries: JournalEntry[]) => void) => {
      const journal = JSON.parse(readFileSync(journalPath(), 'utf8')) as { entries: JournalEntry[] };
      edit(journal.entries);
      writeFileSync(journalPath(), JSON.stringify(journal, null, 2));
    };

    it('names a migration that was regenerated or edited', () => {
      writeFileSync(join(copy, '0002_scheduled_follow_ups_renewals_and_checkins.sql'), readFileSync(join(copy, '0002_scheduled_follow_ups_renewals_and_checkins.sql'), 'utf8').replace('`checkins`', '`check_ins`'));
      expect(migrationProblems(copy, LISTED)).toEqual(['drizzle/0002_scheduled_follow_ups_renewals_and_checkins.sql differs from the one committed; restore it from git and make the change in a new migration']);
    });

    it('names a migration that was deleted, and a renamed one as both missing and new', () => {
      rmSync(join(copy, '0001_audit_events_append_only.sql'));
      expect(migrationProblems(copy, LISTED)).toEqual(['drizzle/0001_audit_events_append_only.sql is missing; restore it from git: registers were built with it']);
      rmSync(join(copy, '0000_foundation.sql'));
      writeFileSync(join(copy, '0000_init.sql'), readFileSync(join(MIGRATIONS, '0000_foundation.sql')));
      editJournal((entries) => (entries[0]!.tag = '0000_init'));
      expect(migrationProblems(copy, LISTED)).toEqual([
        'drizzle/0000_foundation.sql is missing; restore it from git: registers were built with it',
        'drizzle/meta/_journal.json: entry 0 should be 0000_foundation, not 0000_init; restore the journal from git',
        'drizzle/0001_audit_events_append_only.sql is missing; restore it from git: registers were built with it',
        expect.stringMatching(/^drizzle\/0000_init\.sql is not in test\/db\/migration-hashes\.json: append /),
      ]);
    });

    it("names a journal entry whose time changed, since drizzle decides by it what a register still needs", () => {
      editJournal((entries) => (entries[3]!.when += 1));
      expect(migrationProblems(copy, LISTED)).toEqual(['drizzle/meta/_journal.json: the entry for 0003_informal_asks_webhook_cursor_and_metrics differs from the one committed; restore it from git']);
    });

    it('asks for a new migration to be appended, with the line to append, and accepts it once it is', () => {
      const tag = '0099_a_new_table';
      writeFileSync(join(copy, `${tag}.sql`), 'CREATE TABLE `notes` (`id` integer PRIMARY KEY NOT NULL);\n');
      editJournal((entries) => entries.push({ idx: entries.length, version: '6', when: 1900000000000, tag, breakpoints: true }));
      const [problem, ...others] = migrationProblems(copy, LISTED);
      expect(others).toEqual([]);
      const line = /append (\{.*\}) at its end, and never change a line already there$/.exec(problem ?? '')?.[1];
      expect(problem).toMatch(new RegExp(`^drizzle/${tag}\\.sql is not in test/db/migration-hashes\\.json: `));
      expect(migrationProblems(copy, [...LISTED, JSON.parse(line!) as Listed])).toEqual([]);
    });

    it('refuses a new migration dated before the last one, which registers already upgraded would skip', () => {
      const tag = '0099_back_dated';
      writeFileSync(join(copy, `${tag}.sql`), 'CREATE INDEX `policies_title_idx` ON `policies` (`title`);\n');
      editJournal((entries) => entries.push({ idx: entries.length, version: '6', when: entries.at(-1)!.when - 1, tag, breakpoints: true }));
      expect(migrationProblems(copy, LISTED)).toEqual([
        expect.stringMatching(new RegExp(`^drizzle/${tag}\\.sql is not in`)),
        `drizzle/meta/_journal.json: ${tag} is dated before ${LISTED.at(-1)!.tag}, so registers already at ${LISTED.at(-1)!.tag} would never get it; date it after`,
      ]);
    });

    it('refuses a migration file the journal does not list, which drizzle would never apply', () => {
      writeFileSync(join(copy, '0099_forgotten.sql'), 'CREATE INDEX `x` ON `policies` (`title`);\n');
      expect(migrationProblems(copy, LISTED)).toEqual(['drizzle/0099_forgotten.sql needs both the file and its journal entry; generate migrations with npm run db:generate']);
    });
  });
});
