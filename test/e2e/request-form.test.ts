import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTION_IDS, INPUT_ACTION_ID, REQUEST_BLOCK_IDS as B } from '../../src/slack/ids';
import { DEFAULT_POLICIES, PEOPLE, startHarness, type Harness } from './harness';
import { openRequestModal } from './flows';

// Issue 11, "Less noise, human dates": the request form shows the limit that applies next to the expiry date, asks
// for the structural reason only when structural is ticked, and shows the chosen policy's description.

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ policiesCsv: `${DEFAULT_POLICIES.replace('key,title,description', 'key,title,description,max_days')}\nPAM-04,Privileged access,Admin accounts are vaulted and checked out per task,30` }); // 2026-11-25T10:00Z
});
afterEach(async () => {
  await h.close();
});

type Block = { type: string; block_id?: string; hint?: { text: string }; label?: { text: string }; elements?: { text: string }[] };
const view = (id: string) => h.standIn.views.find((v) => v.id === id)!.view as { blocks: Block[]; callback_id: string; title: { text: string } };
const block = (id: string, blockId: string) => view(id).blocks.find((b) => b.block_id === blockId);

async function choose(viewId: string, blockId: string, actionId: string, value: string | undefined) {
  const response = await h.driver.blockAction({ userId: PEOPLE.requester, actionId, blockId, value, view: { id: viewId } });
  expect(response.status).toBe(200);
  await h.standIn.waitFor(() => h.standIn.callsTo('views.update').some((c) => c.args.view_id === viewId));
  await h.settle();
}

describe('the request form', () => {
  it('says the general limits first; once a policy is chosen, its description and its own limit, next to the expiry date', async () => {
    const viewId = await openRequestModal(h);
    expect(block(viewId, B.expiresOn)!.hint!.text).toMatch(/^At most 90 days from today, or \d+ for a structural exception; a policy may set a shorter limit/);
    expect(block(viewId, B.structuralReason)!.label!.text).toBe('Structural reason, if structural');
    expect(block(viewId, B.policy)).toMatchObject({ dispatch_action: true });

    // The picker's options carry each policy's description.
    const options = await h.driver.blockSuggestion({ userId: PEOPLE.requester, actionId: ACTION_IDS.policyPicker, blockId: B.policy, value: 'PAM' });
    expect(JSON.stringify(options.json)).toContain('Admin accounts are vaulted and checked out per task');

    await choose(viewId, B.policy, ACTION_IDS.policyPicker, 'PAM-04');
    const about = block(viewId, 'policy_about')!;
    expect(about.elements![0]!.text).toContain('*PAM-04 · Privileged access*\nAdmin accounts are vaulted and checked out per task\nIts own limit: exceptions of at most 30 days.');
    expect(block(viewId, B.expiresOn)!.hint!.text).toBe('The PAM-04 policy allows exceptions of at most 30 days: choose Fri 25 Dec at the latest. The exception ends at midnight on this day.');
    // The form keeps its own words and every input, by block id, so what was typed stays.
    expect(view(viewId).title.text).toBe('Request an exception');
    expect(view(viewId).blocks.filter((b) => b.type === 'input').map((b) => b.block_id)).toEqual([B.policy, B.title, B.scope, B.justification, B.compensatingControls, B.owner, B.expiresOn, B.affectedSystems, B.externalRef, B.structural, B.structuralReason]);
    expect(h.standIn.rejected()).toEqual([]);
  });

  it('asks for the structural reason, with the structural limit, once Structural is ticked', async () => {
    const viewId = await openRequestModal(h);
    await choose(viewId, B.structural, INPUT_ACTION_ID, 'structural');
    expect(block(viewId, B.structuralReason)!.label!.text).toBe('Structural reason');
    expect(block(viewId, B.structuralReason)!.hint!.text).toMatch(/^Required for a structural exception: why this cannot be fixed within 90 days/);
    expect(block(viewId, B.expiresOn)!.hint!.text).toMatch(/^A structural exception can last at most \d+ days: choose .* at the latest\./);
    expect(block(viewId, 'policy_about')).toBeUndefined();
    expect(h.standIn.rejected()).toEqual([]);
  });
});
