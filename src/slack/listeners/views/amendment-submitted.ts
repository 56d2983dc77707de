import type { App } from '@slack/bolt';
import { amendRequest } from '../../../services/amend-request';
import { CALLBACK_IDS, REQUEST_BLOCK_IDS } from '../../ids';
import { addLogFields, requestLogger } from '../../request-log';
import { readAmendValue } from '../../views/amendment-messages';
import { readRequestForm } from '../../views/request-modal';
import { ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { policyPickerRefusal } from '../options/policy-options';
import { blockErrors, refusalText } from '../refusals';
import { lookUpAccount, recentAccounts } from './request-submitted';

/** The amended request: refused in place like a new one, then back before the security team. */
export function registerAmendmentSubmitted(app: App, deps: ListenerDeps): void {
  const accounts = recentAccounts();
  app.view(CALLBACK_IDS.amendment, async ({ ack, body, view, client, context }) => {
    const logger = requestLogger(context, deps.logger);
    const shown = readAmendValue(view.private_metadata);
    try {
      if (!shown) throw new Error(`amendment modal without an exception id: ${view.private_metadata}`);
      const input = readRequestForm(ViewState.parse(view.state.values));
      const pickerRefusal = policyPickerRefusal(deps.services.db, input.policy);
      if (pickerRefusal) {
        await ack({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.policy]: pickerRefusal } });
        return;
      }
      // The amended owner is held to what a new request's is: an active person, not a bot or a deactivated account.
      const ownerAccount = input.owner ? await accounts.lookUp(input.owner, () => lookUpAccount(client, input.owner!, logger)) : undefined;
      const result = amendRequest(deps.services, { exceptionId: shown.exception, requesterId: body.user.id, input, ownerAccount, sentBackEventId: shown.sentBack });
      if (!result.ok) {
        await ack({ response_action: 'errors', errors: blockErrors(result.errors, REQUEST_BLOCK_IDS) });
        return;
      }
      addLogFields(context, { exceptionId: result.ref });
      await ack();
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.title]: refusalText(error, logger, { callbackId: view.callback_id, exceptionId: shown?.exception }) } });
    }
  });
}
