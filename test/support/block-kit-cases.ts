/**
 * Boundary cases for Block Kit limits: each pair differs only in the limit under test, so a
 * case proves both that Slack's maximum is accepted and that one more is refused.
 * Shared by the validator's unit tests and the stand-in's over-HTTP tests.
 */
import type { Surface } from './block-kit-rules.js';

export interface LimitCase {
  name: string;
  surface: Surface;
  /** For 'message' a blocks array; for 'modal'/'home' a whole view. */
  accepted: unknown;
  refused: unknown;
  /** A fragment of the json-pointer the error must name. */
  pointer: string;
}

export const x = (n: number): string => 'x'.repeat(n);
export const plain = (text: string) => ({ type: 'plain_text', text });
export const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
export const section = (text = 'Hello') => ({ type: 'section', text: mrkdwn(text) });
export const button = (over: Record<string, unknown> = {}) => ({ type: 'button', text: plain('Approve'), action_id: 'approve', value: 'EXC-1', ...over });
export const option = (text: string, value: string) => ({ text: plain(text), value });
export const options = (n: number) => Array.from({ length: n }, (_, i) => option(`Option ${i}`, `v${i}`));
export const textInput = (over: Record<string, unknown> = {}) => ({
  type: 'input', block_id: 'title', label: plain('Title'), element: { type: 'plain_text_input', action_id: 'value' }, ...over,
});
export const modal = (over: Record<string, unknown> = {}) => ({
  type: 'modal', callback_id: 'request', title: plain('Request'), submit: plain('Submit'), close: plain('Cancel'), blocks: [textInput()], ...over,
});
export const home = (over: Record<string, unknown> = {}) => ({ type: 'home', blocks: [section()], ...over });

const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
const actions = (elements: unknown[]) => [{ type: 'actions', block_id: 'act', elements }];
const accessory = (el: unknown) => [{ type: 'section', text: mrkdwn('Pick one'), accessory: el }];
const select = (over: Record<string, unknown>) => ({ type: 'static_select', action_id: 'pick', placeholder: plain('Pick'), options: options(3), ...over });

