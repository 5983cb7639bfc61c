// 1. Cold start: the operator starts against N federations and N connections
// that nobody has reconciled yet; time to informers synced and to every
// resource Ready, peak RSS, CPU, calls per resource, and what the rest of the
// testbed spent meanwhile.
import { waitFor } from '../../testbed/processes.ts';
import { apiserverRequests, difference } from './apiserver.ts';
import type { CallLog } from './calls.ts';
import {
  metricSum,
  type OperatorLauncher,
  reconcilesByController,
  type StartedOperator,
} from './operator.ts';
import { CpuLedger } from './process-stats.ts';
import type { ReadyTracker } from './ready.ts';
import type { BenchTestbed, Running } from './testbed.ts';
import { log, round } from './util.ts';

export async function measureColdStart(ctx: {
  bed: BenchTestbed;
  running: Running;
  launcher: OperatorLauncher;
  nodeOptions: string;
  calls: CallLog;
  feds: ReadyTracker;
  conns: ReadyTracker;
  n: number;
}) {
  const { bed, running, launcher, calls, feds, conns, n } = ctx;
  log(`starting the operator: ${launcher.describe(ctx.nodeOptions)}`);
  const mark = calls.mark();
  const ledger = new CpuLedger({
    // startControlPlane's pids: etcd's, then the API server's.
    etcd: bed.cp.pids().slice(0, 1),
    'kube-apiserver': bed.cp.pids().slice(1),
    moto: bed.moto.pid ? [bed.moto.pid] : [],
  });
  const cpuMark = ledger.mark();
  const kubeMark = await apiserverRequests(bed.cp);
  const operator = await launcher.start();
  running.operator = operator.proc;
  const syncedAt = await operator.synced;
  log(`informers synced ${round((syncedAt - operator.began) / 1000, 2)} s after start`);
  await waitForAllReady(operator, feds, conns, n);
  const allReadyAt = Math.max(feds.lastReady(), conns.lastReady());
  const figures = {
    startToInformersSyncedSeconds: round((syncedAt - operator.began) / 1000, 2),
    startToAllReadySeconds: round((allReadyAt - operator.began) / 1000, 1),
    startToFederationsReadySeconds: round((feds.lastReady() - operator.began) / 1000, 1),
    startToConnectionsReadySeconds: round((conns.lastReady() - operator.began) / 1000, 1),
    peakRssMb: round(operator.sampler.peakRssMb),
    cpuSeconds: round(operator.sampler.last.cpuSeconds),
  };
  const counts = calls.since(mark);
  const machine = ledger.since(cpuMark);
  const kubeRequests = difference(await apiserverRequests(bed.cp), kubeMark, 2 * n);
  const reconciles = await reconcilesByController(operator.addrs.metrics);
  log(`all Ready ${figures.startToAllReadySeconds} s after start`);
  return { operator, figures, counts, machine, kubeRequests, reconciles };
}

/** Waits until every federation and connection is Ready, with a progress line every 5 s. */
async function waitForAllReady(
  operator: StartedOperator,
  feds: ReadyTracker,
  conns: ReadyTracker,
  n: number,
): Promise<void> {
  let lastProgress = 0;
  await waitFor(
    'every resource Ready',
    async () => {
      if (Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        const { rssMb, rssAnonMb, rssFileMb, cpuSeconds } = operator.sampler.last;
        const heapMb =
          (await metricSum(operator.addrs.metrics, 'gitlab_aws_operator_nodejs_heap_size_total_bytes')) /
          1048576;
        log(
          `${feds.readyAt.size}/${n} federations and ${conns.readyAt.size}/${n} connections Ready; ` +
            `RSS ${round(rssMb)} MB (allocated ${round(rssAnonMb)}, files ${round(rssFileMb)}; V8 heap ${round(heapMb)}), CPU ${round(cpuSeconds)} s`,
        );
      }
      return feds.readyAt.size >= n && conns.readyAt.size >= n ? true : undefined;
    },
    { timeoutMs: Math.max(900_000, n * 1000), intervalMs: 50 },
  );
}
