import type { App, BlockButtonAction, webApi } from '@slack/bolt';
import type { ShownFor } from '../../../domain/shown-for';
import type { ServiceContext } from '../../../services/context';
import { pressedOn, readShownFor } from '../../shown-for-value';
import type { ListenerDeps } from '../deps';
import { modalAlreadyOpened, refusalWithLink, tellPrivately } from '../refusals';
import { replyTo } from './reply-to';
import { requestLogger } from '../../request-log';

/** `shown` is what the button said it was for; buttons about a round pass it on for the service to check. */
type ModalFor = (services: ServiceContext, exceptionId: number, userId: string, shown: ShownFor) => webApi.ViewsOpenArguments['view'];

/**
 * A button that opens a modal about one exception: the service checks who may act before the modal is built, and
 * a refusal goes privately to whoever clicked, with the reason.
 */
export function registerModalButton(app: App, deps: ListenerDeps, actionId: string, modalFor: ModalFor): void {
  app.action<BlockButtonAction>(actionId, async ({ ack, body, action, client, respond, context }) => {
    await ack();
    const shown = readShownFor(action.value, pressedOn(body));
    if (!shown) return;
    const { exceptionId } = shown;
    try {
      // The trigger id is valid for three seconds: the check is a local read, then the modal opens. A button inside a
      // modal (the record's Renew, Close, Revoke) stacks its form on top of it: Slack refuses to open a second one.
      const view = modalFor(deps.services, exceptionId, body.user.id, shown);
      if (body.view?.type === 'modal') await client.views.push({ trigger_id: body.trigger_id, view });
      else await client.views.open({ trigger_id: body.trigger_id, view });
    } catch (error) {
      if (modalAlreadyOpened(error)) return;
      const logger = requestLogger(context, deps.logger);
      await tellPrivately(replyTo(body, client, respond, logger), await refusalWithLink(error, client, logger, { exceptionId, action: action.action_id }));
    }
  });
}
