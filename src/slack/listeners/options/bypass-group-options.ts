import type { App } from '@slack/bolt';
import { IDENTITY_VENDORS, VENDOR_LABELS, isConnectorError, type IdentityConnector, type IdentityVendor } from '../../../integrations/port';
import { plainText } from '../../views/mrkdwn';
import { BYPASS_GROUP_PICKER, bypassGroupOption } from '../../views/request-modal';
import type { ListenerDeps } from '../deps';

/** Slack shows at most 100 options; with two vendors each gets half, so neither crowds the other out. */
const OPTIONS_MAX = 100;

/**
 * The option shown for a vendor that did not answer: Slack has no option that cannot be chosen, so its value names
 * no group (`unreachable:` is no vendor) and a submission carrying it is refused with what to do.
 */
export const UNREACHABLE_PREFIX = 'unreachable';

/** The bypass group picker: the configured identity providers' groups whose name starts with what the person typed. */
export function registerBypassGroupOptions(app: App, deps: ListenerDeps): void {
  app.options(BYPASS_GROUP_PICKER, async ({ options, ack }) => {
    const configured = IDENTITY_VENDORS.flatMap((vendor): [IdentityVendor, IdentityConnector][] => {
      const connector = deps.services.connectors.identity[vendor];
      return connector ? [[vendor, connector]] : [];
    });
    const vendors = configured.map(([vendor]) => vendor);
    const share = Math.floor(OPTIONS_MAX / Math.max(1, configured.length));
    const query = (options.value ?? '').trim();
    const found = await Promise.all(
      configured.map(async ([vendor, connector]) => {
        try {
          const groups = await connector.searchGroups(query);
          return groups.slice(0, share).map((group) => bypassGroupOption(vendors, { vendor, id: group.id, name: group.name }));
        } catch (error) {
          if (!isConnectorError(error)) throw error;
          deps.logger.warn(`could not search ${VENDOR_LABELS[vendor]} groups for the bypass group picker`, { vendor, code: error.code, message: error.message });
          return [{ text: plainText(`${VENDOR_LABELS[vendor]} could not be reached: search again in a moment`, 75), value: `${UNREACHABLE_PREFIX}:${vendor}` }];
        }
      }),
    );
    await ack({ options: found.flat() });
  });
}
