// The HTTP layer under @gitbeaker/rest, replacing its default for two reasons:
// - its default sends through Node's global fetch, which cannot use an undici
//   Agent of another version, so a private CA (caSecretRef) could not be used;
// - it retries 429 and 502 ten times within milliseconds, ignoring
//   Retry-After (API-FACTS, pitfall 15). Here a 429/502/503 is retried at most
//   twice, after Retry-After (capped); past that the error carries the server's
//   hint to the work queue, which waits at least that long. A Retry-After also
//   pauses every other request to the same instance (`gate`): GitLab counts
//   the limit per user across the instance.
import { createRequesterFn, GitbeakerRequestError, GitbeakerTimeoutError } from '@gitbeaker/requester-utils';
import { type Agent, fetch, Request, type Response } from 'undici';

const RETRY_STATUSES = [429, 502, 503];
const MAX_ATTEMPTS = 3;
const MAX_INLINE_WAIT_MS = 10_000;

/** Retry-After in ms (seconds or an HTTP date), if the response has one. */
export function retryAfterMs(response: Pick<Response, 'headers'>, now = Date.now()): number | undefined {
  const value = response.headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

async function body(response: Response): Promise<unknown> {
  if (response.status === 204) return null;
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim();
  if (type === 'application/json') return (await response.json()) ?? {};
  return response.text();
}

async function fail(request: Request, response: Response, retryAfter?: number): Promise<never> {
  const text = await response.text();
  let description = text;
  if (response.headers.get('content-type')?.includes('application/json')) {
    try {
      const parsed = JSON.parse(text);
      const field = parsed?.error ?? parsed?.message ?? '';
      description = typeof field === 'string' ? field : JSON.stringify(field);
    } catch {
      // keep the text
    }
  }
  throw new GitbeakerRequestError(description, {
    cause: { description, request, response, retryAfterMs: retryAfter } as never,
  });
}

/** Shared by every request to one GitLab instance (the ExternalSystem). */
export interface RetryGate {
  pause(ms: number): void;
  /** Waits out a pause up to `maxWaitMs` (1 s when left out); throws a RetryableError for a longer one. */
  whenOpen(maxWaitMs?: number): Promise<void>;
}

export function gitlabRequester(agent: Agent | undefined, gate?: RetryGate) {
  return createRequesterFn(
    (_, options) => Promise.resolve(options),
    async (endpoint: string, options: Record<string, unknown> = {}) => {
      const {
        prefixUrl,
        searchParams,
        method,
        headers,
        body: payload,
        signal,
      } = options as {
        prefixUrl?: string;
        searchParams?: string;
        method?: string;
        headers?: Record<string, string>;
        body?: string;
        signal?: AbortSignal;
      };
      const base = prefixUrl?.endsWith('/') ? prefixUrl : `${prefixUrl ?? ''}/`;
      const url = new URL(endpoint, base);
      url.search = searchParams ?? '';
      for (let attempt = 1; ; attempt++) {
        await gate?.whenOpen(MAX_INLINE_WAIT_MS);
        const request = new Request(url, { method, headers, body: payload, ...(signal ? { signal } : {}) });
        let response: Response;
        try {
          response = await fetch(request, agent ? { dispatcher: agent } : {});
        } catch (err) {
          const name = (err as Error)?.name;
          if (name === 'TimeoutError' || name === 'AbortError')
            throw new GitbeakerTimeoutError('Query timeout was reached');
          throw err;
        }
        if (response.ok) {
          return {
            body: (await body(response)) as never,
            headers: Object.fromEntries(response.headers.entries()),
            status: response.status,
          };
        }
        const hinted = retryAfterMs(response);
        if (hinted !== undefined && RETRY_STATUSES.includes(response.status)) gate?.pause(hinted);
        const wait = hinted ?? 1000 * attempt;
        if (
          !RETRY_STATUSES.includes(response.status) ||
          attempt >= MAX_ATTEMPTS ||
          wait > MAX_INLINE_WAIT_MS
        ) {
          return fail(request, response, RETRY_STATUSES.includes(response.status) ? wait : undefined);
        }
        await response.body?.cancel();
        if (gate && hinted !== undefined) await gate.whenOpen(MAX_INLINE_WAIT_MS);
        else await new Promise((r) => setTimeout(r, wait));
      }
    },
  );
}
