import type { ServiceContext } from '../../services/context';
import type { StructuredLogger } from '../../logger';
import type { CardContext } from '../views/exception-cards';

/** What every listener may use: the services (never the database directly), a way to nudge delivery, and a logger. */
export interface ListenerDeps {
  services: ServiceContext;
  wakeNotifier: () => void;
  logger: StructuredLogger;
  cards: CardContext;
}
