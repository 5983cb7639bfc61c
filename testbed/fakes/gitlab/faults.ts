// Fault injection, controlled by tests (never over HTTP). A fault matches by
// method and path and fires up to `times` times, before authentication, as a
// throttle or a proxy in front of GitLab would.
import type { Reply } from './http.ts';

export interface FaultSpec {
  /** HTTP method to match (any if omitted). */
  method?: string;
  /**
   * Matched against the request path below the fake's base URL, still
   * URL-encoded and without the query: `/api/v4/projects/g%2Fp/variables`,
   * `/.well-known/openid-configuration`, `/oauth/discovery/keys`.
   */
  path?: RegExp;
  /**
   * Only requests whose token belongs to this user (by username), as GitLab
   * throttles each user on its own; requests without a known token never match.
   */
  user?: string;
  /** Status to answer with; omit to only delay (`delayMs`) and then serve normally. */
  status?: number;
  /**
   * Answer (with `status`, default 200) a body written in chunks of spaces:
   * `chunkBytes` (default 64 KiB) every `intervalMs` (default 0: as fast as the
   * client reads), `totalBytes` in all, or without end when it is left out. A
   * huge or an endless, slow body, for clients that must bound what they read.
   */
  streamBody?: { chunkBytes?: number; intervalMs?: number; totalBytes?: number };
  /** How many matching requests it affects (default: all, until cleared). */
  times?: number;
  /**
   * Chance (0..1) that a matching request is affected (default 1). A request
   * spared by the dice does not use up `times` and goes on to the next
   * matching fault, or is served normally.
   */
  probability?: number;
  /** For 429: the `Retry-After` value (default 60, Rack::Attack's period remainder). */
  retryAfterSeconds?: number;
  /** Wait this long before answering (or before serving normally). */
  delayMs?: number;
  /** Response body: a string is sent as text/plain, anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Fault {
  readonly spec: FaultSpec;
  /** How many requests this fault has affected. */
  hits: number;
  remove(): void;
}

/** One request as fault injection saw it: when it arrived, and what an injected fault made of it. */
export interface Arrival {
  /** `Date.now()` when the request reached fault matching (its body read). */
  at: number;
  method: string;
  path: string;
  /** The injected status, if a fault answered it. */
  status?: number;
  /** The Retry-After the injected 429 carried, in seconds. */
  retryAfterSeconds?: number;
  /** The username of the presented token's owner, when the request had a known token. */
  user?: string;
}

export class Faults {
  private list: Fault[] = [];
  /**
   * Every request since start or reset, in arrival order, with its arrival
   * time: to measure how a client spaces its requests after a 429. Not
   * emptied by `clear()` nor by the fake's `reset()`, only by `clearArrivals()`.
   */
  readonly arrivals: Arrival[] = [];

  clearArrivals(): void {
    this.arrivals.length = 0;
  }

  add(spec: FaultSpec): Fault {
    const fault: Fault = { spec, hits: 0, remove: () => this.remove(fault) };
    this.list.push(fault);
    return fault;
  }

  clear(): void {
    this.list = [];
  }

  private remove(fault: Fault): void {
    this.list = this.list.filter((f) => f !== fault);
  }

  /** The first fault that matches and still has uses; counts the hit. `user`: the token's owner, if known. */
  take(method: string, path: string, user?: string | null): Fault | undefined {
    const fault = this.list.find(
      (f) =>
        (!f.spec.method || f.spec.method.toUpperCase() === method) &&
        (!f.spec.path || f.spec.path.test(path)) &&
        (f.spec.user === undefined || f.spec.user === user) &&
        f.hits < (f.spec.times ?? Number.POSITIVE_INFINITY) &&
        (f.spec.probability === undefined || Math.random() < f.spec.probability),
    );
    if (fault) fault.hits += 1;
    const arrival: Arrival = { at: Date.now(), method, path, ...(user ? { user } : {}) };
    if (fault?.spec.status !== undefined || fault?.spec.streamBody) {
      arrival.status = fault.spec.status ?? 200;
      if (fault.spec.status === 429) arrival.retryAfterSeconds = fault.spec.retryAfterSeconds ?? 60;
    }
    this.arrivals.push(arrival);
    return fault;
  }
}

/** What an injected status looks like when it comes from GitLab (or the proxy in front of it). */
export function faultReply(spec: FaultSpec & { status: number }): Reply {
  const headers = {
    ...(spec.status === 429 ? rateLimitHeaders(spec.retryAfterSeconds ?? 60) : {}),
    ...spec.headers,
  };
  if (spec.body !== undefined) {
    return {
      status: spec.status,
      body: spec.body,
      headers,
      ...(typeof spec.body === 'string' ? { contentType: 'text/plain' } : {}),
    };
  }
  if (spec.status === 429) {
    // Rack::Attack throttled_responder: Gitlab::Throttle.rate_limiting_response_text.
    return { status: 429, body: 'Retry later\n', contentType: 'text/plain', headers };
  }
  if (spec.status >= 502 && spec.status <= 504) {
    // Answered by NGINX/Workhorse, not by Rails: an HTML page.
    return {
      status: spec.status,
      body: `<html><body><h1>${spec.status}</h1></body></html>\n`,
      contentType: 'text/html',
      headers,
    };
  }
  return {
    status: spec.status,
    body: { message: `${spec.status} ${STATUS_TEXT[spec.status] ?? 'Error'}` },
    headers,
  };
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
};

/** Gitlab::RackAttack.throttled_response_headers for the authenticated API throttle. */
function rateLimitHeaders(retryAfter: number): Record<string, string> {
  const reset = Math.floor(Date.now() / 1000) + retryAfter;
  return {
    'RateLimit-Name': 'throttle_authenticated_api',
    'RateLimit-Limit': '2000',
    'RateLimit-Observed': '2001',
    'RateLimit-Remaining': '0',
    'RateLimit-Reset': String(reset),
    'RateLimit-ResetTime': new Date(reset * 1000).toUTCString(),
    'Retry-After': String(retryAfter),
  };
}
