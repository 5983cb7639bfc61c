// Every call to an external system goes through one place: it waits for the
// system's rate limit, counts the call by system, operation and outcome, and
// times it. Error classification stays with the adapters, which know the system.

import type { Metrics } from '../process/metrics.ts';
import { RetryableError } from '../reconcile/outcome.ts';
import { sleep } from '../watch/backoff.ts';
import { TokenBucket } from '../watch/ratelimit.ts';

/** The longest a call waits out a pause in place by default; longer pauses go back to the work queue. */
const MAX_CALL_WAIT_MS = 1000;

/**
 * A pause a server asked for (HTTP 429 with Retry-After), for the clients it
 * applies to: calls through the gate, and retries that honour it, wait until then.
 */
export class PauseGate {
  /** Who asked whom to wait, in words ("gitlab asked clients to wait"), for the message of a pause too long to wait out. */
  private readonly who: string;
  private pausedUntil = 0;

  constructor(who: string) {
    this.who = who;
  }

  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }

  /** No pause in force. */
  get open(): boolean {
    return this.pausedUntil <= Date.now();
  }

  /**
   * Resolves once no pause is in force. A longer pause than `maxWaitMs` is not
   * waited out but thrown (RetryableError with the time left), so that a worker
   * is not held: gitlab.com asks for up to 60 s, and other GitLab instances'
   * resources need the workers meanwhile.
   */
  async whenOpen(maxWaitMs = MAX_CALL_WAIT_MS): Promise<void> {
    for (;;) {
      const remaining = this.pausedUntil - Date.now();
      if (remaining <= 0) return;
      if (remaining > maxWaitMs) {
        throw new RetryableError(
          'RateLimited',
          `${this.who} (Retry-After): ${Math.ceil(remaining / 1000)} s left`,
          { retryAfterMs: remaining },
        );
      }
      await sleep(remaining);
    }
  }
}

/** Gates kept per client before those whose pause is over are dropped. */
const MAX_GATES = 1024;

export class ExternalSystem {
  readonly name: string;
  private readonly metrics: Metrics;
  private readonly bucket: TokenBucket;
  /** A pause for every client of the system. */
  private readonly everyone: PauseGate;
  private readonly gates = new Map<string, PauseGate>();

  constructor(name: string, metrics: Metrics, limit: { qps: number; burst: number }) {
    this.name = name;
    this.metrics = metrics;
    this.bucket = new TokenBucket(limit.qps, limit.burst);
    this.everyone = new PauseGate(`${name} asked clients to wait`);
  }

  /**
   * The pause of one client of the system (GitLab throttles per user: one
   * token's 429 must not hold up another's). `key` identifies the client and is
   * never a secret itself (a hash of the token); `who` says who asked whom to
   * wait, in messages.
   */
  gateFor(key: string, who = `${this.name} asked this client to wait`): PauseGate {
    let gate = this.gates.get(key);
    if (!gate) {
      if (this.gates.size >= MAX_GATES) {
        for (const [k, g] of this.gates) if (g.open) this.gates.delete(k);
      }
      gate = new PauseGate(who);
      this.gates.set(key, gate);
    }
    return gate;
  }

  /** `gate`: the pause the call honours; the whole system's when left out. */
  async call<T>(
    operation: string,
    fn: () => Promise<T>,
    outcomeOf: (err: unknown) => string = () => 'error',
    gate: PauseGate = this.everyone,
  ): Promise<T> {
    await gate.whenOpen();
    const wait = this.bucket.reserve();
    if (wait > 0) await sleep(wait);
    await gate.whenOpen();
    const end = this.metrics.externalRequestDuration.startTimer({ system: this.name, operation });
    try {
      const result = await fn();
      this.metrics.externalRequests.inc({ system: this.name, operation, outcome: 'success' });
      return result;
    } catch (err) {
      this.metrics.externalRequests.inc({ system: this.name, operation, outcome: outcomeOf(err) });
      throw err;
    } finally {
      end();
    }
  }

  /** The system asked every client to wait (HTTP 429 with Retry-After). */
  pause(ms: number): void {
    this.everyone.pause(ms);
  }

  /** Resolves once no system-wide pause is in force (see PauseGate.whenOpen). */
  whenOpen(maxWaitMs = MAX_CALL_WAIT_MS): Promise<void> {
    return this.everyone.whenOpen(maxWaitMs);
  }
}
