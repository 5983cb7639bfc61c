// Runs a Reconciler for one kind: informers fill a cache and enqueue keys; N
// workers take keys from a de-duplicating queue, reconcile, write status only
// when it changed, and requeue as summarize() decides. Reconcilers never see
// watch streams or queues; they get a copy of the object and a status draft.
import type { KubeConfig } from '@kubernetes/client-node';
import { type Logger, lazyChild } from '../process/logger.ts';
import type { Metrics, ReconcileResult } from '../process/metrics.ts';
import {
  type CustomObject,
  CustomResourceClient,
  type ResourceType,
  type StatusWithConditions,
} from '../transport/kube.ts';
import { Informer } from '../watch/informer.ts';
import { type Priority, WorkQueue } from '../watch/workqueue.ts';
import { ConditionWriter } from './condition-writer.ts';
import { getCondition, READY } from './conditions.ts';
import type { EventRecorder } from './events.ts';
import { addFinalizer, hasFinalizer, isBeingDeleted, removeFinalizer } from './finalizers.ts';
import type { Outcome } from './outcome.ts';
import { writeStatus } from './status.ts';
import { summarize } from './summarize.ts';

export interface ReconcileContext<T extends CustomObject> {
  key: string;
  /** A private copy of the cached object. */
  obj: T;
  /** The status to be written; reconcilers set their own fields and conditions on it. */
  status: NonNullable<T['status']>;
  log: Logger;
  events: EventRecorder;
  /** The reconciler's own conditions on the status draft. */
  conditions: ConditionWriter;
  /** Every object of this kind in the cache (shared: do not change them). */
  cached: () => T[];
  /**
   * Writes the status draft now instead of at the end of the reconcile: for a
   * record that must outlive the process if it dies before the end (what it
   * is about to create or write outside the cluster, so that it can be found
   * and cleaned up later). Throws if the write fails.
   */
  checkpoint: () => Promise<void>;
}

export interface Reconciler<T extends CustomObject> {
  reconcile(ctx: ReconcileContext<T>): Promise<Outcome>;
  /**
   * Cleans up on deletion. With it, the controller adds the cleanup finalizer
   * before the first reconcile, and removes it once finalize returns done().
   */
  finalize?(ctx: ReconcileContext<T>): Promise<Outcome>;
}

/**
 * Something else the reconciles read (a cache of other objects) that must be
 * loaded before the first reconcile. It may be shared by several controllers,
 * so start and stop are idempotent.
 */
export interface Dependency {
  readonly synced: boolean;
  start(): void;
  whenSynced(): Promise<void>;
  stop(): Promise<void>;
}

export interface ControllerOptions<T extends CustomObject> {
  name: string;
  type: ResourceType;
  reconciler: Reconciler<T>;
  kubeConfig: KubeConfig;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  /** Watch only these namespaces (one informer each); all when empty. */
  namespaces?: string[];
  labelSelector?: string;
  concurrency: number;
  resyncMs: number;
  finalizer: string;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  informer?: { watchdogMs?: number; watchTimeoutSeconds?: number };
  dependencies?: Dependency[];
}

export class Controller<T extends CustomObject> {
  private readonly options: ControllerOptions<T>;
  private readonly client: CustomResourceClient<T>;
  private readonly informers: Informer<T>[];
  private readonly queue: WorkQueue;
  private workers: Promise<void>[] = [];
  private stopped = false;
  private markStopping: () => void = () => {};
  private readonly stopping = new Promise<void>((resolve) => {
    this.markStopping = resolve;
  });

