#!/usr/bin/env node
// The command line runs the compiled build (npm install and npm run build make it), the same code the app runs.
const { runCli } = await import('../dist/cli.js');
process.exitCode = await runCli(process.argv.slice(2), process.env, { out: process.stdout, err: process.stderr });
