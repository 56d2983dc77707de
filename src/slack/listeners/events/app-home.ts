import type { App, BlockButtonAction } from '@slack/bolt';
import { homeOverview } from '../../../services/home-overview';
import { requestFormDefaults } from '../../../services/request-exception';
import { ACTION_IDS } from '../../ids';
import { appHome } from '../../views/app-home';
import { requestModal } from '../../views/request-modal';
import type { ListenerDeps } from '../deps';

export function registerAppHome(app: App, deps: ListenerDeps): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await client.views.publish({ user_id: event.user, view: appHome(homeOverview(deps.services, event.user)) });
  });

  app.action<BlockButtonAction>(ACTION_IDS.openRequest, async ({ ack, body, client }) => {
    await ack();
    await client.views.open({ trigger_id: body.trigger_id, view: requestModal({ requesterId: body.user.id, ...requestFormDefaults(deps.services) }) });
  });
}
