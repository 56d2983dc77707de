/**
 * `node --import tsx crash-mid-sweep.ts ISO`: runs the jobs as of ISO on the register the environment names, and dies
 * with SIGKILL as the expiry sweep writes its first expiry, as a process killed by the OOM killer or a host reboot would.
 */
import { loadConfig } from '../../src/config';
import { openRegister } from '../../src/db/client';
import { runJobs } from '../../src/jobs/run-jobs';
import { createServiceContext } from '../../src/services/context';

const asOf = new Date(process.argv[2] ?? '');
const config = loadConfig(process.env);
const register = openRegister(config.databasePath);
register.sqlite.function('crash', () => process.kill(process.pid, 'SIGKILL'));
register.sqlite.exec("create temp trigger crash_mid_sweep before update of status on exceptions when new.status = 'expired' begin select crash(); end");
runJobs(createServiceContext(register.db, () => asOf, config), asOf);
