// A de-duplicating work queue with client-go's semantics: a key waiting in the
// queue is held once however often it is added; a key being processed is never
// handed to a second worker, and if it is added meanwhile it runs again after
// done(). Retries back off per key, exponentially, and all retries together are
// held to a global token bucket.
//
// Two priorities, as in controller-runtime's priority queue: a change someone
// made to a resource ('normal') is handed out before work the operator set
// itself (periodic resyncs, waits, retries, the initial list: 'low'). A FIFO
// queue made a new resource wait behind every resync that came due at once:
// over 60 s at 10,000 resources (docs/bench.md). A key waiting at low priority
// is moved up when it is added at normal priority.
import { exponentialBackoff } from './backoff.ts';
import { TokenBucket } from './ratelimit.ts';

export type Priority = 'normal' | 'low';

export interface WorkQueueOptions {
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Global bucket for rate-limited re-adds (client-go: 10 qps, burst 100). */
  qps?: number;
  burst?: number;
  onDepthChange?: (depth: number) => void;
  /** client-go's queue metrics (runtime/process/metrics.ts). */
  metrics?: QueueHooks;
}

/** What the queue reports, in the terms of client-go's workqueue metrics. */
export interface QueueHooks {
  added(): void;
  queued(seconds: number): void;
  worked(seconds: number): void;
  retried(): void;
}

const NO_HOOKS: QueueHooks = { added() {}, queued() {}, worked() {}, retried() {} };

/** A FIFO of keys; shift is O(1) (an array's shift moves every element, and the queue can hold 20,000). */
class Fifo {
  private items: string[] = [];
  private head = 0;

  push(key: string): void {
    this.items.push(key);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }
}

export class WorkQueue {
  /** Keys waiting, with their priority; the lanes may also hold stale entries of keys moved up or taken. */
  private readonly waiting = new Map<string, Priority>();
  private readonly lanes: Record<Priority, Fifo> = { normal: new Fifo(), low: new Fifo() };
  /** Keys added while being processed: they wait again, at this priority, after done(). */
  private readonly again = new Map<string, Priority>();
  /** Keys being worked on, with when they were taken (ms since the epoch). */
  private readonly processing = new Map<string, number>();
  /** When each waiting key (or key added again while processing) was added. */
  private readonly addedAt = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly bucket: TokenBucket;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly onDepthChange: (depth: number) => void;
  private readonly hooks: QueueHooks;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.baseMs = options.backoffBaseMs ?? 1000;
    this.capMs = options.backoffCapMs ?? 15 * 60_000;
    this.bucket = new TokenBucket(options.qps ?? 10, options.burst ?? 100);
    this.onDepthChange = options.onDepthChange ?? (() => {});
    this.hooks = options.metrics ?? NO_HOOKS;
  }

  /** When each key now being worked on was taken (ms since the epoch). */
  inFlight(): number[] {
    return [...this.processing.values()];
  }

  get depth(): number {
    return this.waiting.size;
  }

  add(key: string, priority: Priority = 'normal'): void {
    if (this.shuttingDown) return;
    // client-go counts an add that makes the key dirty: not one already waiting.
    if (!this.waiting.has(key) && !this.again.has(key)) {
      this.hooks.added();
      this.addedAt.set(key, Date.now());
    }
    this.insert(key, priority);
  }

  private insert(key: string, priority: Priority): void {
    if (this.processing.has(key)) {
      if (this.again.get(key) !== 'normal') this.again.set(key, priority);
      return;
    }
    const current = this.waiting.get(key);
    if (current !== undefined) {
      if (current === 'low' && priority === 'normal') {
        this.waiting.set(key, 'normal');
        this.lanes.normal.push(key);
      }
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      this.take(key);
      waiter(key);
      return;
    }
    this.waiting.set(key, priority);
    this.lanes[priority].push(key);
    this.onDepthChange(this.waiting.size);
  }

  private take(key: string): void {
    const now = Date.now();
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.hooks.queued((now - added) / 1000);
    this.processing.set(key, now);
  }

  /** Adds the key after a delay (at low priority unless told); an earlier pending add of the same key wins. */
  addAfter(key: string, delayMs: number, priority: Priority = 'low'): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key, priority);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key, priority);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Re-adds a failed key, at low priority, after its exponential backoff (or the global limit, if longer). */
  addRateLimited(key: string): number {
    this.hooks.retried();
    const attempt = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, attempt);
    const delay = Math.max(exponentialBackoff(attempt, this.baseMs, this.capMs), this.bucket.reserve());
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure count, after a success or a terminal outcome. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key to work on, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.next('normal') ?? this.next('low');
    if (key !== undefined) {
      this.onDepthChange(this.waiting.size);
      this.take(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The first key of the lane that still waits there (skipping entries of keys moved up or taken). */
  private next(lane: Priority): string | undefined {
    for (let key = this.lanes[lane].shift(); key !== undefined; key = this.lanes[lane].shift()) {
      if (this.waiting.get(key) === lane) {
        this.waiting.delete(key);
        return key;
      }
    }
    return undefined;
  }

  done(key: string): void {
    const started = this.processing.get(key);
    if (started !== undefined) this.hooks.worked((Date.now() - started) / 1000);
    this.processing.delete(key);
    const priority = this.again.get(key);
    if (priority !== undefined) {
      this.again.delete(key);
      if (!this.shuttingDown) this.insert(key, priority);
    }
  }

  /** Stops handing out keys (queued ones are dropped); workers finish what they hold. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
