import { describe, expect, it } from 'vitest';
import { waitFromHeaders } from '../../src/integrations/http';

const NOW = new Date('2026-03-02T09:00:00Z');

describe('the wait a vendor asks for', () => {
  it.each([
    ['nothing said', {}, undefined],
    ['Retry-After in seconds (Graph, Jira)', { 'retry-after': '7' }, 7000],
    ['Retry-After as an HTTP date', { 'retry-after': 'Mon, 02 Mar 2026 09:01:00 GMT' }, 60_000],
    ["Okta's X-Rate-Limit-Reset in epoch seconds", { 'x-rate-limit-reset': String(Date.parse('2026-03-02T09:00:45Z') / 1000) }, 45_000],
    ["Okta's reset measured against Okta's own Date, not a skewed local clock", { date: 'Mon, 02 Mar 2026 10:00:00 GMT', 'x-rate-limit-reset': String(Date.parse('2026-03-02T10:00:20Z') / 1000) }, 20_000],
    ["Jira's X-RateLimit-Reset in ISO 8601", { 'x-ratelimit-reset': '2026-03-02T09:02Z' }, 120_000],
    ['Retry-After wins over a reset', { 'retry-after': '3', 'x-rate-limit-reset': String(Date.parse('2026-03-02T09:10:00Z') / 1000) }, 3000],
    ['a reset already past is no wait', { 'x-rate-limit-reset': String(Date.parse('2026-03-02T08:59:00Z') / 1000) }, 0],
    ['nonsense', { 'retry-after': 'soon' }, undefined],
  ])('%s', (_name, headers: Record<string, string>, wait) => {
    expect(waitFromHeaders(new Headers(headers), NOW)).toBe(wait);
  });
});
