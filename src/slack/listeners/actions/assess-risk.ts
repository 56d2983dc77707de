import type { App, BlockButtonAction } from '@slack/bolt';
import { authorizeAssessment } from '../../../services/assess-risk';
import { ACTION_IDS } from '../../ids';
import { assessmentModal } from '../../views/decision-modals';
import type { ListenerDeps } from '../deps';
import { parseExceptionId, refusalText, tellPrivately } from '../refusals';
import { replyTo } from './reply-to';

export function registerAssessRisk(app: App, deps: ListenerDeps): void {
  app.action<BlockButtonAction>(ACTION_IDS.assessRisk, async ({ ack, body, action, client, respond }) => {
    await ack();
    const exceptionId = parseExceptionId(action.value);
    if (!exceptionId) return;
    try {
      const record = authorizeAssessment(deps.services, exceptionId, body.user.id);
      await client.views.open({ trigger_id: body.trigger_id, view: assessmentModal(record, deps.services.rules.committeeRiskThreshold) });
    } catch (error) {
      await tellPrivately(replyTo(body, client, respond, deps.logger), refusalText(error, deps.logger, { exceptionId, action: action.action_id }));
    }
  });
}
