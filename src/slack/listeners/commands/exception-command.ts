import type { App, RespondFn, SlashCommand, webApi } from '@slack/bolt';
import { EXCEPTION_STATUSES, parseExceptionRef, type ExceptionStatus } from '../../../domain/exception';
import { authorizeTermChange } from '../../../services/change-terms';
import { authorizeClose } from '../../../services/close-exception';
import { requestFormDefaults } from '../../../services/request-exception';
import { authorizeRenewal } from '../../../services/request-renewal';
import { authorizeWithdrawal } from '../../../services/withdraw-request';
import { withdrawalModal } from '../../views/withdrawal-messages';
import { SLASH_COMMAND } from '../../ids';
import { changeTermsModal } from '../../views/change-terms-modal';
import { closeModal } from '../../views/decision-modals';
import { helpText } from '../../views/help-text';
import { renewalModal } from '../../views/renewal-modal';
import { recordDetails, registerList } from '../../views/register-views';
import type { SlackMessage } from '../../views/exception-cards';
import { authorizeExport, buildExport, listFor, showFor } from '../../../services/view-register';
import { gatherMetrics } from '../../../services/weekly-metrics';
import { metricsMessage } from '../../views/metrics-message';
import { calendarDateIn } from '../../../domain/calendar';
import { requestModal } from '../../views/request-modal';
import type { ListenerDeps } from '../deps';
import { modalAlreadyOpened, refusalText } from '../refusals';
import { requestLogger } from '../../request-log';

type ModalFor = (deps: ListenerDeps, command: SlashCommand, id: number | undefined) => webApi.ViewsOpenArguments['view'];

/** Sub-commands that open a modal; each checks who may do it before anything is shown. */
const MODALS: Record<string, { needsId: boolean; modal: ModalFor }> = {
  request: { needsId: false, modal: (deps, command) => requestModal({ requesterId: command.user_id, ...requestFormDefaults(deps.services) }) },
  close: { needsId: true, modal: (deps, command, id) => closeModal(authorizeClose(deps.services, id as number, command.user_id)) },
  renew: { needsId: true, modal: (deps, command, id) => renewalModal(authorizeRenewal(deps.services, id as number, command.user_id)) },
  amend: { needsId: true, modal: (deps, command, id) => changeTermsModal(authorizeTermChange(deps.services, id as number, command.user_id)) },
  withdraw: { needsId: true, modal: (deps, command, id) => withdrawalModal(authorizeWithdrawal(deps.services, id as number, command.user_id)) },
};

/** People type EXC-0001, EXC-1, exc-1, #1 or 1 for the same exception. */
function readExceptionNumber(word: string): number | undefined {
  const digits = /^(?:EXC-?|#)?(\d{1,15})$/i.exec(word.trim())?.[1];
  return digits ? parseExceptionRef(`EXC-${digits.padStart(4, '0')}`) : undefined;
}

/** Sub-commands that answer at once, privately, from the register. */
function answer(deps: ListenerDeps, command: SlashCommand, words: string[]): SlackMessage | undefined {
  const [subCommand = '', ...rest] = words;
  switch (subCommand.toLowerCase()) {
    case 'list': {
      const all = rest.some((word) => word.toLowerCase() === 'all');
      const status = rest.map((word) => word.toLowerCase()).find((word) => (EXCEPTION_STATUSES as readonly string[]).includes(word)) as ExceptionStatus | undefined;
      return registerList(listFor(deps.services, command.user_id, { all, status }), deps.cards);
    }
    case 'show': {
      const id = readExceptionNumber(rest[0] ?? '');
      if (!id) return { text: `Name the exception: \`${SLASH_COMMAND} show EXC-1\` (or EXC-0001, or just 1).`, blocks: [] };
      return recordDetails(showFor(deps.services, command.user_id, id), deps.cards);
    }
    case 'metrics':
      return metricsMessage(gatherMetrics(deps.services, deps.services.clock()));
    default:
      return undefined;
  }
}

export function registerExceptionCommand(app: App, deps: ListenerDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, client, respond, context }) => {
    const logger = requestLogger(context, deps.logger);
    const words = command.text.trim().split(/\s+/);
    try {
      const reply = answer(deps, command, words);
      if (reply) {
        await ack({ response_type: 'ephemeral', text: reply.text, ...(reply.blocks.length > 0 ? { blocks: reply.blocks } : {}) });
        return;
      }
    } catch (error) {
      await ack({ response_type: 'ephemeral', text: refusalText(error, logger, { command: command.command }) });
      return;
    }
    const [subCommand = '', argument = ''] = words;
    if (subCommand.toLowerCase() === 'export') {
      await sendExport({ ...deps, logger }, client, respond, command, ack);
      return;
    }
    const handler = MODALS[subCommand.toLowerCase()];
    if (!handler) {
      await ack({ response_type: 'ephemeral', text: helpText() });
      return;
    }
    const id = readExceptionNumber(argument);
    if (handler.needsId && !id) {
      await ack({ response_type: 'ephemeral', text: `Name the exception: \`${SLASH_COMMAND} ${subCommand.toLowerCase()} EXC-0001\`.` });
      return;
    }
    await ack();
    await openModal({ ...deps, logger }, client, respond, command, () => handler.modal(deps, command, id));
  });
}

/** The CSV goes to the person's DM as a file; only the permission check runs before the acknowledgement. */
async function sendExport(deps: ListenerDeps, client: webApi.WebClient, respond: RespondFn, command: SlashCommand, ack: (response?: { response_type: 'ephemeral'; text: string }) => Promise<void>): Promise<void> {
  try {
    authorizeExport(deps.services, command.user_id);
  } catch (error) {
    await ack({ response_type: 'ephemeral', text: refusalText(error, deps.logger, { command: command.command }) });
    return;
  }
  await ack({ response_type: 'ephemeral', text: 'Preparing the export; it arrives in your DM with this app.' });
  try {
    const file = await buildExport(deps.services, calendarDateIn(deps.services.clock(), deps.services.timeZone));
    const opened = await client.conversations.open({ users: command.user_id });
    await client.filesUploadV2({
      channel_id: opened.channel?.id ?? command.user_id,
      file: Buffer.from(file.csv, 'utf8'),
      filename: file.filename,
      title: file.filename,
      initial_comment: `The exception register as of today: ${file.rows} exceptions, one row each, with every decision, renewal and review.`,
    });
  } catch (error) {
    await respond({ response_type: 'ephemeral', text: refusalText(error, deps.logger, { command: command.command }) });
  }
}

async function openModal(deps: ListenerDeps, client: webApi.WebClient, respond: RespondFn, command: SlashCommand, build: () => webApi.ViewsOpenArguments['view']): Promise<void> {
  try {
    // The trigger id is valid for three seconds: open the modal before anything slow.
    await client.views.open({ trigger_id: command.trigger_id, view: build() });
  } catch (error) {
    if (modalAlreadyOpened(error)) return;
    await respond({ response_type: 'ephemeral', text: refusalText(error, deps.logger, { command: command.command }) });
  }
}
