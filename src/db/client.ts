import { accessSync, constants, existsSync, mkdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
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

export const REGISTER_PROBLEMS = ['missing', 'bad_path', 'read_only', 'disk_full', 'not_a_register', 'older_schema', 'newer_schema'] as const;
export type RegisterProblem = (typeof REGISTER_PROBLEMS)[number];

/** The register cannot be opened as asked, and nothing was changed; the message says what to do. */
export class RegisterUnavailableError extends Error {
  constructor(
    readonly code: RegisterProblem,
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'RegisterUnavailableError';
  }
}

/**
 * write: create or upgrade it (the app, migrate, imports, jobs). read: as it is, for commands that read its rows and
 * so need this version's schema (list, show, export, audit verify). copy: as it is, whatever its schema (backup).
 * read and copy never write, so they work on an auditor's read-only copy.
 */
export type OpenMode = 'write' | 'read' | 'copy';

/** SQLite lets the WAL grow to 1,000 pages (4 MiB) before folding it back, so less than that fills up while running. */
const MIN_FREE_BYTES = 4 * 1024 * 1024;

const READ_ONLY_ADVICE = 'list, show, export and audit verify can read a read-only copy as it is';

const freeBytes = (folder: string) => {
  const { bavail, bsize } = statfsSync(folder);
  return bavail * bsize;
};

/** `filledUp`: the disk ran out while the register was being written, rather than before it was opened. */
function diskFull(path: string, filledUp: boolean): RegisterUnavailableError {
  const folder = dirname(path);
  const free = `${Math.floor(freeBytes(folder) / 1024)} KiB free`;
  const state = filledUp ? `filled up while the register was being written (${free} now)` : `has ${free} and the register needs at least ${MIN_FREE_BYTES / 1024 / 1024} MiB`;
  return new RegisterUnavailableError('disk_full', path, `the disk holding ${folder} ${state}; free some space there, or move the register to a disk with room and set DATABASE_PATH to it`);
}

function badPath(path: string, problem: string): RegisterUnavailableError {
  return new RegisterUnavailableError('bad_path', path, `${path} cannot be a register: ${problem}; set DATABASE_PATH to a file in a folder, such as ./data/exceptions.db`);
}

/** The errors SQLite reports when opening a file, in words; any other error is returned as it is. */
function explained(path: string, error: unknown): unknown {
  if ((error as { code?: unknown }).code === 'SQLITE_NOTADB') return new RegisterUnavailableError('not_a_register', path, `${path} is not a register: it is not an SQLite database; check DATABASE_PATH`);
  return error;
}

/** Checked before SQLite opens the file: it would open one it may not write read-only, and fail only at the first write. */
function checkWritable(path: string): void {
  const folder = dirname(path);
  let what = folder;
  try {
    mkdirSync(folder, { recursive: true });
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw badPath(path, 'it is a folder');
    // The -wal and -shm files are created beside the register.
    accessSync(folder, constants.W_OK);
    what = path;
    if (existsSync(path)) accessSync(path, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST') throw badPath(path, 'part of its path is a file, not a folder');
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
      const reason = code === 'EROFS' ? 'it is on a read-only disk' : 'permission denied';
      throw new RegisterUnavailableError('read_only', path, `cannot write ${what}: ${reason}; make it writable by the user the app runs as, or set DATABASE_PATH to a writable place (${READ_ONLY_ADVICE})`);
    }
    throw error;
  }
  if (freeBytes(folder) < MIN_FREE_BYTES) throw diskFull(path, false);
}

function openForWriting(path: string): Database.Database {
  if (path !== ':memory:') checkWritable(path);
  const sqlite = new Database(path);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    // Another process (the CLI) may hold the write lock briefly; wait instead of failing, but well inside Slack's
    // three-second acknowledgement, since better-sqlite3 waits synchronously.
    sqlite.pragma('busy_timeout = 2000');
    sqlite.pragma('synchronous = NORMAL');
    return sqlite;
  } catch (error) {
    sqlite.close();
    throw explained(path, error);
  }
}

