import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';

export const MIGRATIONS = join(import.meta.dirname, '../../drizzle');

export interface JournalEntry {
  idx: number;
  version: string;
  when: number;
  tag: string;
  breakpoints: boolean;
}

export const journalEntries = (folder = MIGRATIONS): JournalEntry[] => (JSON.parse(readFileSync(join(folder, 'meta/_journal.json'), 'utf8')) as { entries: JournalEntry[] }).entries;

/** The migrations folder as it stood when only the first `count` migrations existed, in a folder of its own under `dir`. */
export function migrationsUpTo(dir: string, count: number): string {
  const folder = join(dir, `migrations-${count}`);
  cpSync(MIGRATIONS, folder, { recursive: true });
  const journalPath = join(folder, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: JournalEntry[] };
  journal.entries = journal.entries.filter((entry) => entry.idx < count);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

/** Brings the register at `sqlite` up to the first `count` migrations, as the version that had only those would. */
export function migrateTo(sqlite: Database.Database, count: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'exceptions-old-migrations-'));
  try {
    migrate(drizzle(sqlite), { migrationsFolder: migrationsUpTo(dir, count) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A register as a version with only the first `count` migrations created it, closed. */
export function createOldRegister(path: string, count: number): void {
  const sqlite = new Database(path);
  try {
    sqlite.pragma('journal_mode = WAL');
    migrateTo(sqlite, count);
  } finally {
    sqlite.close();
  }
}
