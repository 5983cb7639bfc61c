// What the bench prints and writes: one JSON document with every figure, and
// a table of the main ones with their targets.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { measureApplyToReady } from './apply-to-ready.ts';
import { perResource, readsWrites, sum } from './calls.ts';
import type { measureColdStart } from './cold-start.ts';
import type { measureKeys } from './keys.ts';
import type { Options } from './options.ts';
import type { measureResync } from './resync.ts';
import type { measureSteadyMemory } from './steady-memory.ts';
import { round } from './util.ts';

export interface Measurements {
  cold: Awaited<ReturnType<typeof measureColdStart>>;
  steady: Awaited<ReturnType<typeof measureSteadyMemory>>;
  applyToReady: Awaited<ReturnType<typeof measureApplyToReady>>;
  /** The first operator's CPU seconds when it was stopped for the resync. */
  cpuSecondsUntilRestart: number;
  /** Status writes during the cold start and the latency samples. */
  statusWritesBeforeRestart: number;
  resync: Awaited<ReturnType<typeof measureResync>>['resync'];
  /** The key step; undefined with --keys 0. */
  keys: Keys | undefined;
}

type Keys = Awaited<ReturnType<typeof measureKeys>>;

/** Writes the JSON to `opts.out` and prints the table and where the JSON went. */
export function report(opts: Options, operatorArgs: string[], m: Measurements): void {
  const { n } = opts;
  const fedCreate = perResource(m.cold.counts, n, ['iam:', 'gitlab:']);
  const connCreate = perResource(m.cold.counts, n, ['codeconnections:']);
  const singleCreate = perResource(m.applyToReady.counts, opts.samples, ['iam:', 'gitlab:']);
  const kubeCold = m.cold.kubeRequests;
  const result = {
    date: new Date().toISOString(),
    n,
    machine: { cores: availableParallelism(), node: process.version },
    nodeOptions: opts.nodeOptions,
    operatorArgs: operatorArgs
      .slice(1)
      .filter((a, i, all) => all[i - 1] !== '--kubeconfig' && a !== '--kubeconfig'),
    coldStart: {
      ...m.cold.figures,
      reconciles: m.cold.reconciles,
      statusWritesDuringColdStartAndSamples: m.statusWritesBeforeRestart,
      machine: m.cold.machine,
      kubernetesRequestsPerResource: kubeCold,
    },
    steadyRssMb: m.steady.rssMb,
    steadyRssSplit: m.steady.rssSplit,
    steadyHeap: m.steady.heap,
    cpuSecondsUntilRestart: round(m.cpuSecondsUntilRestart),
    applyToReady: m.applyToReady.latency,
    callsPerResource: {
      federationColdStart: fedCreate,
      connectionColdStart: connCreate,
      federationSingleCreate: singleCreate,
    },
    resync: m.resync,
    ...(m.keys ? { keys: m.keys } : {}),
  };
  mkdirSync(join(opts.out, '..'), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  printTable(
    result,
    {
      fedCreate,
      connCreate,
      singleCreate,
      resyncFed: m.resync.federationCallsPerResource,
      resyncConn: m.resync.connectionCallsPerResource,
      kubeCold,
    },
    m.keys,
  );
  process.stdout.write(`\nJSON: ${opts.out}\n`);
}

function printTable(
  r: {
    n: number;
    coldStart: Record<string, number | object> & {
      machine: { cpuSeconds: Record<string, number>; machineBusyPercent: number };
    };
    steadyRssMb: number;
    steadyRssSplit: { anonMb: number; fileMb: number };
    steadyHeap: { heapUsedMb: number; heapTotalMb: number; externalMb: number };
    applyToReady: { p50Ms: number; p95Ms: number; samples: number };
    resync: {
      writes: number;
      kubernetesStatusWrites: number;
      rssMb: number;
      startToInformersSyncedSeconds: number;
    };
  },
  c: Record<string, Record<string, number>>,
  keys?: Keys,
): void {
  const cpuParts = r.coldStart.machine.cpuSeconds;
  const rows: [string, string, string][] = [
    ['N (federations + connections)', `${r.n} + ${r.n}`, ''],
    ['start → informers synced', `${r.coldStart.startToInformersSyncedSeconds} s`, ''],
    ['start → all Ready', `${r.coldStart.startToAllReadySeconds} s`, r.n === 1000 ? '≤ 60 s' : ''],
    [
      '  federations / connections',
      `${r.coldStart.startToFederationsReadySeconds} s / ${r.coldStart.startToConnectionsReadySeconds} s`,
      '',
    ],
    ['apply → Ready p50', `${r.applyToReady.p50Ms} ms`, '≤ 1000 ms'],
    ['apply → Ready p95', `${r.applyToReady.p95Ms} ms`, ''],
    ['RSS peak', `${r.coldStart.peakRssMb} MB`, r.n <= 1000 ? '≤ 100 MB' : r.n <= 10000 ? '≤ 200 MB' : ''],
    ['RSS steady', `${r.steadyRssMb} MB`, ''],
    ['  allocated / mapped files', `${r.steadyRssSplit.anonMb} MB / ${r.steadyRssSplit.fileMb} MB`, ''],
    [
      '  V8 heap used / total, external',
      `${r.steadyHeap.heapUsedMb} MB / ${r.steadyHeap.heapTotalMb} MB, ${r.steadyHeap.externalMb} MB`,
      '',
    ],
    ['CPU seconds, cold start', `${r.coldStart.cpuSeconds} s`, ''],
    ['  machine busy (all cores), cold start', `${r.coldStart.machine.machineBusyPercent} %`, ''],
    [
      '  CPU s: API server / etcd / moto / bench',
      `${cpuParts['kube-apiserver']} / ${cpuParts.etcd} / ${cpuParts.moto} / ${cpuParts.bench}`,
      '',
    ],
    ['Kubernetes requests per resource, cold start', `${sum(c.kubeCold!, () => true)}`, ''],
    ['federation create: reads / writes', readsWrites(c.fedCreate!), ''],
    ['connection create: reads / writes', readsWrites(c.connCreate!), ''],
    ['one more federation: reads / writes', readsWrites(c.singleCreate!), ''],
    ['federation resync: reads / writes', readsWrites(c.resyncFed!), '≤ 5 / 0'],
    ['connection resync: reads / writes', readsWrites(c.resyncConn!), '– / 0'],
    ['resync: status writes (Kubernetes)', `${r.resync.kubernetesStatusWrites}`, '0'],
    ['restart → informers synced', `${r.resync.startToInformersSyncedSeconds} s`, ''],
    ...(keys ? keyRows(keys) : []),
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const line = (a: string, b: string, t: string) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${t}`;
  process.stdout.write(`\n${line('measure', 'value', 'target')}\n${'-'.repeat(w0 + w1 + 14)}\n`);
  for (const [a, b, t] of rows) process.stdout.write(`${line(a, b, t)}\n`);
  for (const [title, counts] of [
    ['calls per federation, cold start', c.fedCreate!],
    ['calls per federation, one more create', c.singleCreate!],
    ['calls per federation, resync', c.resyncFed!],
    ['calls per connection, cold start', c.connCreate!],
    ['calls per connection, resync', c.resyncConn!],
    ['Kubernetes requests per resource (federations and connections), cold start', c.kubeCold!],
    ...(keys ? keySections(keys) : []),
  ] as const) {
    process.stdout.write(`\n${title}:\n`);
    for (const [op, v] of Object.entries(counts).sort()) process.stdout.write(`  ${op.padEnd(48)} ${v}\n`);
  }
  if (keys?.rotateNow.notAnswered.length) {
    process.stdout.write(`\nrotate-now not answered (their status now):\n`);
    for (const u of keys.rotateNow.notAnswered) process.stdout.write(`  ${JSON.stringify(u)}\n`);
  }
}

const only = (o: Record<string, number>, prefix: string) =>
  Object.fromEntries(Object.entries(o).filter(([op]) => op.startsWith(prefix)));

/** GitLab requests per federation by method. */
const gitlabMethods = (o: Record<string, number>) =>
  ['GET', 'POST', 'PUT', 'DELETE'].map((m) => sum(o, (op) => op.startsWith(`gitlab:${m} `))).join(' / ');

const keyActions = (o: Record<string, number>) =>
  ['ListAccessKeys', 'CreateAccessKey', 'DeleteAccessKey', 'UpdateAccessKey']
    .map((a) => o[`iam:${a}`] ?? 0)
    .join(' / ');

const ms = (l: { p50Ms: number; p95Ms: number; maxMs: number }) => `${l.p50Ms} / ${l.p95Ms} / ${l.maxMs} ms`;

/** The key step's rows of the table: per federation (first key) and per rotation. */
function keyRows(k: Keys): [string, string, string][] {
  const part = (
    label: string,
    f: { calls: Record<string, number>; statusWrites: number; reconciles: number; reconcileMeanMs: number },
  ): [string, string, string][] => [
    [`${label}: IAM reads / writes`, readsWrites(only(f.calls, 'iam:')), ''],
    [`  List / Create / Delete / UpdateAccessKey`, keyActions(f.calls), ''],
    [`${label}: GitLab GET / POST / PUT / DELETE`, gitlabMethods(f.calls), ''],
    [`${label}: status writes / reconciles`, `${f.statusWrites} / ${f.reconciles}`, ''],
    ['  mean time of one reconcile', `${f.reconcileMeanMs} ms`, ''],
  ];
  const { min, max } = k.end.keysPerUser;
  return [
    ['K (federations of method IAMUserAccessKeys)', `${k.k}`, ''],
    ['apply → all K Ready (first key in GitLab)', `${k.firstKey.applyToAllReadySeconds} s`, ''],
    ['  apply → Ready p50 / p95 / max', ms(k.firstKey.applyToReady), ''],
    ['  Ready', `${k.k - k.firstKey.notReady.length}/${k.k}`, `${k.k}/${k.k}`],
    ...part('first key', k.firstKey),
    ['rotate-now → all K rotated', `${k.rotateNow.annotateToAllRotatedSeconds} s`, ''],
    ['  annotate → rotated p50 / p95 / max', ms(k.rotateNow.annotateToRotated), ''],
    [
      '  answered (status.accessKey.revoked.rotateNow)',
      `${k.k - k.rotateNow.notAnswered.length}/${k.k}`,
      `${k.k}/${k.k}`,
    ],
    ['  revoked the key that was live', `${k.rotateNow.revokedTheLiveKey}/${k.k}`, `${k.k}/${k.k}`],
    ...part('rotate-now', k.rotateNow),
    ...(k.interval
      ? ([
          [
            `interval rotation (${k.interval.intervalSeconds} s, grace ${k.interval.gracePeriodSeconds} s): due → rotated`,
            ms(k.interval.dueToRotated),
            '',
          ],
          ['  deleteAt → old key deleted', ms(k.interval.deleteAtToDeleted), ''],
          ['  old key deleted', `${k.k - k.interval.notRetired.length}/${k.k}`, `${k.k}/${k.k}`],
          ['  old key live past interval + grace', ms(k.interval.pastIntervalAndGrace), ''],
          ...part('interval rotation', k.interval),
        ] as [string, string, string][])
      : []),
    ['keys per user at the end', min === max ? `${max}` : `${min}–${max}`, '1'],
    ['  one active key, the one GitLab names', `${k.end.oneKeyNamedInGitLab}/${k.k}`, `${k.k}/${k.k}`],
    [
      'key step: machine busy / operator CPU / load average',
      `${k.machine.machineBusyPercent} % / ${k.machine.cpuSeconds.operator} s / ${k.machine.loadAverageBefore.oneMinute} → ${k.machine.loadAverageAfter.oneMinute}`,
      '',
    ],
  ];
}

/** The key step's calls by operation, per federation. */
function keySections(k: Keys): [string, Record<string, number>][] {
  const out: [string, Record<string, number>][] = [
    ['calls per federation, first key (IAMUserAccessKeys)', k.firstKey.calls],
    ['calls per rotation, rotate-now', k.rotateNow.calls],
  ];
  if (k.interval) out.push(['calls per rotation on the interval, with its grace period', k.interval.calls]);
  out.push(
    ['Kubernetes requests per federation, first key', k.firstKey.kubernetesRequests],
    ['Kubernetes requests per rotation, rotate-now', k.rotateNow.kubernetesRequests],
  );
  if (k.interval)
    out.push(['Kubernetes requests per rotation on the interval', k.interval.kubernetesRequests]);
  return out;
}
