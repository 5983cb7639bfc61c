// 4. One steady-state resync: the operator restarted against unchanged AWS and
// GitLab reconciles every resource once. Reads per resource, and writes
// (which must be 0).
import { waitFor } from '../../testbed/processes.ts';
import { type CallLog, perResource } from './calls.ts';
import {
  metricSum,
  type OperatorLauncher,
  reconcilesByController,
  type StartedOperator,
  statusWrites,
} from './operator.ts';
import type { Running } from './testbed.ts';
import { round } from './util.ts';

export async function measureResync(ctx: {
  first: StartedOperator;
  launcher: OperatorLauncher;
  running: Running;
  calls: CallLog;
  /** Federations that exist by now (N plus the latency samples). */
  federations: number;
  connections: number;
}) {
  const { first, launcher, running, calls, federations, connections } = ctx;
  await first.proc.stop('SIGTERM');
  const mark = calls.mark();
  const second = await launcher.start();
  running.operator = second.proc;
  const synced = await second.synced;
  let quietSince = Date.now();
  let lastTotal = calls.total();
  await waitFor(
    'one reconcile of every resource, then quiet',
    async () => {
      const reconciled = await metricSum(second.addrs.metrics, 'gitlab_aws_operator_reconcile_total');
      const depth = await metricSum(second.addrs.metrics, 'gitlab_aws_operator_workqueue_depth');
      if (calls.total() !== lastTotal) {
        lastTotal = calls.total();
        quietSince = Date.now();
      }
      return reconciled >= federations + connections && depth === 0 && Date.now() - quietSince > 3000
        ? true
        : undefined;
    },
    { timeoutMs: Math.max(600_000, connections * 600), intervalMs: 250 },
  );
  const counts = calls.since(mark);
  const kubernetesStatusWrites = await statusWrites(second);
  const reconciles = await reconcilesByController(second.addrs.metrics);
  const resync = {
    method: 'operator restarted; every resource reconciled once against unchanged AWS and GitLab',
    startToInformersSyncedSeconds: round((synced - second.began) / 1000, 2),
    reconciles,
    federationCallsPerResource: perResource(counts, federations, ['iam:', 'gitlab:']),
    connectionCallsPerResource: perResource(counts, connections, ['codeconnections:']),
    writes: counts.writes,
    kubernetesStatusWrites,
    rssMb: round(second.sampler.last.rssMb),
  };
  second.sampler.stop();
  // The second operator keeps running: the key step (keys.ts) measures it.
  return { resync, operator: second };
}
