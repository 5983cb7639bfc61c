import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../src/runtime/reconcile/keyed-mutex.ts';
import { TtlCache } from '../../src/runtime/reconcile/ttl-cache.ts';

describe('TtlCache', () => {
  it('loads a key once for concurrent callers and keeps it until it expires', async () => {
    let now = 0;
    const cache = new TtlCache<number>(1000, { now: () => now });
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((r) => setTimeout(r, 5));
      return loads;
    };
    expect(await Promise.all([cache.get('a', load), cache.get('a', load), cache.get('a', load)])).toEqual([
      1, 1, 1,
    ]);
    now = 999;
    expect(await cache.get('a', load)).toBe(1);
    now = 1000;
    expect(cache.peek('a')).toBeUndefined();
    expect(await cache.get('a', load)).toBe(2);
    expect(loads).toBe(2);
  });

  it('does not keep a failed load', async () => {
    const cache = new TtlCache<string>(1000);
    await expect(cache.get('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('a', async () => 'up')).toBe('up');
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = new TtlCache<number>(1000, { maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect([cache.peek('a'), cache.peek('b'), cache.peek('c')]).toEqual([undefined, 2, 3]);
    cache.delete('b');
    expect(cache.peek('b')).toBeUndefined();
  });
});

describe('KeyedMutex', () => {
  it('runs one function at a time per key, in call order, and goes on after a failure', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const step =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`${name} start`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name} end`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      mutex.run('k', step('a', 20, true)),
      mutex.run('k', step('b', 1)),
      mutex.run('other', step('c', 1)),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'a',
      'b',
      'c',
    ]);
    // c (another key) ran while a held k; b waited for a.
    expect(log.indexOf('c end')).toBeLessThan(log.indexOf('a end'));
    expect(log.indexOf('b start')).toBeGreaterThan(log.indexOf('a end'));
  });
});
