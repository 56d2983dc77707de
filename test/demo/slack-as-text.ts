/** Renders Block Kit the way a person would read it in Slack, for the demo's terminal output. */

type Text = { type: string; text: string };
type Element = { type: string; text?: Text; action_id?: string; options?: unknown[]; initial_user?: string; initial_date?: string; placeholder?: Text };
type Block = { type: string; text?: Text; fields?: Text[]; elements?: (Element | Text)[]; label?: Text; element?: Element; optional?: boolean };

export function readable(text: string, names: Record<string, string>): string {
  return text
    .replace(/<@([UW][A-Z0-9]+)>/g, (_m, id: string) => `@${names[id] ?? id}`)
    .replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1')
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/:white_check_mark:/g, '✅')
    .replace(/:x:/g, '❌')
    .replace(/:hourglass:/g, '⌛')
    .replace(/:warning:/g, '⚠️')
    .replace(/:rotating_light:/g, '🚨')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

export function blocksAsText(blocks: unknown[], names: Record<string, string>): string {
  const lines: string[] = [];
  for (const block of blocks as Block[]) {
    switch (block.type) {
      case 'header':
        lines.push(`▌ ${block.text?.text ?? ''}`);
        break;
      case 'section':
        if (block.text) lines.push(readable(block.text.text, names));
        if (block.fields) lines.push(block.fields.map((f) => readable(f.text, names).replace('\n', ': ')).join('  ·  '));
        break;
      case 'context':
        lines.push(`  ${(block.elements as Text[]).map((e) => readable(e.text, names)).join(' ')}`);
        break;
      case 'actions':
        lines.push((block.elements as Element[]).map((e) => `[ ${e.text?.text ?? e.action_id} ]`).join(' '));
        break;
      case 'input': {
        const element = block.element;
        const preset = element?.initial_user ? ` (preset: @${names[element.initial_user] ?? element.initial_user})` : element?.initial_date ? ` (preset: ${element.initial_date})` : '';
        lines.push(`  ${block.label?.text ?? ''}${block.optional ? ' (optional)' : ''}: <${element?.type}>${preset}`);
        break;
      }
      case 'divider':
        lines.push('  ───');
        break;
    }
  }
  return indent(lines.join('\n'), '  │ ');
}
