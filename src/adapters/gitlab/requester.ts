// The HTTP layer under @gitbeaker/rest, replacing its default for three reasons:
// - its default sends through Node's global fetch, which takes no CA of its
//   own, so a private CA (caSecretRef) could not be used;
// - fetch is Node's copy of undici, whose WebAssembly HTTP parser costs
//   memory that node:https does not (runtime/http-client.ts);
// - it retries 429 and 502 ten times within milliseconds, ignoring
//   Retry-After (API-FACTS, pitfall 15). Here a 429/502/503 is retried at most
//   twice, after Retry-After (capped); past that the error carries the server's
//   hint to the work queue, which waits at least that long. A Retry-After also
//   pauses every other request with the same token to the same instance
//   (`gate`): GitLab counts the limit per user across the instance, so another
//   token (another namespace's) is not held up.
// Every response body is read up to 1 MiB, and each attempt (headers and body)
// has an overall deadline; connections go only where the egress policy allows
// (runtime/transport/egress.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Agent } from 'node:https';
import { createRequesterFn, GitbeakerRequestError, GitbeakerTimeoutError } from '@gitbeaker/requester-utils';
import type { EgressPolicy } from '../../runtime/transport/egress.ts';
import { type HttpResponse, send } from '../../runtime/transport/http-client.ts';

const RETRY_STATUSES = [429, 502, 503];
const MAX_ATTEMPTS = 3;
const MAX_INLINE_WAIT_MS = 10_000;
/** Longest wait for a response's headers or its next chunk. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Longest one attempt may take in all, headers and body; GitLab's own request timeout is 60 s. */
export const REQUEST_DEADLINE_MS = 60_000;
/** The most of a response body read (a page of 100 variables is well below it). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The requests one GitLab call (a list and all its pages, with retries) may
 * make. gitbeaker follows `rel="next"` while its `maxPages` allows, and counts
 * pages as items / perPage: a server answering pages of one item, each with a
 * next link, would be followed for a hundred times `maxPages` pages.
 */
export const MAX_REQUESTS_PER_CALL = 400;

/** The budget of the GitLab call in progress (GitLabPort runs each call in one). */
export const callBudget = new AsyncLocalStorage<{ requests: number }>();

/** Retry-After in ms (seconds or an HTTP date), if the response has one. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function body(response: HttpResponse): unknown {
  if (response.status === 204) return null;
  const type = (response.headers['content-type'] ?? '').split(';')[0]?.trim();
  if (type === 'application/json') return (response.text ? JSON.parse(response.text) : null) ?? {};
  return response.text;
}

function fail(request: { method: string; url: string }, response: HttpResponse, retryAfter?: number): never {
  let description = response.text;
  if (response.headers['content-type']?.includes('application/json')) {
    try {
      const parsed = JSON.parse(response.text);
      const field = parsed?.error ?? parsed?.message ?? '';
      description = typeof field === 'string' ? field : JSON.stringify(field);
    } catch {
      // keep the text
    }
  }
  // The request goes in without its headers: they carry the token.
  throw new GitbeakerRequestError(description, {
    cause: {
      description,
      request,
      response: { status: response.status, headers: response.headers },
      retryAfterMs: retryAfter,
    } as never,
  });
}

/** Shared by every request with one token to one GitLab instance (ExternalSystem.gateFor). */
export interface RetryGate {
  pause(ms: number): void;
  /** Waits out a pause up to `maxWaitMs` (1 s when left out); throws a RetryableError for a longer one. */
  whenOpen(maxWaitMs?: number): Promise<void>;
}

export function gitlabRequester(agent: Agent | undefined, gate: RetryGate | undefined, egress: EgressPolicy) {
  return createRequesterFn(
    (_, options) => Promise.resolve(options),
    async (endpoint: string, options: Record<string, unknown> = {}) => {
      const {
        prefixUrl,
        searchParams,
        method = 'GET',
        headers,
        body: payload,
        signal,
      } = options as {
        prefixUrl?: string;
        searchParams?: string;
        method?: string;
        headers?: Record<string, string>;
        body?: unknown;
        signal?: AbortSignal;
      };
      // The operator sends JSON only; gitbeaker's multipart uploads are not among its calls.
      if (payload !== undefined && typeof payload !== 'string')
        throw new Error(`GitLab request ${method} ${endpoint}: only JSON bodies are supported`);
      const base = prefixUrl?.endsWith('/') ? prefixUrl : `${prefixUrl ?? ''}/`;
      const url = new URL(endpoint, base);
      url.search = searchParams ?? '';
      const request = { method, url: url.toString() };
      for (let attempt = 1; ; attempt++) {
        const budget = callBudget.getStore();
        if (budget && ++budget.requests > MAX_REQUESTS_PER_CALL) {
          const error = new Error(
            `${url.origin} kept answering with more pages: the operator makes at most ${MAX_REQUESTS_PER_CALL} requests for one call`,
          );
          error.name = 'TooManyPagesError';
          throw error;
        }
        await gate?.whenOpen(MAX_INLINE_WAIT_MS);
        let response: HttpResponse;
        try {
          response = await send(url, {
            method,
            headers,
            body: payload,
            agent,
            timeoutMs: REQUEST_TIMEOUT_MS,
            deadlineMs: REQUEST_DEADLINE_MS,
            maxBodyBytes: MAX_BODY_BYTES,
            egress,
            signal,
            // A pause that began while this request waited for its connection.
            ready: gate ? () => gate.whenOpen(MAX_INLINE_WAIT_MS) : undefined,
          });
        } catch (err) {
          const name = (err as Error)?.name;
          if (name === 'TimeoutError' || name === 'AbortError')
            throw new GitbeakerTimeoutError('Query timeout was reached');
          throw err;
        }
        if (response.status >= 200 && response.status <= 299) {
          return { body: body(response) as never, headers: response.headers, status: response.status };
        }
        const hinted = retryAfterMs(response.headers['retry-after']);
        if (hinted !== undefined && RETRY_STATUSES.includes(response.status)) gate?.pause(hinted);
        const wait = hinted ?? 1000 * attempt;
        if (
          !RETRY_STATUSES.includes(response.status) ||
          attempt >= MAX_ATTEMPTS ||
          wait > MAX_INLINE_WAIT_MS
        ) {
          return fail(request, response, RETRY_STATUSES.includes(response.status) ? wait : undefined);
        }
        if (gate && hinted !== undefined) await gate.whenOpen(MAX_INLINE_WAIT_MS);
        else await new Promise((r) => setTimeout(r, wait));
      }
    },
  );
}
