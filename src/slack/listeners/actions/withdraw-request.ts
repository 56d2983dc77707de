import type { App } from '@slack/bolt';
import { authorizeWithdrawal } from '../../../services/withdraw-request';
import { ACTION_IDS } from '../../ids';
import { withdrawalModal } from '../../views/withdrawal-messages';
import type { ListenerDeps } from '../deps';
import { registerModalButton } from './modal-button';

/** "Withdraw request" opens the confirmation; nothing is withdrawn until it is submitted. */
export function registerWithdrawButton(app: App, deps: ListenerDeps): void {
  registerModalButton(app, deps, ACTION_IDS.withdrawRequest, (services, id, userId) => withdrawalModal(authorizeWithdrawal(services, id, userId)));
}
