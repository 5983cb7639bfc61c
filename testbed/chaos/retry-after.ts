// How the operator spaced its requests to a GitLab instance after a 429 with
// Retry-After, measured from the GitLab fake's arrival log (Faults.arrivals).
// GitLab throttles each user (and unauthenticated requests by address), and
// the operator pauses each token: the next request that counts is the next of
// the same client (the same user, or unauthenticated).
import type { Arrival } from '../fakes/gitlab/faults.ts';

export interface Spacing {
  /** 429s the fake sent. */
  throttled: number;
  /** 429s left out because the operator was killed or restarted within their Retry-After window (a new process cannot know). */
  excludedRestart: number;
  /** 429s followed by no further request at all. */
  excludedLast: number;
  /** 429s measured. */
  measured: number;
  /**
   * Requests that arrived within `inFlightMs` after a 429: they were on the
   * wire before the operator could have read it, so they do not count as "the
   * next request".
   */
  inFlight: number;
  /** Per measured 429: ms until the next request of the same client to the instance (any path). */
  gapsMs: number[];
  /** Per measured 429: ms until the same request (method + path, from any reconcile) came again, if it did. */
  sameRequestGapsMs: number[];
  /** One sentence per 429 whose next request came earlier than Retry-After allows. */
  early: string[];
  /** Same, counting only the retry of the same request. */
  earlySameRequest: string[];
}

export const percentile = (values: number[], p: number): number | undefined => {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/**
 * For every 429 in `arrivals`: the time until the next request that arrived
 * later than `inFlightMs` after it. Early means earlier than Retry-After less
 * `slackMs` (clock and scheduling slack). `inFlightMs` is generous: a request
 * the operator had already let through its gate (or handed to undici's queue)
 * before it read the 429 can arrive 100 ms later when `npm test` keeps both
 * cores busy; it was not sent in spite of the Retry-After.
 */
export function retryAfterSpacing(
  arrivals: Arrival[],
  restarts: number[],
  { slackMs = 50, inFlightMs = 250 }: { slackMs?: number; inFlightMs?: number } = {},
): Spacing {
  const out: Spacing = {
    throttled: 0,
    excludedRestart: 0,
    excludedLast: 0,
    measured: 0,
    inFlight: 0,
    gapsMs: [],
    sameRequestGapsMs: [],
    early: [],
    earlySameRequest: [],
  };
  arrivals.forEach((a, i) => {
    if (a.status !== 429) return;
    out.throttled += 1;
    const windowMs = (a.retryAfterSeconds ?? 0) * 1000;
    if (restarts.some((t) => t >= a.at - inFlightMs && t <= a.at + windowMs)) {
      out.excludedRestart += 1;
      return;
    }
    const later = arrivals.slice(i + 1).filter((b) => b.user === a.user);
    const inFlight = later.filter((b) => b.at - a.at <= inFlightMs).length;
    const next = later.find((b) => b.at - a.at > inFlightMs);
    if (!next) {
      out.excludedLast += 1;
      return;
    }
    out.measured += 1;
    out.inFlight += inFlight;
    const gap = next.at - a.at;
    out.gapsMs.push(gap);
    const what = `429 (Retry-After ${a.retryAfterSeconds} s) to ${a.method} ${a.path} at ${new Date(a.at).toISOString()}`;
    if (gap < windowMs - slackMs)
      out.early.push(`${what}: next request ${next.method} ${next.path} after ${gap} ms`);
    const retry = later.find((b) => b.method === a.method && b.path === a.path && b.at - a.at > inFlightMs);
    if (retry) {
      const g = retry.at - a.at;
      out.sameRequestGapsMs.push(g);
      if (g < windowMs - slackMs)
        out.earlySameRequest.push(`${what}: the same request came again after ${g} ms`);
    }
  });
  return out;
}
