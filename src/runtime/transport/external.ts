// Every call to an external system goes through one place: it waits for the
// system's rate limit, counts the call by system, operation and outcome, and
// times it. Error classification stays with the adapters, which know the system.

import type { Metrics } from '../process/metrics.ts';
import { RetryableError } from '../reconcile/outcome.ts';
import { sleep } from '../watch/backoff.ts';
import { TokenBucket } from '../watch/ratelimit.ts';

/** The longest a call waits out a pause in place by default; longer pauses go back to the work queue. */
const MAX_CALL_WAIT_MS = 1000;

export class ExternalSystem {
  readonly name: string;
  private readonly metrics: Metrics;
  private readonly bucket: TokenBucket;
  private pausedUntil = 0;

  constructor(name: string, metrics: Metrics, limit: { qps: number; burst: number }) {
    this.name = name;
    this.metrics = metrics;
    this.bucket = new TokenBucket(limit.qps, limit.burst);
  }

  async call<T>(
    operation: string,
    fn: () => Promise<T>,
    outcomeOf: (err: unknown) => string = () => 'error',
  ): Promise<T> {
    await this.whenOpen();
    const wait = this.bucket.reserve();
    if (wait > 0) await sleep(wait);
    await this.whenOpen();
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

  /**
   * The system asked every client to wait (HTTP 429 with Retry-After): calls
   * through here, and retries that honour the gate, wait until then. GitLab
   * throttles per user across the instance, so one refusal stands for all.
   */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
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
          `${this.name} asked clients to wait (Retry-After): ${Math.ceil(remaining / 1000)} s left`,
          { retryAfterMs: remaining },
        );
      }
      await sleep(remaining);
    }
  }
}
