import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRegister } from '../../src/db/client';
import { listPolicies } from '../../src/services/policy-catalogue';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'policies.example.csv');

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-example-'));
  env = { ...process.env, DATABASE_PATH: join(dir, 'register.db') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** As the README tells an admin to: the installed bin, from the folder the app was installed in. */
const exceptions = (...args: string[]) => run(process.execPath, [join(ROOT, 'bin/exceptions.js'), ...args], { env, cwd: ROOT });

describe('policies.example.csv', () => {
  it('imports cleanly with the real CLI: every row taken, with descriptions and a few limits of its own', async () => {
    const rows = readFileSync(EXAMPLE, 'utf8').trim().split('\n').length - 1;
    expect(rows).toBeGreaterThanOrEqual(10);
    expect(rows).toBeLessThanOrEqual(15);

    const imported = await exceptions('policies', 'import', 'policies.example.csv');
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toBe(`Imported policies.example.csv: ${rows} new, 0 updated.\n`);

    const register = openRegister(join(dir, 'register.db'));
    try {
      const policies = listPolicies(register.db);
      expect(policies).toHaveLength(rows);
      for (const policy of policies) {
        expect(policy.description, policy.key).toMatch(/ISO 27001 A\.\d+\.\d+.*; SOC 2 /);
        // A policy's own limit only means something when it is shorter than the default MAX_EXCEPTION_DAYS.
        if (policy.maxDays !== null) expect(policy.maxDays, policy.key).toBeLessThan(90);
      }
      const limited = policies.filter((p) => p.maxDays !== null).map((p) => [p.key, p.maxDays]);
      expect(limited).toEqual([
        ['END-01', 60],
        ['IAM-01', 60],
        ['IAM-02', 30],
        ['VULN-01', 30],
      ]);
    } finally {
      register.close();
    }

    const listed = await exceptions('policies', 'list');
    expect(listed.stdout).toMatch(/^IAM-02\s+30\s+Privileged access$/m);
    expect(listed.stdout).toMatch(/^CRYPTO-01\s+-\s+Encryption at rest$/m);
    const again = await exceptions('policies', 'import', 'policies.example.csv');
    expect(again.stdout).toBe(`Imported policies.example.csv: 0 new, ${rows} updated.\n`);
  });
});
