import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps';
import { registerAssessRisk } from './assess-risk';
import { registerDecisionButtons } from './decide';

export function registerActions(app: App, deps: ListenerDeps): void {
  registerAssessRisk(app, deps);
  registerDecisionButtons(app, deps);
}
