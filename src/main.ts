import { ConfigError, loadConfig } from './config';
import { startApplication, type Application } from './application';

const SHUTDOWN_DEADLINE_MS = 9000;

try {
  const config = loadConfig(process.env);
  let application: Application | undefined = undefined;
  let stopRequested = false;
  // Stop taking requests, finish what is in flight, keep what is undelivered in the outbox for the next start.
  const stop = (app: Application) =>
    app.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  const shutdown = () => {
    if (stopRequested) return;
    stopRequested = true;
    const deadline = setTimeout(() => {
      process.stderr.write('Shutdown took longer than 9 seconds; exiting anyway. Undelivered notifications stay in the outbox.\n');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    // A signal during start-up is handled as soon as the app is up, so the register is still closed cleanly.
    if (application) void stop(application);
  };
  // Listened for before the app starts: a signal the moment it says it is listening must not kill it outright.
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  application = await startApplication(config);
  if (stopRequested) void stop(application);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`Cannot start: the configuration is incomplete or wrong.\n${error.problems.join('\n')}\n`);
    process.exit(2);
  }
  throw error;
}
