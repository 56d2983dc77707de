import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps';
import { registerAmendmentSubmitted } from './amendment-submitted';
import { registerChangesRequestedSubmitted } from './changes-requested-submitted';
import { registerChangeTermsSubmitted } from './change-terms-submitted';
import { registerCloseSubmitted } from './close-submitted';
import { registerDecisionSubmissions } from './decision-submitted';
import { registerReapprovalSubmitted } from './reapproval-submitted';
import { registerRenewalSubmitted } from './renewal-submitted';
import { registerRequestSubmitted } from './request-submitted';
import { registerWithdrawalSubmitted } from './withdrawal-submitted';

export function registerViews(app: App, deps: ListenerDeps): void {
  registerRequestSubmitted(app, deps);
  registerDecisionSubmissions(app, deps);
  registerCloseSubmitted(app, deps);
  registerRenewalSubmitted(app, deps);
  registerChangeTermsSubmitted(app, deps);
  registerReapprovalSubmitted(app, deps);
  registerChangesRequestedSubmitted(app, deps);
  registerAmendmentSubmitted(app, deps);
  registerWithdrawalSubmitted(app, deps);
}
