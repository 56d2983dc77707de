import type { App } from '@slack/bolt';
import { authorizeAssessment } from '../../../services/assess-risk';
import { ACTION_IDS } from '../../ids';
import { assessmentModal } from '../../views/decision-modals';
import type { ListenerDeps } from '../deps';
import { registerModalButton } from './modal-button';

export function registerAssessRisk(app: App, deps: ListenerDeps): void {
  registerModalButton(app, deps, ACTION_IDS.assessRisk, (services, id, userId, shown) => assessmentModal(authorizeAssessment(services, id, userId, shown), services.rules.committeeRiskThreshold));
}
