import { z } from 'zod';
import { INPUT_ACTION_ID } from '../ids';

/** Slack's state shape for the input elements our modals use; anything else reads as empty. */
const StateValue = z
  .object({
    value: z.string().nullish(),
    selected_user: z.string().nullish(),
    selected_users: z.array(z.string()).nullish(),
    selected_date: z.string().nullish(),
    selected_option: z.object({ value: z.string() }).nullish(),
    selected_options: z.array(z.object({ value: z.string() })).nullish(),
  })
  .partial();
type StateValue = z.infer<typeof StateValue>;

export const ViewState = z.record(z.string(), z.record(z.string(), StateValue));
export type ViewState = z.infer<typeof ViewState>;

export function readInput(values: ViewState, blockId: string, actionId = INPUT_ACTION_ID): StateValue {
  return values[blockId]?.[actionId] ?? {};
}
