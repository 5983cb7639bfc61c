// List + watch of one resource type into an in-memory store, hardened where
// client-node's own informer is not (see STYLE.md, client-node pitfalls):
// - a 410 Gone (HTTP status or ERROR event) clears the resourceVersion and relists;
// - any other failure restarts list/watch with jittered exponential backoff,
//   never giving up;
// - a watchdog aborts a stream that has been silent for too long (half-open
//   connections), after which the watch resumes from the last resourceVersion;
// - `synced` turns true after the first complete list (the readiness probe).
// Handlers run synchronously and must only enqueue keys.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../process/logger.ts';
import { type CustomResourceClient, KubeApi, keyOf, statusCodeOf } from '../transport/kube.ts';
import { exponentialBackoff, jitter, sleep } from './backoff.ts';

export interface InformerHandlers<T> {
  add?: (obj: T) => void;
  update?: (oldObj: T, newObj: T) => void;
  delete?: (obj: T) => void;
}

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  client: CustomResourceClient<T>;
  namespace?: string;
  labelSelector?: string;
  log: Logger;
  /** Server-side watch timeout; the API server closes the stream after it. */
  watchTimeoutSeconds?: number;
  /** A stream with no bytes (events or bookmarks) for this long is presumed dead. */
  watchdogMs?: number;
  pageSize?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  onRestart?: (reason: 'gone' | 'error' | 'watchdog') => void;
}

class GoneError extends Error {}

export class Informer<T extends KubernetesObject> {
  private readonly options: InformerOptions<T>;
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly stopController = new AbortController();
  private resourceVersion = '';
  private currentWatch: AbortController | undefined;
  private running: Promise<void> | undefined;
  private hasSynced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private readonly api: KubeApi;

