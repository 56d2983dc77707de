import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookCursor } from '../../src/db/schema';
import { createLogger } from '../../src/logger';
import { createWebhookDeliverer } from '../../src/webhooks/webhook-deliverer';
import { NOW, fileRequest, openTestRegister, type TestRegister } from '../services/fixtures';

let t: TestRegister;
beforeEach(() => {
  t = openTestRegister();
});
afterEach(() => t.close());

describe('a webhook delivery that fails (issue 10 §5)', () => {
  it("stores and logs why without the URL's user name, password or query, even when the error quotes the URL", async () => {
    fileRequest(t.ctx);
    const lines: string[] = [];
    // Real fetch refuses a URL with credentials and names it, password and all, in its error.
    const url = 'https://hook-user:Hunter2-webhook-pw@127.0.0.1:9/exceptions?token=Query-secret-77';
    const webhooks = createWebhookDeliverer({ db: t.ctx.db, url, secret: 'a-secret-of-sixteen+', clock: () => NOW, logger: createLogger('debug', (line) => lines.push(line)) });
    expect(await webhooks.deliverDue()).toBe(0);

    const stored = t.ctx.db.select().from(webhookCursor).get()!.lastError!;
    expect(stored).toContain('https://[redacted]@127.0.0.1:9/exceptions?[redacted]');
    const warned = lines.filter((line) => line.includes('webhook delivery will be retried'));
    expect(warned).toHaveLength(1);
    for (const text of [stored, ...lines]) {
      expect(text).not.toContain('Hunter2');
      expect(text).not.toContain('hook-user');
      expect(text).not.toContain('Query-secret-77');
    }
  });
});
