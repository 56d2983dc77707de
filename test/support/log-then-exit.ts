/**
 * Logs through the real logger to standard error, as the app does, then ends the process at once the way the app
 * can: `exit` (process.exit after shutdown or on a refused configuration), `throw` (a crash). Used by
 * test/logger-exit.test.ts. Usage: log-then-exit.ts LINES exit|throw
 */
import { LogLevel } from '@slack/bolt';
import { createLogger } from '../../src/logger';

const lines = Number(process.argv[2] ?? 0);
const how = process.argv[3] ?? 'exit';
const logger = createLogger('info');
for (let i = 0; i < lines; i++) logger.event(LogLevel.INFO, 'slack request handled', { i, padding: 'x'.repeat(200) });
logger.event(LogLevel.INFO, 'stopped: the register is closed and what is undelivered stays in the outbox', { i: lines });
if (how === 'throw') throw new Error('crashed right after logging');
process.exit(0);
