// How long to wait before looking again at something that waits for a person
// (a pending authorisation, an unprotected branch), and how to say it.

/**
 * The time it has waited so far, at least `firstMs` and at most `maxMs`. That
 * doubles the interval from one look to the next (30 s, 30 s, 1 min, 2 min,
 * 4 min, 5 min, ...) and, being derived from a condition's lastTransitionTime,
 * survives restarts.
 */
export function pollDelay(waitedMs: number, firstMs: number, maxMs: number): number {
  return Math.min(Math.max(firstMs, maxMs), Math.max(firstMs, Math.floor(waitedMs)));
}

/** "30 s", "5 min", "1 h" for messages. */
export function formatDelay(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 6_000) / 10} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}
