/**
 * Block Kit validation with the limits real Slack enforces.
 *
 * Messages mimic Slack's `response_metadata.messages`: "[ERROR] <reason> [json-pointer:/blocks/0/text]".
 * Rule of thumb: refuse what Slack refuses; where Slack's behaviour is uncertain, accept.
 */

export type Surface = 'message' | 'modal' | 'home';

type Json = Record<string, unknown>;

export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  blockId: 255,
  actionId: 255,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  accessibilityLabel: 75,
  optionText: 75,
  optionDescription: 75,
  optionValue: 150,
  selectOptions: 100,
  optionGroups: 100,
  optionGroupLabel: 75,
  checkboxOptions: 10,
  radioOptions: 10,
  overflowOptions: 5,
  placeholder: 150,
  inputLabel: 2000,
  inputHint: 2000,
  textInputLength: 3000,
  imageAltText: 2000,
  imageTitle: 2000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  viewTitle: 24,
  viewButton: 24,
  callbackId: 255,
  externalId: 255,
  privateMetadata: 3000,
  markdownBlockText: 12000,
} as const;

const BLOCK_TYPES = new Set([
  'section', 'divider', 'header', 'context', 'actions', 'input', 'image', 'rich_text', 'markdown', 'file', 'video',
]);

const SINGLE_SELECTS = ['static_select', 'external_select', 'users_select', 'conversations_select', 'channels_select'];
const MULTI_SELECTS = SINGLE_SELECTS.map((t) => `multi_${t}`);
const TEXT_INPUTS = ['plain_text_input', 'email_text_input', 'url_text_input', 'number_input', 'rich_text_input'];
const PICKERS = ['datepicker', 'timepicker', 'datetimepicker'];
const CHOICES = ['checkboxes', 'radio_buttons'];

// Which element types each container accepts (Slack's "works in" tables).
const SECTION_ACCESSORIES = new Set([
  'button', 'overflow', 'image', 'workflow_button', ...SINGLE_SELECTS, ...MULTI_SELECTS, ...PICKERS, ...CHOICES,
]);
const ACTIONS_ELEMENTS = new Set([
  'button', 'overflow', 'workflow_button', 'rich_text_input', ...SINGLE_SELECTS, ...MULTI_SELECTS, ...PICKERS, ...CHOICES,
]);
const INPUT_ELEMENTS = new Set([
  ...TEXT_INPUTS, 'file_input', ...SINGLE_SELECTS, ...MULTI_SELECTS, ...PICKERS, ...CHOICES,
]);
const KNOWN_ELEMENTS = new Set([...SECTION_ACCESSORIES, ...ACTIONS_ELEMENTS, ...INPUT_ELEMENTS]);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Slack counts characters, not UTF-16 code units. */
function charCount(text: string): number {
  return [...text].length;
}

class Checker {
  readonly errors: string[] = [];

  error(path: string, reason: string): void {
    this.errors.push(`[ERROR] ${reason} [json-pointer:${path}]`);
  }

  /** A string property: optional unless `required`, at most `max` characters. */
  string(obj: Json, key: string, path: string, o: { max?: number; required?: boolean; min?: number } = {}): string | undefined {
    const value = obj[key];
    if (value === undefined) {
      if (o.required) this.error(`${path}/${key}`, 'missing required field');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.error(`${path}/${key}`, 'must be a string');
      return undefined;
    }
    const length = charCount(value);
    if (length < (o.min ?? 0)) this.error(`${path}/${key}`, `must be at least ${o.min} characters`);
    if (o.max !== undefined && length > o.max) this.error(`${path}/${key}`, `must be less than ${o.max + 1} characters`);
    return value;
  }

  /** A text object `{type, text}`; `plainOnly` where Slack demands plain_text. */
  text(value: unknown, path: string, o: { max?: number; plainOnly?: boolean; required?: boolean } = {}): void {
    if (value === undefined) {
      if (o.required) this.error(path, 'missing required field');
      return;
    }
    if (!isObject(value)) {
      this.error(path, 'must be a text object');
      return;
    }
    if (value.type !== 'plain_text' && value.type !== 'mrkdwn') {
      this.error(`${path}/type`, 'must be one of: plain_text, mrkdwn');
    } else if (o.plainOnly && value.type !== 'plain_text') {
      this.error(`${path}/type`, 'must be plain_text');
    }
    this.string(value, 'text', path, { required: true, min: 1, max: o.max });
  }

