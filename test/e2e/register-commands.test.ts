import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exceptions } from '../../src/db/schema';
import { ACTION_IDS, CALLBACK_IDS, CLOSING_NOTE_BLOCK_ID, INPUT_ACTION_ID } from '../../src/slack/ids';
import { blockTextLength, MESSAGE_BLOCK_TEXT_LIMIT, validateBlocks } from '../support/block-kit-rules';
import { PEOPLE, startHarness, type Harness } from './harness';
import { assess, clickButton, decisionCard, ephemeralsTo, reject, submitRequest } from './flows';

const AUDITOR = 'U0AUDITOR';
let h: Harness;
beforeEach(async () => {
  h = await startHarness({ env: { AUDITOR_IDS: AUDITOR } });
  // EXC-0001 active (requester/owner as usual), EXC-0002 rejected, EXC-0003 the bystander's own, waiting.
  await submitRequest(h);
  await assess(h, 'EXC-0001', 2, 2);
  await clickButton(h, decisionCard(h, 'EXC-0001'), ACTION_IDS.approve, PEOPLE.ciso);
  await submitRequest(h, { title: 'Flat network for the lab' });
  await assess(h, 'EXC-0002', 2, 2);
  await reject(h, decisionCard(h, 'EXC-0002'), PEOPLE.ciso, 'Segment the lab first, then ask again.');
  await submitRequest(h, { title: 'Shared admin account', owner: PEOPLE.bystander }, PEOPLE.bystander);
});
afterEach(async () => {
  await h.close();
});

