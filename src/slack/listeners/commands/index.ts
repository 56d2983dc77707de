import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps';
import { registerExceptionCommand } from './exception-command';

export function registerCommands(app: App, deps: ListenerDeps): void {
  registerExceptionCommand(app, deps);
}
