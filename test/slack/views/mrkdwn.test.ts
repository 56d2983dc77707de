import { describe, expect, it } from 'vitest';
import { escapeMrkdwn, escapeMrkdwnWithin, labelledSection, truncate } from '../../../src/slack/views/mrkdwn';

describe('escaping user text for mrkdwn', () => {
  it.each([
    ['<!channel> please', '&lt;!channel&gt; please'],
    ['<@U0CISO>', '&lt;@U0CISO&gt;'],
    ['<https://evil.example|click here>', '&lt;https://evil.example|click here&gt;'],
    ['R&D', 'R&amp;D'],
    ['&lt; already escaped', '&amp;lt; already escaped'],
    ['*bold* _it_ ~strike~ `code`', '*bold* _it_ ~strike~ `code`'],
  ])('%j renders as %j', (input, expected) => {
    expect(escapeMrkdwn(input)).toBe(expected);
  });

  it('bounds escaped text without cutting an entity in half', () => {
    const bounded = escapeMrkdwnWithin('&'.repeat(2000), 2900);
    expect(bounded.length).toBeLessThanOrEqual(2900);
    expect(bounded.endsWith('&amp;…')).toBe(true);
    expect(bounded.replace(/&amp;/g, '')).toBe('…');
  });

  it('keeps short text whole and never splits an emoji', () => {
    expect(escapeMrkdwnWithin('a < b', 100)).toBe('a &lt; b');
    expect(truncate('🔒🔒🔒🔒', 3)).toBe('🔒🔒…');
    expect(Array.from(escapeMrkdwnWithin('🔒'.repeat(50), 10))).toHaveLength(10);
  });

  it('fits a field of 2,000 worst-case characters into one section', () => {
    const section = labelledSection('Business justification', '<>'.repeat(1000));
    const text = (section.text as { text: string }).text;
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(text).not.toMatch(/&(a|am|amp|l|lt|g|gt)?…/);
  });
});