/**
 * A WAL register in a folder this process cannot write (an auditor's copy): SQLite needs a -shm file beside it and
 * cannot create one, and better-sqlite3 takes no URI filenames, so immutable=1 is out of reach. With no -wal file
 * the register file is the whole register: it is read into memory (the size of the file) and marked there as a
 * rollback-journal database, since an in-memory one cannot be in WAL mode; the file is not touched.
 */
function readIntoMemory(path: string): Database.Database {
  if ((statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0) {
    throw new RegisterUnavailableError(
      'read_only',
      path,
      `${path}-wal holds changes SQLite can read only with ${path}-shm, which is missing and cannot be created in this read-only folder; copy the register with exceptions backup instead, or copy its -shm file with it`,
    );
  }
  const image = readFileSync(path);
  if (image.subarray(0, 16).toString('latin1') === 'SQLite format 3\0') image[18] = image[19] = 1;
  return new Database(image, { readonly: true });
}

function openForReading(path: string): Database.Database {
  const found = statSync(path, { throwIfNoEntry: false });
  if (!found) throw new RegisterUnavailableError('missing', path, `there is no register at ${path}; check DATABASE_PATH, or create the register with: exceptions migrate`);
  if (found.isDirectory()) throw badPath(path, 'it is a folder');
  const sqlite = new Database(path, { readonly: true, fileMustExist: true });
  try {
    sqlite.prepare('select count(*) from sqlite_master').get();
    return sqlite;
  } catch (error) {
    sqlite.close();
    if ((error as { code?: unknown }).code !== 'SQLITE_CANTOPEN') throw explained(path, error);
  }
  return readIntoMemory(path);
}

/** A read never upgrades, and a register at another schema than this version's would be misread: refused instead. */
function requireThisSchema(sqlite: Database.Database, path: string): void {
  if (!sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = '__drizzle_migrations'").get()) {
    throw new RegisterUnavailableError('not_a_register', path, `${path} is an SQLite database but not a register: it has no migrations table; check DATABASE_PATH`);
  }
  const known = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  const applied = sqlite.prepare('select created_at as createdAt from __drizzle_migrations').all() as { createdAt: number }[];
  const last = Math.max(...applied.map((row) => Number(row.createdAt)));
  // drizzle's rule: a migration is pending when it is newer than the last one applied.
  const pending = known.filter((migration) => migration.folderMillis > last).length;
  if (pending > 0) {
    throw new RegisterUnavailableError(
      'older_schema',
      path,
      `${path} was last upgraded by an older version (${known.length - pending} of the ${known.length} migrations this version has) and is read as it is, never upgraded; upgrade a writable copy first with: exceptions migrate`,
    );
  }
  if (last > Math.max(...known.map((migration) => migration.folderMillis))) {
    throw new RegisterUnavailableError('newer_schema', path, `${path} was upgraded by a newer version of the app than this one; read it with that version or a later one`);
  }
}

function upgrade(db: Db, path: string): void {
  try {
    migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } catch (error) {
    // A full disk makes SQLite roll the upgrade back by itself, and drizzle's own ROLLBACK then fails in place of
    // SQLITE_FULL. Nothing was applied either way; a disk the upgrade left without room says why.
    if (freeBytes(dirname(path)) < MIN_FREE_BYTES) throw diskFull(path, true);
    throw error;
  }
}

/** Opens the register (see OpenMode) and sets the pragmas every connection needs; write also applies pending migrations. */
export function openRegister(path: string, mode: OpenMode = 'write'): Register {
  const sqlite = mode === 'write' ? openForWriting(path) : openForReading(path);
  try {
    if (mode === 'read') requireThisSchema(sqlite, path);
    reusePreparedStatements(sqlite);
    const db = drizzle(sqlite, { schema });
    if (mode === 'write') upgrade(db, path);
    return { db, sqlite, close: () => sqlite.close() };
  } catch (error) {
    sqlite.close();
    throw explained(path, error);
  }
}