  constructor(options: InformerOptions<T>) {
    this.options = options;
    this.api = new KubeApi(options.kubeConfig);
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  /** Settles after the first complete list. */
  whenSynced(): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  on(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
  }

  /** The cached object. It is shared: clone it before changing anything. */
  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    this.currentWatch?.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        const began = Date.now();
        await this.watchOnce();
        // A stream the server closed after a normal lifetime is routine; one
        // that ends at once, over and over, must not become a hot loop.
        failures = Date.now() - began < 1000 ? failures + 1 : 0;
        if (failures > 0) await sleep(this.backoff(failures), this.stopController.signal);
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof GoneError || statusCodeOf(err) === 410) {
          this.options.log.info({ informer: this.name }, 'resourceVersion expired (410 Gone); relisting');
          this.options.onRestart?.('gone');
          this.resourceVersion = '';
          continue;
        }
        failures += 1;
        const isWatchdog = (err as Error)?.name === 'TimeoutError';
        this.options.onRestart?.(isWatchdog ? 'watchdog' : 'error');
        const delay = this.backoff(failures);
        this.options.log.warn(
          { informer: this.name, err: String((err as Error)?.message ?? err), retryInMs: delay },
          isWatchdog ? 'watch stream silent for too long; reconnecting' : 'list/watch failed; retrying',
        );
        await sleep(delay, this.stopController.signal);
      }
    }
  }

  private backoff(failures: number): number {
    return jitter(
      exponentialBackoff(failures, this.options.backoffBaseMs ?? 500, this.options.backoffCapMs ?? 30_000),
      0.2,
    );
  }

  private get name(): string {
    return `${this.options.client.type.plural}${this.options.namespace ? `@${this.options.namespace}` : ''}`;
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.options.client.listPage({
        namespace: this.options.namespace,
        labelSelector: this.options.labelSelector,
        limit: this.options.pageSize ?? 500,
        continueToken,
      });
      for (const item of page.items) fresh.set(keyOf(item), slim(item));
      continueToken = page.continueToken;
      resourceVersion = page.resourceVersion;
    } while (continueToken);

    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.emit('delete', old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.store.get(key);
      this.store.set(key, obj);
      if (!old) this.emit('add', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj, old);
    }
    this.resourceVersion = resourceVersion;
    this.hasSynced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  private async watchOnce(): Promise<void> {
    const timeoutSeconds = this.options.watchTimeoutSeconds ?? jitter(300, 0.5);
    const controller = new AbortController();
    this.currentWatch = controller;
    if (this.stopped) controller.abort();
    let failure: Error | undefined;
    try {
      await this.api.watch<T & { code?: number; message?: string }>(
        this.options.client.collectionPath(this.options.namespace),
        {
          query: {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.options.labelSelector,
          },
          idleTimeoutMs: this.options.watchdogMs ?? (timeoutSeconds + 60) * 1000,
          signal: controller.signal,
        },
        (type, obj) => {
          if (type === 'ERROR') {
            // A Status object: 410 when the resourceVersion is too old to resume from.
            failure =
              obj.code === 410
                ? new GoneError('410 Gone')
                : new Error(`watch error event: ${obj.code ?? ''} ${obj.message ?? ''}`.trim());
            controller.abort();
            return;
          }
          const rv = obj.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (type === 'BOOKMARK') return;
          const key = keyOf(obj);
          const old = this.store.get(key);
          if (type === 'DELETED') {
            this.store.delete(key);
            this.emit('delete', obj);
          } else if (type === 'ADDED' || type === 'MODIFIED') {
            this.store.set(key, slim(obj));
            if (!old) this.emit('add', obj);
            else if (old.metadata?.resourceVersion !== rv) this.emit('update', obj, old);
          }
        },
      );
    } catch (err) {
      if (!failure && !this.stopped) throw err;
    } finally {
      this.currentWatch = undefined;
    }
    if (failure) throw failure;
  }

  private emit(event: 'add' | 'delete', obj: T): void;
  private emit(event: 'update', obj: T, old: T): void;
  private emit(event: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const handler of this.handlers) {
      try {
        if (event === 'add') handler.add?.(obj);
        else if (event === 'delete') handler.delete?.(obj);
        else handler.update?.(old as T, obj);
      } catch (err) {
        this.options.log.error({ informer: this.name, err: String(err) }, 'informer handler threw');
      }
    }
  }
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the cache keeps of an object: without managedFields (as controller-runtime's
 * default transform) and kubectl's last-applied copy of the spec, which no
 * reconciler reads and which together are most of a small object's size; and
 * with the strings of its spec and status shared with other objects (below).
 */
function slim<T extends KubernetesObject>(obj: T): T {
  const metadata = obj.metadata;
  if (metadata) {
    delete metadata.managedFields;
    if (metadata.annotations?.[LAST_APPLIED] !== undefined) {
      delete metadata.annotations[LAST_APPLIED];
      if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
    }
    if (metadata.namespace) metadata.namespace = intern(metadata.namespace);
    if (metadata.finalizers) metadata.finalizers = metadata.finalizers.map(intern);
  }
  if (obj.apiVersion) obj.apiVersion = intern(obj.apiVersion);
  if (obj.kind) obj.kind = intern(obj.kind);
  const withBody = obj as { spec?: unknown; status?: unknown };
  withBody.spec = internAll(withBody.spec);
  withBody.status = internAll(withBody.status);
  return obj;
}

// JSON.parse gives every string value its own copy: 10,000 federations of one
// GitLab instance held 10,000 copies of its URL, of the provider's ARN and of
// each condition's type, reason and message (a heap snapshot, docs/bench.md).
// Short strings of the cache are kept once instead. Timestamps, which rarely
// repeat, are left alone; the table starts over when full, so what it keeps
// is bounded.
const INTERN_LIMIT = 50_000;
const INTERN_MAX_LENGTH = 256;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT/;
const interned = new Map<string, string>();

function intern(value: string): string {
  if (value.length > INTERN_MAX_LENGTH || TIMESTAMP.test(value)) return value;
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (interned.size >= INTERN_LIMIT) interned.clear();
  interned.set(value, value);
  return value;
}

function internAll(value: unknown): unknown {
  if (typeof value === 'string') return intern(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = internAll(value[i]);
  } else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = internAll(record[key]);
  }
  return value;
}
