import type { App } from '@slack/bolt';
import { authorizeSendBack } from '../../../services/ask-for-changes';
import { ACTION_IDS } from '../../ids';
import { changesRequestedModal } from '../../views/amendment-messages';
import type { ListenerDeps } from '../deps';
import { registerModalButton } from './modal-button';

/** "Ask for changes" opens a modal for what to change; the request goes back when it is submitted. */
export function registerAskForChanges(app: App, deps: ListenerDeps): void {
  registerModalButton(app, deps, ACTION_IDS.askForChanges, (services, id, userId, shown) => changesRequestedModal(authorizeSendBack(services, id, userId, shown)));
}
