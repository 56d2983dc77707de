import type { types } from '@slack/bolt';
import { REQUEST_TEXT_LIMITS, type ExceptionRequestDraft } from '../../domain/request';
import { ACTION_IDS, CALLBACK_IDS, INPUT_ACTION_ID, REQUEST_BLOCK_IDS as B } from '../ids';
import { z } from 'zod';
import type { RequestLimits } from '../../services/request-limits';
import { calendarDay, escapeMrkdwn, plainText, truncate } from './mrkdwn';
import { readInput, type ViewState } from './view-state';
import { VENDOR_LABELS, type IdentityVendor } from '../../integrations/port';

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
  /** An amendment: the same form, filled in with the request as it stands, under its own callback and words. */
  prefill?: RequestPrefill;
  /** The identity providers configured: only then does the form offer a bypass group and the people it covers. */
  bypassVendors?: readonly IdentityVendor[];
}

export interface RequestPrefill {
  callbackId: string;
  title: string;
  submit: string;
  privateMetadata: string;
  /** Shown first: what to change, and why. */
  lead: types.KnownBlock[];
  policy: { key: string; label: string };
  /** The bypass the request carries now, shown in the bypass inputs when they are offered. */
  bypass?: { vendor: IdentityVendor; groupId: string; groupName: string; people: { slackUserId: string | null }[] };
  values: { title: string; ownerId: string; scope: string; justification: string; compensatingControls: string; affectedSystems: string | null; externalRef: string | null; structural: boolean; structuralReason: string | null };
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

/** A text input of a form, its initial value cut to what the input accepts; used by every form that edits request fields. */
export function textInput(
  blockId: string,
  label: string,
  options: { multiline?: boolean; optional?: boolean; maxLength: number; hint?: string; placeholder?: string; initialValue?: string | null },
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

/** Asked for only when Structural is ticked; until then it says plainly that it can stay empty. */
function structuralReasonInput(structural: boolean, maxDays: number, initialValue?: string): types.InputBlock {
  return textInput(B.structuralReason, structural ? 'Structural reason' : 'Structural reason, if structural', {
    multiline: true,
    optional: true,
    maxLength: REQUEST_TEXT_LIMITS.structuralReason.max,
    hint: structural
      ? `Required for a structural exception: why this cannot be fixed within ${maxDays} days, and why a shorter clock would force an unsafe workaround.`
      : 'Leave empty unless you tick Structural above.',
    initialValue,
  });
}

const POLICY_ABOUT_BLOCK_ID = 'policy_about';

/**
 * The request form once a policy is chosen or Structural ticked: the policy's description under the picker, the limit
 * that applies next to the expiry date, and the structural reason asked for when it is needed. Built from the form
 * Slack shows, so it keeps the form's own words (a new request or an amendment) and what was typed, by block id.
 */
export function refineRequestModal(view: { callback_id?: string; title: types.PlainTextElement; submit?: types.PlainTextElement; close?: types.PlainTextElement; private_metadata?: string; blocks: types.KnownBlock[] }, limits: RequestLimits, maxExceptionDays: number): types.ModalView {
  const blocks: types.KnownBlock[] = [];
  for (const block of view.blocks) {
    if (block.block_id === POLICY_ABOUT_BLOCK_ID) continue;
    if (block.block_id === B.expiresOn && block.type === 'input') {
      blocks.push({ ...block, hint: plainText(`${limits.because}: choose ${calendarDay(limits.lastDay, limits.today)} at the latest. The exception ends at midnight on this day.`, 2000) });
      continue;
    }
    if (block.block_id === B.structuralReason && block.type === 'input') {
      const { label, hint, optional } = structuralReasonInput(limits.structural, maxExceptionDays);
      blocks.push({ ...block, label, hint, optional });
      continue;
    }
    blocks.push(block);
    if (block.block_id === B.policy && limits.policy) {
      const { key, title, description, maxDays } = limits.policy;
      const own = maxDays ? `\nIts own limit: exceptions of at most ${maxDays} days.` : '';
      const about = `*${escapeMrkdwn(truncate(`${key} · ${title}`, 200))}*${description ? `\n${escapeMrkdwn(truncate(description, 2000))}` : ''}${own}`;
      blocks.push({ type: 'context', block_id: POLICY_ABOUT_BLOCK_ID, elements: [{ type: 'mrkdwn', text: about }] });
    }
  }
  return {
    type: 'modal',
    ...(view.callback_id ? { callback_id: view.callback_id } : {}),
    title: view.title,
    ...(view.submit ? { submit: view.submit } : {}),
    ...(view.close ? { close: view.close } : {}),
    ...(view.private_metadata ? { private_metadata: view.private_metadata } : {}),
    blocks,
  };
}

export function requestModal(options: RequestModalOptions): types.ModalView {
  const L = REQUEST_TEXT_LIMITS;
  const filled = options.prefill;
  const initial = (value: string | null | undefined) => value ?? undefined;
  return {
    type: 'modal',
    callback_id: filled?.callbackId ?? CALLBACK_IDS.request,
    title: plainText(filled?.title ?? 'Request an exception', 24),
    submit: plainText(filled?.submit ?? 'Submit request', 24),
    close: plainText('Cancel', 24),
    ...(options.origin ? { private_metadata: JSON.stringify({ channel: options.origin.channel, ts: options.origin.ts }) } : {}),
    ...(filled ? { private_metadata: filled.privateMetadata } : {}),
    blocks: [
      ...(filled?.lead ?? []),
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
            text: 'An exception needs a compensating control, an owner and an expiry date. A structural case is decided by the steering committee.',
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
        // Choosing a policy, or ticking Structural, redraws the form with that policy's words and limit.
        dispatch_action: true,
        element: {
          type: 'external_select',
          action_id: ACTION_IDS.policyPicker,
          min_query_length: 0,
          placeholder: plainText(options.catalogueEmpty ? 'The catalogue is empty: ask an admin to import it' : 'Search the policy catalogue', 150),
          ...(filled ? { initial_option: { text: plainText(filled.policy.label), value: filled.policy.key } } : {}),
        },
      },
      textInput(B.title, 'Title', { maxLength: L.title.max, placeholder: 'e.g. Legacy HR system without MFA', initialValue: filled?.values.title }),
      textInput(B.scope, 'Scope', { multiline: true, maxLength: L.scope.max, hint: 'Which systems, people or data the exception covers.', initialValue: filled?.values.scope }),
      textInput(B.justification, 'Business justification', {
        multiline: true,
        maxLength: L.justification.max,
        hint: `Why the policy cannot be met, and the plan to meet it. At least ${L.justification.min} characters.`,
        initialValue: filled?.values.justification ?? options.origin?.text,
      }),
      textInput(B.compensatingControls, 'Compensating control', {
        multiline: true,
        maxLength: L.compensatingControls.max,
        hint: 'What reduces the risk while the exception is active. No compensating control, no exception.',
        initialValue: filled?.values.compensatingControls,
      }),
      {
        type: 'input',
        block_id: B.owner,
        label: plainText('Owner', 2000),
        hint: plainText('The person accountable for the exception and its remediation.', 2000),
        element: { type: 'users_select', action_id: INPUT_ACTION_ID, initial_user: filled?.values.ownerId ?? options.requesterId },
      },
      {
        type: 'input',
        block_id: B.expiresOn,
        label: plainText('Expiry date', 2000),
        hint: plainText(
          `At most ${options.maxExceptionDays} days from today, or ${options.structuralMaxDays} for a structural exception; a policy may set a shorter limit, shown here once you choose it. The exception ends at midnight on this day.`,
          2000,
        ),
        element: { type: 'datepicker', action_id: INPUT_ACTION_ID, initial_date: options.defaultExpiry },
      },
      textInput(B.affectedSystems, 'Affected systems', { optional: true, maxLength: L.affectedSystems.max, placeholder: 'e.g. hr-app-01, payroll-db', initialValue: initial(filled?.values.affectedSystems) }),
      textInput(B.externalRef, 'External reference', { optional: true, maxLength: L.externalRef.max, placeholder: 'Change ticket or IdP group, e.g. CHG-1234', initialValue: initial(filled?.values.externalRef) }),
      {
        type: 'input',
        block_id: B.structural,
        label: plainText('Structural exception', 2000),
        optional: true,
        dispatch_action: true,
        element: {
          type: 'checkboxes',
          action_id: INPUT_ACTION_ID,
          options: [
            {
              text: plainText('Structural: a shorter clock would force an unsafe workaround'),
              value: STRUCTURAL_OPTION,
            },
          ],
          ...(filled?.values.structural ? { initial_options: [{ text: plainText('Structural: a shorter clock would force an unsafe workaround'), value: STRUCTURAL_OPTION }] } : {}),
        },
      },
      structuralReasonInput(filled?.values.structural ?? false, options.maxExceptionDays, initial(filled?.values.structuralReason)),
      ...bypassInputs(options.bypassVendors ?? [], filled?.bypass),
    ],
  };
}

/** Block and action ids of the bypass inputs; they exist only when an identity provider is configured. */
export const BYPASS_BLOCK_IDS = { group: 'bypass_group', people: 'bypass_people' } as const;
export const BYPASS_GROUP_PICKER = 'bypass_group_picker';
/** Slack's multi_users_select takes at most 100 people; a bypass wider than that belongs in its own group. */
export const BYPASS_PEOPLE_MAX = 100;

/** How a group reads in the picker: its vendor is named only when there are two to choose between. */
export function bypassGroupOption(vendors: readonly IdentityVendor[], group: { vendor: IdentityVendor; id: string; name: string }): { text: types.PlainTextElement; value: string } {
  const label = vendors.length > 1 ? ` · ${VENDOR_LABELS[group.vendor]}` : '';
  return { text: plainText(truncate(group.name, 75 - label.length) + label, 75), value: `${group.vendor}:${group.id}`.slice(0, 150) };
}

function bypassInputs(vendors: readonly IdentityVendor[], current?: RequestPrefill['bypass']): types.KnownBlock[] {
  if (vendors.length === 0) return [];
  const where = vendors.map((vendor) => VENDOR_LABELS[vendor]).join(' or ');
  const shown = current && vendors.includes(current.vendor) ? current : undefined;
  const initialUsers = (shown?.people ?? []).flatMap((person) => (person.slackUserId ? [person.slackUserId] : [])).slice(0, BYPASS_PEOPLE_MAX);
  return [
    {
      type: 'input',
      block_id: BYPASS_BLOCK_IDS.group,
      label: plainText('Bypass group', 2000),
      optional: true,
      hint: plainText(`The ${where} group that exempts people from the control, e.g. MFA-exempt. On approval the people below are added to it; at expiry, close or revocation they are removed.`, 2000),
      element: {
        type: 'external_select',
        action_id: BYPASS_GROUP_PICKER,
        min_query_length: 0,
        placeholder: plainText(`Search ${where} groups`, 150),
        ...(shown ? { initial_option: bypassGroupOption(vendors, { vendor: shown.vendor, id: shown.groupId, name: shown.groupName }) } : {}),
      },
    },
    {
      type: 'input',
      block_id: BYPASS_BLOCK_IDS.people,
      label: plainText('People it covers', 2000),
      optional: true,
      hint: plainText(`Each person is found in ${where} by the email on their Slack profile. Leave both empty when no group carries this exception.`, 2000),
      element: {
        type: 'multi_users_select',
        action_id: INPUT_ACTION_ID,
        max_selected_items: BYPASS_PEOPLE_MAX,
        placeholder: plainText('Choose people', 150),
        ...(initialUsers.length > 0 ? { initial_users: initialUsers } : {}),
      },
    },
  ];
}

/** What the bypass inputs hold: the option value is `vendor:groupId`, so a group is found again in its own vendor. */
export interface BypassPick {
  group?: { vendor: string; groupId: string };
  people: string[];
}

export function readBypassPick(values: ViewState): BypassPick {
  const chosen = readInput(values, BYPASS_BLOCK_IDS.group, BYPASS_GROUP_PICKER).selected_option?.value;
  const people = [...new Set(readInput(values, BYPASS_BLOCK_IDS.people).selected_users ?? [])];
  const at = chosen?.indexOf(':') ?? -1;
  return { group: chosen && at > 0 ? { vendor: chosen.slice(0, at), groupId: chosen.slice(at + 1) } : undefined, people };
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