async function command(userId: string, text: string) {
  const response = await h.driver.slashCommand({ userId, text });
  expect(response.status).toBe(200);
  const body = response.json as { response_type: string; text: string; blocks?: unknown[] };
  expect(body.response_type).toBe('ephemeral');
  if (body.blocks) {
    expect(validateBlocks(body.blocks, 'message')).toEqual([]);
    expect(blockTextLength(body.blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
  }
  return { text: body.text, content: JSON.stringify(body.blocks ?? []), blocks: body.blocks ?? [] };
}

const refs = (content: string) => [...new Set(content.match(/EXC-\d{4}/g))].sort();

describe('/exception list all', () => {
  it('groups the open register by what needs attention, counting what it leaves out', async () => {
    const listed = await command(PEOPLE.security, 'list all');
    expect(listed.content).toMatch(/Waiting for assessment or a decision\* \(1\)[\s\S]*EXC-0003[\s\S]*\*Active\* \(1\)[\s\S]*EXC-0001/);
    expect(listed.content).toContain('Not shown: 1 rejected');
    expect(listed.content).not.toContain('EXC-0002 ·');
  });

  it('says how many more a group holds than it shows', async () => {
    for (let i = 0; i < 12; i++) await submitRequest(h, { title: `Waiting ${i}` });
    const listed = await command(PEOPLE.ciso, 'list all');
    expect(listed.content).toMatch(/Waiting for assessment or a decision\* \(13\)/);
    // Each of the five groups gets a fifth of the 40 lines.
    expect(listed.content).toContain('…and 5 more.');
  });

  it('lists expired exceptions, and says so plainly when there are none', async () => {
    expect((await command(PEOPLE.owner, 'list expired')).text).toBe('No exceptions have expired among those you requested or own.');
    expect((await command(AUDITOR, 'list all expired')).text).toBe('No exceptions have expired.');
    expect((await command(AUDITOR, 'list all expired')).text).not.toContain('You have no exceptions');
  });
});

describe('/exception list', () => {
  it('shows a person the exceptions they requested or own, and nobody else’s', async () => {
    expect(refs((await command(PEOPLE.requester, 'list')).content)).toEqual(['EXC-0001', 'EXC-0002']);
    expect(refs((await command(PEOPLE.bystander, 'list')).content)).toEqual(['EXC-0003']);
    expect((await command(PEOPLE.deputy, 'list')).content).toContain('You have no exceptions');
  });

  it('lets the security team, approvers, the committee and auditors list the whole register, by status', async () => {
    for (const who of [PEOPLE.security, PEOPLE.ciso, PEOPLE.committee1, AUDITOR]) {
      // The open register; what has ended is counted, and listed by its status.
      expect(refs((await command(who, 'list all')).content)).toEqual(['EXC-0001', 'EXC-0003']);
    }
    expect(refs((await command(AUDITOR, 'list all rejected')).content)).toEqual(['EXC-0002']);
  });

  it('refuses the whole register to anyone else, saying what they can do instead', async () => {
    const refused = await command(PEOPLE.bystander, 'list all');
    expect(refused.text).toMatch(/The whole register is for .*`\/exception list` shows the exceptions you requested or own/);
    expect(refused.content).not.toContain('EXC-0001');
  });
});

describe('/exception show', () => {
  it('shows the full record with its history to the owner and to an auditor', async () => {
    for (const who of [PEOPLE.owner, AUDITOR]) {
      const shown = await command(who, 'show EXC-0001');
      expect(shown.content).toContain('EXC-0001 · Legacy HR system without MFA');
      expect(shown.content).toContain('History');
      // The history in plain words: who did what, with the score and its band, never a raw event name.
      expect(shown.content).toMatch(/<@U0REQUEST> requested it[\s\S]*<@U0SEC1> assessed the risk: 2 × 2 = 4, low; one approver decides[\s\S]*<@U0CISO> approved it until Fri 15 Jan 2027/);
      expect(shown.content).not.toMatch(/exception\.(requested|assessed|approved)|exception requested/);
      expect(shown.content).toContain(ACTION_IDS.viewRecord);
      expect(shown.content).not.toContain(ACTION_IDS.revoke);
    }
  });

  it("dates each history line in the reader's own time zone, never as a bare UTC time", async () => {
    const shown = await command(PEOPLE.owner, 'show EXC-0001');
    // Everything happened at the harness's start, 2026-11-25 10:00 UTC.
    const when = `<!date^${Date.parse('2026-11-25T10:00:00Z') / 1000}^{date_short_pretty} {time}|2026-11-25 10:00 UTC>`;
    const history = (shown.blocks as { text?: { text?: string } }[]).map((b) => b.text?.text ?? '').find((text) => text.startsWith('*History*'))!;
    const lines = history.split('\n').slice(1);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(history.replace(/<!date\^[^>]*>/g, '')).not.toContain('UTC');
    for (const line of lines) expect(line.startsWith(`${when} · `)).toBe(true);
  });

  it('understands EXC-1, EXC-0001, exc-1 and 1 as the same exception', async () => {
    for (const ref of ['EXC-1', 'EXC-0001', 'exc-1', '1']) {
      expect((await command(PEOPLE.owner, `show ${ref}`)).content).toContain('EXC-0001 · Legacy HR system without MFA');
    }
    expect((await command(PEOPLE.owner, 'show EXC-')).text).toMatch(/^Name the exception/);
  });

  it("includes the rejection reason, the assessor's rationale and the decision by whom", async () => {
    const shown = await command(PEOPLE.requester, 'show EXC-2');
    expect(shown.content).toContain('*Rejected*');
    expect(shown.content).toContain('*Why it was rejected*\\n<@U0CISO>: Segment the lab first, then ask again.');
    expect(shown.content).toContain('<@U0CISO> rejected it: “Segment the lab first, then ask again.”');
    expect(shown.content).toMatch(/assessed the risk: 2 × 2 = 4, low; one approver decides: “\S/);
    // A rejected exception offers nothing to renew or close.
    expect(shown.content).not.toContain(ACTION_IDS.renew);
    expect(shown.content).not.toContain(ACTION_IDS.close);
  });

  it('gives the owner Renew and Close, and nobody else', async () => {
    const owner = await command(PEOPLE.owner, 'show EXC-0001');
    expect(owner.content).toContain(ACTION_IDS.renew);
    expect(owner.content).toContain(ACTION_IDS.close);
    for (const who of [AUDITOR, PEOPLE.security]) {
      const other = await command(who, 'show EXC-0001');
      expect(other.content).not.toContain(ACTION_IDS.renew);
      expect(other.content).not.toContain(ACTION_IDS.close);
    }
  });

  it('refuses someone who is not a party and has no role', async () => {
    const refused = await command(PEOPLE.bystander, 'show EXC-0001');
    expect(refused.text).toMatch(/^There is no exception EXC-0001 that you can see/);
    expect(refused.content).not.toContain('Legacy HR');
  });

  it('gives an approver a Revoke button that ends the exception with a reason; the owner and requester are told', async () => {
    const shown = await command(PEOPLE.deputy, 'show EXC-0001');
    expect(shown.content).toContain(ACTION_IDS.revoke);
    const response = await h.driver.blockAction({ userId: PEOPLE.deputy, actionId: ACTION_IDS.revoke, value: '1', message: { channel: 'C0DM', ts: '1.0', blocks: shown.blocks, ephemeral: true } });
    expect(response.status).toBe(200);
    await h.settle();
    const modal = h.standIn.callsTo('views.open').at(-1)!.response.view as { id: string; private_metadata: string; title: { text: string } };
    expect(modal.title.text).toBe('Revoke exception');
    await h.driver.viewSubmission({
      userId: PEOPLE.deputy,
      callbackId: CALLBACK_IDS.close,
      viewId: modal.id,
      privateMetadata: modal.private_metadata,
      values: { [CLOSING_NOTE_BLOCK_ID]: { [INPUT_ACTION_ID]: { type: 'plain_text_input', value: 'Compensating control failed its test twice; revoked until fixed.' } } },
    });
    await h.settle();
    expect(h.app.register.db.select().from(exceptions).get()).toMatchObject({ status: 'revoked' });
    expect(h.standIn.dmsTo(PEOPLE.owner).at(-1)!.text).toBe('EXC-0001 was revoked by the steering committee.');
  });

  it('lets an auditor read but never act', async () => {
    await submitRequest(h, { title: 'Fourth' });
    await clickButton(h, h.standIn.messages().find((m) => JSON.stringify(m.blocks).includes('EXC-0004') && JSON.stringify(m.blocks).includes(ACTION_IDS.assessRisk))!, ACTION_IDS.assessRisk, AUDITOR);
    expect(ephemeralsTo(h, AUDITOR)).toEqual([expect.stringMatching(/Only the security team can assess risk/)]);
    expect(h.app.register.db.select().from(exceptions).all().find((e) => e.id === 4)!.status).toBe('requested');
  });
});

describe('/exception export', () => {
  it('sends an auditor the register as a CSV file in their DM', async () => {
    const { text } = await command(AUDITOR, 'export');
    expect(text).toBe('Preparing the export; it arrives in your DM with this app.');
    await h.standIn.waitFor(() => h.standIn.uploads.length === 1);
    const [upload] = h.standIn.uploads;
    expect(upload!.filename).toBe('exception-register-2026-11-25.csv');
    const opened = h.standIn.callsTo('conversations.open').filter((c) => c.args.users === AUDITOR);
    expect(upload!.channelId).toBe((opened.at(-1)!.response.channel as { id: string }).id);
    const lines = upload!.bytes.toString('utf8').trim().split('\r\n');
    expect(lines[0]).toMatch(/^id,status,waiting_for,policy_key,/);
    expect(lines.slice(1).map((line) => line.slice(0, 8))).toEqual(['EXC-0001', 'EXC-0002', 'EXC-0003']);
    const completed = h.standIn.callsTo('files.completeUploadExternal').at(-1)!;
    expect(String(completed.args.initial_comment)).toContain(': 3 exceptions, one row each');
  });

  it('refuses anyone who is not an auditor or on the security team, and sends nothing', async () => {
    const { text } = await command(PEOPLE.ciso, 'export');
    expect(text).toMatch(/The export is for auditors and the security team/);
    await h.settle();
    expect(h.standIn.uploads).toEqual([]);
  });
});
