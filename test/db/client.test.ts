import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRegister, type Register } from '../../src/db/client';
import { policies } from '../../src/db/schema';

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
