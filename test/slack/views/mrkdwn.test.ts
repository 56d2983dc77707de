import { describe, expect, it } from 'vitest';
import { calendarDay, calendarDayFrom, escapeMrkdwn, escapeMrkdwnWithin, labelledSection, truncate } from '../../../src/slack/views/mrkdwn';

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

describe("the organisation's calendar days, as people read them", () => {
  it('names the weekday, and the year only when it is not this year', () => {
    expect(calendarDay('2026-09-23', '2026-09-09')).toBe('Wed 23 Sep');
    expect(calendarDay('2027-01-04', '2026-12-02')).toBe('Mon 4 Jan 2027');
    expect(calendarDay('2026-02-28')).toBe('Sat 28 Feb 2026');
  });

  it('says how far away the day is', () => {
    expect(calendarDayFrom('2026-09-23', '2026-09-09')).toBe('Wed 23 Sep (in 14 days)');
    expect(calendarDayFrom('2026-12-02', '2026-12-02')).toBe('Wed 2 Dec (today)');
    expect(calendarDayFrom('2026-12-03', '2026-12-02')).toBe('Thu 3 Dec (tomorrow)');
    expect(calendarDayFrom('2026-11-30', '2026-12-02')).toBe('Mon 30 Nov (2 days ago)');
    expect(calendarDayFrom('2027-03-01', '2026-12-31')).toBe('Mon 1 Mar 2027 (in 60 days)');
  });
});
