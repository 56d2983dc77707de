import type { App } from '@slack/bolt';
import { calendarDateIn } from '../../../domain/calendar';
import { defaultExpiry } from '../../../domain/request';
import { SLASH_COMMAND } from '../../ids';
import { helpText } from '../../views/help-text';
import { requestModal } from '../../views/request-modal';
import type { ListenerDeps } from '../deps';

export function registerExceptionCommand(app: App, deps: ListenerDeps): void {
  const { services } = deps;
  app.command(SLASH_COMMAND, async ({ command, ack, client }) => {
    const [subCommand = ''] = command.text.trim().split(/\s+/);
    if (subCommand.toLowerCase() !== 'request') {
      await ack({ response_type: 'ephemeral', text: helpText() });
      return;
    }
    await ack();
    // The trigger id is valid for three seconds: open the modal before anything slow.
    await client.views.open({
      trigger_id: command.trigger_id,
      view: requestModal({
        requesterId: command.user_id,
        defaultExpiry: defaultExpiry(calendarDateIn(services.clock(), services.timeZone), services.rules),
        maxExceptionDays: services.rules.maxExceptionDays,
        structuralMaxDays: services.rules.structuralMaxDays,
      }),
    });
  });
}
