/**
 * The yardstick for acknowledgement latency: the same Bolt version and receiver as the app, the same signature
 * verification, and listeners that only acknowledge. Started by bench/ack-latency.ts.
 */
import type { Server } from 'node:http';
import { App, LogLevel } from '@slack/bolt';

const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  signingSecret: process.env.SLACK_SIGNING_SECRET ?? '',
  logLevel: LogLevel.ERROR,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});
app.command(/.*/, async ({ ack }) => ack());
app.action(/.*/, async ({ ack }) => ack());
app.view(/.*/, async ({ ack }) => ack());

const server = (await app.start(Number(process.env.PORT ?? 0))) as Server;
const address = server.address();
process.stderr.write(`bare Bolt app listening on port ${typeof address === 'object' && address ? address.port : ''}\n`);
process.once('SIGTERM', () => void app.stop().then(() => process.exit(0)));
