import type { App, BlockButtonAction, webApi } from '@slack/bolt';
import type { ServiceContext } from '../../../services/context';
import type { ListenerDeps } from '../deps';
import { modalAlreadyOpened, parseExceptionId, refusalText, tellPrivately } from '../refusals';
import { replyTo } from './reply-to';

type ModalFor = (services: ServiceContext, exceptionId: number, userId: string) => webApi.ViewsOpenArguments['view'];

/**
 * A button that opens a modal about one exception: the service checks who may act before the modal is built, and
 * a refusal goes privately to whoever clicked, with the reason.
 */
export function registerModalButton(app: App, deps: ListenerDeps, actionId: string, modalFor: ModalFor): void {
  app.action<BlockButtonAction>(actionId, async ({ ack, body, action, client, respond }) => {
    await ack();
    const exceptionId = parseExceptionId(action.value);
    if (!exceptionId) return;
    try {
      // The trigger id is valid for three seconds: the check is a local read, then the modal opens.
      await client.views.open({ trigger_id: body.trigger_id, view: modalFor(deps.services, exceptionId, body.user.id) });
    } catch (error) {
      if (modalAlreadyOpened(error)) return;
      await tellPrivately(replyTo(body, client, respond, deps.logger), refusalText(error, deps.logger, { exceptionId, action: action.action_id }));
    }
  });
}
