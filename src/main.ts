import { ConfigError, loadConfig } from './config';
import { startApplication } from './application';

try {
  const config = loadConfig(process.env);
  const application = await startApplication(config);
  // Stop taking requests, finish what is in flight, keep what is undelivered in the outbox for the next start.
  const shutdown = () => {
    const deadline = setTimeout(() => {
      process.stderr.write('Shutdown took longer than 9 seconds; exiting anyway. Undelivered notifications stay in the outbox.\n');
      process.exit(1);
    }, 9000);
    deadline.unref();
    application.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`Cannot start: the configuration is incomplete or wrong.\n${error.problems.join('\n')}\n`);
    process.exit(2);
  }
  throw error;
}
