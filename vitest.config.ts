import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/support/build-dist.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'http', include: ['test/**/*.test.ts'] } },
      // The same end-to-end flows again, with Slack's payloads arriving as Socket Mode envelopes over a WebSocket.
      { extends: true, test: { name: 'socket-mode', include: ['test/e2e/**/*.test.ts'], env: { E2E_TRANSPORT: 'socket-mode' } } },
    ],
  },
});
