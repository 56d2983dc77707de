#!/usr/bin/env node
// The command line runs the compiled build (npm install and npm run build make it), the same code the app runs.
const { runCli, loadEnvFile } = await import('../dist/cli.js');
try {
  // The app's .env, if there is one, so `jobs run` and the rest see the configuration the app sees.
  loadEnvFile();
} catch (error) {
  process.stderr.write(`${error.problems ? error.problems.join('\n') : error.message}\n`);
  process.exit(2);
}
process.exitCode = await runCli(process.argv.slice(2), process.env, { out: process.stdout, err: process.stderr });
