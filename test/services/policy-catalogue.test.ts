import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importPolicies, listPolicies, searchPolicies } from '../../src/services/policy-catalogue';
import { requestException } from '../../src/services/request-exception';
import { POLICY_CSV, SECURITY, auditRows, countRows, domainErrorOf, openTestRegister, validRequest, type TestRegister } from './fixtures';

let t: TestRegister;
beforeEach(() => {
  t = openTestRegister({ policies: false });
});
afterEach(() => t.close());

const importCsv = (csv: string) => importPolicies(t.ctx.db, t.ctx.clock, csv, SECURITY[0]);

const importRefusal = (csv: string) => domainErrorOf(() => importCsv(csv));

describe('importPolicies (CSV with key, title, description)', () => {
  it('creates one policy per row', () => {
    expect(importCsv(POLICY_CSV)).toEqual({ created: 3, updated: 0 });
    expect(listPolicies(t.ctx.db).map((p) => [p.key, p.title])).toEqual([
      ['AC-2', 'Account management'],
      ['IA-2', 'Multi-factor authentication'],
      ['SC-8', 'Transmission confidentiality'],
    ]);
  });

  it('re-importing updates titles and descriptions in place instead of duplicating keys', () => {
    importCsv(POLICY_CSV);
    const before = listPolicies(t.ctx.db);
    const result = importCsv('key,title,description\nIA-2,MFA everywhere,Phishing-resistant MFA on every login.\nCM-6,Configuration settings,Hardened baselines.\n');
    expect(result).toEqual({ created: 1, updated: 1 });
    const after = listPolicies(t.ctx.db);
    expect(after).toHaveLength(4);
    const ia2 = after.find((p) => p.key === 'IA-2');
    expect(ia2).toEqual({ id: before.find((p) => p.key === 'IA-2')?.id, key: 'IA-2', title: 'MFA everywhere', description: 'Phishing-resistant MFA on every login.', maxDays: null });
    expect(after.find((p) => p.key === 'AC-2')?.title).toBe('Account management');
  });

  it('importing the same file twice leaves the same catalogue', () => {
    importCsv(POLICY_CSV);
    const first = listPolicies(t.ctx.db);
    expect(importCsv(POLICY_CSV)).toEqual({ created: 0, updated: 3 });
    expect(listPolicies(t.ctx.db)).toEqual(first);
  });

  it('reads quoted fields holding commas, doubled quotes and line breaks (RFC 4180)', () => {
    const csv = [
      'key,title,description',
      'AC-2,"Account management, review and removal","Accounts are reviewed quarterly.',
      'Leavers are removed the same day."',
      'IA-5,"Authenticators ""in the vault""",plain',
    ].join('\r\n');
    expect(importCsv(csv)).toEqual({ created: 2, updated: 0 });
    expect(listPolicies(t.ctx.db).map(({ key, title, description }) => ({ key, title, description }))).toEqual([
      { key: 'AC-2', title: 'Account management, review and removal', description: 'Accounts are reviewed quarterly.\r\nLeavers are removed the same day.' },
      { key: 'IA-5', title: 'Authenticators "in the vault"', description: 'plain' },
    ]);
  });

  it('accepts a byte-order mark, header case and a missing description column', () => {
    expect(importCsv('\uFEFFKey,Title\nAC-2,Account management\n')).toEqual({ created: 1, updated: 0 });
    expect(listPolicies(t.ctx.db)).toEqual([expect.objectContaining({ key: 'AC-2', title: 'Account management', description: '' })]);
  });

  it('records the import in the audit chain', () => {
    importCsv(POLICY_CSV);
    const trail = auditRows(t.register);
    expect(trail.map((e) => [e.kind, e.actorId, e.exceptionId])).toEqual([['policy.imported', SECURITY[0], null]]);
  });

  describe('a file with bad rows is refused with their row numbers, and nothing is written', () => {
    it.each([
      ['an empty title on row 3', 'key,title\nAC-2,Account management\nIA-2,\nSC-8,Transmission confidentiality', ['row 3']],
      ['a key with spaces on row 2', 'key,title\nAC 2,Account management\nIA-2,MFA', ['row 2']],
      ['two bad rows', 'key,title\nbad key,Account management\nIA-2,MFA\nSC-8,', ['row 2', 'row 4']],
      ['a title over 150 characters', `key,title\nAC-2,${'x'.repeat(151)}`, ['row 2']],
      ['the same key twice', 'key,title\nAC-2,Account management\nAC-2,Accounts again', ['row 3', 'row 2']],
      ['an empty title after a blank line, numbered as the file shows it', 'key,title\nAC-2,Account management\n\nIA-2,', ['row 4']],
      ['a bad row after a quoted field spanning two lines', 'key,title,description\nAC-2,Accounts,"two\nlines"\nbad key,MFA', ['row 4']],
    ])('%s', (_label, csv, mentions) => {
      importCsv('key,title\nCM-6,Configuration settings');
      const before = countRows(t.register);
      const catalogue = listPolicies(t.ctx.db);
      const error = importRefusal(csv);
      expect(error.code).toBe('invalid_request');
      for (const mention of mentions) expect(error.message).toContain(mention);
      expect(countRows(t.register)).toEqual(before);
      expect(listPolicies(t.ctx.db)).toEqual(catalogue);
    });

    it.each([
      ['no title column', 'key,name\nAC-2,Account management'],
      ['no key column', 'id,title\nAC-2,Account management'],
      ['an empty file', ''],
      ['an unterminated quote', 'key,title\nAC-2,"Account management'],
    ])('%s', (_label, csv) => {
      const before = countRows(t.register);
      expect(importRefusal(csv).code).toBe('invalid_request');
      expect(countRows(t.register)).toEqual(before);
    });
  });
});

