import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRegister, RegisterUnavailableError, type Register } from '../../src/db/client';
import { policies } from '../../src/db/schema';
import { createOldRegister, journalEntries } from '../support/old-register';
import { canMakeReadOnly, makeReadOnly } from '../support/read-only';

let dir: string;
let register: Register;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-client-'));
  register = openRegister(join(dir, 'register.db'));
});
afterEach(() => {
  register.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('prepared statements, reused by their SQL', () => {
  it('hands back the same statement for the same SQL, in its default mode even after a caller switched it to raw rows', () => {
    const first = register.sqlite.prepare('select 7 as n');
    expect(first.raw().get()).toEqual([7]);
    const again = register.sqlite.prepare('select 7 as n');
    expect(again).toBe(first);
    expect(again.get()).toEqual({ n: 7 });
    expect(register.sqlite.prepare('select 8 as n')).not.toBe(first);
  });

  it('keeps drizzle reads and writes right when the same queries run many times', () => {
    for (let i = 0; i < 600; i++) {
      register.db.insert(policies).values({ key: `P-${i}`, title: `Policy ${i}`, createdAt: 'now', updatedAt: 'now' }).run();
    }
    const rows = register.db.select({ key: policies.key }).from(policies).orderBy(policies.id).all();
    expect(rows).toHaveLength(600);
    expect(rows[599]).toEqual({ key: 'P-599' });
    expect(register.db.all<{ n: number }>(`select count(*) as n from policies`)).toEqual([{ n: 600 }]);
  });
});

/** The refusal openRegister threw, for its code and sentence. */
function refusal(open: () => unknown): RegisterUnavailableError {
  try {
    open();
  } catch (error) {
    if (error instanceof RegisterUnavailableError) return error;
    throw error;
  }
  throw new Error('the register opened');
}

const filesIn = (folder: string) => readdirSync(folder).sort();

describe('a register that cannot be opened for writing is one sentence with a code, not an SQLite error', () => {
  const undo: (() => void)[] = [];
  afterEach(() => {
    for (const restore of undo.splice(0).reverse()) restore();
  });

  it('a path under a file, or a folder as the path', () => {
    writeFileSync(join(dir, 'notes.txt'), '');
    for (const path of [join(dir, 'notes.txt', 'register.db'), join(dir, 'notes.txt', 'data', 'register.db')]) {
      expect(refusal(() => openRegister(path))).toMatchObject({
        code: 'bad_path',
        message: `${path} cannot be a register: part of its path is a file, not a folder; set DATABASE_PATH to a file in a folder, such as ./data/exceptions.db`,
      });
    }
    expect(refusal(() => openRegister(dir)).message).toBe(`${dir} cannot be a register: it is a folder; set DATABASE_PATH to a file in a folder, such as ./data/exceptions.db`);
  });

  it('a file that is not an SQLite database, left as it was', () => {
    const path = join(dir, '.env');
    writeFileSync(path, 'SLACK_BOT_TOKEN=xoxb-not-a-register\n'.repeat(20));
    for (const mode of ['write', 'read'] as const) {
      expect(refusal(() => openRegister(path, mode))).toMatchObject({ code: 'not_a_register', message: `${path} is not a register: it is not an SQLite database; check DATABASE_PATH` });
    }
    expect(readFileSync(path, 'utf8')).toBe('SLACK_BOT_TOKEN=xoxb-not-a-register\n'.repeat(20));
  });

  it.skipIf(!canMakeReadOnly)('a read-only folder, with or without a register in it, and a read-only register', () => {
    const folder = join(dir, 'copy');
    mkdirSync(folder);
    undo.push(makeReadOnly(folder));
    expect(refusal(() => openRegister(join(folder, 'new.db')))).toMatchObject({
      code: 'read_only',
      message: `cannot write ${folder}: permission denied; make it writable by the user the app runs as, or set DATABASE_PATH to a writable place (list, show, export and audit verify can read a read-only copy as it is)`,
    });
    expect(filesIn(folder)).toEqual([]);
    undo.pop()!();

    copyFileSync(join(dir, 'register.db'), join(folder, 'register.db'));
    undo.push(makeReadOnly(folder));
    expect(refusal(() => openRegister(join(folder, 'register.db'))).message).toMatch(new RegExp(`^cannot write ${folder}: permission denied; `));
    undo.pop()!();

    // SQLite opens a file it may not write read-only without a word, and the first approval would fail instead.
    undo.push(makeReadOnly(join(folder, 'register.db')));
    expect(refusal(() => openRegister(join(folder, 'register.db')))).toMatchObject({ code: 'read_only', message: expect.stringMatching(new RegExp(`^cannot write ${folder}/register\\.db: permission denied; `)) });
  });
});

describe('opened to read (list, show, export, audit verify) or to copy (backup), a register is never changed', () => {
  const undo: (() => void)[] = [];
  afterEach(() => {
    for (const restore of undo.splice(0).reverse()) restore();
  });
  const known = journalEntries().length;

  it('a register that does not exist is refused, and not created', () => {
    const path = join(dir, 'typo.db');
    for (const mode of ['read', 'copy'] as const) {
      expect(refusal(() => openRegister(path, mode))).toMatchObject({ code: 'missing', message: `there is no register at ${path}; check DATABASE_PATH, or create the register with: exceptions migrate` });
    }
    expect(existsSync(path)).toBe(false);
  });

  it('a register at an older schema is refused for reading and left as it is; it can still be copied', () => {
    const path = join(dir, 'old.db');
    createOldRegister(path, 2);
    const before = readFileSync(path);
    expect(refusal(() => openRegister(path, 'read'))).toMatchObject({
      code: 'older_schema',
      message: `${path} was last upgraded by an older version (2 of the ${known} migrations this version has) and is read as it is, never upgraded; upgrade a writable copy first with: exceptions migrate`,
    });
    const copy = openRegister(path, 'copy');
    copy.close();
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('a register a newer version upgraded is refused for reading', () => {
    register.sqlite.prepare('insert into __drizzle_migrations (hash, created_at) values (?, ?)').run('f'.repeat(64), 4102444800000);
    const path = join(dir, 'register.db');
    expect(refusal(() => openRegister(path, 'read'))).toMatchObject({ code: 'newer_schema', message: `${path} was upgraded by a newer version of the app than this one; read it with that version or a later one` });
  });

  it('a database that is not a register is refused for reading', () => {
    const path = join(dir, 'other.db');
    const other = new Database(path);
    other.exec('create table notes (text)');
    other.close();
    expect(refusal(() => openRegister(path, 'read'))).toMatchObject({ code: 'not_a_register', message: `${path} is an SQLite database but not a register: it has no migrations table; check DATABASE_PATH` });
  });

  it.skipIf(!canMakeReadOnly)("an auditor's copy in a read-only folder, without -wal or -shm, is read, and nothing is created beside it", () => {
    register.db.insert(policies).values({ key: 'MFA-01', title: 'Multi-factor authentication', createdAt: 'now', updatedAt: 'now' }).run();
    const folder = join(dir, 'copy');
    mkdirSync(folder);
    const path = join(folder, 'register.db');
    register.sqlite.exec(`vacuum into '${path}'`);
    // A WAL-mode register, as exceptions backup writes it: SQLite needs the -shm file it cannot create here.
    const wal = new Database(path);
    wal.pragma('journal_mode = WAL');
    wal.close();
    chmodSync(path, 0o444);
    undo.push(makeReadOnly(path), makeReadOnly(folder));
    expect(filesIn(folder)).toEqual(['register.db']);

    const copy = openRegister(path, 'read');
    try {
      expect(copy.db.select({ key: policies.key }).from(policies).all()).toEqual([{ key: 'MFA-01' }]);
      expect(() => copy.sqlite.prepare("insert into policies (key, title, created_at, updated_at) values ('X', 'X', 'now', 'now')").run()).toThrow(/readonly/);
    } finally {
      copy.close();
    }
    expect(filesIn(folder)).toEqual(['register.db']);
  });

  it.skipIf(!canMakeReadOnly)('a copy whose -wal holds changes but whose -shm was left behind is refused, saying what to copy', () => {
    const folder = join(dir, 'copy');
    mkdirSync(folder);
    register.sqlite.pragma('wal_autocheckpoint = 0');
    register.db.insert(policies).values({ key: 'MFA-01', title: 'Multi-factor authentication', createdAt: 'now', updatedAt: 'now' }).run();
    const path = join(folder, 'register.db');
    copyFileSync(join(dir, 'register.db'), path);
    copyFileSync(join(dir, 'register.db-wal'), `${path}-wal`);
    undo.push(makeReadOnly(folder));
    expect(refusal(() => openRegister(path, 'read'))).toMatchObject({
      code: 'read_only',
      message: `${path}-wal holds changes SQLite can read only with ${path}-shm, which is missing and cannot be created in this read-only folder; copy the register with exceptions backup instead, or copy its -shm file with it`,
    });
  });
});
