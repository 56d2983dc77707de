import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema';

export type Db = BetterSQLite3Database<typeof schema>;
/** The handle a transaction callback receives; services write through it so state and audit commit together. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Register {
  db: Db;
  sqlite: Database.Database;
  close(): void;
}

/** The migrations ship beside package.json; this module runs from src/db/ under tsx and from dist/ once built. */
function findMigrationsFolder(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'drizzle', 'meta', '_journal.json'))) return join(dir, 'drizzle');
    if (dirname(dir) === dir) throw new Error('the drizzle/ migrations folder was not found beside package.json');
  }
}

const MIGRATIONS_FOLDER = findMigrationsFolder();

const STATEMENTS_KEPT = 500;

/**
 * drizzle prepares every query afresh, and preparing costs more than running the small queries a request makes.
 * Statements are kept by their SQL text (most recently used kept) and handed back in their default mode. Safe
 * because nothing here iterates a statement or holds one across another query: one used with `.iterate()` (or a
 * drizzle `.prepare()` kept and run while its own SQL runs again) would be busy when handed out a second time.
 */
function reusePreparedStatements(sqlite: Database.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const kept = new Map<string, Database.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = kept.get(source);
    if (statement) kept.delete(source);
    else {
      statement = prepare(source);
      if (kept.size >= STATEMENTS_KEPT) kept.delete(kept.keys().next().value!);
    }
    kept.set(source, statement);
    // drizzle switches a statement to raw rows for some reads; the next user expects objects unless it asks.
    return statement.reader ? statement.raw(false) : statement;
  }) as typeof sqlite.prepare;
}

/** Opens the register, applies pending migrations and sets the pragmas every connection needs. */
export function openRegister(path: string): Register {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  // Another process (the CLI) may hold the write lock briefly; wait instead of failing, but well inside Slack's
  // three-second acknowledgement, since better-sqlite3 waits synchronously.
  sqlite.pragma('busy_timeout = 2000');
  sqlite.pragma('synchronous = NORMAL');
  reusePreparedStatements(sqlite);
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return { db, sqlite, close: () => sqlite.close() };
}
