import { withoutUrlSecrets } from '../logger';
import { ConnectorError, VENDOR_LABELS, type RefusalReason, type Vendor } from './port';

/** What every connector shares about talking to its vendor over HTTP. */
export interface VendorHttp {
  vendor: Vendor;
  fetch: typeof fetch;
  clock: () => Date;
  /** Tokens, secrets and anything derived from them: removed from every message, whatever the vendor echoes. */
  secrets: readonly string[];
  /** The vendor's own words from an error body, in whichever shape that vendor uses. */
  vendorMessage: (body: unknown) => string | undefined;
  /** The sentence that says what to fix, per kind of refusal, in the vendor's setup terms. */
  fixes: Partial<Record<RefusalReason, string>>;
  timeoutMs?: number;
}

export interface VendorRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** What the register was doing, as the security team says it: "add a person to the group". */
  action: string;
  /** Statuses the caller reads itself (a duplicate add, a missing member) instead of failing. */
  allow?: readonly number[];
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** Sends one request; a 2xx (or an allowed status) comes back, anything else is a typed ConnectorError. */
export async function send(http: VendorHttp, request: VendorRequest): Promise<Response> {
  let response: Response;
  try {
    response = await http.fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      // A redirect would carry the credentials to wherever it points.
      redirect: 'error',
      signal: AbortSignal.timeout(http.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    const reason = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
    throw new ConnectorError({ code: 'unavailable', vendor: http.vendor, message: redact(http, `Could not ${request.action}: ${VENDOR_LABELS[http.vendor]} could not be reached (${reason}). The register will try again.`) });
  }
  if (response.ok || request.allow?.includes(response.status)) return response;
  throw await errorFrom(http, response, request.action);
}

/** Reads a JSON body; an empty one (204) is undefined. */
export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The typed error for a response the caller did not accept. `treatAs` reads it as another status, where a vendor
 * answers a refusal with a code of its own (a token endpoint's 400 for a wrong secret is a credentials refusal).
 */
export async function errorFrom(http: VendorHttp, response: Response, action: string, body?: unknown, treatAs?: number): Promise<ConnectorError> {
  const read = body === undefined ? await readJson(response).catch(() => undefined) : body;
  const said = http.vendorMessage(read);
  const label = VENDOR_LABELS[http.vendor];
  const words = said ? ` ${label} said: "${said.replace(/\.$/, '')}".` : '';
  const status = treatAs ?? response.status;
  const fail = (code: ConnectorError['code'], sentence: string, extra: { reason?: RefusalReason; retryAfterMs?: number } = {}) =>
    new ConnectorError({ code, vendor: http.vendor, httpStatus: response.status, message: redact(http, `Could not ${action}: ${sentence}${words}${extra.reason && http.fixes[extra.reason] ? ` ${http.fixes[extra.reason]}` : ''}`), ...extra });

  if (status === 429) {
    const wait = waitFromHeaders(response.headers, http.clock());
    return fail('rate_limited', `${label} is limiting how fast the register may call it${wait === undefined ? '' : ` and asked it to wait ${Math.ceil(wait / 1000)} s`}.`, { retryAfterMs: wait });
  }
  if (status >= 500) return fail('unavailable', `${label} answered HTTP ${status}. The register will try again.`, { retryAfterMs: waitFromHeaders(response.headers, http.clock()) });
  if (status === 401) return fail('refused', `${label} did not accept the register's credentials.`, { reason: 'credentials' });
  if (status === 403) return fail('refused', `${label} refused: the register's account lacks a permission this needs.`, { reason: 'permission' });
  if (status === 404) return fail('refused', `${label} does not know it (or the register's account may not see it).`, { reason: 'not_found' });
  return fail('refused', `${label} refused the request (HTTP ${status}).`, { reason: 'invalid' });
}

/**
 * How long the vendor asked us to wait, in ms: `Retry-After` (seconds or an HTTP date), else a reset instant, either
 * Okta's `X-Rate-Limit-Reset` (epoch seconds) or Jira's `X-RateLimit-Reset` (ISO 8601). An instant is measured
 * against the response's own `Date` where there is one, so a skewed local clock does not stretch or cut the wait.
 */
export function waitFromHeaders(headers: Headers, now: Date): number | undefined {
  const served = Date.parse(headers.get('date') ?? '');
  const reference = Number.isNaN(served) ? now.getTime() : served;
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - reference);
  }
  const reset = (headers.get('x-rate-limit-reset') ?? headers.get('x-ratelimit-reset'))?.trim();
  if (!reset) return undefined;
  const at = /^\d+$/.test(reset) ? Number(reset) * 1000 : Date.parse(reset);
  return Number.isNaN(at) ? undefined : Math.max(0, at - reference);
}

/**
 * The next page's URL, only when it stays on the vendor's own origin: the token is never sent anywhere else. A link
 * that leaves is an error, not the last page, or reconciliation would count everyone after it as missing.
 */
export function nextPageUrl(http: VendorHttp, next: string | undefined, base: string): string | undefined {
  if (!next) return undefined;
  let origin: string | undefined;
  try {
    origin = new URL(next).origin;
  } catch {
    origin = undefined;
  }
  if (origin === new URL(base).origin) return next;
  throw new ConnectorError({ code: 'refused', reason: 'invalid', vendor: http.vendor, message: `Could not read the next page of members: ${VENDOR_LABELS[http.vendor]} pointed it at another address, where the register does not send its credentials.` });
}

function redact(http: VendorHttp, text: string): string {
  let clean = text;
  for (const secret of http.secrets) if (secret.length >= 4) clean = clean.split(secret).join('[redacted]');
  return withoutUrlSecrets(clean);
}
