import type { App } from '@slack/bolt';
import { authorizeRenewal } from '../../../services/request-renewal';
import { ACTION_IDS } from '../../ids';
import { renewalModal } from '../../views/renewal-modal';
import type { ListenerDeps } from '../deps';
import { registerModalButton } from './modal-button';

export function registerRenewButton(app: App, deps: ListenerDeps): void {
  registerModalButton(app, deps, ACTION_IDS.renew, (services, id, userId) => renewalModal(authorizeRenewal(services, id, userId)));
}
