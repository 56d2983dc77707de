import { LogLevel } from '@slack/bolt';
import type { StructuredLogger } from './logger';

/**
 * One delivery worker (the Slack outbox, the webhook): runs never overlap, a wake during a run asks for one more,
 * a timer catches retries that fall due, and stopping waits a bounded time for the call in hand.
 */
export interface DeliveryLoop {
  /** Delivers everything due now; resolves with how many were delivered. */
  deliverDue(): Promise<number>;
  /** Asks for a run soon without waiting for it. */
  wake(): void;
  /** Resolves when no run is in progress. */
  idle(): Promise<void>;
  start(intervalMs: number): void;
  /** No run starts after this; the one in hand is waited for at most `waitMs` (a hung call must not hold up shutdown). */
  stop(waitMs: number): Promise<void>;
  /** True once stop() has begun: a run checks it before each delivery and leaves the rest for the next start. */
  stopping(): boolean;
}

export function createDeliveryLoop(options: {
  runOnce: () => Promise<number>;
  /** Whether a run that delivered this many should go straight on (e.g. it filled a whole batch). */
  more?: (delivered: number) => boolean;
  logger: StructuredLogger;
  /** What the log says when a run fails unexpectedly. */
  failure: string;
}): DeliveryLoop {
  let running: Promise<number> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;

  const idle = async () => {
    while (running) await running.catch(() => undefined);
  };

  const loop: DeliveryLoop = {
    async deliverDue() {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        let total = 0;
        let delivered: number;
        do {
          again = false;
          delivered = await options.runOnce();
          total += delivered;
        } while (!stopping && (again || (options.more?.(delivered) ?? false)));
        return total;
      })();
      try {
        return await running;
      } finally {
        running = undefined;
      }
    },
    wake() {
      loop.deliverDue().catch((error: unknown) => options.logger.event(LogLevel.ERROR, options.failure, { error }));
    },
    idle,
    start(intervalMs) {
      timer = setInterval(() => loop.wake(), intervalMs);
      timer.unref();
    },
    async stop(waitMs) {
      stopping = true;
      if (timer) clearInterval(timer);
      await Promise.race([idle(), new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
    },
    stopping: () => stopping,
  };
  return loop;
}
