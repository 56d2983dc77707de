import type { App, BlockButtonAction, MessageShortcut } from '@slack/bolt';
import { informalAskFor } from '../../../services/informal-asks';
import { requestFormDefaults } from '../../../services/request-exception';
import { ACTION_IDS, SHORTCUT_IDS } from '../../ids';
import { requestModal } from '../../views/request-modal';
import type { ListenerDeps } from '../deps';
import { parseExceptionId, refusalText, tellPrivately } from '../refusals';
import { replyTo } from '../actions/reply-to';
import { requestLogger } from '../../request-log';

/**
 * The informal ask becomes a formal request: the message's text starts the justification, and the message itself
 * is kept on the record as the request's origin.
 */
export function registerRequestFromMessage(app: App, deps: ListenerDeps): void {
  app.shortcut<MessageShortcut>(SHORTCUT_IDS.requestFromMessage, async ({ ack, shortcut, client, respond, context }) => {
    await ack();
    try {
      await client.views.open({
        trigger_id: shortcut.trigger_id,
        view: requestModal({
          requesterId: shortcut.user.id,
          ...requestFormDefaults(deps.services),
          origin: { channel: shortcut.channel.id, ts: shortcut.message.ts, text: shortcut.message.text ?? '' },
        }),
      });
    } catch (error) {
      await respond({ response_type: 'ephemeral', text: refusalText(error, requestLogger(context, deps.logger), { shortcut: shortcut.callback_id }) });
    }
  });

  app.action<BlockButtonAction>(ACTION_IDS.requestFromThread, async ({ ack, body, action, client, respond, context }) => {
    await ack();
    const askId = parseExceptionId(action.value);
    if (!askId) return;
    try {
      const ask = informalAskFor(deps.services, askId, body.user.id);
      const start = ask ? { origin: { channel: ask.channel, ts: ask.messageTs, text: ask.text } } : { startsEmpty: true };
      await client.views.open({ trigger_id: body.trigger_id, view: requestModal({ requesterId: body.user.id, ...requestFormDefaults(deps.services), ...start }) });
    } catch (error) {
      const logger = requestLogger(context, deps.logger);
      await tellPrivately(replyTo(body, client, respond, logger), refusalText(error, logger, { askId, action: action.action_id }));
    }
  });
}
