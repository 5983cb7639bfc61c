// Facts that many reconciles share and that change rarely (an issuer's discovery
// document, the shared OIDC provider) are fetched once and kept for a while, so
// a resync of N resources does not ask the same question N times.

/** Values by key, each kept for `ttlMs`; concurrent misses of one key share one load. */
export class TtlCache<V> {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly maxEntries: number;
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly loading = new Map<string, Promise<V>>();

  constructor(ttlMs: number, { now = Date.now, maxEntries = 1000 } = {}) {
    this.ttlMs = ttlMs;
    this.now = now;
    this.maxEntries = maxEntries;
  }

  /** The fresh value, if there is one. */
  peek(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires > this.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** The fresh value, or the result of `load` (failures are not kept). */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const fresh = this.peek(key);
    if (fresh !== undefined) return Promise.resolve(fresh);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load()
        .then((value) => {
          this.set(key, value);
          return value;
        })
        .finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    // Keys come from resources (URLs, CAs); keep a bound on what they can make us hold.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