  array(obj: Json, key: string, path: string, o: { min?: number; max?: number; required?: boolean }): unknown[] | undefined {
    const value = obj[key];
    if (value === undefined) {
      if (o.required) this.error(`${path}/${key}`, 'missing required field');
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.error(`${path}/${key}`, 'must be an array');
      return undefined;
    }
    if (o.min !== undefined && value.length < o.min) this.error(`${path}/${key}`, `must provide at least ${o.min} items`);
    if (o.max !== undefined && value.length > o.max) this.error(`${path}/${key}`, `must provide no more than ${o.max} items`);
    return value;
  }

  confirm(value: unknown, path: string): void {
    if (value === undefined) return;
    if (!isObject(value)) {
      this.error(path, 'must be a confirmation dialog object');
      return;
    }
    this.text(value.title, `${path}/title`, { plainOnly: true, max: LIMITS.confirmTitle, required: true });
    this.text(value.text, `${path}/text`, { max: LIMITS.confirmText, required: true });
    this.text(value.confirm, `${path}/confirm`, { plainOnly: true, max: LIMITS.confirmButton, required: true });
    this.text(value.deny, `${path}/deny`, { plainOnly: true, max: LIMITS.confirmButton, required: true });
    this.style(value, path);
  }

  style(obj: Json, path: string): void {
    if (obj.style !== undefined && obj.style !== 'primary' && obj.style !== 'danger') {
      this.error(`${path}/style`, 'must be one of: primary, danger');
    }
  }

  /** Option objects; only overflow options may carry a url, only checkbox/radio options may use mrkdwn. */
  option(value: unknown, path: string, o: { allowMrkdwn?: boolean; allowUrl?: boolean } = {}): void {
    if (!isObject(value)) {
      this.error(path, 'must be an option object');
      return;
    }
    this.text(value.text, `${path}/text`, { plainOnly: !o.allowMrkdwn, max: LIMITS.optionText, required: true });
    this.string(value, 'value', path, { required: true, min: 1, max: LIMITS.optionValue });
    this.text(value.description, `${path}/description`, { plainOnly: !o.allowMrkdwn, max: LIMITS.optionDescription });
    if (value.url !== undefined) {
      if (o.allowUrl) this.string(value, 'url', path, { min: 1, max: LIMITS.url });
      else this.error(`${path}/url`, 'url is only allowed in overflow menu options');
    }
  }

  options(list: unknown[] | undefined, path: string, o: { allowMrkdwn?: boolean; allowUrl?: boolean } = {}): void {
    list?.forEach((opt, i) => this.option(opt, `${path}/${i}`, o));
  }
}

function optionKey(opt: unknown): string | undefined {
  if (!isObject(opt) || !isObject(opt.text)) return undefined;
  return `${String(opt.value)}\u0000${String(opt.text.text)}`;
}

/** Slack refuses an initial option that is not one of the offered options. */
function checkInitialOptions(c: Checker, el: Json, path: string, offered: unknown[]): void {
  const keys = new Set(offered.map(optionKey));
  const initial: [unknown, string][] = [];
  if (el.initial_option !== undefined) initial.push([el.initial_option, `${path}/initial_option`]);
  if (Array.isArray(el.initial_options)) {
    el.initial_options.forEach((opt, i) => initial.push([opt, `${path}/initial_options/${i}`]));
  } else if (el.initial_options !== undefined) {
    c.error(`${path}/initial_options`, 'must be an array');
  }
  for (const [opt, optPath] of initial) {
    if (!keys.has(optionKey(opt))) c.error(optPath, 'must match one of the provided options');
  }
}

function checkPlaceholder(c: Checker, el: Json, path: string): void {
  c.text(el.placeholder, `${path}/placeholder`, { plainOnly: true, max: LIMITS.placeholder });
}

