import { describe, expect, it } from 'vitest';
import { anchorInPost, formatAnchor, parseAnchorFile } from '../../src/domain/audit-anchor';
import { DomainError } from '../../src/domain/errors';

const HASH = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

describe('audit anchors', () => {
  it('are written as the weekly post shows them and found in it again', () => {
    expect(formatAnchor({ count: 1234, hash: HASH })).toBe(`1234 ${HASH}`);
    expect(anchorInPost(`[{"type":"context","elements":[{"text":"Audit trail anchor: \`1234 ${HASH}\` (keep a copy)"}]}]`)).toEqual({ count: 1234, hash: HASH });
    expect(anchorInPost(`Audit trail anchor: 1234 ${HASH}`)).toBeUndefined();
  });

  it.each<[string, string, { count: number; hash: string; source: string }[]]>([
    ['COUNT HASH', `1234 ${HASH}\n`, [{ count: 1234, hash: HASH, source: 'anchors.txt line 1' }]],
    ['a note after the hash, comments and blank lines', `# from #security-committee\n\n12  ${HASH}  2026-W49\r\n`, [{ count: 12, hash: HASH, source: 'anchors.txt line 3' }]],
    ['JSON with other fields', `{"count": 7, "hash": "${HASH}", "week": "2026-W48"}`, [{ count: 7, hash: HASH, source: 'anchors.txt line 1' }]],
  ])('a file takes %s', (_case, text, anchors) => {
    expect(parseAnchorFile(text, 'anchors.txt')).toEqual(anchors);
  });

  it.each([
    ['no count', HASH, 'anchors.txt line 1: is not COUNT HASH'],
    ['a count of 0', `0 ${HASH}`, 'anchors.txt line 1: is not COUNT HASH'],
    ['an uppercase hash', `5 ${HASH.toUpperCase()}`, 'anchors.txt line 1: is not COUNT HASH'],
    ['a hash glued to text', `5 ${HASH}x`, 'anchors.txt line 1: is not COUNT HASH'],
    ['broken JSON', '{"count": 5,', 'anchors.txt line 1: is not valid JSON'],
    ['JSON with a count that is not whole', `{"count": 1.5, "hash": "${HASH}"}`, 'anchors.txt line 1: needs "count"'],
    ['JSON without a hash', '{"count": 5}', 'anchors.txt line 1: needs "hash"'],
  ])('a file with %s is refused whole, naming the line', (_case, line, problem) => {
    const refuse = () => parseAnchorFile(`${line}\n`, 'anchors.txt');
    expect(refuse).toThrow(DomainError);
    expect(refuse).toThrow(problem);
  });

  it('names every bad line at once', () => {
    expect(() => parseAnchorFile(`x\n1 ${HASH}\ny\n`, 'a.txt')).toThrow('No anchor was checked:\na.txt line 1: is not COUNT HASH (a number of events, then a 64-character hexadecimal hash) or a JSON object with count and hash\na.txt line 3:');
  });
});