describe('searchPolicies (the policy picker)', () => {
  beforeEach(() => {
    importCsv(
      [
        'key,title',
        'AC-2,Account management',
        'IA-2,Multi-factor authentication',
        'SC_8,Transmission confidentiality',
        'CM-6,100% of servers hardened',
        'AU-6,Audit review',
      ].join('\n'),
    );
  });

  const keys = (query: string, limit?: number) => searchPolicies(t.ctx.db, query, limit).map((p) => p.key);

  it.each([
    ['a key', 'IA-2', ['IA-2']],
    ['part of a key', '-2', ['AC-2', 'IA-2']],
    ['a word of a title', 'authentication', ['IA-2']],
    ['a title in another case', 'AUDIT', ['AU-6']],
    ['a key in another case', 'ia-', ['IA-2']],
    ['surrounding spaces', '  review  ', ['AU-6']],
    ['nothing typed yet', '', ['AC-2', 'AU-6', 'CM-6', 'IA-2', 'SC_8']],
    ['a literal %', '%', ['CM-6']],
    ['a literal _', '_', ['SC_8']],
    ['"100%" with its %', '100%', ['CM-6']],
    ['a backslash', '\\', []],
    ['no match', 'firewall', []],
  ])('%s (%j) finds %j, ordered by key', (_label, query, expected) => {
    expect(keys(query)).toEqual(expected);
  });

  it('returns at most `limit` policies, in key order', () => {
    expect(keys('', 2)).toEqual(['AC-2', 'AU-6']);
  });

  it('caps at 100 by default, the most Slack shows', () => {
    const many = ['key,title', ...Array.from({ length: 120 }, (_, i) => `P-${String(i).padStart(3, '0')},Policy ${i}`)].join('\n');
    importCsv(many);
    const found = searchPolicies(t.ctx.db, 'P-');
    expect(found).toHaveLength(100);
    expect(found[0]?.key).toBe('P-000');
    expect(found[99]?.key).toBe('P-099');
  });
});

describe('a policy with its own, shorter maximum duration (max_days)', () => {
  it('is imported from the optional max_days column and limits requests to the smaller ceiling, saying which applied', () => {
    importPolicies(t.ctx.db, t.ctx.clock, 'key,title,description,max_days\nNET-9,Segmentation,Zones,30\nIA-2,MFA,,\n', SECURITY[0]);
    expect(listPolicies(t.ctx.db).find((p) => p.key === 'NET-9')?.maxDays).toBe(30);
    expect(listPolicies(t.ctx.db).find((p) => p.key === 'IA-2')?.maxDays).toBeNull();

    const tooLong = requestException(t.ctx, { requesterId: 'U0REQ', input: validRequest({ policy: 'NET-9', expiresOn: '2026-12-26' }) });
    expect(tooLong).toEqual({ ok: false, errors: { expiresOn: 'The NET-9 policy allows exceptions of at most 30 days (until 2026-12-25).' } });
    const structural = requestException(t.ctx, {
      requesterId: 'U0REQ',
      input: validRequest({ policy: 'NET-9', expiresOn: '2027-03-01', structural: true, structuralReason: 'x'.repeat(40) }),
    });
    expect(structural.ok ? undefined : structural.errors.expiresOn).toMatch(/^The NET-9 policy allows exceptions of at most 30 days/);
    expect(requestException(t.ctx, { requesterId: 'U0REQ', input: validRequest({ policy: 'NET-9', expiresOn: '2026-12-25' }) }).ok).toBe(true);
    expect(requestException(t.ctx, { requesterId: 'U0REQ', input: validRequest({ policy: 'IA-2', expiresOn: '2027-02-23' }) }).ok).toBe(true);
  });

  it.each(['0', '-5', 'thirty', '2.5', '4000'])('refuses max_days=%s with the row number', (value) => {
    expect(() => importPolicies(t.ctx.db, t.ctx.clock, `key,title,max_days\nNET-9,Segmentation,${value}\n`, SECURITY[0])).toThrow(/row 2: max_days must be empty or a whole number/);
  });
});
