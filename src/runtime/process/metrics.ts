// Prometheus metrics of the runtime. Where controller-runtime has a metric of
// the same meaning, it has controller-runtime's name, labels and buckets
// (pkg/internal/controller/metrics, pkg/metrics/workqueue.go and
// leaderelection.go), so dashboards and alerts written for Go operators work
// unchanged. The gitlab_aws_operator_ metrics are the product's own; the first
// ones below predate the controller-runtime names and stay for whoever uses them.
// Label values stay low-cardinality (controllers, results, operations), except
// the per-resource gauges, which have one series per object, as
// kube-state-metrics does.
import { readdirSync, readFileSync } from 'node:fs';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CustomObject } from '../transport/kube.ts';

export type ReconcileResult = 'done' | 'wait' | 'retry' | 'terminal';

/** What one controller's work queue reports (runtime/watch/workqueue.ts). */
export interface QueueMetrics {
  depth(n: number): void;
  added(): void;
  /** Time a key waited between add and get. */
  queued(seconds: number): void;
  /** Time between get and done. */
  worked(seconds: number): void;
  retried(): void;
}

/** What the gauges read from one controller at scrape time. */
export interface ControllerSource {
  controller: string;
  kind: string;
  /** True while this process reconciles (runs workers). */
  active(): boolean;
  /** The cached objects. */
  list(): CustomObject[];
  /** When each key in work was taken (ms since the epoch). */
  inFlight(): number[];
}

// controller-runtime's buckets, so histogram_quantile over both kinds of operator agrees.
const RECONCILE_TIME_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
  1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
// prometheus.ExponentialBuckets(10e-9, 10, 12): 10 ns to 1000 s.
const WORKQUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

export class Metrics {
  readonly registry = new Registry();
  private readonly sources: ControllerSource[] = [];

