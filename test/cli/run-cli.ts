import { runCli } from '../../src/cli/main';

/** Runs the `exceptions` command in process and captures what it prints, as a terminal would show it. */
export async function runCapturing(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, env, { out: { write: (text: string) => (out += text) }, err: { write: (text: string) => (err += text) } });
  return { code, out, err };
}
