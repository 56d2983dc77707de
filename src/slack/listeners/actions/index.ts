import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps';
import { registerAssessRisk } from './assess-risk';
import { registerCloseButton } from './close';
import { registerOwnerButtons } from './confirm-owner';
import { registerFollowUpButtons } from './follow-ups';
import { registerRenewButton } from './renew';
import { registerDecisionButtons } from './decide';

export function registerActions(app: App, deps: ListenerDeps): void {
  registerAssessRisk(app, deps);
  registerDecisionButtons(app, deps);
  registerCloseButton(app, deps);
  registerRenewButton(app, deps);
  registerFollowUpButtons(app, deps);
  registerOwnerButtons(app, deps);
}