function checkSelect(c: Checker, el: Json, path: string, type: string): void {
  checkPlaceholder(c, el, path);
  const multi = type.startsWith('multi_');
  if (multi && el.max_selected_items !== undefined && !(Number.isInteger(el.max_selected_items) && (el.max_selected_items as number) >= 1)) {
    c.error(`${path}/max_selected_items`, 'must be an integer of at least 1');
  }
  const base = multi ? type.slice('multi_'.length) : type;
  if (base === 'static_select') {
    const hasOptions = el.options !== undefined;
    const hasGroups = el.option_groups !== undefined;
    if (hasOptions === hasGroups) {
      c.error(path, 'must provide exactly one of options or option_groups');
      return;
    }
    const offered: unknown[] = [];
    if (hasOptions) {
      const options = c.array(el, 'options', path, { min: 1, max: LIMITS.selectOptions });
      c.options(options, `${path}/options`);
      offered.push(...(options ?? []));
    } else {
      const groups = c.array(el, 'option_groups', path, { min: 1, max: LIMITS.optionGroups });
      groups?.forEach((group, gi) => {
        const groupPath = `${path}/option_groups/${gi}`;
        if (!isObject(group)) {
          c.error(groupPath, 'must be an option group object');
          return;
        }
        c.text(group.label, `${groupPath}/label`, { plainOnly: true, max: LIMITS.optionGroupLabel, required: true });
        const options = c.array(group, 'options', groupPath, { required: true, min: 1, max: LIMITS.selectOptions });
        c.options(options, `${groupPath}/options`);
        offered.push(...(options ?? []));
      });
    }
    checkInitialOptions(c, el, path, offered);
  } else if (base === 'external_select') {
    if (el.min_query_length !== undefined && !(Number.isInteger(el.min_query_length) && (el.min_query_length as number) >= 0)) {
      c.error(`${path}/min_query_length`, 'must be a non-negative integer');
    }
    if (el.initial_option !== undefined) c.option(el.initial_option, `${path}/initial_option`);
    if (Array.isArray(el.initial_options)) c.options(el.initial_options, `${path}/initial_options`);
  } else if (base === 'users_select') {
    if (el.initial_user !== undefined && typeof el.initial_user !== 'string') c.error(`${path}/initial_user`, 'must be a string');
  }
}

function checkTextInput(c: Checker, el: Json, path: string, type: string): void {
  checkPlaceholder(c, el, path);
  if (type !== 'plain_text_input') return;
  const bound = (key: string, min: number): number | undefined => {
    const value = el[key];
    if (value === undefined) return undefined;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > LIMITS.textInputLength) {
      c.error(`${path}/${key}`, `must be an integer between ${min} and ${LIMITS.textInputLength}`);
      return undefined;
    }
    return value as number;
  };
  const min = bound('min_length', 0);
  const max = bound('max_length', 1);
  if (min !== undefined && max !== undefined && min > max) c.error(`${path}/min_length`, 'must not exceed max_length');
  if (el.initial_value !== undefined) {
    const initial = c.string(el, 'initial_value', path);
    if (initial !== undefined && max !== undefined && charCount(initial) > max) {
      c.error(`${path}/initial_value`, 'must not be longer than max_length');
    }
  }
}

function checkImageElement(c: Checker, el: Json, path: string): void {
  if (el.image_url === undefined && el.slack_file === undefined) c.error(path, 'must provide image_url or slack_file');
  c.string(el, 'image_url', path, { min: 1, max: LIMITS.url });
  c.string(el, 'alt_text', path, { required: true, min: 1, max: LIMITS.imageAltText });
}

