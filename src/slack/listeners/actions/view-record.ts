import type { App } from '@slack/bolt';
import { showFor } from '../../../services/view-register';
import { ACTION_IDS } from '../../ids';
import { recordModal } from '../../views/record-modal';
import type { ListenerDeps } from '../deps';
import { registerModalButton } from './modal-button';

/** "View details", from any card, DM or App Home item: the whole record, to whoever may see it. */
export function registerViewRecord(app: App, deps: ListenerDeps): void {
  registerModalButton(app, deps, ACTION_IDS.viewRecord, (services, id, userId) => recordModal(showFor(services, userId, id), deps.cards));
}
