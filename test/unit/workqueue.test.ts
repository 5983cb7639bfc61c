import { describe, expect, it, vi } from 'vitest';
import { WorkQueue } from '../../src/runtime/watch/workqueue.ts';

describe('WorkQueue', () => {
  it('holds a waiting key once however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands a key being processed to another worker; re-adds it after done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    expect(q.depth).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => {
      second = k;
    });
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(key!);
    await Promise.resolve();
    expect(second).toBe('a');
  });

  it('runs N workers over many keys without ever overlapping one key', async () => {
    const q = new WorkQueue();
    const active = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const worker = async () => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        if (active.has(key)) overlaps++;
        active.add(key);
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        active.delete(key);
        processed++;
        q.done(key);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    for (let i = 0; i < 300; i++) {
      q.add(`k${i % 5}`);
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await vi.waitFor(() => expect(q.depth).toBe(0));
    await new Promise((r) => setTimeout(r, 20));
    q.shutDown();
    await Promise.all(workers);
    expect(overlaps).toBe(0);
    expect(processed).toBeLessThan(300);
  });

  it('backs off exponentially per key and forgets on success', () => {
    const q = new WorkQueue({ backoffBaseMs: 1000, backoffCapMs: 5000 });
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('a'))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(q.addRateLimited('b')).toBe(1000);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(1000);
    q.shutDown();
  });

  it('holds all retries to the global token bucket', () => {
    const q = new WorkQueue({ backoffBaseMs: 1, qps: 10, burst: 2 });
    const delays = ['a', 'b', 'c', 'd'].map((k) => q.addRateLimited(k));
    expect(delays.slice(0, 2)).toEqual([1, 1]);
    expect(delays[2]).toBeGreaterThanOrEqual(90);
    expect(delays[3]).toBeGreaterThanOrEqual(190);
    q.shutDown();
  });

  it('keeps the earliest of several delayed adds of one key', async () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue();
      q.addAfter('a', 10_000);
      q.addAfter('a', 100);
      q.addAfter('a', 5_000);
      vi.advanceTimersByTime(150);
      expect(q.depth).toBe(1);
      await q.get().then((k) => q.done(k!));
      vi.advanceTimersByTime(20_000);
      expect(q.depth).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('hands out changes someone made before resyncs, waits and retries', async () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue({ backoffBaseMs: 10 });
      for (let i = 0; i < 5; i++) q.addAfter(`resync-${i}`, 100);
      q.addRateLimited('retry');
      vi.advanceTimersByTime(200);
      q.add('new');
      q.add('edited');
      const order: string[] = [];
      while (q.depth > 0) order.push((await q.get())!);
      // The retry came due first (10 ms): low-priority work keeps its own order.
      expect(order).toEqual([
        'new',
        'edited',
        'retry',
        'resync-0',
        'resync-1',
        'resync-2',
        'resync-3',
        'resync-4',
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('moves a key waiting at low priority up when someone changes it, and hands it out once', async () => {
    const q = new WorkQueue();
    q.add('a', 'low');
    q.add('b', 'low');
    q.add('c', 'low');
    q.add('b');
    q.add('b', 'low');
    expect(q.depth).toBe(3);
    const order: string[] = [];
    while (q.depth > 0) order.push((await q.get())!);
    expect(order).toEqual(['b', 'a', 'c']);
    q.add('d', 'low');
    expect(await q.get()).toBe('d');
    expect(q.depth).toBe(0);
  });

  it('re-adds a key changed while it was processed at the higher of the priorities it was added with', async () => {
    const q = new WorkQueue();
    q.add('a');
    const a = await q.get();
    q.add('b', 'low');
    q.add('a', 'low');
    q.add('a');
    q.done(a!);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('hands out 20,000 keys in the order they were added', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 20_000; i++) q.add(`k${i}`, 'low');
    let previous = -1;
    for (let i = 0; i < 20_000; i++) {
      const n = Number((await q.get())!.slice(1));
      expect(n).toBe(previous + 1);
      previous = n;
    }
    expect(q.depth).toBe(0);
  });

  it('releases waiting workers on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('late');
    expect(await q.get()).toBeUndefined();
  });

  it("reports client-go's queue metrics: adds that make a key dirty, time queued, time worked, retries", async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const seen = { added: 0, queued: [] as number[], worked: [] as number[], retried: 0 };
      const q = new WorkQueue({
        metrics: {
          added: () => seen.added++,
          queued: (s) => seen.queued.push(s),
          worked: (s) => seen.worked.push(s),
          retried: () => seen.retried++,
        },
      });
      q.add('a');
      q.add('a'); // already waiting: not an add
      vi.advanceTimersByTime(2000);
      const key = await q.get();
      expect(q.inFlight()).toEqual([2000]);
      q.add('a'); // while processing: an add, queued again after done()
      q.add('a');
      vi.advanceTimersByTime(500);
      q.done(key!);
      expect(seen).toMatchObject({ added: 2, queued: [2], worked: [0.5] });
      await q.get();
      expect(seen.queued).toEqual([2, 0.5]);
      q.addRateLimited('a');
      expect(seen.retried).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
