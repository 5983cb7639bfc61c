// What a reconcile can end in. A reconciler returns `done()` or `wait(...)`,
// or throws; the controller classifies what it threw (see controller.ts).

export type Outcome =
  /** Converged. Requeued after the resync interval (with jitter) to catch drift. */
  | { kind: 'done'; reason?: string; message?: string }
  /** Waiting for something outside our control (a person, IAM propagation, a host). */
  | { kind: 'wait'; afterMs: number; reason: string; message: string };

export function done(reason?: string, message?: string): Outcome {
  return { kind: 'done', reason, message };
}

export function wait(afterMs: number, reason: string, message: string): Outcome {
  return { kind: 'wait', afterMs, reason, message };
}

/** Needs a change of spec or a person; retried only when the spec changes. */
export class TerminalError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
    this.reason = reason;
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
