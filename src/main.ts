import { ConfigError, loadConfig } from './config';
import { startApplication } from './application';

try {
  const config = loadConfig(process.env);
  const application = await startApplication(config);
  const shutdown = () => {
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
