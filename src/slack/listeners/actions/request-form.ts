import { LogLevel, type App, type BlockAction, type types } from '@slack/bolt';
import { requestLimits } from '../../../services/request-limits';
import { ACTION_IDS, INPUT_ACTION_ID, REQUEST_BLOCK_IDS as B } from '../../ids';
import { refineRequestModal } from '../../views/request-modal';
import { readInput, ViewState } from '../../views/view-state';
import type { ListenerDeps } from '../deps';
import { requestLogger } from '../../request-log';

/**
 * Choosing a policy or ticking Structural in the request form redraws it: the policy's description, the limit that
 * now applies to the expiry date, and whether the structural reason is needed. What was typed stays, by block id.
 */
export function registerRequestFormChoices(app: App, deps: ListenerDeps): void {
  const choices = [
    { block_id: B.policy, action_id: ACTION_IDS.policyPicker },
    { block_id: B.structural, action_id: INPUT_ACTION_ID },
  ];
  for (const choice of choices) app.action<BlockAction>(choice, async ({ ack, body, client, context }) => {
    await ack();
    const view = body.view;
    if (!view || view.type !== 'modal') return;
    const values = ViewState.safeParse(view.state?.values ?? {});
    const state = values.success ? values.data : {};
    const action = body.actions[0] as { block_id?: string; selected_option?: { value: string } | null; selected_options?: { value: string }[] } | undefined;
    const policyKey = action?.block_id === B.policy ? action.selected_option?.value : readInput(state, B.policy, ACTION_IDS.policyPicker).selected_option?.value;
    const structural = (action?.block_id === B.structural ? action.selected_options : readInput(state, B.structural).selected_options)?.some((o) => o.value === 'structural') ?? false;
    try {
      const limits = requestLimits(deps.services, { policyKey, structural });
      const refined = refineRequestModal(view as unknown as Parameters<typeof refineRequestModal>[0] & { blocks: types.KnownBlock[] }, limits, deps.services.rules.maxExceptionDays);
      // The hash makes Slack refuse a redraw of a form that changed meanwhile (a later choice): that one redraws it.
      await client.views.update({ view_id: view.id, hash: view.hash, view: refined });
    } catch (error) {
      requestLogger(context, deps.logger).event(LogLevel.WARN, 'the request form could not be redrawn for the choice made; it is submitted as it is', { error });
    }
  });
}