  readonly reconciles = new Counter({
    name: 'gitlab_aws_operator_reconcile_total',
    help: 'Reconciles by controller and result (done, wait, retry, terminal).',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'gitlab_aws_operator_reconcile_duration_seconds',
    help: 'Time spent in one reconcile.',
    labelNames: ['controller'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'gitlab_aws_operator_workqueue_depth',
    help: 'Keys waiting in the work queue.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({
    name: 'gitlab_aws_operator_workqueue_retries_total',
    help: 'Keys re-added with backoff after a failed reconcile.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly statusWrites = new Counter({
    name: 'gitlab_aws_operator_status_writes_total',
    help: 'Status subresource patches (written only when the status changed).',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly informerRestarts = new Counter({
    name: 'gitlab_aws_operator_informer_restarts_total',
    help: 'List/watch restarts by resource and reason (gone, error, watchdog).',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });
  readonly externalRequests = new Counter({
    name: 'gitlab_aws_operator_external_requests_total',
    help: 'Calls to external systems by system, operation and outcome.',
    labelNames: ['system', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly externalRequestDuration = new Histogram({
    name: 'gitlab_aws_operator_external_request_duration_seconds',
    help: 'Latency of calls to external systems.',
    labelNames: ['system', 'operation'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'gitlab_aws_operator_leader',
    help: '1 while this process holds the leader lease.',
    registers: [this.registry],
  });

  // controller-runtime's controller metrics.
  readonly crReconciles = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  readonly crReconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly crTerminalErrors = new Counter({
    name: 'controller_runtime_terminal_reconcile_errors_total',
    help: 'Total number of terminal reconciliation errors per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly crPanics = new Counter({
    name: 'controller_runtime_reconcile_panics_total',
    help: 'Total number of reconciliation panics per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly crReconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'] as const,
    buckets: RECONCILE_TIME_BUCKETS,
    registers: [this.registry],
  });
  readonly crMaxConcurrent = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly crActiveWorkers = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });

  // client-go's work queue metrics as controller-runtime registers them: `name` and `controller` are both the controller's name.
  private readonly wqDepth = new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });
  private readonly wqAdds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });
  private readonly wqLatency = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name', 'controller'] as const,
    buckets: WORKQUEUE_BUCKETS,
    registers: [this.registry],
  });
  private readonly wqWork = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes.',
    labelNames: ['name', 'controller'] as const,
    buckets: WORKQUEUE_BUCKETS,
    registers: [this.registry],
  });
  private readonly wqRetries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });
  readonly leaderStatus = new Gauge({
    name: 'leader_election_master_status',
    help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
    labelNames: ['name'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gitlab_aws_operator_' });
    this.standardProcessMetrics();
    const sources = this.sources;
    // Read at scrape time, as client-go's queue metrics update them on a tick.
    const labelNames = ['name', 'controller'] as const;
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
      labelNames,
      registers: [this.registry],
      collect() {
        const now = Date.now();
        for (const s of sources)
          this.set(
            { name: s.controller, controller: s.controller },
            s.inFlight().reduce((sum, at) => sum + (now - at) / 1000, 0),
          );
      },
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames,
      registers: [this.registry],
      collect() {
        const now = Date.now();
        for (const s of sources)
          this.set(
            { name: s.controller, controller: s.controller },
            s.inFlight().reduce((max, at) => Math.max(max, (now - at) / 1000), 0),
          );
      },
    });
    // Per resource, from the controllers' caches (what kubectl get shows), at
    // scrape time. Only the process that reconciles reports them, so a standby
    // replica does not double every series (and every alert).
    const each = (visit: (kind: string, obj: CustomObject) => void) => {
      for (const s of sources) if (s.active()) for (const obj of s.list()) visit(s.kind, obj);
    };
    new Gauge({
      name: 'gitlab_aws_operator_resource_ready',
      help: "1 when the resource's Ready condition is True, else 0 (also before it has one); reason is Ready's reason. Reported by the leader.",
      labelNames: ['kind', 'namespace', 'name', 'reason'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        each((kind, obj) => {
          const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
          this.set(
            {
              kind,
              namespace: obj.metadata?.namespace ?? '',
              name: obj.metadata?.name ?? '',
              reason: ready?.reason ?? '',
            },
            ready?.status === 'True' ? 1 : 0,
          );
        });
      },
    });
    new Gauge({
      name: 'gitlab_aws_operator_resource_condition',
      help: "1 for each condition a resource has, by type, status and reason (kube-state-metrics' style). Reported by the leader.",
      labelNames: ['kind', 'namespace', 'name', 'type', 'status', 'reason'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        each((kind, obj) => {
          for (const c of obj.status?.conditions ?? [])
            this.set(
              {
                kind,
                namespace: obj.metadata?.namespace ?? '',
                name: obj.metadata?.name ?? '',
                type: c.type,
                status: c.status,
                reason: c.reason,
              },
              1,
            );
        });
      },
    });
  }

  /**
   * The process metrics every Prometheus client library exports under these
   * names (client_golang's process collector), which controller-runtime
   * dashboards chart; the prefixed prom-client set stays beside them.
   */
  private standardProcessMetrics(): void {
    const registers = [this.registry];
    new Counter({
      name: 'process_cpu_seconds_total',
      help: 'Total user and system CPU time spent in seconds.',
      registers,
      collect() {
        const { user, system } = process.cpuUsage();
        this.reset();
        this.inc((user + system) / 1e6);
      },
    });
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    const started = Math.round(Date.now() / 1000 - process.uptime());
    new Gauge({
      name: 'process_start_time_seconds',
      help: 'Start time of the process since unix epoch in seconds.',
      registers,
      collect() {
        this.set(started);
      },
    });
    if (process.platform !== 'linux') return;
    new Gauge({
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      registers,
      collect() {
        // One of the entries is the directory handle readdir itself opened.
        this.set(readdirSync('/proc/self/fd').length - 1);
      },
    });
    new Gauge({
      name: 'process_max_fds',
      help: 'Maximum number of open file descriptors.',
      registers,
      collect() {
        const limit = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
        if (limit?.[1]) this.set(Number(limit[1]));
      },
    });
  }

  /**
   * A controller's gauges: controller-runtime's initMetrics (every result at
   * 0, so rate() and absent-series alerts work from the start) and its cache
   * and queue for the gauges read at scrape time.
   */
  addController(source: ControllerSource, maxConcurrent: number): void {
    const { controller } = source;
    this.sources.push(source);
    for (const result of ['error', 'requeue_after', 'requeue', 'success'])
      this.crReconciles.inc({ controller, result }, 0);
    this.crReconcileErrors.inc({ controller }, 0);
    this.crTerminalErrors.inc({ controller }, 0);
    this.crPanics.inc({ controller }, 0);
    this.crMaxConcurrent.set({ controller }, maxConcurrent);
    this.crActiveWorkers.set({ controller }, 0);
  }

  /** The hooks of one controller's work queue. */
  queue(controller: string): QueueMetrics {
    const labels = { name: controller, controller };
    this.wqAdds.inc(labels, 0);
    this.wqRetries.inc(labels, 0);
    const depth = (n: number) => {
      this.wqDepth.set(labels, n);
      this.queueDepth.set({ controller }, n);
    };
    // From the start: a key handed straight to an idle worker never changes the depth.
    depth(0);
    return {
      depth,
      added: () => this.wqAdds.inc(labels),
      queued: (s) => this.wqLatency.observe(labels, s),
      worked: (s) => this.wqWork.observe(labels, s),
      retried: () => this.wqRetries.inc(labels),
    };
  }

  /**
   * A per-resource gauge of a moment (seconds since the epoch) that the
   * product reads from each cached object, e.g. when it started waiting for a
   * person; no series for an object without one. An alert compares it with
   * time(). Reported by the leader, like the other per-resource gauges.
   */
  resourceTimestamp<T extends CustomObject>(
    name: string,
    help: string,
    from: { readonly reconciling: boolean; list(): T[] },
    pick: (obj: T) => string | undefined,
  ): void {
    new Gauge({
      name,
      help,
      labelNames: ['namespace', 'name'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (!from.reconciling) return;
        for (const obj of from.list()) {
          const at = Date.parse(pick(obj) ?? '');
          if (Number.isFinite(at))
            this.set({ namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' }, at / 1000);
        }
      },
    });
  }

  /**
   * One reconcile's end under both names. controller-runtime's result is what
   * the queue does next: an error (retried or terminal) is `error`; a reconcile
   * that comes back later (a wait, or the periodic drift check after success,
   * as a Flux controller's RequeueAfter) is `requeue_after`; one that is over
   * (a finished cleanup, a terminal outcome without recheck counts as error) is `success`.
   */
  reconciled(controller: string, result: ReconcileResult, requeues: boolean, seconds: number): void {
    this.reconciles.inc({ controller, result });
    this.reconcileDuration.observe({ controller }, seconds);
    this.crReconcileTime.observe({ controller }, seconds);
    if (result === 'retry' || result === 'terminal') {
      this.crReconciles.inc({ controller, result: 'error' });
      this.crReconcileErrors.inc({ controller });
      if (result === 'terminal') this.crTerminalErrors.inc({ controller });
    } else {
      this.crReconciles.inc({ controller, result: requeues ? 'requeue_after' : 'success' });
    }
  }

  setLeader(lease: string | undefined, leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
    if (lease) this.leaderStatus.set({ name: lease }, leading ? 1 : 0);
  }
}
