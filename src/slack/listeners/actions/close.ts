import type { App } from '@slack/bolt';
import { authorizeClose } from '../../../services/close-exception';
import { ACTION_IDS } from '../../ids';
import { closeModal } from '../../views/decision-modals';
import type { ListenerDeps } from '../deps';
import { registerModalButton } from './modal-button';

export function registerCloseButton(app: App, deps: ListenerDeps): void {
  registerModalButton(app, deps, ACTION_IDS.close, (services, id, userId) => closeModal(authorizeClose(services, id, userId)));
  // Revoke opens the same modal: the service decides, from who pressed it, whether this is a closure or a revocation.
  registerModalButton(app, deps, ACTION_IDS.revoke, (services, id, userId) => closeModal(authorizeClose(services, id, userId)));
}
