import { describe, expect, it } from 'vitest';
import { formatExceptionRef, parseExceptionRef } from '../../src/domain/exception';

describe('exception references (SPEC §2: EXC-0001, EXC-0002, …)', () => {
  it.each([
    [1, 'EXC-0001'],
    [2, 'EXC-0002'],
    [42, 'EXC-0042'],
    [9999, 'EXC-9999'],
    [10000, 'EXC-10000'],
    [123456, 'EXC-123456'],
  ])('formats id %i as %s and reads it back', (id, ref) => {
    expect(formatExceptionRef(id)).toBe(ref);
    expect(parseExceptionRef(ref)).toBe(id);
  });

  it.each([
    ['  EXC-0007  ', 7],
    ['exc-0042', 42],
    ['Exc-0100', 100],
  ])('reads %j as typed in a slash command → %i', (ref, id) => {
    expect(parseExceptionRef(ref)).toBe(id);
  });

  it.each(['', 'EXC-', 'EXC-0000', 'EXC--001', 'EXC-00a1', 'EXC-0001x', 'XEXC-0001', 'FOO-0001', '0001', 'EXC 0001', 'EXC-99999999999999999999'])(
    'refuses %j',
    (ref) => {
      expect(parseExceptionRef(ref)).toBeUndefined();
    },
  );
});
