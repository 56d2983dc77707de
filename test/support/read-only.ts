import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const asRoot = process.getuid?.() === 0;

/**
 * Makes a file or folder read-only for this process and returns the undo. Root writes through any permission bits, so
 * as root it is made immutable (chattr +i) instead, which even root cannot write; the undo must run before the
 * folder is removed.
 */
export function makeReadOnly(path: string): () => void {
  if (asRoot) {
    execFileSync('chattr', ['+i', path]);
    return () => execFileSync('chattr', ['-i', path]);
  }
  const mode = statSync(path).mode & 0o7777;
  chmodSync(path, mode & ~0o222);
  return () => chmodSync(path, mode);
}

/** False only as root where chattr is missing or the file system has no immutable flag (tmpfs on older kernels). */
export const canMakeReadOnly = ((): boolean => {
  if (!asRoot) return true;
  const dir = mkdtempSync(join(tmpdir(), 'exceptions-read-only-probe-'));
  try {
    writeFileSync(join(dir, 'probe'), '');
    makeReadOnly(join(dir, 'probe'))();
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
