// Fault injection: throttling, server errors, arbitrary service errors, latency, dropped
// connections, matched per operation and consumed per request.
//
// What the SDK does with them (@smithy/core retry, service-error-classification): it retries
// ThrottlingException (and LimitExceededException!) by error name with a 500 ms backoff base,
// HTTP 500/502/503/504 as transient errors with a 100 ms base, and ECONNRESET; by default up to
// 3 attempts in all.

export type FaultType = 'throttle' | 'server-error' | 'error' | 'latency' | 'disconnect';

export interface FaultSpec {
  /** Operation name (e.g. 'GetConnection'); any operation when omitted. */
  operation?: string;
  type: FaultType;
  /** How many matching requests it affects; unlimited when omitted. */
  times?: number;
  /** 'latency': delay before the request is handled (it then proceeds normally). */
  delayMs?: number;
  /** 'server-error': HTTP status (default 500). 'error': HTTP status (default 400). */
  status?: number;
  /**
   * 'server-error': __type (default InternalServerException).
   * 'error': __type to answer with, e.g. 'ResourceUnavailableException',
   * 'UnsupportedOperationException', 'ConflictException'. Required for 'error'.
   */
  errorType?: string;
  message?: string;
}

export interface Fault extends FaultSpec {
  /** Requests this fault has affected so far. */
  hits: number;
}

/** What to do with one request after the faults had their say. */
export type FaultOutcome =
  | { kind: 'proceed'; delayMs: number }
  | { kind: 'error'; delayMs: number; status: number; errorType: string; message: string }
  | { kind: 'disconnect'; delayMs: number };

export class Faults {
  private readonly list: Fault[] = [];

  /** Adds a fault; returns it so a test can read `hits`. */
  add(spec: FaultSpec): Fault {
    if (spec.type === 'error' && !spec.errorType) throw new Error("fault type 'error' needs an errorType");
    const fault: Fault = { ...spec, hits: 0 };
    this.list.push(fault);
    return fault;
  }

  clear(): void {
    this.list.length = 0;
  }

  get active(): readonly Fault[] {
    return this.list.filter((f) => f.times === undefined || f.hits < f.times);
  }

  /**
   * Consumes the faults matching one request: every matching latency fault adds its delay; the
   * first matching non-latency fault decides the answer.
   */
  take(operation: string): FaultOutcome {
    let delayMs = 0;
    for (const f of this.list) {
      if (f.operation !== undefined && f.operation !== operation) continue;
      if (f.times !== undefined && f.hits >= f.times) continue;
      f.hits++;
      switch (f.type) {
        case 'latency':
          delayMs += f.delayMs ?? 0;
          continue;
        case 'throttle':
          // Common error, HTTP 400 (API reference, Common Errors: ThrottlingException).
          return {
            kind: 'error',
            delayMs,
            status: f.status ?? 400,
            errorType: 'ThrottlingException',
            message: f.message ?? 'Rate exceeded',
          };
        case 'server-error':
          return {
            kind: 'error',
            delayMs,
            status: f.status ?? 500,
            errorType: f.errorType ?? 'InternalServerException',
            message: f.message ?? 'Internal service error (injected)',
          };
        case 'error':
          return {
            kind: 'error',
            delayMs,
            status: f.status ?? 400,
            errorType: f.errorType!,
            message: f.message ?? `${f.errorType} (injected)`,
          };
        case 'disconnect':
          return { kind: 'disconnect', delayMs };
      }
    }
    return { kind: 'proceed', delayMs };
  }
}
