import type { App } from '@slack/bolt';
import { requestFormDefaults } from '../../../services/request-exception';
import { SLASH_COMMAND } from '../../ids';
import { helpText } from '../../views/help-text';
import { requestModal } from '../../views/request-modal';
import type { ListenerDeps } from '../deps';
import { refusalText } from '../refusals';

export function registerExceptionCommand(app: App, deps: ListenerDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, client, respond }) => {
    const [subCommand = ''] = command.text.trim().split(/\s+/);
    if (subCommand.toLowerCase() !== 'request') {
      await ack({ response_type: 'ephemeral', text: helpText() });
      return;
    }
    await ack();
    try {
      // The trigger id is valid for three seconds: open the modal before anything slow.
      await client.views.open({ trigger_id: command.trigger_id, view: requestModal({ requesterId: command.user_id, ...requestFormDefaults(deps.services) }) });
    } catch (error) {
      await respond({ response_type: 'ephemeral', text: refusalText(error, deps.logger, { command: command.command }) });
    }
  });
}
