#!/usr/bin/env node
// The command line runs the TypeScript sources directly, the same code the app runs.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), process.env, { out: process.stdout, err: process.stderr });
