// What the process gives every controller it runs: the cluster, logs, metrics,
// events, and the scope and pace the command line set. A product builds its
// controllers from these (and from what it needs of its own).
import type { KubeConfig } from '@kubernetes/client-node';
import type { Controller } from '../reconcile/controller.ts';
import type { EventRecorder } from '../reconcile/events.ts';
import { CLEANUP_FINALIZER } from '../reconcile/finalizers.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

export interface RuntimeDeps {
  kubeConfig: KubeConfig;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  /** Which objects, how many at once, how often again. */
  scope: { namespaces?: string[]; labelSelector?: string; concurrency: number; resyncMs: number };
}

// biome-ignore lint/suspicious/noExplicitAny: each controller is of its own kind
export type ControllerFactory = (deps: RuntimeDeps) => Controller<any>[];

/** What every controller takes from the process: scope, concurrency, resync, finalizer. */
export function controllerDefaults({ kubeConfig, log, metrics, events, scope }: RuntimeDeps) {
  return {
    kubeConfig,
    log,
    metrics,
    events,
    namespaces: scope.namespaces,
    labelSelector: scope.labelSelector,
    concurrency: scope.concurrency,
    resyncMs: scope.resyncMs,
    finalizer: CLEANUP_FINALIZER,
  };
}
