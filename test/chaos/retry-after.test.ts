// The Retry-After spacing measure of the chaos suite, on arrival logs written by hand.
import { describe, expect, it } from 'vitest';
import { retryAfterSpacing } from '../../testbed/chaos/retry-after.ts';
import type { Arrival } from '../../testbed/fakes/gitlab/faults.ts';

const at = (ms: number, path: string, status?: number): Arrival => ({
  at: 1_000_000 + ms,
  method: 'GET',
  path,
  ...(status === 429 ? { status, retryAfterSeconds: 1 } : {}),
});

describe('retryAfterSpacing', () => {
  it('measures the next request after each 429, skipping requests already in flight', () => {
    const s = retryAfterSpacing([at(0, '/a', 429), at(10, '/b'), at(1000, '/a'), at(1100, '/c')], []);
    expect(s).toMatchObject({
      throttled: 1,
      measured: 1,
      inFlight: 1,
      gapsMs: [1000],
      sameRequestGapsMs: [1000],
    });
    expect(s.early).toEqual([]);
    expect(s.earlySameRequest).toEqual([]);
  });

  it('reports a next request earlier than Retry-After (less the slack), for the instance and for the same path', () => {
    const s = retryAfterSpacing([at(0, '/a', 429), at(300, '/b'), at(600, '/a'), at(960, '/b')], []);
    expect(s.gapsMs).toEqual([300]);
    expect(s.early).toEqual([
      '429 (Retry-After 1 s) to GET /a at 1970-01-01T00:16:40.000Z: next request GET /b after 300 ms',
    ]);
    expect(s.earlySameRequest).toEqual([
      '429 (Retry-After 1 s) to GET /a at 1970-01-01T00:16:40.000Z: the same request came again after 600 ms',
    ]);
    // 960 ms is within the 50 ms slack of a 1 s Retry-After.
    expect(retryAfterSpacing([at(0, '/a', 429), at(960, '/b')], []).early).toEqual([]);
  });

  it('leaves out 429s whose window holds an operator restart, and the last one with nothing after it', () => {
    const s = retryAfterSpacing([at(0, '/a', 429), at(100, '/b'), at(5000, '/c', 429)], [1_000_000 + 500]);
    expect(s).toMatchObject({ throttled: 2, excludedRestart: 1, excludedLast: 1, measured: 0, early: [] });
  });

  it('measures the next request of the same client: another user (or none) is not held by the 429', () => {
    const as = (user: string | undefined, a: Arrival): Arrival => (user ? { ...a, user } : a);
    const s = retryAfterSpacing(
      [
        as('alice', at(0, '/a', 429)),
        as('bob', at(300, '/b')),
        at(400, '/keys'),
        as('alice', at(1000, '/a')),
      ],
      [],
    );
    expect(s).toMatchObject({ throttled: 1, measured: 1, gapsMs: [1000], early: [] });
  });
});
