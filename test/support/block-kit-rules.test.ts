import { describe, expect, it } from 'vitest';
import { validateBlocks, validateView } from './block-kit-rules.js';
import { LIMIT_CASES, button, home, modal, mrkdwn, option, options, plain, section, textInput } from './block-kit-cases.js';

const check = (surface: string, payload: unknown): string[] =>
  surface === 'message' ? validateBlocks(payload, 'message') : validateView(payload);

describe('Block Kit limits', () => {
  it.each(LIMIT_CASES)('$name', ({ surface, accepted, refused, pointer }) => {
    expect(check(surface, accepted)).toEqual([]);
    const errors = check(surface, refused);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((e) => e.includes(`[json-pointer:${pointer}`))).toBe(true);
  });
});

describe('validateBlocks', () => {
  it('accepts a realistic exception message', () => {
    const blocks = [
      { type: 'header', text: plain('EXC-12: MFA exemption for build bots') },
      { type: 'section', text: mrkdwn('*Owner:* <@U0ALICE>\n*Risk:* 12 (high)'), fields: [mrkdwn('*Policy*\nMFA-01'), mrkdwn('*Expires*\n2026-12-01')] },
      { type: 'context', elements: [mrkdwn('Requested by <@U0ALICE>'), { type: 'image', image_url: 'https://e.x/a.png', alt_text: 'avatar' }] },
      { type: 'divider' },
      { type: 'actions', block_id: 'decision:EXC-12', elements: [
        button({ action_id: 'approve', style: 'primary' }),
        button({ action_id: 'reject', style: 'danger', text: plain('Reject'), confirm: { title: plain('Sure?'), text: mrkdwn('This rejects EXC-12'), confirm: plain('Reject'), deny: plain('Back') } }),
        { type: 'overflow', action_id: 'more', options: options(2) },
        { type: 'users_select', action_id: 'reassign', placeholder: plain('Reassign') },
        { type: 'datepicker', action_id: 'snooze', initial_date: '2026-12-01' },
      ] },
    ];
    expect(validateBlocks(blocks, 'message')).toEqual([]);
  });

  it('explains refusals with a reason and a json-pointer, like Slack', () => {
    const [error] = validateBlocks([section('x'.repeat(3001))], 'message');
    expect(error).toBe('[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]');
  });

  it('counts characters, not UTF-16 units', () => {
    expect(validateBlocks([{ type: 'header', text: plain('🔒'.repeat(150)) }], 'message')).toEqual([]);
  });

  it('allows the same action_id in different blocks', () => {
    const blocks = [
      { type: 'actions', elements: [button({ action_id: 'approve' })] },
      { type: 'actions', elements: [button({ action_id: 'approve' })] },
    ];
    expect(validateBlocks(blocks, 'message')).toEqual([]);
  });

  it('lets checkbox and radio options use mrkdwn, unlike selects', () => {
    const choice = { text: mrkdwn('*Structural*'), value: 'structural', description: mrkdwn('_needs committee_') };
    expect(validateBlocks([{ type: 'actions', elements: [{ type: 'checkboxes', action_id: 'c', options: [choice], initial_options: [choice] }] }], 'message')).toEqual([]);
    expect(validateBlocks([{ type: 'actions', elements: [{ type: 'radio_buttons', action_id: 'r', options: [choice] }] }], 'message')).toEqual([]);
  });

  it('accepts option groups and checks their options', () => {
    const grouped = { type: 'static_select', action_id: 'p', option_groups: [{ label: plain('Identity'), options: [option('MFA-01', 'MFA-01')] }] };
    expect(validateBlocks([{ type: 'section', text: mrkdwn('Policy'), accessory: grouped }], 'message')).toEqual([]);
    const both = { ...grouped, options: options(1) };
    expect(validateBlocks([{ type: 'section', text: mrkdwn('Policy'), accessory: both }], 'message').join()).toMatch('exactly one of options or option_groups');
  });

  it('accepts input blocks in messages, as Slack has since 2021', () => {
    expect(validateBlocks([textInput({ dispatch_action: true })], 'message')).toEqual([]);
  });

  it('refuses structural nonsense without throwing', () => {
    expect(validateBlocks('not an array', 'message')).toEqual(['[ERROR] must be an array of blocks [json-pointer:/blocks]']);
    expect(validateBlocks([null, 42, { type: 'section', text: 'plain string' }], 'message')).toHaveLength(3);
    expect(validateBlocks([{ type: 'actions', elements: 'nope' }], 'message').join()).toMatch('must be an array');
  });

  it('refuses a plain_text_input longer than its own max_length or with min > max', () => {
    const input = (element: Record<string, unknown>) => [textInput({ element: { type: 'plain_text_input', action_id: 'v', ...element } })];
    expect(validateBlocks(input({ max_length: 3000, min_length: 10 }), 'modal')).toEqual([]);
    expect(validateBlocks(input({ max_length: 3001 }), 'modal').join()).toMatch('/max_length');
    expect(validateBlocks(input({ min_length: 20, max_length: 10 }), 'modal').join()).toMatch('/min_length');
    expect(validateBlocks(input({ max_length: 3, initial_value: 'abcd' }), 'modal').join()).toMatch('/initial_value');
  });
});

describe('validateView', () => {
  it('accepts the request modal the app is expected to build', () => {
    const view = modal({
      private_metadata: JSON.stringify({ channel: 'C0GENERAL' }),
      blocks: [
        textInput(),
        textInput({ block_id: 'owner', label: plain('Owner'), element: { type: 'users_select', action_id: 'value', initial_user: 'U0ALICE' } }),
        textInput({ block_id: 'expiry', label: plain('Expires'), element: { type: 'datepicker', action_id: 'value' }, hint: plain('At most 90 days') }),
        textInput({ block_id: 'policy', label: plain('Policy'), element: { type: 'external_select', action_id: 'value', min_query_length: 0, placeholder: plain('Search policies') } }),
        textInput({ block_id: 'structural', optional: true, label: plain('Kind'), element: { type: 'checkboxes', action_id: 'value', options: [option('Structural', 'yes')] } }),
        textInput({ block_id: 'why', label: plain('Justification'), element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 3000 } }),
      ],
    });
    expect(validateView(view)).toEqual([]);
  });

  it('accepts a home tab', () => {
    expect(validateView(home({ blocks: [{ type: 'header', text: plain('My exceptions') }, section(), { type: 'actions', elements: [button()] }] }))).toEqual([]);
  });

  it('refuses a view that is not an object', () => {
    expect(validateView('modal')).toEqual(['[ERROR] must be a view object [json-pointer:/view]']);
  });
});
