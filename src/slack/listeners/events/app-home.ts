import { LogLevel, type App, type BlockButtonAction } from '@slack/bolt';
import { homeOverview } from '../../../services/home-overview';
import { requestFormDefaults } from '../../../services/request-exception';
import { ACTION_IDS } from '../../ids';
import { appHome } from '../../views/app-home';
import { requestModal } from '../../views/request-modal';
import type { ListenerDeps } from '../deps';
import { requestLogger } from '../../request-log';

export function registerAppHome(app: App, deps: ListenerDeps): void {
  app.event('app_home_opened', async ({ event, client, context }) => {
    if (event.tab !== 'home') return;
    try {
      await client.views.publish({ user_id: event.user, view: appHome(homeOverview(deps.services, event.user), deps.cards) });
    } catch (error) {
      // Nobody is waiting on an answer to this event; the next opening of the tab tries again.
      requestLogger(context, deps.logger).event(LogLevel.WARN, 'could not publish App Home', { user: event.user, error });
    }
  });

  app.action<BlockButtonAction>(ACTION_IDS.openRequest, async ({ ack, body, client }) => {
    await ack();
    await client.views.open({ trigger_id: body.trigger_id, view: requestModal({ requesterId: body.user.id, ...requestFormDefaults(deps.services) }) });
  });
}