/** Validates one element; `actionIds` collects ids to spot duplicates inside the block. */
function checkElement(c: Checker, el: unknown, path: string, allowed: Set<string>, where: string, actionIds: Set<string>): void {
  if (!isObject(el)) {
    c.error(path, 'must be an element object');
    return;
  }
  const type = el.type;
  if (typeof type !== 'string' || !KNOWN_ELEMENTS.has(type)) {
    c.error(`${path}/type`, `unknown element type ${JSON.stringify(type)}`);
    return;
  }
  if (!allowed.has(type)) {
    c.error(`${path}/type`, `element type ${type} is not allowed in ${where}`);
    return;
  }
  if (type !== 'image') {
    const actionId = c.string(el, 'action_id', path, { min: 1, max: LIMITS.actionId });
    if (actionId !== undefined) {
      if (actionIds.has(actionId)) c.error(`${path}/action_id`, `duplicate action_id ${JSON.stringify(actionId)} in block`);
      actionIds.add(actionId);
    }
    c.confirm(el.confirm, `${path}/confirm`);
  }

  if (type === 'button') {
    c.text(el.text, `${path}/text`, { plainOnly: true, max: LIMITS.buttonText, required: true });
    c.string(el, 'value', path, { max: LIMITS.buttonValue });
    c.string(el, 'url', path, { min: 1, max: LIMITS.url });
    c.string(el, 'accessibility_label', path, { min: 1, max: LIMITS.accessibilityLabel });
    c.style(el, path);
  } else if (type === 'workflow_button') {
    c.text(el.text, `${path}/text`, { plainOnly: true, max: LIMITS.buttonText, required: true });
    if (!isObject(el.workflow)) c.error(`${path}/workflow`, 'missing required field');
    c.style(el, path);
  } else if (type === 'overflow') {
    const options = c.array(el, 'options', path, { required: true, min: 1, max: LIMITS.overflowOptions });
    c.options(options, `${path}/options`, { allowUrl: true });
  } else if (type === 'checkboxes' || type === 'radio_buttons') {
    const max = type === 'checkboxes' ? LIMITS.checkboxOptions : LIMITS.radioOptions;
    const options = c.array(el, 'options', path, { required: true, min: 1, max });
    c.options(options, `${path}/options`, { allowMrkdwn: true });
    checkInitialOptions(c, el, path, options ?? []);
  } else if (SINGLE_SELECTS.includes(type) || MULTI_SELECTS.includes(type)) {
    checkSelect(c, el, path, type);
  } else if (TEXT_INPUTS.includes(type)) {
    checkTextInput(c, el, path, type);
    if (type === 'number_input' && typeof el.is_decimal_allowed !== 'boolean') {
      c.error(`${path}/is_decimal_allowed`, 'missing required boolean field');
    }
  } else if (type === 'datepicker') {
    checkPlaceholder(c, el, path);
    const initial = c.string(el, 'initial_date', path);
    if (initial !== undefined && !isIsoDate(initial)) c.error(`${path}/initial_date`, 'must be a valid date in the format YYYY-MM-DD');
  } else if (type === 'timepicker') {
    checkPlaceholder(c, el, path);
    const initial = c.string(el, 'initial_time', path);
    if (initial !== undefined && !/^([01]\d|2[0-3]):[0-5]\d$/.test(initial)) c.error(`${path}/initial_time`, 'must be in the format HH:mm');
  } else if (type === 'datetimepicker') {
    if (el.initial_date_time !== undefined && !Number.isInteger(el.initial_date_time)) {
      c.error(`${path}/initial_date_time`, 'must be a UNIX timestamp in seconds');
    }
  } else if (type === 'image') {
    checkImageElement(c, el, path);
  }
}

function isIsoDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.getUTCMonth() === Number(match[2]) - 1 && date.getUTCDate() === Number(match[3]);
}

function checkBlock(c: Checker, block: unknown, path: string, surface: Surface, blockIds: Set<string>): void {
  if (!isObject(block)) {
    c.error(path, 'must be a block object');
    return;
  }
  const type = block.type;
  if (typeof type !== 'string' || !BLOCK_TYPES.has(type)) {
    c.error(`${path}/type`, `unknown block type ${JSON.stringify(type)}`);
    return;
  }
  const blockId = c.string(block, 'block_id', path, { min: 1, max: LIMITS.blockId });
  if (blockId !== undefined) {
    if (blockIds.has(blockId)) c.error(`${path}/block_id`, `duplicate block_id ${JSON.stringify(blockId)}`);
    blockIds.add(blockId);
  }
  const actionIds = new Set<string>();

  switch (type) {
    case 'section': {
      if (block.text === undefined && block.fields === undefined) c.error(path, 'must provide either text or fields');
      c.text(block.text, `${path}/text`, { max: LIMITS.sectionText });
      const fields = c.array(block, 'fields', path, { min: 1, max: LIMITS.sectionFields });
      fields?.forEach((field, i) => c.text(field, `${path}/fields/${i}`, { max: LIMITS.sectionFieldText }));
      if (block.accessory !== undefined) {
        checkElement(c, block.accessory, `${path}/accessory`, SECTION_ACCESSORIES, 'a section accessory', actionIds);
      }
      break;
    }
    case 'header':
      c.text(block.text, `${path}/text`, { plainOnly: true, max: LIMITS.headerText, required: true });
      break;
    case 'context': {
      const elements = c.array(block, 'elements', path, { required: true, min: 1, max: LIMITS.contextElements });
      elements?.forEach((el, i) => {
        const elPath = `${path}/elements/${i}`;
        if (isObject(el) && el.type === 'image') checkImageElement(c, el, elPath);
        else if (isObject(el) && (el.type === 'plain_text' || el.type === 'mrkdwn')) c.text(el, elPath);
        else c.error(`${elPath}/type`, 'context elements must be text objects or image elements');
      });
      break;
    }
    case 'actions': {
      const elements = c.array(block, 'elements', path, { required: true, min: 1, max: LIMITS.actionsElements });
      elements?.forEach((el, i) => checkElement(c, el, `${path}/elements/${i}`, ACTIONS_ELEMENTS, 'an actions block', actionIds));
      break;
    }
    case 'input': {
      c.text(block.label, `${path}/label`, { plainOnly: true, max: LIMITS.inputLabel, required: true });
      c.text(block.hint, `${path}/hint`, { plainOnly: true, max: LIMITS.inputHint });
      if (block.element === undefined) c.error(`${path}/element`, 'missing required field');
      else checkElement(c, block.element, `${path}/element`, INPUT_ELEMENTS, 'an input block', actionIds);
      if (block.optional !== undefined && typeof block.optional !== 'boolean') c.error(`${path}/optional`, 'must be a boolean');
      if (isObject(block.element) && block.element.type === 'file_input' && surface !== 'modal') {
        c.error(`${path}/element/type`, 'file_input is only allowed in modals');
      }
      break;
    }
    case 'image':
      checkImageElement(c, block, path);
      c.text(block.title, `${path}/title`, { plainOnly: true, max: LIMITS.imageTitle });
      break;
    case 'rich_text':
      c.array(block, 'elements', path, { required: true });
      break;
    case 'markdown':
      c.string(block, 'text', path, { required: true, min: 1, max: LIMITS.markdownBlockText });
      break;
    case 'file':
      if (surface !== 'message') c.error(`${path}/type`, 'file blocks are only allowed in messages');
      c.string(block, 'external_id', path, { required: true, min: 1 });
      c.string(block, 'source', path, { required: true, min: 1 });
      break;
    case 'video':
      for (const key of ['video_url', 'thumbnail_url', 'alt_text']) c.string(block, key, path, { required: true, min: 1 });
      c.text(block.title, `${path}/title`, { plainOnly: true, required: true, max: 200 });
      break;
    default:
      break; // divider: nothing but block_id
  }
}

