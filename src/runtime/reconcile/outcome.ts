// What a reconcile can end in. A reconciler returns `done()` or `wait(...)`,
// or throws; the controller classifies what it threw (see summarize.ts).

export type Outcome =
  /**
   * Converged. Requeued after the resync interval (with jitter) to catch drift,
   * or after `dueInMs` when something is due sooner (a key rotation).
   */
  | { kind: 'done'; reason?: string; message?: string; dueInMs?: number }
  /** Waiting for something outside our control (a person, IAM propagation, a host). */
  | { kind: 'wait'; afterMs: number; reason: string; message: string };

export function done(reason?: string, message?: string, dueInMs?: number): Outcome {
  return dueInMs === undefined
    ? { kind: 'done', reason, message }
    : { kind: 'done', reason, message, dueInMs };
}

export function wait(afterMs: number, reason: string, message: string): Outcome {
  return { kind: 'wait', afterMs, reason, message };
}

/**
 * Needs a change of spec or a person. With `recheck`, what fixes it lives
 * outside the spec (a revoked token, a missing IAM permission, a GitLab
 * setting): the resource stays Stalled but is looked at again every resync
 * interval (or after `recheckAfterMs`), so it recovers without anyone touching
 * it. Without, it waits for a new generation.
 */
export class TerminalError extends Error {
  readonly reason: string;
  readonly recheck: boolean;
  readonly recheckAfterMs: number | undefined;
  constructor(
    reason: string,
    message: string,
    options?: ErrorOptions & { recheck?: boolean; recheckAfterMs?: number },
  ) {
    super(message, options);
    this.name = 'TerminalError';
    this.reason = reason;
    this.recheck = options?.recheck ?? options?.recheckAfterMs !== undefined;
    this.recheckAfterMs = options?.recheckAfterMs;
  }
}

/** Expected to go away by itself (throttling, 5xx, network, conflicts); retried with backoff. */
export class RetryableError extends Error {
  readonly reason: string;
  /** A server's own hint (e.g. Retry-After), used instead of the backoff when longer. */
  readonly retryAfterMs: number | undefined;
  constructor(reason: string, message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(message, options);
    this.name = 'RetryableError';
    this.reason = reason;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * A wait found deep inside a step (a Secret a person has yet to create): the
 * same as returning wait(), for code that cannot return the outcome itself.
 */
export class WaitError extends Error {
  readonly reason: string;
  readonly afterMs: number;
  constructor(afterMs: number, reason: string, message: string) {
    super(message);
    this.name = 'WaitError';
    this.reason = reason;
    this.afterMs = afterMs;
  }

  get outcome(): Outcome {
    return wait(this.afterMs, this.reason, this.message);
  }
}

/** The reason a failure reports in conditions: the error's own, or a generic one. */
export function reasonOf(err: unknown): string {
  if (err instanceof TerminalError || err instanceof RetryableError || err instanceof WaitError)
    return err.reason;
  return 'ReconcileError';
}
