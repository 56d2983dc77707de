import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps';
import { registerBypassGroupOptions } from './bypass-group-options';
import { registerPolicyOptions } from './policy-options';

export function registerOptions(app: App, deps: ListenerDeps): void {
  registerPolicyOptions(app, deps);
  registerBypassGroupOptions(app, deps);
}
