import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps';
import { registerDecisionSubmissions } from './decision-submitted';
import { registerRequestSubmitted } from './request-submitted';

export function registerViews(app: App, deps: ListenerDeps): void {
  registerRequestSubmitted(app, deps);
  registerDecisionSubmissions(app, deps);
}
