import type { App } from '@slack/bolt';
import { amendRequest } from '../../../services/amend-request';
import { CALLBACK_IDS, REQUEST_BLOCK_IDS } from '../../ids';
import { addLogFields, requestLogger } from '../../request-log';
import { readAmendValue } from '../../views/amendment-messages';
import { BYPASS_BLOCK_IDS, readRequestForm } from '../../views/request-modal';
import { ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { policyPickerRefusal } from '../options/policy-options';
import { blockErrors, refusalText } from '../refusals';
import { checkInVendors, formErrors, lookUpAccount, recentAccounts, submittedWithWarning } from './request-submitted';

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
      const [ownerAccount, vendorChecks] = await Promise.all([
        input.owner ? accounts.lookUp(input.owner, () => lookUpAccount(client, input.owner!, logger)) : undefined,
        checkInVendors(deps.services.connectors, client, ViewState.parse(view.state.values), input.externalRef, logger),
      ]);
      if (!vendorChecks.ok) {
        await ack({ response_action: 'errors', errors: { ...formErrors(deps.services, input, ownerAccount), ...vendorChecks.errors } });
        return;
      }
      // Without the bypass inputs (no identity provider configured) the stored bypass is kept; emptied, it is dropped.
      const offered = view.blocks.some((block) => block.block_id === BYPASS_BLOCK_IDS.group);
      const bypass = vendorChecks.bypass ?? (offered && !vendorChecks.picked ? null : undefined);
      const result = amendRequest(deps.services, { exceptionId: shown.exception, requesterId: body.user.id, input, ownerAccount, sentBackEventId: shown.sentBack, bypass });
      if (!result.ok) {
        await ack({ response_action: 'errors', errors: blockErrors(result.errors, REQUEST_BLOCK_IDS) });
        return;
      }
      addLogFields(context, { exceptionId: result.ref });
      await ack(vendorChecks.warning ? { response_action: 'update', view: submittedWithWarning(`The amended ${result.ref} is back with the security team.`, vendorChecks.warning) } : undefined);
      deps.wakeNotifier();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [REQUEST_BLOCK_IDS.title]: refusalText(error, logger, { callbackId: view.callback_id, exceptionId: shown?.exception }) } });
    }
  });
}
