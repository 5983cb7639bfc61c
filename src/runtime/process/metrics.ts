// Prometheus metrics of the runtime. Label values stay low-cardinality:
// controller names, results, operations — never object names.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type ReconcileResult = 'done' | 'wait' | 'retry' | 'terminal';

export class Metrics {
  readonly registry = new Registry();
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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gitlab_aws_operator_' });
  }
}
