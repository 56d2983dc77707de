import type { App } from '@slack/bolt';
import { registerActions } from './actions';
import { registerCommands } from './commands';
import type { ListenerDeps } from './deps';
import { registerOptions } from './options';
import { registerViews } from './views';
import { registerAppHome } from './events/app-home';
import { registerWatchedChannels } from './events/watched-channels';
import { registerRequestFromMessage } from './shortcuts/request-from-message';

export function registerListeners(app: App, deps: ListenerDeps, watchedChannels: readonly string[] = []): void {
  registerCommands(app, deps);
  registerRequestFromMessage(app, deps);
  registerWatchedChannels(app, deps, new Set(watchedChannels));
  registerAppHome(app, deps);
  registerActions(app, deps);
  registerViews(app, deps);
  registerOptions(app, deps);
}
