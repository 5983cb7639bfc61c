// `gitlab-aws-operator run`: builds the runtime from the configuration and runs
// the given controllers until SIGTERM/SIGINT (exit 0) or lost leadership (exit 1).
// Wiring only: nothing imports it but the entry points.
import { setFlagsFromString } from 'node:v8';
import type { OperatorConfig } from './config.ts';
import { UsageError } from './runtime/process/flags.ts';
import { createLogger } from './runtime/process/logger.ts';
import { Manager } from './runtime/process/manager.ts';
import { Metrics } from './runtime/process/metrics.ts';
import type { ControllerFactory, RuntimeDeps } from './runtime/process/registration.ts';
import { KubernetesEventRecorder } from './runtime/reconcile/events.ts';
import { loadKubeConfig, namespaceUid } from './runtime/transport/kube.ts';

/**
 * The configuration with its cluster ID: --cluster-id when given, else the UID of
 * the kube-system namespace (DESIGN.md §2.5), which two clusters never share and
 * which lives as long as the cluster. A UsageError (exit 2) when it cannot be read.
 */
export async function resolveClusterId(
  config: OperatorConfig,
  env: Record<string, string | undefined> = process.env,
): Promise<OperatorConfig> {
  if (config.clusterId) return config;
  let uid: string | undefined;
  let cause = 'it has no metadata.uid';
  try {
    uid = await namespaceUid(loadKubeConfig(config.kubeconfig, env), 'kube-system');
  } catch (err) {
    cause = err instanceof Error ? err.message : String(err);
  }
  if (!uid) {
    throw new UsageError(
      `cannot read the UID of the kube-system namespace, the default cluster ID (${cause}); set --cluster-id (CLUSTER_ID) to a name no other cluster uses, or allow the operator to get namespaces/kube-system`,
    );
  }
  return { ...config, clusterId: uid };
}

export async function runOperator(
  config: OperatorConfig,
  controllers: ControllerFactory,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  // An operator waits on the network most of its life. V8's optimizing
  // compilers cost it about 10 MB of RSS at 1,000 resources (their code pages,
  // zones and output) for about a fifth less CPU in a cold start
  // (docs/bench.md); the interpreter and the baseline compiler stay on. Set
  // before any code is hot, so nothing is optimized yet.
  if (!config.optimizingJit) setFlagsFromString('--no-opt --no-maglev');
  const log = createLogger(config.logLevel);
  const kubeConfig = loadKubeConfig(config.kubeconfig, env);
  const metrics = new Metrics();
  const events = new KubernetesEventRecorder(kubeConfig, 'gitlab-aws-operator', config.identity, log);
  const deps: RuntimeDeps = {
    kubeConfig,
    log,
    metrics,
    events,
    scope: {
      namespaces: config.namespaces,
      labelSelector: config.labelSelector,
      concurrency: config.maxConcurrentReconciles,
      resyncMs: config.resyncIntervalMs,
    },
  };
  const manager = new Manager({
    kubeConfig,
    log,
    metrics,
    events,
    controllers: controllers(deps),
    metricsAddr: config.metricsAddr,
    healthAddr: config.healthAddr,
    identity: config.identity,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    ...(config.leaderElect
      ? {
          leaderElection: {
            namespace: config.leaderElectionNamespace,
            name: config.leaderElectionId,
            leaseDurationMs: config.leaseDurationMs,
            renewDeadlineMs: config.renewDeadlineMs,
            retryPeriodMs: config.retryPeriodMs,
          },
        }
      : {}),
  });

  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info(
    {
      identity: config.identity,
      clusterId: config.clusterId,
      namespaces: config.namespaces,
      labelSelector: config.labelSelector,
    },
    'starting',
  );
  await manager.start();
  const ended = await Promise.race([signalled, manager.lost.then(() => 'lost' as const)]);
  log.info({ reason: ended }, 'stopping');
  await manager.stop();
  return ended === 'lost' ? 1 : 0;
}