  constructor(options: ControllerOptions<T>) {
    this.options = options;
    const { name, metrics } = options;
    this.client = new CustomResourceClient<T>(options.kubeConfig, options.type);
    const queueMetrics = metrics.queue(name);
    this.queue = new WorkQueue({
      backoffBaseMs: options.backoffBaseMs ?? 1000,
      backoffCapMs: options.backoffCapMs ?? 15 * 60_000,
      onDepthChange: (depth) => queueMetrics.depth(depth),
      metrics: queueMetrics,
    });
    metrics.addController(
      {
        controller: name,
        kind: options.type.kind,
        active: () => this.reconciling,
        list: () => this.list(),
        inFlight: () => this.queue.inFlight(),
      },
      options.concurrency,
    );
    const namespaces = options.namespaces?.length ? options.namespaces : [undefined];
    this.informers = namespaces.map((namespace) => {
      const informer = new Informer<T>({
        kubeConfig: options.kubeConfig,
        client: this.client,
        namespace,
        labelSelector: options.labelSelector,
        log: options.log,
        ...options.informer,
        onRestart: (reason) => metrics.informerRestarts.inc({ resource: options.type.plural, reason }),
      });
      // The initial list waits at low priority, so a change someone makes
      // meanwhile is not queued behind every existing resource.
      const priority = (): Priority => (informer.synced ? 'normal' : 'low');
      informer.on({
        add: (obj) => this.enqueue(obj, priority()),
        update: (old, obj) => {
          if (needsReconcile(old, obj)) this.enqueue(obj, priority());
        },
        delete: (obj) => this.enqueue(obj, priority()),
      });
      return informer;
    });
  }

  get synced(): boolean {
    return this.informers.every((i) => i.synced) && this.dependencies.every((d) => d.synced);
  }

  /** True while this process runs workers (the leader, or the only replica). */
  get reconciling(): boolean {
    return this.workers.length > 0 && !this.stopped;
  }

  /** Every cached object (shared: do not change them). */
  list(): T[] {
    return this.informers.flatMap((i) => i.list());
  }

  private get dependencies(): Dependency[] {
    return this.options.dependencies ?? [];
  }

  /** Starts filling the cache (also on standby replicas, so a takeover starts warm). */
  startInformers(): void {
    for (const informer of this.informers) informer.start();
    for (const dependency of this.dependencies) dependency.start();
  }

  /** Starts the workers (on the leader only), once what the reconciles read is loaded. */
  startWorkers(): void {
    // A stop before the dependencies load must not wait for them.
    const loaded = Promise.race([Promise.all(this.dependencies.map((d) => d.whenSynced())), this.stopping]);
    for (let i = 0; i < this.options.concurrency; i++) this.workers.push(loaded.then(() => this.work()));
  }

  /** Stops taking keys, lets in-flight reconciles finish, stops the informers. */
  async stop(): Promise<void> {
    this.markStopping();
    this.stopped = true;
    this.queue.shutDown();
    await Promise.all(this.workers);
    await Promise.all(this.informers.map((i) => i.stop()));
    await Promise.all(this.dependencies.map((d) => d.stop()));
  }

  /** Queues every cached object that matches again (something it depends on changed). */
  requeue(match: (obj: T) => boolean): void {
    for (const informer of this.informers) {
      for (const obj of informer.list()) if (match(obj)) this.enqueue(obj, 'normal');
    }
  }

  private enqueue(obj: T, priority: Priority): void {
    this.queue.add(`${obj.metadata?.namespace}/${obj.metadata?.name}`, priority);
  }

