import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCapturing } from './run-cli';
import { openRegister } from '../../src/db/client';
import { decideException } from '../../src/services/decide-exception';
import { EXPORT_COLUMNS } from '../../src/services/export-register';
import { parseCsv, importPolicies } from '../../src/services/policy-catalogue';
import { requestRenewal } from '../../src/services/request-renewal';
import { APPROVERS, HIGH_RISK, LOW_RISK, OWNER, POLICY_CSV, REQUESTER, SECURITY, assess, buildContext, fileRequest } from '../services/fixtures';

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exceptions-export-'));
  path = join(dir, 'register.db');
  const register = openRegister(path);
  try {
    const ctx = buildContext(register);
    importPolicies(ctx.db, ctx.clock, POLICY_CSV, SECURITY[0]);
    // EXC-0001: approved, then renewed with evidence (pending).
    const first = fileRequest(ctx, { title: '=HYPERLINK("https://evil.example","click")', justification: 'Quarterly close runs on a system without MFA, "replacement" due in Q4, honestly.' });
    assess(ctx, first, LOW_RISK);
    decideException(ctx, { exceptionId: first, deciderId: APPROVERS[0], outcome: 'approve' });
    const later = buildContext(register, { clock: () => new Date('2027-01-20T09:00:00Z') });
    const renewal = requestRenewal(later, {
      exceptionId: first,
      actorId: OWNER,
      input: { progress: 'Console replaced in staging, production cut-over booked for the second week of February.', percentComplete: '70', evidenceUrl: 'https://tickets.example.com/CHG-1', controlTestedOn: '2027-01-18', expiresOn: '2027-03-01' },
    });
    expect(renewal.ok).toBe(true);
    // EXC-0002: rejected by the committee, with a reason.
    const second = fileRequest(ctx, { title: 'Flat network for the lab' });
    assess(ctx, second, HIGH_RISK);
    decideException(ctx, { exceptionId: second, deciderId: 'U0COM1', outcome: 'reject', comment: 'Segment the lab first; then ask again.' });
    // EXC-0003: still waiting for assessment.
    fileRequest(ctx, { title: 'Shared admin account' });
  } finally {
    register.close();
  }
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCapturing(args, { DATABASE_PATH: path });

describe('exceptions export', () => {
  it('writes one CSV row per exception with every audit column, quoted by RFC 4180 and safe to open in a spreadsheet', async () => {
    const { code, out } = await cli('export', '--format', 'csv');
    expect(code).toBe(0);
    const [header, ...rows] = parseCsv(out).map((r) => r.cells);
    expect(header).toEqual([...EXPORT_COLUMNS]);
    expect(rows).toHaveLength(3);
    const row = (n: number) => Object.fromEntries(header!.map((column, i) => [column, rows[n]![i]]));
    expect(row(0)).toMatchObject({
      id: 'EXC-0001',
      status: 'active',
      policy_key: 'IA-2',
      title: `'=HYPERLINK("https://evil.example","click")`,
      business_justification: 'Quarterly close runs on a system without MFA, "replacement" due in Q4, honestly.',
      requester: REQUESTER,
      owner: OWNER,
      risk_score: '6',
      risk_assessed_by: SECURITY[0],
      decided_by: 'fast_path',
      renewal_count: '0',
    });
    expect(row(0).decisions).toMatch(/^request: approve by U0CISO at 2026-11-25T10:00:00\.000Z$/);
    expect(row(0).renewals).toMatch(/^renewal 1 \(requested\) asked 2027-01-20T09:00:00\.000Z by U0OWN: 70% done, control tested 2027-01-18, until 2027-03-01, evidence https:\/\/tickets\.example\.com\/CHG-1; progress: Console replaced/);
    expect(row(1)).toMatchObject({ id: 'EXC-0002', status: 'rejected', decided_by: 'committee', risk_score: '12' });
    expect(row(1).decisions).toBe('request: reject by U0COM1 at 2026-11-25T10:00:00.000Z (Segment the lab first; then ask again.)');
    expect(row(2)).toMatchObject({ id: 'EXC-0003', status: 'requested', risk_score: '', decisions: '' });
  });

  it('writes JSON with the same fields, and filters by status and by the day requested', async () => {
    const all = JSON.parse((await cli('export', '--format', 'json')).out) as Record<string, unknown>[];
    expect(all.map((r) => r.id)).toEqual(['EXC-0001', 'EXC-0002', 'EXC-0003']);
    expect(Object.keys(all[0]!)).toEqual([...EXPORT_COLUMNS]);
    expect(all[0]!.structural).toBe(false);
    const rejected = JSON.parse((await cli('export', '--format', 'json', '--status', 'rejected')).out) as { id: string }[];
    expect(rejected.map((r) => r.id)).toEqual(['EXC-0002']);
    expect(JSON.parse((await cli('export', '--format', 'json', '--from', '2026-11-25', '--to', '2026-11-25')).out)).toHaveLength(3);
    expect(JSON.parse((await cli('export', '--format', 'json', '--from', '2026-11-26')).out)).toEqual([]);
  });

  it("filters --from and --to by the day in TZ, the app's days, not by the day in UTC", async () => {
    const register = openRegister(path);
    try {
      // EXC-0004 and EXC-0005 are asked late in the evening UTC: in Berlin it is already the next day.
      for (const at of ['2026-11-25T23:30:00Z', '2026-11-26T23:30:00Z']) fileRequest(buildContext(register, { clock: () => new Date(at) }), { title: `Asked at ${at}` });
    } finally {
      register.close();
    }
    const ids = async (tz: string | undefined, ...range: string[]) => {
      const { code, out } = await runCapturing(['export', '--format', 'json', ...range], { DATABASE_PATH: path, TZ: tz });
      expect(code).toBe(0);
      return (JSON.parse(out) as { id: string }[]).map((r) => r.id);
    };
    const nov26 = ['--from', '2026-11-26', '--to', '2026-11-26'];
    expect(await ids('Europe/Berlin', ...nov26)).toEqual(['EXC-0004']);
    expect(await ids('UTC', ...nov26)).toEqual(['EXC-0005']);
    expect(await ids(undefined, ...nov26)).toEqual(['EXC-0005']);
    expect(await ids('America/Los_Angeles', '--to', '2026-11-25')).toEqual(['EXC-0001', 'EXC-0002', 'EXC-0003', 'EXC-0004']);
    expect(await ids('Europe/Berlin', '--from', '2026-11-27')).toEqual(['EXC-0005']);

    const refused = await runCapturing(['export', '--from', '2026-11-26'], { DATABASE_PATH: path, TZ: 'Mars/Olympus' });
    expect(refused).toEqual({ code: 2, out: '', err: 'TZ: must be an IANA time zone such as Europe/Berlin\n' });
  });

  it.each([
    [['export', '--format', 'xml']],
    [['export', '--status', 'sleeping']],
    [['export', '--from', '2026-02-30']],
    [['export', '--since', '2026-01-01']],
    [['export', '--format']],
  ])('refuses %j with exit code 2', async (args) => {
    const result = await cli(...args);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
  });
});
