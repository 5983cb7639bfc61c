// The operator under measurement: its command line and environment (the
// image's and the chart's), a launcher that waits until it serves its probes
// and samples it from then on, and readings of its own /metrics.
import {
  type OperatorProcess,
  runArgs,
  startOperatorProcess,
  testbedAwsEnv,
} from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import { CLI, imageEnv, LIMITS, type Options, REGION } from './options.ts';
import { Sampler } from './process-stats.ts';
import type { BenchTestbed } from './testbed.ts';

export interface StartedOperator {
  proc: OperatorProcess;
  began: number;
  addrs: { metrics: string; health: string };
  sampler: Sampler;
  /** When /readyz first answered 200 (the informers synced). */
  synced: Promise<number>;
}

export class OperatorLauncher {
  readonly args: string[];
  private readonly env: NodeJS.ProcessEnv;

  constructor(bed: BenchTestbed, opts: Options) {
    this.env = {
      ...testbedAwsEnv({ iamUrl: bed.proxy.url, codeConnectionsUrl: bed.cc.endpoint, region: REGION }),
      NODE_EXTRA_CA_CERTS: bed.caFile,
      ...imageEnv(),
      NODE_OPTIONS: opts.nodeOptions,
    };
    this.args = [
      ...runArgs(undefined, bed.cp.kubeconfigPath, 'restricted'),
      '--propagation-delay',
      '0s',
      '--connection-poll-interval',
      '1s',
      '--connection-poll-max-interval',
      '2s',
      '--cluster-id',
      'bench',
      ...LIMITS,
      ...opts.operatorArgs,
    ];
  }

  /** What the operator runs with, for the log. */
  describe(nodeOptions: string): string {
    return `${Object.entries(imageEnv())
      .map(([k, v]) => `${k}=${v} `)
      .join('')}NODE_OPTIONS="${nodeOptions}" ${this.args.slice(1).join(' ')}`;
  }

  async start(): Promise<StartedOperator> {
    const began = Date.now();
    const proc = startOperatorProcess(CLI, this.args, this.env);
    const line = await proc.waitForLog((l) => l.msg === 'serving metrics and probes', 60_000);
    const addrs = { metrics: String(line.metricsAddr), health: String(line.healthAddr) };
    const sampler = new Sampler(proc.child.pid!);
    const synced = waitFor(
      'informers synced',
      async () => ((await fetch(`http://${addrs.health}/readyz`)).ok ? Date.now() : undefined),
      { timeoutMs: 600_000, intervalMs: 20 },
    );
    return { proc, began, addrs, sampler, synced };
  }
}

/** The sum of a metric's samples, optionally only those whose line contains `label`. */
export async function metricSum(addr: string, name: string, label?: string): Promise<number> {
  const res = await fetch(`http://${addr}/metrics`);
  const text = await res.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (label && !line.includes(label)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Reconciles the operator has done so far, by controller. */
export async function reconcilesByController(addr: string) {
  return {
    federation: await metricSum(
      addr,
      'gitlab_aws_operator_reconcile_total',
      'controller="gitlabawsfederation"',
    ),
    connection: await metricSum(addr, 'gitlab_aws_operator_reconcile_total', 'controller="gitlabconnection"'),
  };
}

/** Status writes to Kubernetes the operator has made so far. */
export function statusWrites(operator: StartedOperator): Promise<number> {
  return metricSum(operator.addrs.metrics, 'gitlab_aws_operator_status_writes_total');
}
