import type { App } from '@slack/bolt';
import { authorizeTermChange } from '../../../services/change-terms';
import { ACTION_IDS } from '../../ids';
import { changeTermsModal } from '../../views/change-terms-modal';
import type { ListenerDeps } from '../deps';
import { registerModalButton } from './modal-button';

export function registerChangeTermsButton(app: App, deps: ListenerDeps): void {
  registerModalButton(app, deps, ACTION_IDS.changeTerms, (services, id, userId) => changeTermsModal(authorizeTermChange(services, id, userId)));
}
