// `npm run bench` (#6): the operator at scale, measured, never asserted. Starts
// the testbed (etcd + kube-apiserver, moto behind the IAM proxy, the GitLab and
// CodeConnections fakes), applies N GitLabAwsFederations and N GitLabConnections,
// then runs the operator as its own process and measures:
//   1. cold start: time to informers synced and to every resource Ready, with
//      peak RSS, CPU seconds and the calls made per resource; and, since the
//      testbed shares the machine, how busy the machine was, the CPU of each
//      part of the testbed, and the requests the API server answered;
//   2. steady RSS after the work is done;
//   3. apply → Ready latency of one more federation (p50 / p95 over --samples);
//   4. one steady-state resync: the operator restarted against unchanged AWS and
//      GitLab reconciles every resource once; reads per resource, and writes
//      (which must be 0).
// Calls are counted where they arrive (the IAM proxy, the fakes), not by the
// operator. A person authorises each connection in the CodeConnections fake as
// soon as it exists (PENDING → AVAILABLE); the operator sees it at its next poll
// (--connection-poll-interval 1s here).
//
//   npm run bench [-- --n 1000] [--samples 20] [--out file.json] [--node-options '<flags>'] [-- <operator flags>]
//
// Operator flags after a second `--` are appended (a later flag wins), e.g.
// `npm run bench -- --n 1000 -- --aws-qps 10 --gitlab-qps 10` for the defaults.
// NODE_OPTIONS are the Helm chart's (its `nodeOptions` value) unless
// --node-options is given.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { getCondition } from '../src/runtime/reconcile/conditions.ts';
import { send } from '../src/runtime/transport/http-client.ts';
import { percentile } from '../testbed/chaos/retry-after.ts';
import { type ControlPlane, startControlPlane } from '../testbed/controlplane.ts';
import {
  type CodeConnectionsFake,
  startCodeConnectionsFake,
} from '../testbed/fakes/codeconnections/index.ts';
import { type GitLabFake, startGitLabFake } from '../testbed/fakes/gitlab/index.ts';
import { type Moto, startMoto } from '../testbed/moto.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../testbed/moto-iam-proxy.ts';
import {
  type OperatorProcess,
  runArgs,
  startOperatorProcess,
  testbedAwsEnv,
} from '../testbed/operator-process.ts';
import { waitFor } from '../testbed/processes.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The operator as the image runs it: the bundled dist/cli.cjs (built first), not the .ts sources.
const CLI = join(ROOT, 'dist', 'cli.cjs');
const REGION = 'eu-west-1';
const GROUP = 'gitlab-aws.io';
const VERSION = 'v1alpha1';
const NAMESPACES = 10;
/** The bench measures the operator, not its client-side rate limits: they are raised unless given after `--`. */
const LIMITS = ['--aws-qps', '1000', '--aws-burst', '1000', '--gitlab-qps', '1000', '--gitlab-burst', '1000'];

interface Options {
  n: number;
  samples: number;
  out: string;
  operatorArgs: string[];
  /** NODE_OPTIONS for the operator only (V8 heap flags, say). */
  nodeOptions: string;
  /** Seconds of quiet after the last Ready before the steady RSS is read. */
  settle: number;
}

function parseArgs(argv: string[]): Options {
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  const operatorArgs = split === -1 ? [] : argv.slice(split + 1);
  const opts: Options = {
    n: 1000,
    samples: 20,
    out: '',
    operatorArgs,
    nodeOptions: chartNodeOptions(),
    settle: 15,
  };
  for (let i = 0; i < own.length; i++) {
    const [flag, inline] = own[i]!.split('=', 2);
    const value = inline ?? own[++i];
    const int = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) usage(`${flag} needs a whole number above 0`);
      return n;
    };
    if (flag === '--n') opts.n = int();
    else if (flag === '--samples') opts.samples = int();
    else if (flag === '--settle') opts.settle = int();
    else if (flag === '--out' && value) opts.out = value;
    else if (flag === '--node-options' && value !== undefined) opts.nodeOptions = value;
    else usage(`unknown argument ${own[i]}`);
  }
  opts.out ||= join(ROOT, '.tmp', 'bench', `bench-n${opts.n}.json`);
  return opts;
}

/** The Helm chart's NODE_OPTIONS, so the bench runs the operator with the heap limits it has in a cluster. */
function chartNodeOptions(): string {
  const values = parse(
    readFileSync(join(ROOT, 'deploy', 'helm', 'gitlab-aws-operator', 'values.yaml'), 'utf8'),
  );
  return String(values.nodeOptions ?? '');
}

