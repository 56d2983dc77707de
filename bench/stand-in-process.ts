/**
 * The Slack API stand-in in a process of its own, so that the load generator measuring acknowledgements does not
 * also do Slack's work for the app under test. Prints one JSON line with its addresses; a small control endpoint
 * hands out trigger IDs and response URLs, as Slack would put them in the payloads it sends.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSlackStandIn, type SlackUser } from '../test/support/slack-stand-in';

const users = JSON.parse(process.env.STAND_IN_USERS ?? '[]') as SlackUser[];
const standIn = await startSlackStandIn({ users });
const control = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const n = Math.min(5000, Number(url.searchParams.get('n') ?? 1));
  const userId = url.searchParams.get('user') ?? undefined;
  let body: unknown;
  if (url.pathname === '/triggers') body = Array.from({ length: n }, () => standIn.issueTriggerId({ userId }));
  else if (url.pathname === '/response-urls') body = Array.from({ length: n }, () => standIn.responseUrl({ channel: 'C0APPROVALS', userId }));
  else if (url.pathname === '/refused') body = { refused: standIn.rejected().filter((c) => c.httpStatus === 200 && c.method !== 'auth.test').length, calls: standIn.calls.length };
  else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});
control.listen(0, '127.0.0.1', () => {
  const { appId, teamId, botId, botUserId, botToken, url } = standIn;
  process.stdout.write(`${JSON.stringify({ url, control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`, appId, teamId, botId, botUserId, botToken })}\n`);
});
process.once('SIGTERM', () => void standIn.close().then(() => process.exit(0)));
