import { ConfigError, loadConfig, loadEnvFile, roleWarnings } from './config';
import { startApplication, type Application } from './application';
import { RegisterUnavailableError } from './db/client';
import { createLogger } from './logger';
import { checkSlackSetup } from './slack/preflight';
import { AppTokenRefusedError } from './slack/socket-mode-receiver';

const SHUTDOWN_DEADLINE_MS = 9000;

try {
  loadEnvFile();
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  for (const warning of roleWarnings(config.roles)) logger.warn(warning);
  await checkSlackSetup(config, logger);
  let application: Application | undefined = undefined;
  let stopRequested = false;
  // Stop taking requests, finish what is in flight, keep what is undelivered in the outbox for the next start.
  const stop = (app: Application) =>
    app.stop().then(
      () => {
        logger.info('stopped: the register is closed and what is undelivered stays in the outbox');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('stopping failed', error);
        process.exit(1);
      },
    );
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopRequested) return;
    stopRequested = true;
    logger.info(`${signal}: stopping; finishing the requests in hand first`);
    const deadline = setTimeout(() => {
      process.stderr.write('Shutdown took longer than 9 seconds; exiting anyway. Undelivered notifications stay in the outbox.\n');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    // A signal during start-up is handled as soon as the app is up, so the register is still closed cleanly.
    if (application) void stop(application);
  };
  // Listened for before the app starts: a signal the moment it says it is listening must not kill it outright. Kept
  // for every signal, not once: under `npm start` a supervisor's SIGTERM to the process group reaches the app twice
  // (once directly, once forwarded by npm), and the second must not cut the shutdown the first began.
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  application = await startApplication(config, { logger });
  if (stopRequested) void stop(application);
} catch (error) {
  if (error instanceof AppTokenRefusedError) {
    process.stderr.write(`${error.variable}: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof RegisterUnavailableError) {
    process.stderr.write(`DATABASE_PATH: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof ConfigError) {
    // One line per problem, each naming what to fix: the exit code already says the app did not start.
    process.stderr.write(`${error.problems.join('\n')}\n`);
    process.exit(2);
  }
  throw error;
}