  private cached(key: string): T | undefined {
    for (const informer of this.informers) {
      const obj = informer.get(key);
      if (obj) return obj;
    }
    return undefined;
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const { name: controller, metrics } = this.options;
      metrics.crActiveWorkers.inc({ controller });
      try {
        await this.process(key);
      } catch (err) {
        // process() handles reconcile errors; this is a failure of the runtime itself
        // (what controller-runtime counts as a panic: it recovers and retries too).
        this.options.log.error({ controller, key, err: String(err) }, 'unexpected error');
        metrics.crPanics.inc({ controller });
        this.queue.addRateLimited(key);
      } finally {
        metrics.crActiveWorkers.dec({ controller });
        this.queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    const { name: controller, metrics, reconciler, finalizer } = this.options;
    const cached = this.cached(key);
    if (!cached) {
      this.queue.forget(key);
      return;
    }
    let obj = structuredClone(cached);
    const log = lazyChild(this.options.log, { controller, key, generation: obj.metadata?.generation });
    const started = performance.now();

    const deleting = isBeingDeleted(obj);
    if (deleting && !hasFinalizer(obj, finalizer)) {
      this.queue.forget(key);
      return;
    }
    if (!deleting && reconciler.finalize && !hasFinalizer(obj, finalizer)) {
      const updated = await addFinalizer(this.client, obj, finalizer);
      if (!updated) return;
      obj = updated;
    }

    const status = structuredClone(obj.status ?? {}) as NonNullable<T['status']>;
    const ctx: ReconcileContext<T> = {
      key,
      obj,
      status,
      log,
      events: this.options.events,
      conditions: new ConditionWriter(
        status as StatusWithConditions,
        obj.status?.conditions,
        obj.metadata?.generation,
      ),
      cached: () => this.list(),
      checkpoint: async () => {
        const result = await writeStatus(this.client, obj, status);
        if (!result.written) return;
        metrics.statusWrites.inc({ controller });
        // The final status write then compares with what the API server has now.
        obj = result.object;
      },
    };
    let ended: { outcome: Outcome } | { error: unknown };
    try {
      const outcome =
        deleting && reconciler.finalize ? await reconciler.finalize(ctx) : await reconciler.reconcile(ctx);
      ended = { outcome };
    } catch (error) {
      ended = { error };
    }

    if (deleting && 'outcome' in ended && ended.outcome.kind === 'done') {
      await removeFinalizer(this.client, obj, finalizer);
      this.queue.forget(key);
      metrics.reconciled(controller, 'done', false, (performance.now() - started) / 1000);
      log.info('cleanup finished; finalizer removed');
      return;
    }

    const summary = summarize(ctx.status as StatusWithConditions, ended, {
      generation: obj.metadata?.generation,
      resyncMs: this.options.resyncMs,
    });
    const { written } = await writeStatus(this.client, obj, summary.status);
    if (written) metrics.statusWrites.inc({ controller });
    this.recordTransition(obj, summary.status, summary.result);

    switch (summary.queue.kind) {
      case 'requeueAfter':
        this.queue.forget(key);
        this.queue.addAfter(key, summary.queue.delayMs);
        break;
      case 'backoff': {
        metrics.queueRetries.inc({ controller });
        const delay = this.queue.addRateLimited(key);
        if (summary.queue.minDelayMs && summary.queue.minDelayMs > delay)
          this.queue.addAfter(key, summary.queue.minDelayMs);
        break;
      }
      case 'none':
        // A stalled cleanup still holds the finalizer: keep trying, slowly,
        // since what blocks it (permissions, a dependent object) is fixed outside the spec.
        if (deleting) this.queue.addRateLimited(key);
        else this.queue.forget(key);
        break;
    }
    const requeues = summary.queue.kind !== 'none' || deleting;
    metrics.reconciled(controller, summary.result, requeues, (performance.now() - started) / 1000);
    const ready = getCondition(summary.status.conditions, READY);
    const fields = {
      result: summary.result,
      reason: ready?.reason,
      ms: Math.round(performance.now() - started),
    };
    if (summary.result === 'retry')
      log.warn({ ...fields, message: ready?.message }, 'reconcile failed; will retry');
    else if (summary.result === 'terminal')
      log.warn({ ...fields, message: ready?.message }, 'reconcile stalled');
    else log.debug(fields, 'reconciled');
  }

  /** One event when Ready changes status or reason; none on a no-op resync. */
  private recordTransition(obj: T, next: StatusWithConditions, result: ReconcileResult): void {
    const before = getCondition(obj.status?.conditions, READY);
    const after = getCondition(next.conditions, READY);
    if (!after || (before?.status === after.status && before?.reason === after.reason)) return;
    const failing = result === 'retry' || result === 'terminal';
    this.options.events.event(obj, failing ? 'Warning' : 'Normal', after.reason, after.message);
  }
}

/** Spec changes, deletion, labels and annotations trigger a reconcile; our own status writes do not. */
export function needsReconcile(
  old: {
    metadata?: { generation?: number; deletionTimestamp?: unknown; labels?: object; annotations?: object };
  },
  obj: typeof old,
): boolean {
  const a = old.metadata ?? {};
  const b = obj.metadata ?? {};
  return (
    a.generation !== b.generation ||
    Boolean(a.deletionTimestamp) !== Boolean(b.deletionTimestamp) ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {}) ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {})
  );
}