export const LIMIT_CASES: LimitCase[] = [
  { name: 'message: at most 50 blocks', surface: 'message', accepted: many(50, () => section()), refused: many(51, () => section()), pointer: '/blocks' },
  { name: 'modal: at most 100 blocks', surface: 'modal', accepted: modal({ blocks: many(100, () => section()) }), refused: modal({ blocks: many(101, () => section()) }), pointer: '/view/blocks' },
  { name: 'home: at most 100 blocks', surface: 'home', accepted: home({ blocks: many(100, () => section()) }), refused: home({ blocks: many(101, () => section()) }), pointer: '/view/blocks' },
  { name: 'known block types only', surface: 'message', accepted: [{ type: 'divider' }], refused: [{ type: 'carousel_of_doom' }], pointer: '/blocks/0/type' },
  { name: 'section text at most 3000', surface: 'message', accepted: [section(x(3000))], refused: [section(x(3001))], pointer: '/blocks/0/text/text' },
  { name: 'section needs text or fields', surface: 'message', accepted: [{ type: 'section', fields: [mrkdwn('a')] }], refused: [{ type: 'section' }], pointer: '/blocks/0' },
  { name: 'section at most 10 fields', surface: 'message', accepted: [{ type: 'section', fields: many(10, () => mrkdwn('f')) }], refused: [{ type: 'section', fields: many(11, () => mrkdwn('f')) }], pointer: '/blocks/0/fields' },
  { name: 'section field at most 2000', surface: 'message', accepted: [{ type: 'section', fields: [mrkdwn(x(2000))] }], refused: [{ type: 'section', fields: [mrkdwn(x(2001))] }], pointer: '/blocks/0/fields/0/text' },
  { name: 'header text at most 150', surface: 'message', accepted: [{ type: 'header', text: plain(x(150)) }], refused: [{ type: 'header', text: plain(x(151)) }], pointer: '/blocks/0/text/text' },
  { name: 'header text must be plain_text', surface: 'message', accepted: [{ type: 'header', text: plain('EXC-1') }], refused: [{ type: 'header', text: mrkdwn('*EXC-1*') }], pointer: '/blocks/0/text/type' },
  { name: 'context at most 10 elements', surface: 'message', accepted: [{ type: 'context', elements: many(10, () => mrkdwn('c')) }], refused: [{ type: 'context', elements: many(11, () => mrkdwn('c')) }], pointer: '/blocks/0/elements' },
  { name: 'actions at most 25 elements', surface: 'message', accepted: actions(many(25, (i) => button({ action_id: `a${i}` }))), refused: actions(many(26, (i) => button({ action_id: `a${i}` }))), pointer: '/blocks/0/elements' },
  { name: 'block_id at most 255', surface: 'message', accepted: [{ type: 'divider', block_id: x(255) }], refused: [{ type: 'divider', block_id: x(256) }], pointer: '/blocks/0/block_id' },
  { name: 'block_id unique in a message', surface: 'message', accepted: [{ type: 'divider', block_id: 'a' }, { type: 'divider', block_id: 'b' }], refused: [{ type: 'divider', block_id: 'a' }, { type: 'divider', block_id: 'a' }], pointer: '/blocks/1/block_id' },
  { name: 'block_id unique in a view', surface: 'modal', accepted: modal({ blocks: [textInput({ block_id: 'a' }), textInput({ block_id: 'b' })] }), refused: modal({ blocks: [textInput({ block_id: 'a' }), textInput({ block_id: 'a' })] }), pointer: '/view/blocks/1/block_id' },
  { name: 'action_id at most 255', surface: 'message', accepted: actions([button({ action_id: x(255) })]), refused: actions([button({ action_id: x(256) })]), pointer: '/blocks/0/elements/0/action_id' },
  { name: 'action_id unique in a block', surface: 'message', accepted: actions([button({ action_id: 'a' }), button({ action_id: 'b' })]), refused: actions([button({ action_id: 'a' }), button({ action_id: 'a' })]), pointer: '/blocks/0/elements/1/action_id' },
  { name: 'button text at most 75', surface: 'message', accepted: actions([button({ text: plain(x(75)) })]), refused: actions([button({ text: plain(x(76)) })]), pointer: '/blocks/0/elements/0/text/text' },
  { name: 'button text must be plain_text', surface: 'message', accepted: actions([button()]), refused: actions([button({ text: mrkdwn('*Go*') })]), pointer: '/blocks/0/elements/0/text/type' },
  { name: 'button value at most 2000', surface: 'message', accepted: actions([button({ value: x(2000) })]), refused: actions([button({ value: x(2001) })]), pointer: '/blocks/0/elements/0/value' },
  { name: 'button url at most 3000', surface: 'message', accepted: actions([button({ url: `https://e.x/${x(2988)}` })]), refused: actions([button({ url: `https://e.x/${x(2989)}` })]), pointer: '/blocks/0/elements/0/url' },
  { name: 'option text at most 75', surface: 'message', accepted: accessory(select({ options: [option(x(75), 'v')] })), refused: accessory(select({ options: [option(x(76), 'v')] })), pointer: '/blocks/0/accessory/options/0/text/text' },
  { name: 'option value at most 150', surface: 'message', accepted: accessory(select({ options: [option('A', x(150))] })), refused: accessory(select({ options: [option('A', x(151))] })), pointer: '/blocks/0/accessory/options/0/value' },
  { name: 'select option text must be plain_text', surface: 'message', accepted: accessory(select({ options: [option('A', 'a')] })), refused: accessory(select({ options: [{ text: mrkdwn('*A*'), value: 'a' }] })), pointer: '/blocks/0/accessory/options/0/text/type' },
  { name: 'static_select at most 100 options', surface: 'message', accepted: accessory(select({ options: options(100) })), refused: accessory(select({ options: options(101) })), pointer: '/blocks/0/accessory/options' },
  { name: 'initial_option must be one of the options', surface: 'message', accepted: accessory(select({ initial_option: option('Option 1', 'v1') })), refused: accessory(select({ initial_option: option('Other', 'zz') })), pointer: '/blocks/0/accessory/initial_option' },
  { name: 'overflow at most 5 options', surface: 'message', accepted: accessory({ type: 'overflow', action_id: 'more', options: options(5) }), refused: accessory({ type: 'overflow', action_id: 'more', options: options(6) }), pointer: '/blocks/0/accessory/options' },
  { name: 'option url only in overflow', surface: 'message', accepted: accessory({ type: 'overflow', action_id: 'more', options: [{ ...option('Docs', 'd'), url: 'https://e.x' }] }), refused: accessory(select({ options: [{ ...option('Docs', 'd'), url: 'https://e.x' }] })), pointer: '/blocks/0/accessory/options/0/url' },
  { name: 'checkboxes at most 10 options', surface: 'modal', accepted: modal({ blocks: [textInput({ element: { type: 'checkboxes', action_id: 'c', options: options(10) } })] }), refused: modal({ blocks: [textInput({ element: { type: 'checkboxes', action_id: 'c', options: options(11) } })] }), pointer: '/view/blocks/0/element/options' },
  { name: 'text objects need non-empty text', surface: 'message', accepted: [section('a')], refused: [section('')], pointer: '/blocks/0/text/text' },
  { name: 'text objects need a known type', surface: 'message', accepted: [section('a')], refused: [{ type: 'section', text: { type: 'markdown', text: 'a' } }], pointer: '/blocks/0/text/type' },
  { name: 'known element types only', surface: 'message', accepted: actions([button()]), refused: actions([{ type: 'slider', action_id: 's' }]), pointer: '/blocks/0/elements/0/type' },
  { name: 'element must fit its container', surface: 'modal', accepted: modal(), refused: modal({ blocks: [textInput({ element: button() })] }), pointer: '/view/blocks/0/element/type' },
  { name: 'input label at most 2000', surface: 'modal', accepted: modal({ blocks: [textInput({ label: plain(x(2000)) })] }), refused: modal({ blocks: [textInput({ label: plain(x(2001)) })] }), pointer: '/view/blocks/0/label/text' },
  { name: 'input label must be plain_text', surface: 'modal', accepted: modal(), refused: modal({ blocks: [textInput({ label: mrkdwn('*Title*') })] }), pointer: '/view/blocks/0/label/type' },
  { name: 'input hint at most 2000', surface: 'modal', accepted: modal({ blocks: [textInput({ hint: plain(x(2000)) })] }), refused: modal({ blocks: [textInput({ hint: plain(x(2001)) })] }), pointer: '/view/blocks/0/hint/text' },
  { name: 'placeholder at most 150', surface: 'modal', accepted: modal({ blocks: [textInput({ element: { type: 'plain_text_input', action_id: 'v', placeholder: plain(x(150)) } })] }), refused: modal({ blocks: [textInput({ element: { type: 'plain_text_input', action_id: 'v', placeholder: plain(x(151)) } })] }), pointer: '/view/blocks/0/element/placeholder/text' },
  { name: 'datepicker initial_date is YYYY-MM-DD', surface: 'modal', accepted: modal({ blocks: [textInput({ element: { type: 'datepicker', action_id: 'd', initial_date: '2026-12-01' } })] }), refused: modal({ blocks: [textInput({ element: { type: 'datepicker', action_id: 'd', initial_date: '2026-02-30' } })] }), pointer: '/view/blocks/0/element/initial_date' },
  { name: 'modal title at most 24', surface: 'modal', accepted: modal({ title: plain(x(24)) }), refused: modal({ title: plain(x(25)) }), pointer: '/view/title/text' },
  { name: 'modal title is required', surface: 'modal', accepted: modal(), refused: modal({ title: undefined }), pointer: '/view/title' },
  { name: 'modal submit at most 24', surface: 'modal', accepted: modal({ submit: plain(x(24)) }), refused: modal({ submit: plain(x(25)) }), pointer: '/view/submit/text' },
  { name: 'modal close at most 24', surface: 'modal', accepted: modal({ close: plain(x(24)) }), refused: modal({ close: plain(x(25)) }), pointer: '/view/close/text' },
  { name: 'modal with inputs needs submit', surface: 'modal', accepted: modal({ submit: undefined, blocks: [section()] }), refused: modal({ submit: undefined }), pointer: '/view/submit' },
  { name: 'callback_id at most 255', surface: 'modal', accepted: modal({ callback_id: x(255) }), refused: modal({ callback_id: x(256) }), pointer: '/view/callback_id' },
  { name: 'private_metadata at most 3000', surface: 'modal', accepted: modal({ private_metadata: x(3000) }), refused: modal({ private_metadata: x(3001) }), pointer: '/view/private_metadata' },
  { name: 'view type is modal or home', surface: 'modal', accepted: modal(), refused: modal({ type: 'workflow_step' }), pointer: '/view/type' },
  { name: 'file blocks only in messages', surface: 'home', accepted: home(), refused: home({ blocks: [{ type: 'file', external_id: 'ABCD1', source: 'remote' }] }), pointer: '/view/blocks/0/type' },
];
