import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps';
import { registerAmendRequest } from './amend-request';
import { registerAskForChanges } from './ask-for-changes';
import { registerAssessRisk } from './assess-risk';
import { registerChangeTermsButton } from './change-terms';
import { registerCloseButton } from './close';
import { registerOwnerButtons } from './confirm-owner';
import { registerFollowUpButtons } from './follow-ups';
import { registerRenewButton } from './renew';
import { registerRequestFormChoices } from './request-form';
import { registerDecisionButtons } from './decide';
import { registerViewRecord } from './view-record';
import { registerWithdrawButton } from './withdraw-request';

export function registerActions(app: App, deps: ListenerDeps): void {
  registerAssessRisk(app, deps);
  registerDecisionButtons(app, deps);
  registerCloseButton(app, deps);
  registerRenewButton(app, deps);
  registerChangeTermsButton(app, deps);
  registerFollowUpButtons(app, deps);
  registerOwnerButtons(app, deps);
  registerAskForChanges(app, deps);
  registerAmendRequest(app, deps);
  registerWithdrawButton(app, deps);
  registerViewRecord(app, deps);
  registerRequestFormChoices(app, deps);
}
