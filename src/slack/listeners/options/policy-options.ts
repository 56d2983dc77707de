import type { App } from '@slack/bolt';
import type { Db } from '../../../db/client';
import { catalogueIsEmpty, searchPolicies } from '../../../services/policy-catalogue';
import { ACTION_IDS } from '../../ids';
import { plainText, truncate } from '../../views/mrkdwn';
import { CATALOGUE_IMPORT_COMMAND } from '../../views/request-modal';
import type { ListenerDeps } from '../deps';

/**
 * The one option shown while the catalogue is empty: Slack has no option that cannot be chosen, so this value is
 * one no policy key can have (keys start with a letter or a digit) and a submission carrying it is refused.
 */
export const EMPTY_CATALOGUE_VALUE = '(the policy catalogue is empty)';

/** Slack caps a select at 100 options, so the catalogue is searched as the person types; a policy's own limit shows in its option. */
export function registerPolicyOptions(app: App, deps: ListenerDeps): void {
  app.options(ACTION_IDS.policyPicker, async ({ options, ack }) => {
    const found = searchPolicies(deps.services.db, options.value ?? '', 100);
    if (found.length === 0 && catalogueIsEmpty(deps.services.db)) {
      // An empty list would look like a search that found nothing; this says why and who can change it.
      await ack({ options: [{ text: plainText('The policy catalogue is empty: nothing to choose yet', 75), description: plainText(`An admin runs: ${CATALOGUE_IMPORT_COMMAND}`, 75), value: EMPTY_CATALOGUE_VALUE }] });
      return;
    }
    await ack({
      options: found.map((policy) => ({
        text: { type: 'plain_text' as const, text: truncate(`${policy.key} · ${policy.title}`, policy.maxDays ? 60 : 75) + (policy.maxDays ? ` (max ${policy.maxDays} d)` : '') },
        // Slack shows a line of description under each option: enough to tell similar policies apart.
        ...(policy.description.trim() ? { description: plainText(policy.description.trim().replace(/\s+/g, ' '), 75) } : {}),
        value: policy.key,
      })),
    });
  });
}

/**
 * Why a request modal cannot be submitted with the policy it carries, when the picker is the reason: the empty
 * catalogue's option, or no policy while there is none to choose. A real key is left to the request's own checks.
 */
export function policyPickerRefusal(db: Db, chosen: string | undefined): string | undefined {
  if (chosen && chosen !== EMPTY_CATALOGUE_VALUE) return undefined;
  if (catalogueIsEmpty(db)) {
    return `Nothing can be requested yet: the policy catalogue is empty. Ask an admin of this app to run ${CATALOGUE_IMPORT_COMMAND}, then choose a policy here.`;
  }
  return chosen ? 'The policy catalogue has been filled since this list was shown: open the Policy list again and choose a policy from it.' : undefined;
}