function checkBlockList(c: Checker, blocks: unknown, surface: Surface, path: string): void {
  if (!Array.isArray(blocks)) {
    c.error(path, 'must be an array of blocks');
    return;
  }
  const max = surface === 'message' ? LIMITS.messageBlocks : LIMITS.viewBlocks;
  if (blocks.length > max) c.error(path, `must provide no more than ${max} items (got ${blocks.length})`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => checkBlock(c, block, `${path}/${i}`, surface, blockIds));
}

/** Errors for a `blocks` array on the given surface; empty when Slack would accept it. */
export function validateBlocks(blocks: unknown, surface: Surface): string[] {
  const c = new Checker();
  checkBlockList(c, blocks, surface, '/blocks');
  return c.errors;
}

/** Errors for a view payload (views.open/push/update/publish); empty when Slack would accept it. */
export function validateView(view: unknown): string[] {
  const c = new Checker();
  if (!isObject(view)) {
    c.error('/view', 'must be a view object');
    return c.errors;
  }
  if (view.type !== 'modal' && view.type !== 'home') {
    c.error('/view/type', 'must be one of: modal, home');
    return c.errors;
  }
  const surface: Surface = view.type;
  if (view.blocks === undefined) c.error('/view/blocks', 'missing required field');
  else checkBlockList(c, view.blocks, surface, '/view/blocks');
  c.string(view, 'callback_id', '/view', { max: LIMITS.callbackId });
  c.string(view, 'private_metadata', '/view', { max: LIMITS.privateMetadata });
  c.string(view, 'external_id', '/view', { max: LIMITS.externalId });

  if (surface === 'modal') {
    c.text(view.title, '/view/title', { plainOnly: true, max: LIMITS.viewTitle, required: true });
    c.text(view.submit, '/view/submit', { plainOnly: true, max: LIMITS.viewButton });
    c.text(view.close, '/view/close', { plainOnly: true, max: LIMITS.viewButton });
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === 'input');
    if (hasInput && view.submit === undefined) c.error('/view/submit', 'is required when the view contains input blocks');
    for (const key of ['clear_on_close', 'notify_on_close', 'submit_disabled']) {
      if (view[key] !== undefined && typeof view[key] !== 'boolean') c.error(`/view/${key}`, 'must be a boolean');
    }
  }
  return c.errors;
}

/**
 * Slack refuses a message whose blocks carry more than about 12,000 characters of text in all (msg_blocks_too_long),
 * although each block is within its own limit; the figure is Slack's stated budget for block text.
 */
export const MESSAGE_BLOCK_TEXT_LIMIT = 12_000;

export function blockTextLength(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + blockTextLength(item), 0);
  if (value === null || typeof value !== 'object') return 0;
  return Object.entries(value as Record<string, unknown>).reduce(
    (sum, [key, item]) => sum + (key === 'text' && typeof item === 'string' ? [...item].length : blockTextLength(item)),
    0,
  );
}
