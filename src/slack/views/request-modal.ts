import type { types } from '@slack/bolt';
import { REQUEST_TEXT_LIMITS, type ExceptionRequestDraft } from '../../domain/request';
import { ACTION_IDS, CALLBACK_IDS, INPUT_ACTION_ID, REQUEST_BLOCK_IDS as B } from '../ids';
import { z } from 'zod';
import { plainText } from './mrkdwn';
import { readInput, type ViewState } from './view-state';

export interface RequestModalOptions {
  requesterId: string;
  defaultExpiry: string;
  maxExceptionDays: number;
  structuralMaxDays: number;
  /** The informal ask this request starts from: its text seeds the justification, its message is kept as origin. */
  origin?: { channel: string; ts: string; text: string };
  /** Opened from someone else's ask: the form says why it is not filled in with their message. */
  startsEmpty?: boolean;
  /** Nothing can be requested until the catalogue has a policy, so the form says so before anyone types. */
  catalogueEmpty?: boolean;
}

/** What fills an empty catalogue, as whoever runs the app types it where it is installed. */
export const CATALOGUE_IMPORT_COMMAND = 'npx exceptions policies import policies.csv';

/** Where a request came from, carried through the modal so the record can link to the conversation. */
export const RequestOrigin = z.object({ channel: z.string().regex(/^[CGD][A-Z0-9]+$/), ts: z.string().regex(/^\d+\.\d+$/) });
export type RequestOrigin = z.infer<typeof RequestOrigin>;

export function readRequestOrigin(privateMetadata: string): RequestOrigin | undefined {
  try {
    const parsed = RequestOrigin.safeParse(JSON.parse(privateMetadata));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const STRUCTURAL_OPTION = 'structural';

function textInput(
  blockId: string,
  label: string,
  options: { multiline?: boolean; optional?: boolean; maxLength: number; hint?: string; placeholder?: string; initialValue?: string },
): types.InputBlock {
  return {
    type: 'input',
    block_id: blockId,
    label: plainText(label, 2000),
    optional: options.optional ?? false,
    ...(options.hint ? { hint: plainText(options.hint, 2000) } : {}),
    element: {
      type: 'plain_text_input',
      action_id: INPUT_ACTION_ID,
      multiline: options.multiline ?? false,
      max_length: options.maxLength,
      ...(options.placeholder ? { placeholder: plainText(options.placeholder, 150) } : {}),
      ...(options.initialValue ? { initial_value: Array.from(options.initialValue).slice(0, options.maxLength).join('') } : {}),
    },
  };
}

export function requestModal(options: RequestModalOptions): types.ModalView {
  const L = REQUEST_TEXT_LIMITS;
  return {
    type: 'modal',
    callback_id: CALLBACK_IDS.request,
    title: plainText('Request an exception', 24),
    submit: plainText('Submit request', 24),
    close: plainText('Cancel', 24),
    ...(options.origin ? { private_metadata: JSON.stringify({ channel: options.origin.channel, ts: options.origin.ts }) } : {}),
    blocks: [
      ...(options.catalogueEmpty
        ? [
            {
              type: 'section' as const,
              text: {
                type: 'mrkdwn' as const,
                text:
                  ':warning: *The policy catalogue is empty*, so there is no policy to request an exception from yet. ' +
                  `An admin of this app fills it by running \`${CATALOGUE_IMPORT_COMMAND}\` where the app is installed ` +
                  '(`policies.example.csv` is a starter catalogue). Once it is filled, the Policy list below offers its policies.',
              },
            },
          ]
        : []),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `An exception needs a compensating control, an owner and an expiry date: at most ${options.maxExceptionDays} days, or ${options.structuralMaxDays} for a structural case decided by the steering committee.`,
          },
        ],
      },
      ...(options.startsEmpty
        ? [{ type: 'context' as const, elements: [{ type: 'mrkdwn' as const, text: 'This form starts empty: only the person who wrote the message gets it copied in.' }] }]
        : []),
      {
        type: 'input',
        block_id: B.policy,
        label: plainText('Policy', 2000),
        element: {
          type: 'external_select',
          action_id: ACTION_IDS.policyPicker,
          min_query_length: 0,
          placeholder: plainText(options.catalogueEmpty ? 'The catalogue is empty: ask an admin to import it' : 'Search the policy catalogue', 150),
        },
      },
      textInput(B.title, 'Title', { maxLength: L.title.max, placeholder: 'e.g. Legacy HR system without MFA' }),
      textInput(B.scope, 'Scope', { multiline: true, maxLength: L.scope.max, hint: 'Which systems, people or data the exception covers.' }),
      textInput(B.justification, 'Business justification', {
        multiline: true,
        maxLength: L.justification.max,
        hint: `Why the policy cannot be met, and the plan to meet it. At least ${L.justification.min} characters.`,
        initialValue: options.origin?.text,
      }),
      textInput(B.compensatingControls, 'Compensating control', {
        multiline: true,
        maxLength: L.compensatingControls.max,
        hint: 'What reduces the risk while the exception is active. No compensating control, no exception.',
      }),
      {
        type: 'input',
        block_id: B.owner,
        label: plainText('Owner', 2000),
        hint: plainText('The person accountable for the exception and its remediation.', 2000),
        element: { type: 'users_select', action_id: INPUT_ACTION_ID, initial_user: options.requesterId },
      },
      {
        type: 'input',
        block_id: B.expiresOn,
        label: plainText('Expiry date', 2000),
        element: { type: 'datepicker', action_id: INPUT_ACTION_ID, initial_date: options.defaultExpiry },
      },
      textInput(B.affectedSystems, 'Affected systems', { optional: true, maxLength: L.affectedSystems.max, placeholder: 'e.g. hr-app-01, payroll-db' }),
      textInput(B.externalRef, 'External reference', { optional: true, maxLength: L.externalRef.max, placeholder: 'Change ticket or IdP group, e.g. CHG-1234' }),
      {
        type: 'input',
        block_id: B.structural,
        label: plainText('Structural exception', 2000),
        optional: true,
        element: {
          type: 'checkboxes',
          action_id: INPUT_ACTION_ID,
          options: [
            {
              text: plainText('Structural: a shorter clock would force an unsafe workaround'),
              value: STRUCTURAL_OPTION,
            },
          ],
        },
      },
      textInput(B.structuralReason, 'Structural reason', {
        multiline: true,
        optional: true,
        maxLength: L.structuralReason.max,
        hint: 'Required when structural: why this cannot be fixed within the normal limit.',
      }),
    ],
  };
}

export function readRequestForm(values: ViewState): ExceptionRequestDraft {
  const text = (blockId: string) => readInput(values, blockId).value ?? undefined;
  return {
    policy: readInput(values, B.policy, ACTION_IDS.policyPicker).selected_option?.value,
    title: text(B.title),
    scope: text(B.scope),
    justification: text(B.justification),
    compensatingControls: text(B.compensatingControls),
    owner: readInput(values, B.owner).selected_user ?? undefined,
    expiresOn: readInput(values, B.expiresOn).selected_date ?? undefined,
    affectedSystems: text(B.affectedSystems),
    externalRef: text(B.externalRef),
    structural: (readInput(values, B.structural).selected_options ?? []).some((o) => o.value === STRUCTURAL_OPTION),
    structuralReason: text(B.structuralReason),
  };
}