/** The environment the image (Dockerfile) gives the process besides NODE_OPTIONS: its glibc malloc tuning (MALLOC_*). */
function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  return Object.fromEntries(
    [...dockerfile.matchAll(/^ENV (MALLOC_\w+)=(\d+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

function usage(why: string): never {
  process.stderr.write(
    `${why}\nusage: npm run bench -- [--n 1000] [--samples 20] [--out file.json] [--node-options '<flags>'] [-- <operator flags>]\n`,
  );
  process.exit(2);
}

const log = (s: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- what a user would see: Ready, for the current generation ------------------------
interface KubeObject {
  metadata: { name: string; namespace: string; generation?: number };
  status?: { conditions?: { type: string; status: string; observedGeneration?: number }[] };
}
const isReady = (o: KubeObject) => {
  const ready = getCondition(o.status?.conditions as never, 'Ready');
  return ready?.status === 'True' && ready.observedGeneration === o.metadata.generation;
};

/** Watches one kind in every namespace and remembers when each object was first seen Ready. */
class ReadyTracker {
  readonly readyAt = new Map<string, number>();
  private stopped = false;
  private request: { abort: () => void } | undefined;
  private readonly kc: KubeConfig;
  private readonly plural: string;

  constructor(kc: KubeConfig, plural: string) {
    this.kc = kc;
    this.plural = plural;
  }

  async start(): Promise<void> {
    const watch = new Watch(this.kc);
    const onDone = () => {
      if (!this.stopped) setTimeout(() => void this.start(), 500);
    };
    this.request = await watch.watch(
      `/apis/${GROUP}/${VERSION}/${this.plural}`,
      { allowWatchBookmarks: false },
      (_type: string, obj: KubeObject) => {
        const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
        if (!this.readyAt.has(key) && isReady(obj)) this.readyAt.set(key, Date.now());
      },
      onDone,
    );
  }

  stop(): void {
    this.stopped = true;
    this.request?.abort();
  }
}

// --- the operator process, seen from /proc -------------------------------------------
const CLK_TCK = 100;
interface ProcStats {
  rssMb: number;
  /** Of the RSS: memory the process allocated (heap, native) and mapped files (mostly the node binary's code). */
  rssAnonMb: number;
  rssFileMb: number;
  cpuSeconds: number;
}
function procStats(pid: number): ProcStats | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    // Fields after the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    return {
      rssMb: kb('VmRSS') / 1024,
      rssAnonMb: kb('RssAnon') / 1024,
      rssFileMb: (kb('RssFile') + kb('RssShmem')) / 1024,
      cpuSeconds: cpu,
    };
  } catch {
    return undefined;
  }
}

/** Jiffies of the whole machine from /proc/stat: all, and those not idle. */
function machineJiffies(): { total: number; busy: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { total, busy: total - f[3]! - f[4]! };
}

/**
 * Where the rest of the machine's CPU went (the operator's own is the
 * Sampler's): the API server, etcd, moto, and this process (the GitLab and
 * CodeConnections fakes, the IAM proxy, the watches that see Ready). On two
 * shared cores, a cold start is as fast as all of them together let it be.
 */
class CpuLedger {
  private readonly pids: Record<string, number[]>;
  constructor(pids: Record<string, number[]>) {
    this.pids = pids;
  }
  mark() {
    const byPart: Record<string, number> = {};
    for (const [part, pids] of Object.entries(this.pids))
      byPart[part] = pids.reduce((a, pid) => a + (procStats(pid)?.cpuSeconds ?? 0), 0);
    const own = process.cpuUsage();
    byPart.bench = (own.user + own.system) / 1e6;
    return { byPart, machine: machineJiffies() };
  }
  since(m: ReturnType<CpuLedger['mark']>) {
    const now = this.mark();
    const seconds: Record<string, number> = {};
    for (const [part, v] of Object.entries(now.byPart)) seconds[part] = round(v - (m.byPart[part] ?? 0));
    const total = now.machine.total - m.machine.total;
    return {
      cpuSeconds: seconds,
      machineBusyPercent: total > 0 ? round((100 * (now.machine.busy - m.machine.busy)) / total) : 0,
    };
  }
}

/**
 * Requests the API server has answered, by verb and resource, from its own
 * metrics (apiserver_request_total); watches are left out, as they are long-lived.
 */
async function apiserverRequests(cp: ControlPlane): Promise<Record<string, number>> {
  const response = await send(new URL('/metrics', cp.server), {
    headers: { authorization: `Bearer ${cp.adminToken}` },
    agent: new https.Agent({ ca: cp.caData }),
    timeoutMs: 10_000,
  });
  const out: Record<string, number> = {};
  for (const line of response.text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (name: string) => new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1] ?? '';
    const verb = label('verb');
    if (verb === 'WATCH' || verb === 'CONNECT') continue;
    const sub = label('subresource');
    const key = `kubernetes:${verb} ${label('resource')}${sub ? `/${sub}` : ''}`;
    out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

const difference = (after: Record<string, number>, before: Record<string, number>, per: number) => {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = round(d / per, 2);
  }
  return out;
};

class Sampler {
  peakRssMb = 0;
  last: ProcStats = { rssMb: 0, rssAnonMb: 0, rssFileMb: 0, cpuSeconds: 0 };
  private readonly timer: NodeJS.Timeout;
  constructor(pid: number) {
    this.timer = setInterval(() => {
      const s = procStats(pid);
      if (!s) return;
      this.last = s;
      this.peakRssMb = Math.max(this.peakRssMb, s.rssMb);
    }, 100);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

// --- calls, counted where they arrive --------------------------------------------------
interface Counts {
  /** `iam:GetRole` → 1000, `gitlab:GET /projects/:id` → 1000, ... */
  byOperation: Record<string, number>;
  reads: number;
  writes: number;
}

function gitlabOperation(method: string, path: string): string {
  const p = path
    .replace(/^\/api\/v4/, '')
    .replace(/\/(projects|groups)\/[^/]+/, '/$1/:id')
    .replace(/\/variables\/[^/?]+/, '/variables/:key');
  return `gitlab:${method} ${p}`;
}

class CallLog {
  private readonly proxy: MotoIamProxy;
  private readonly gitlab: GitLabFake;
  private readonly cc: CodeConnectionsFake;
  constructor(proxy: MotoIamProxy, gitlab: GitLabFake, cc: CodeConnectionsFake) {
    this.proxy = proxy;
    this.gitlab = gitlab;
    this.cc = cc;
  }
  mark() {
    return {
      iam: this.proxy.actions.length,
      gitlab: this.gitlab.requests.length,
      cc: this.cc.requests.length,
    };
  }
  since(m: ReturnType<CallLog['mark']>): Counts {
    const ops: { op: string; write: boolean }[] = [
      ...this.proxy.actions.slice(m.iam).map((a) => {
        const name = a.split(':')[1] ?? a;
        return { op: a, write: !/^(Get|List)/.test(name) };
      }),
      ...this.gitlab.requests.slice(m.gitlab).map((r) => ({
        op: gitlabOperation(r.method, r.path),
        write: r.method !== 'GET' && r.method !== 'HEAD',
      })),
      ...this.cc.requests.slice(m.cc).map((r) => ({
        op: `codeconnections:${r.operation}`,
        write: !/^(Get|List)/.test(r.operation),
      })),
    ];
    const byOperation: Record<string, number> = {};
    for (const { op } of ops) byOperation[op] = (byOperation[op] ?? 0) + 1;
    const writes = ops.filter((o) => o.write).length;
    return { byOperation, reads: ops.length - writes, writes };
  }
  total(): number {
    return this.proxy.actions.length + this.gitlab.requests.length + this.cc.requests.length;
  }
}

const perResource = (c: Counts, n: number, prefix: string[]) => {
  const out: Record<string, number> = {};
  for (const [op, count] of Object.entries(c.byOperation))
    if (prefix.some((p) => op.startsWith(p))) out[op] = round(count / n, 2);
  return out;
};
const sum = (o: Record<string, number>, pick: (op: string) => boolean) =>
  round(
    Object.entries(o)
      .filter(([op]) => pick(op))
      .reduce((a, [, v]) => a + v, 0),
    2,
  );
const isWrite = (op: string) =>
  op.startsWith('gitlab:') ? !op.startsWith('gitlab:GET') : !/:(Get|List)/.test(op);
/** "reads / writes" per resource, for the table. */
const readsWrites = (o: Record<string, number>) => `${sum(o, (op) => !isWrite(op))} / ${sum(o, isWrite)}`;
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function metricSum(addr: string, name: string, label?: string): Promise<number> {
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

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

// --- the run ---------------------------------------------------------------------------
async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const { n } = opts;
  process.chdir(ROOT);
  log('building dist/ (npm run build)');
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.ts')], { stdio: 'inherit' });
  log(`N = ${n} federations + ${n} connections in ${NAMESPACES} namespaces; starting the testbed`);

  let cp: ControlPlane | undefined;
  let moto: Moto | undefined;
  let proxy: MotoIamProxy | undefined;
  let gitlab: GitLabFake | undefined;
  let cc: CodeConnectionsFake | undefined;
  let op: OperatorProcess | undefined;
  const trackers: ReadyTracker[] = [];
  let handshakes: NodeJS.Timeout | undefined;
  const stopAll = async () => {
    clearInterval(handshakes);
    for (const t of trackers) t.stop();
    if (op) await Promise.race([op.stop('SIGTERM'), sleep(10_000)]).then(() => op?.stop('SIGKILL'));
    await Promise.allSettled([gitlab?.close(), cc?.close(), proxy?.close()]);
    await Promise.allSettled([moto?.stop(), cp?.stop()]);
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

  try {
    [cp, moto] = await Promise.all([startControlPlane({ crdDirs: [join(ROOT, 'crds')] }), startMoto()]);
    proxy = await startMotoIamProxy(moto.url);
    [gitlab, cc] = await Promise.all([
      startGitLabFake({ tls: true }),
      startCodeConnectionsFake({ region: REGION, connectionQuota: 2 * n + 1000 }),
    ]);
    const caFile = join(ROOT, '.tmp', 'bench', 'gitlab-ca.pem');
    mkdirSync(join(ROOT, '.tmp', 'bench'), { recursive: true });
    writeFileSync(caFile, gitlab.tls!.caPem);
    for (let i = 0; i < n + opts.samples; i++) gitlab.state.addProject(`bench/p${i}`);
    gitlab.state.addMember({ group: 'bench' }, 'deployer', 'maintainer');
    const token = gitlab.state.addToken('deployer', { scopes: ['api'] });

    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const api = kc.makeApiClient(CustomObjectsApi);
    const core = kc.makeApiClient(CoreV1Api);
    const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`);
    for (const ns of namespaces) {
      await core.createNamespace({ body: { metadata: { name: ns } } });
      await core.createNamespacedSecret({
        namespace: ns,
        body: { metadata: { name: 'gitlab-token' }, stringData: { token } },
      });
    }

    const federation = (i: number) => ({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'GitLabAwsFederation',
      metadata: { name: `fed-${i}`, namespace: namespaces[i % NAMESPACES]! },
      spec: {
        gitlab: { url: gitlab!.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        access: [{ project: `bench/p${i}`, refs: ['main'], tags: ['v*'] }],
        ciVariables: { target: { project: `bench/p${i}` } },
      },
    });
    const connection = (i: number) => ({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'GitLabConnection',
      metadata: { name: `conn-${i}`, namespace: namespaces[i % NAMESPACES]! },
      spec: { gitlab: { url: 'https://gitlab.com' }, aws: { region: REGION } },
    });
    const create = (plural: string, body: { metadata: { namespace: string } }) =>
      api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: body.metadata.namespace,
        plural,
        body,
      });

    const applyStart = Date.now();
    const indices = Array.from({ length: n }, (_, i) => i);
    await pool(indices, 32, async (i) => {
      await create('gitlabawsfederations', federation(i));
      await create('gitlabconnections', connection(i));
    });
    log(`applied ${2 * n} resources in ${round((Date.now() - applyStart) / 1000)} s`);

    const feds = new ReadyTracker(kc, 'gitlabawsfederations');
    const conns = new ReadyTracker(kc, 'gitlabconnections');
    trackers.push(feds, conns);
    await Promise.all([feds.start(), conns.start()]);

    // A person authorises every new connection at once.
    handshakes = setInterval(() => {
      for (const c of cc!.connections()) if (c.status === 'PENDING') cc!.completeHandshake(c.arn);
    }, 200);

    const calls = new CallLog(proxy, gitlab, cc);
    const env = {
      ...testbedAwsEnv({ iamUrl: proxy.url, codeConnectionsUrl: cc.endpoint, region: REGION }),
      NODE_EXTRA_CA_CERTS: caFile,
      ...imageEnv(),
      NODE_OPTIONS: opts.nodeOptions,
    };
    const operatorArgs = [
      ...runArgs(undefined, cp.kubeconfigPath),
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
    const startOperator = async () => {
      const began = Date.now();
      const proc = startOperatorProcess(CLI, operatorArgs, env);
      const line = await proc.waitForLog((l) => l.msg === 'serving metrics and probes', 60_000);
      const addrs = { metrics: String(line.metricsAddr), health: String(line.healthAddr) };
      const sampler = new Sampler(proc.child.pid!);
      const synced = waitFor(
        'informers synced',
        async () => ((await fetch(`http://${addrs.health}/readyz`)).ok ? Date.now() : undefined),
        { timeoutMs: 600_000, intervalMs: 20 },
      );
      return { proc, began, addrs, sampler, synced };
    };

    // 1. Cold start.
    log(
      `starting the operator: ${Object.entries(imageEnv())
        .map(([k, v]) => `${k}=${v} `)
        .join('')}NODE_OPTIONS="${opts.nodeOptions}" ${operatorArgs.slice(1).join(' ')}`,
    );
    const mark1 = calls.mark();
    const ledger = new CpuLedger({
      // startControlPlane's pids: etcd's, then the API server's.
      etcd: cp.pids().slice(0, 1),
      'kube-apiserver': cp.pids().slice(1),
      moto: moto.pid ? [moto.pid] : [],
    });
    const cpu1 = ledger.mark();
    const kube1 = await apiserverRequests(cp);
    const first = await startOperator();
    op = first.proc;
    const syncedAt = await first.synced;
    log(`informers synced ${round((syncedAt - first.began) / 1000, 2)} s after start`);
    let lastProgress = 0;
    await waitFor(
      'every resource Ready',
      async () => {
        if (Date.now() - lastProgress > 5000) {
          lastProgress = Date.now();
          const { rssMb, rssAnonMb, rssFileMb, cpuSeconds } = first.sampler.last;
          const heapMb =
            (await metricSum(first.addrs.metrics, 'gitlab_aws_operator_nodejs_heap_size_total_bytes')) /
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
    const lastReady = (t: ReadyTracker) => Math.max(...t.readyAt.values());
    const allReadyAt = Math.max(lastReady(feds), lastReady(conns));
    const cold = {
      startToInformersSyncedSeconds: round((syncedAt - first.began) / 1000, 2),
      startToAllReadySeconds: round((allReadyAt - first.began) / 1000, 1),
      startToFederationsReadySeconds: round((lastReady(feds) - first.began) / 1000, 1),
      startToConnectionsReadySeconds: round((lastReady(conns) - first.began) / 1000, 1),
      peakRssMb: round(first.sampler.peakRssMb),
      cpuSeconds: round(first.sampler.last.cpuSeconds),
    };
    const coldCounts = calls.since(mark1);
    const coldCpu = ledger.since(cpu1);
    const kubeCold = difference(await apiserverRequests(cp), kube1, 2 * n);
    const coldReconciles = {
      federation: await metricSum(
        first.addrs.metrics,
        'gitlab_aws_operator_reconcile_total',
        'controller="gitlabawsfederation"',
      ),
      connection: await metricSum(
        first.addrs.metrics,
        'gitlab_aws_operator_reconcile_total',
        'controller="gitlabconnection"',
      ),
    };
    log(`all Ready ${cold.startToAllReadySeconds} s after start`);

    // 2. Steady memory: idle for a while after the work.
    await sleep(opts.settle * 1000);
    const steadyRssMb = round(first.sampler.last.rssMb);
    const steadyRssSplit = {
      anonMb: round(first.sampler.last.rssAnonMb),
      fileMb: round(first.sampler.last.rssFileMb),
    };
    const mb = async (name: string) => round((await metricSum(first.addrs.metrics, name)) / 1048576);
    const steadyHeap = {
      heapUsedMb: await mb('gitlab_aws_operator_nodejs_heap_size_used_bytes'),
      heapTotalMb: await mb('gitlab_aws_operator_nodejs_heap_size_total_bytes'),
      externalMb: await mb('gitlab_aws_operator_nodejs_external_memory_bytes'),
    };

    // 3. Apply → Ready of one more federation, one at a time.
    const mark3 = calls.mark();
    const latencies: number[] = [];
    for (let s = 0; s < opts.samples; s++) {
      const i = n + s;
      const body = federation(i);
      body.metadata.name = `latency-${s}`;
      const t = Date.now();
      await create('gitlabawsfederations', body);
      const key = `${body.metadata.namespace}/${body.metadata.name}`;
      const at = await waitFor('latency sample Ready', async () => feds.readyAt.get(key), {
        timeoutMs: 120_000,
        intervalMs: 5,
      }).catch(() => undefined);
      if (at === undefined) {
        log(`${key} was not Ready within 120 s; the figures count it as 120 s`);
        latencies.push(120_000);
      } else latencies.push(at - t);
    }
    const createCounts = calls.since(mark3);
    const latency = {
      samples: latencies.length,
      p50Ms: percentile(latencies, 50) ?? Number.NaN,
      p95Ms: percentile(latencies, 95) ?? Number.NaN,
      maxMs: Math.max(...latencies),
    };
    log(`apply → Ready p50 ${latency.p50Ms} ms, p95 ${latency.p95Ms} ms`);
    const cpuBeforeRestart = first.sampler.last.cpuSeconds;
    first.sampler.stop();

    // 4. One steady-state resync: a restarted operator reconciles everything once.
    const statusWritesBefore = await metricSum(
      first.addrs.metrics,
      'gitlab_aws_operator_status_writes_total',
    );
    await first.proc.stop('SIGTERM');
    const federations = n + opts.samples;
    const mark4 = calls.mark();
    const second = await startOperator();
    op = second.proc;
    const synced2 = await second.synced;
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
        return reconciled >= federations + n && depth === 0 && Date.now() - quietSince > 3000
          ? true
          : undefined;
      },
      { timeoutMs: Math.max(600_000, n * 600), intervalMs: 250 },
    );
    const resyncCounts = calls.since(mark4);
    const resyncStatusWrites = await metricSum(
      second.addrs.metrics,
      'gitlab_aws_operator_status_writes_total',
    );
    const reconciles = {
      federation: await metricSum(
        second.addrs.metrics,
        'gitlab_aws_operator_reconcile_total',
        'controller="gitlabawsfederation"',
      ),
      connection: await metricSum(
        second.addrs.metrics,
        'gitlab_aws_operator_reconcile_total',
        'controller="gitlabconnection"',
      ),
    };
    const resync = {
      method: 'operator restarted; every resource reconciled once against unchanged AWS and GitLab',
      startToInformersSyncedSeconds: round((synced2 - second.began) / 1000, 2),
      reconciles,
      federationCallsPerResource: perResource(resyncCounts, federations, ['iam:', 'gitlab:']),
      connectionCallsPerResource: perResource(resyncCounts, n, ['codeconnections:']),
      writes: resyncCounts.writes,
      kubernetesStatusWrites: resyncStatusWrites,
      rssMb: round(second.sampler.last.rssMb),
    };
    second.sampler.stop();

    const fedCreate = perResource(coldCounts, n, ['iam:', 'gitlab:']);
    const connCreate = perResource(coldCounts, n, ['codeconnections:']);
    const singleCreate = perResource(createCounts, opts.samples, ['iam:', 'gitlab:']);
    const result = {
      date: new Date().toISOString(),
      n,
      machine: { cores: availableParallelism(), node: process.version },
      nodeOptions: opts.nodeOptions,
      operatorArgs: operatorArgs
        .slice(1)
        .filter((a, i, all) => all[i - 1] !== '--kubeconfig' && a !== '--kubeconfig'),
      coldStart: {
        ...cold,
        reconciles: coldReconciles,
        statusWritesDuringColdStartAndSamples: statusWritesBefore,
        machine: coldCpu,
        kubernetesRequestsPerResource: kubeCold,
      },
      steadyRssMb,
      steadyRssSplit,
      steadyHeap,
      cpuSecondsUntilRestart: round(cpuBeforeRestart),
      applyToReady: latency,
      callsPerResource: {
        federationColdStart: fedCreate,
        connectionColdStart: connCreate,
        federationSingleCreate: singleCreate,
      },
      resync,
    };
    mkdirSync(join(opts.out, '..'), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    printTable(result, {
      fedCreate,
      connCreate,
      singleCreate,
      resyncFed: resync.federationCallsPerResource,
      resyncConn: resync.connectionCallsPerResource,
      kubeCold,
    });
    process.stdout.write(`\nJSON: ${opts.out}\n`);
  } finally {
    await stopAll();
  }
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
  ] as const) {
    process.stdout.write(`\n${title}:\n`);
    for (const [op, v] of Object.entries(counts).sort()) process.stdout.write(`  ${op.padEnd(48)} ${v}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
