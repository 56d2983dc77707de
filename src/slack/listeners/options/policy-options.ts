import type { App } from '@slack/bolt';
import { searchPolicies } from '../../../services/policy-catalogue';
import { ACTION_IDS } from '../../ids';
import { truncate } from '../../views/mrkdwn';
import type { ListenerDeps } from '../deps';

/** Slack caps a select at 100 options, so the catalogue is searched as the person types; a policy's own limit shows in its option. */
export function registerPolicyOptions(app: App, deps: ListenerDeps): void {
  app.options(ACTION_IDS.policyPicker, async ({ options, ack }) => {
    const found = searchPolicies(deps.services.db, options.value ?? '', 100);
    await ack({
      options: found.map((policy) => ({
        text: { type: 'plain_text' as const, text: truncate(`${policy.key} · ${policy.title}`, policy.maxDays ? 60 : 75) + (policy.maxDays ? ` (max ${policy.maxDays} d)` : '') },
        value: policy.key,
      })),
    });
  });
}
