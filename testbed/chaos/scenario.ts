// The chaos scenario of issue #6, shared by the short mode (test/chaos/chaos.test.ts,
// inside `npm test`) and the long mode (`npm run chaos`, scripts/chaos.ts).
//
// It starts a testbed of its own (control plane, moto behind the IAM proxy, a
// GitLab fake over TLS, a CodeConnections fake), plants foreign things the
// operator must leave alone, applies federations and connections, and then,
// with the operator as its own process: injects IAM throttling and GitLab 429s,
// SIGKILLs and restarts the operator at random moments, restarts the
// kube-apiserver once, and deletes and changes some resources. Afterwards
// (faults cleared) it waits until every resource is Ready, measures a leader
// failover with two replicas, and runs the invariant checker.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateRoleCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { GitLabAwsFederation, GitLabConnection } from '../../src/api/v1alpha1/index.ts';
import { type ControlPlane, startControlPlane } from '../controlplane.ts';
import { type CodeConnectionsFake, startCodeConnectionsFake } from '../fakes/codeconnections/index.ts';
import { type GitLabFake, startGitLabFake } from '../fakes/gitlab/index.ts';
import { type Moto, startMoto } from '../moto.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../moto-iam-proxy.ts';
import { type OperatorProcess, runArgs, startOperatorProcess, testbedAwsEnv } from '../operator-process.ts';
import { waitFor } from '../processes.ts';
import {
  checkInvariants,
  type ExternalState,
  type Foreign,
  listExternal,
  notReadyReason,
} from './invariants.ts';
import { percentile, retryAfterSpacing, type Spacing } from './retry-after.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'src/cli.ts');
const REGION = 'eu-west-1';
const CLUSTER_ID = 'chaos';
const NAMESPACES = ['chaos-a', 'chaos-b'];
const GROUP = 'gitlab-aws.io';
const VERSION = 'v1alpha1';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface Lease {
  durationS: number;
  renewS: number;
  retryS: number;
}

export interface ChaosOptions {
  mode: 'short' | 'long';
  federations: number;
  connections: number;
  /** GitLab projects the federations' variables are spread over. */
  projects: number;
  kills: number;
  /** Time the operator runs between a restart and the next SIGKILL: uniform in [min, max] ms. */
  killIntervalMs: [number, number];
  iamThrottleProbability: number;
  gitlab429: { probability: number; times: number; retryAfterSeconds: number };
  /** Share of federations and of connections deleted, and of each changed, during the chaos. */
  deleteShare: number;
  changeShare: number;
  /** Leader election for the failover measurement; the product's defaults when undefined. */
  lease: Lease | undefined;
  /** Extra operator flags (rate limits). */
  operatorArgs: string[];
  readyTimeoutMs: number;
  seed: number;
  /** Where operator logs and the figures go. */
  outDir: string;
  log: (line: string) => void;
}

export const DEFAULT_LEASE: Lease = { durationS: 15, renewS: 10, retryS: 2 };

const RATE_ARGS = [
  '--aws-qps',
  '100',
  '--aws-burst',
  '100',
  '--gitlab-qps',
  '100',
  '--gitlab-burst',
  '100',
  '--max-concurrent-reconciles',
  '8',
];

export function shortOptions(outDir: string, log: (l: string) => void = console.log): ChaosOptions {
  return {
    mode: 'short',
    federations: 200,
    connections: 50,
    projects: 10,
    kills: 20,
    killIntervalMs: [1500, 5000],
    iamThrottleProbability: 0.5,
    gitlab429: { probability: 0.2, times: 30, retryAfterSeconds: 1 },
    deleteShare: 0.1,
    changeShare: 0.1,
    lease: { durationS: 4, renewS: 3, retryS: 1 },
    operatorArgs: RATE_ARGS,
    readyTimeoutMs: 150_000,
    seed: Date.now() % 1_000_000,
    outDir,
    log,
  };
}

export function longOptions(outDir: string, log: (l: string) => void = console.log): ChaosOptions {
  return {
    ...shortOptions(outDir, log),
    mode: 'long',
    kills: 100,
    killIntervalMs: [1000, 8000],
    gitlab429: { probability: 0.2, times: 100, retryAfterSeconds: 2 },
    lease: undefined,
    readyTimeoutMs: 300_000,
  };
}

export interface ChaosReport {
  mode: 'short' | 'long';
  seed: number;
  federations: number;
  connections: number;
  gitlabProjects: number;
  kills: number;
  apiServerRestarts: number;
  apiServerRestartS: number;
  deleted: { federations: number; connections: number };
  changed: { federations: number; connections: number };
  chaosS: number;
  /** What the operator had made when the chaos stopped (its roles, marked variables, tagged connections). */
  atChaosEnd: { roles: number; variables: number; connections: number };
  /** From the end of the chaos (faults cleared, last restart) until every resource was Ready and every deleted one gone. */
  timeToAllReadyS: number | null;
  iam: { requests: number; requestsDuringChaos: number; throttlesInjected: number; probability: number };
  gitlab: {
    requests: number;
    requestsDuringChaos: number;
    injected429: number;
    retryAfterS: number;
    spacing: Omit<Spacing, 'gapsMs' | 'sameRequestGapsMs'> & {
      minMs?: number;
      medianMs?: number;
      sameRequestMinMs?: number;
      sameRequestMedianMs?: number;
    };
  };
  failover: {
    leaseDurationS: number;
    renewDeadlineS: number;
    retryPeriodS: number;
    /** SIGKILL of the leader until the standby logged that it acquired the Lease. */
    takeoverS: number;
    /** SIGKILL of the leader until a federation changed right after it was Ready again. */
    reconciledS: number;
    leaseHolderAfter: string;
    newLeader: string;
  };
  checked: { roles: number; providers: number; variables: number; connections: number; hosts: number };
  violations: string[];
  /** What was deleted or changed, when: to read a violation against. */
  mutations: { type: string; resource: string; beforeKill: number; at: string }[];
  totalS: number;
}

/** mulberry32: a small seeded generator, so a run can be repeated with its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (i: number) => String(i).padStart(3, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => Math.round(ms / 100) / 10;

type Kind = 'fed' | 'conn';
interface Item {
  kind: Kind;
  ns: string;
  name: string;
  index: number;
}
type Mutation =
  | { type: 'delete'; item: Item }
  | { type: 'scope' | 'target' | 'description' | 'refs' | 'audience' | 'tags'; item: Item };

async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${String(err)}`);
      await sleep(250);
    }
  }
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const began = Date.now();
  const random = rng(o.seed);
  const uniform = ([min, max]: [number, number]) => min + random() * (max - min);
  mkdirSync(o.outDir, { recursive: true });
  o.log(`[chaos] ${o.mode} mode, seed ${o.seed}, output in ${o.outDir}`);

  const stops: (() => Promise<unknown>)[] = [];
  let cp: ControlPlane | undefined;
  const operators: OperatorProcess[] = [];
  let authoriser: NodeJS.Timeout | undefined;
  try {
    // ---------------------------------------------------------------- testbed
    let moto: Moto;
    [cp, moto] = await Promise.all([
      startControlPlane({ crdDirs: [join(ROOT, 'crds')], log: o.log }),
      startMoto(),
    ]);
    const controlPlane = cp;
    stops.push(() => moto.stop());
    const proxy: MotoIamProxy = await startMotoIamProxy(moto.url);
    stops.push(() => proxy.close());
    const gitlab: GitLabFake = await startGitLabFake({ tls: true });
    stops.push(() => gitlab.close());
    const cc: CodeConnectionsFake = await startCodeConnectionsFake({ region: REGION });
    stops.push(() => cc.close());
    const caFile = join(o.outDir, 'gitlab-ca.pem');
    writeFileSync(caFile, gitlab.tls!.caPem);
    const iam = new IAMClient({
      endpoint: moto.url, // moto itself: the checker's reads are not the operator's and see no faults
      region: REGION,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    stops.push(async () => iam.destroy());

    const kc = new KubeConfig();
    kc.loadFromFile(controlPlane.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const plural = (k: Kind) => (k === 'fed' ? 'gitlabawsfederations' : 'gitlabconnections');
    const ref = (item: Item) => ({
      group: GROUP,
      version: VERSION,
      plural: plural(item.kind),
      namespace: item.ns,
      name: item.name,
    });

    // ------------------------------------------------------- GitLab and Secrets
    const projects = Array.from({ length: o.projects }, (_, i) => `chaos/app-${i}`);
    for (const p of projects) {
      gitlab.state.addProject(p);
      gitlab.state.addMember({ project: p }, 'deployer', 'maintainer');
    }
    const token = gitlab.state.addToken('deployer', { scopes: ['api'] });
    for (const ns of NAMESPACES) {
      await core.createNamespace({ body: { metadata: { name: ns } } });
      await core.createNamespacedSecret({
        namespace: ns,
        body: { metadata: { name: 'gitlab-token' }, stringData: { token } },
      });
    }

    // ------------------------------------------------------ foreign, planted first
    for (const [i, p] of projects.entries()) {
      gitlab.state.setVariable(
        { project: p },
        {
          key: 'ROLE_ARN',
          value: `arn:aws:iam::123456789012:role/by-hand-${i}`,
          environment_scope: 'production',
          description: 'set by hand',
        },
      );
      gitlab.state.setVariable(
        { project: p },
        {
          key: 'ROLE_ARN',
          value: 'arn:aws:iam::123456789012:role/staging',
          environment_scope: 'staging',
          description: null,
        },
      );
      gitlab.state.setVariable(
        { project: p },
        { key: 'AWS_DEFAULT_REGION', value: 'us-west-2', environment_scope: '*' },
      );
      gitlab.state.setVariable(
        { project: p },
        { key: 'DEPLOY_TOKEN', value: `not-a-secret-${i}`, environment_scope: '*', masked: false },
      );
      // Marked by a federation of another cluster: not this operator's either.
      gitlab.state.setVariable(
        { project: p },
        {
          key: 'ROLE_ARN',
          value: 'arn:aws:iam::123456789012:role/elsewhere',
          environment_scope: 'elsewhere',
          description: 'managed by gitlab-aws-operator: elsewhere/fed',
        },
      );
    }
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'chaos-hand-made',
        AssumeRolePolicyDocument: trust,
        Description: 'made by hand',
      }),
    );
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'other-cluster-chaos-a-fed-000',
        AssumeRolePolicyDocument: trust,
        Tags: [
          { Key: 'gitlab-aws.io/owner', Value: 'chaos-a/fed-000' },
          { Key: 'gitlab-aws.io/cluster', Value: 'other-cluster' },
        ],
      }),
    );
    // A connection and a host made by hand. (An unmarked connection with the name
    // of one of ours would stop that one: the operator refuses the name, by design.)
    cc.plantConnection({ name: 'by-hand', region: REGION });
    cc.plantHost({
      name: 'by-hand',
      providerType: 'GitLabSelfManaged',
      providerEndpoint: 'https://gitlab.internal',
      status: 'AVAILABLE',
      region: REGION,
    });
    const before = await listExternal(iam, gitlab, projects, cc);
    const foreign: Foreign = {
      roles: before.roles,
      variables: before.variables,
      connections: before.connections,
      hosts: before.hosts,
    };
    o.log(
      `[chaos] planted foreign: ${foreign.roles.length} IAM roles, ${foreign.variables.length} variables, ${foreign.connections.length} connection, ${foreign.hosts.length} host`,
    );

    // --------------------------------------------------------------- resources
    const items: Item[] = [
      ...Array.from({ length: o.federations }, (_, i) => ({
        kind: 'fed' as const,
        ns: NAMESPACES[i % 2]!,
        name: `fed-${pad(i)}`,
        index: i,
      })),
      ...Array.from({ length: o.connections }, (_, i) => ({
        kind: 'conn' as const,
        ns: NAMESPACES[i % 2]!,
        name: `conn-${pad(i)}`,
        index: i,
      })),
    ];
    const gitlabRef = { url: gitlab.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } };
    const fedSpec = (i: number) => ({
      gitlab: gitlabRef,
      access: [{ project: projects[i % projects.length], refs: ['main'] }],
      ciVariables: { target: { project: projects[i % projects.length] }, environmentScope: `env-${pad(i)}` },
    });
    const connSpec = (i: number) =>
      i % 5 === 0
        ? { gitlab: { url: gitlab.url }, host: { name: `host-${pad(i)}` }, tags: { team: 'chaos' } }
        : { gitlab: { url: 'https://gitlab.com' }, tags: { team: 'chaos' } };
    const body = (item: Item) => ({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: item.kind === 'fed' ? 'GitLabAwsFederation' : 'GitLabConnection',
      metadata: { name: item.name },
      spec: item.kind === 'fed' ? fedSpec(item.index) : connSpec(item.index),
    });

    // What will be deleted or changed, and when (which kill it precedes).
    const shuffled = <T>(xs: T[]) => {
      const a = [...xs];
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a;
    };
    const feds = shuffled(items.filter((i) => i.kind === 'fed'));
    const conns = shuffled(items.filter((i) => i.kind === 'conn'));
    const nDelF = Math.round(o.federations * o.deleteShare);
    const nChF = Math.round(o.federations * o.changeShare);
    const nDelC = Math.round(o.connections * o.deleteShare);
    const nChC = Math.round(o.connections * o.changeShare);
    const fedChanges = ['scope', 'target', 'description', 'refs', 'audience'] as const;
    const mutations: Mutation[] = [
      ...feds.slice(0, nDelF).map((item) => ({ type: 'delete' as const, item })),
      ...feds.slice(nDelF, nDelF + nChF).map((item, k) => ({
        // IAM allows 50 tags on the provider (one per audience we add): a few audiences only.
        type:
          fedChanges[k % fedChanges.length] === 'audience' && k >= 15
            ? ('scope' as const)
            : fedChanges[k % fedChanges.length]!,
        item,
      })),
      ...conns.slice(0, nDelC).map((item) => ({ type: 'delete' as const, item })),
      ...conns.slice(nDelC, nDelC + nChC).map((item) => ({ type: 'tags' as const, item })),
    ];
    const schedule = new Map<number, Mutation[]>();
    for (const m of mutations) {
      const at = 1 + Math.floor(random() * Math.max(1, o.kills - 2));
      schedule.set(at, [...(schedule.get(at) ?? []), m]);
    }
    const deleted = { federations: [] as string[], connections: [] as string[] };

    const applied: { type: string; resource: string; beforeKill: number; at: string }[] = [];
    const applyMutation = async (m: Mutation, beforeKill: number) => {
      const { item } = m;
      const key = `${item.ns}/${item.name}`;
      applied.push({
        type: m.type,
        resource: `${item.kind === 'fed' ? 'GitLabAwsFederation' : 'GitLabConnection'} ${key}`,
        beforeKill,
        at: new Date().toISOString(),
      });
      if (m.type === 'delete') {
        await retrying(`delete ${key}`, () => custom.deleteNamespacedCustomObject(ref(item)));
        (item.kind === 'fed' ? deleted.federations : deleted.connections).push(key);
        return;
      }
      const i = item.index;
      const patch =
        m.type === 'scope'
          ? { spec: { ciVariables: { environmentScope: `env-${pad(i)}-v2` } } }
          : m.type === 'target'
            ? { spec: { ciVariables: { target: { project: projects[(i + 1) % projects.length] } } } }
            : m.type === 'description'
              ? { spec: { role: { description: `changed during chaos (${i})` } } }
              : m.type === 'refs'
                ? {
                    spec: {
                      access: [{ project: projects[i % projects.length], refs: ['main', 'release/*'] }],
                    },
                  }
                : m.type === 'audience'
                  ? { spec: { audience: `chaos-audience-${pad(i)}` } }
                  : { spec: { tags: { team: 'chaos-v2', changed: String(i) } } };
      await retrying(`patch ${key}`, () =>
        custom.patchNamespacedCustomObject({ ...ref(item), body: patch }, mergePatch),
      );
    };

    // --------------------------------------------------------------- operator
    let generation = 0;
    const operatorEnv = {
      ...testbedAwsEnv({ iamUrl: proxy.url, codeConnectionsUrl: cc.endpoint, region: REGION }),
      NODE_EXTRA_CA_CERTS: caFile,
      KUBECONFIG: '',
    };
    const startOperator = (extra: string[] = []): OperatorProcess => {
      const n = ++generation;
      const op = startOperatorProcess(
        CLI,
        [
          ...runArgs(NAMESPACES.join(','), controlPlane.kubeconfigPath),
          '--propagation-delay',
          '0s',
          '--cluster-id',
          CLUSTER_ID,
          '--log-level',
          'info',
          '--connection-poll-interval',
          '300ms',
          '--connection-poll-max-interval',
          '1500ms',
          ...o.operatorArgs,
          ...extra,
        ],
        operatorEnv,
      );
      operators.push(op);
      // Keep each process's log on disk and out of memory once it is gone.
      void op.exited.then((code) => {
        const text = op.lines.map((l) => JSON.stringify(l)).join('\n');
        writeFileSync(
          join(o.outDir, `operator-${pad(n)}.log`),
          `${text}\n--- stderr (exit ${code ?? op.child.signalCode}) ---\n${op.stderr()}`,
        );
        op.lines.length = 0;
        operators.splice(operators.indexOf(op), 1);
      });
      return op;
    };
    const restarts: number[] = [];
    let chaosKills = 0;
    const kill = async (op: OperatorProcess) => {
      restarts.push(Date.now());
      op.child.kill('SIGKILL');
      await op.exited;
    };

    // The person who sets up hosts and authorises connections in the console,
    // for what the operator made (foreign ones stay as they are).
    authoriser = setInterval(() => {
      for (const h of cc.hosts()) {
        if (h.status === 'PENDING' && cc.tagsOf(h.arn)['gitlab-aws.io/cluster'] === CLUSTER_ID)
          cc.setHostStatus(h.arn, 'AVAILABLE');
      }
      for (const c of cc.connections()) {
        if (c.status !== 'PENDING' || cc.tagsOf(c.arn)['gitlab-aws.io/cluster'] !== CLUSTER_ID) continue;
        if (c.hostArn && cc.host(c.hostArn)?.status !== 'AVAILABLE') continue;
        cc.completeHandshake(c.arn);
      }
    }, 250);

    // ------------------------------------------------------------------ chaos
    const iamFault = proxy.faults.add({ type: 'throttle', probability: o.iamThrottleProbability });
    const glFault = gitlab.faults.add({
      status: 429,
      retryAfterSeconds: o.gitlab429.retryAfterSeconds,
      probability: o.gitlab429.probability,
      times: o.gitlab429.times,
    });
    let op = startOperator();
    await pool(items, 8, (item) =>
      custom
        .createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: plural(item.kind),
          namespace: item.ns,
          body: body(item),
        })
        .then(() => undefined),
    );
    o.log(
      `[chaos] applied ${o.federations} federations and ${o.connections} connections in ${secs(Date.now() - began)} s since start`,
    );
    const chaosBegan = Date.now();
    const during = { iamRequests: 0, gitlabRequests: 0 };
    let apiServerRestartMs = 0;
    for (let k = 1; k <= o.kills; k++) {
      await sleep(uniform(o.killIntervalMs));
      for (const m of schedule.get(k) ?? []) await applyMutation(m, k);
      if (k === Math.ceil(o.kills / 2)) {
        const t = Date.now();
        await controlPlane.restartApiServer();
        apiServerRestartMs = Date.now() - t;
        o.log(`[chaos] kube-apiserver restarted in ${secs(apiServerRestartMs)} s`);
      }
      if (k === o.kills) {
        // The chaos ends: faults off, then the last crash.
        proxy.faults.clear();
        gitlab.faults.clear();
        during.iamRequests = proxy.actions.length;
        during.gitlabRequests = gitlab.faults.arrivals.length;
      }
      await kill(op);
      chaosKills += 1;
      await sleep(random() * 300);
      op = startOperator();
      if (k % 10 === 0 || k === o.kills)
        o.log(`[chaos] ${k}/${o.kills} kills (${secs(Date.now() - chaosBegan)} s)`);
    }
    const chaosEnded = Date.now();
    // How far the operator got under fire: what existed when the chaos stopped.
    const roleNames: string[] = [];
    let marker: string | undefined;
    do {
      const page = await iam.send(new ListRolesCommand({ Marker: marker, MaxItems: 1000 }));
      roleNames.push(...(page.Roles ?? []).map((r) => r.RoleName ?? ''));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    const atChaosEnd = {
      roles: roleNames.filter((n) => /^chaos-[ab]-fed-/.test(n)).length,
      variables: projects.flatMap((p) =>
        gitlab.state
          .variables({ project: p })
          .filter((v) => v.description?.startsWith('managed by gitlab-aws-operator: chaos-')),
      ).length,
      connections: cc.connections().filter((c) => cc.tagsOf(c.arn)['gitlab-aws.io/cluster'] === CLUSTER_ID)
        .length,
    };

    // --------------------------------------------------- wait until all Ready
    const list = async (k: Kind) =>
      (
        await Promise.all(
          NAMESPACES.map(
            async (ns) =>
              (
                (await custom.listNamespacedCustomObject({
                  group: GROUP,
                  version: VERSION,
                  plural: plural(k),
                  namespace: ns,
                })) as { items: unknown[] }
              ).items,
          ),
        )
      ).flat();
    let pending: string[] = [];
    const settled = async () => {
      const [f, c] = [
        (await list('fed')) as GitLabAwsFederation[],
        (await list('conn')) as GitLabConnection[],
      ];
      pending = [...f, ...c]
        .map((x) => [`${x.kind} ${x.metadata.namespace}/${x.metadata.name}`, notReadyReason(x)])
        .filter(([, why]) => why)
        .map(([k, why]) => `${k} ${why}`);
      return pending.length === 0 ? true : undefined;
    };
    const readyTimedOut = await waitFor('every resource Ready and every deleted one gone', settled, {
      timeoutMs: o.readyTimeoutMs,
      intervalMs: 500,
    }).then(
      () => false,
      () => true,
    );
    const timeToAllReadyMs = Date.now() - chaosEnded;
    if (readyTimedOut) {
      o.log(
        `[chaos] NOT all Ready ${secs(timeToAllReadyMs)} s after the chaos stopped:\n${pending.slice(0, 40).join('\n')}`,
      );
    } else o.log(`[chaos] all Ready ${secs(timeToAllReadyMs)} s after the chaos stopped`);

    // ------------------------------------------------------- leader failover
    await kill(op);
    const lease = o.lease ?? DEFAULT_LEASE;
    const leaseArgs = [
      '--leader-elect',
      '--leader-election-namespace',
      NAMESPACES[0]!,
      ...(o.lease
        ? [
            '--leader-election-lease-duration',
            `${lease.durationS}s`,
            '--leader-election-renew-deadline',
            `${lease.renewS}s`,
            '--leader-election-retry-period',
            `${lease.retryS}s`,
          ]
        : []),
    ];
    const acquired = (l: Record<string, unknown>) => l.msg === 'acquired the leader lease';
    const pair = [startOperator(leaseArgs), startOperator(leaseArgs)];
    await Promise.race(pair.map((p) => p.waitForLog(acquired, 60_000).catch(() => undefined)));
    const leader = pair.find((p) => p.lines.some(acquired));
    if (!leader) throw new Error('neither replica acquired the leader lease within 60 s');
    const standby = pair.find((p) => p !== leader)!;
    // Let the leader renew once or twice, as in a steady state.
    await sleep(lease.retryS * 1000 * 1.5);
    const survivor = (await list('fed')) as GitLabAwsFederation[];
    const probe = survivor[0]!;
    const probeItem: Item = {
      kind: 'fed',
      ns: probe.metadata.namespace!,
      name: probe.metadata.name!,
      index: -1,
    };
    const killedAt = Date.now();
    await kill(leader);
    const patched = (await custom.patchNamespacedCustomObject(
      { ...ref(probeItem), body: { spec: { role: { description: 'changed after the leader died' } } } },
      mergePatch,
    )) as GitLabAwsFederation;
    const line = await standby.waitForLog(acquired, (lease.durationS + 30) * 1000);
    const takeoverMs = Date.parse(String(line.time)) - killedAt;
    await waitFor(
      'the probe federation reconciled by the new leader',
      async () => {
        const f = (await custom.getNamespacedCustomObject(ref(probeItem))) as GitLabAwsFederation;
        return f.metadata.generation === patched.metadata.generation && !notReadyReason(f) ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const reconciledMs = Date.now() - killedAt;
    const leaseNow = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: NAMESPACES[0]!, name: 'gitlab-aws-operator' });
    o.log(
      `[chaos] failover: standby took the lease ${secs(takeoverMs)} s after the leader's SIGKILL (lease ${lease.durationS} s), reconciled after ${secs(reconciledMs)} s`,
    );

    // ------------------------------------------------------------- invariants
    await waitFor('every resource Ready after the failover', settled, {
      timeoutMs: readyTimedOut ? 5_000 : 60_000,
      intervalMs: 500,
    }).catch(() => undefined); // the checker names what is not Ready
    const external: ExternalState = await listExternal(iam, gitlab, projects, cc);
    const violations = checkInvariants({
      clusterId: CLUSTER_ID,
      defaultRegion: REGION,
      federations: (await list('fed')) as GitLabAwsFederation[],
      connections: (await list('conn')) as GitLabConnection[],
      deleted,
      external,
      foreign,
    });
    if (standby.child.exitCode !== null)
      violations.push(`the surviving replica exited (${standby.child.exitCode})`);

    const spacing = retryAfterSpacing(gitlab.faults.arrivals, restarts);
    const { gapsMs, sameRequestGapsMs, ...spacingRest } = spacing;
    const report: ChaosReport = {
      mode: o.mode,
      seed: o.seed,
      federations: o.federations,
      connections: o.connections,
      gitlabProjects: o.projects,
      kills: chaosKills,
      apiServerRestarts: 1,
      apiServerRestartS: secs(apiServerRestartMs),
      deleted: { federations: deleted.federations.length, connections: deleted.connections.length },
      changed: {
        federations: mutations.filter((m) => m.type !== 'delete' && m.item.kind === 'fed').length,
        connections: mutations.filter((m) => m.type !== 'delete' && m.item.kind === 'conn').length,
      },
      chaosS: secs(chaosEnded - chaosBegan),
      atChaosEnd,
      timeToAllReadyS: readyTimedOut ? null : secs(timeToAllReadyMs),
      iam: {
        requests: proxy.actions.length,
        requestsDuringChaos: during.iamRequests,
        throttlesInjected: iamFault.hits,
        probability: o.iamThrottleProbability,
      },
      gitlab: {
        requests: gitlab.faults.arrivals.length,
        requestsDuringChaos: during.gitlabRequests,
        injected429: glFault.hits,
        retryAfterS: o.gitlab429.retryAfterSeconds,
        spacing: {
          ...spacingRest,
          minMs: percentile(gapsMs, 0),
          medianMs: percentile(gapsMs, 50),
          sameRequestMinMs: percentile(sameRequestGapsMs, 0),
          sameRequestMedianMs: percentile(sameRequestGapsMs, 50),
        },
      },
      failover: {
        leaseDurationS: lease.durationS,
        renewDeadlineS: lease.renewS,
        retryPeriodS: lease.retryS,
        takeoverS: secs(takeoverMs),
        reconciledS: secs(reconciledMs),
        leaseHolderAfter: leaseNow.spec?.holderIdentity ?? '',
        newLeader: String(line.identity),
      },
      checked: {
        roles: external.roles.length,
        providers: external.providers.length,
        variables: external.variables.length,
        connections: external.connections.length,
        hosts: external.hosts.length,
      },
      violations,
      mutations: applied,
      totalS: 0,
    };
    report.totalS = secs(Date.now() - began);
    writeFileSync(join(o.outDir, 'chaos.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    if (authoriser) clearInterval(authoriser);
    await Promise.all([...operators].map((p) => p.stop('SIGKILL')));
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await cp?.stop();
  }
}

/** The figures as a table for people. */
export function formatReport(r: ChaosReport): string {
  const s = r.gitlab.spacing;
  const rows: [string, string][] = [
    ['mode / seed', `${r.mode} / ${r.seed}`],
    [
      'resources',
      `${r.federations} federations, ${r.connections} connections, ${r.gitlabProjects} GitLab projects`,
    ],
    ['deleted during chaos', `${r.deleted.federations} federations, ${r.deleted.connections} connections`],
    ['changed during chaos', `${r.changed.federations} federations, ${r.changed.connections} connections`],
    ['operator SIGKILLs', `${r.kills} (chaos lasted ${r.chaosS} s)`],
    [
      'made under chaos',
      `${r.atChaosEnd.roles} roles, ${r.atChaosEnd.variables} variables, ${r.atChaosEnd.connections} connections existed when it stopped`,
    ],
    ['kube-apiserver restarts', `${r.apiServerRestarts} (${r.apiServerRestartS} s)`],
    [
      'IAM throttles injected',
      `${r.iam.throttlesInjected} of ${r.iam.requestsDuringChaos} IAM/STS requests during the chaos (p = ${r.iam.probability}; ${r.iam.requests} in all)`,
    ],
    [
      'GitLab 429s injected',
      `${r.gitlab.injected429} of ${r.gitlab.requestsDuringChaos} requests during the chaos (Retry-After ${r.gitlab.retryAfterS} s; ${r.gitlab.requests} in all)`,
    ],
    [
      'time to all Ready',
      r.timeToAllReadyS === null ? 'NOT all Ready in time' : `${r.timeToAllReadyS} s after the chaos stopped`,
    ],
    [
      'after a 429: next request',
      `min ${s.minMs ?? '-'} ms, median ${s.medianMs ?? '-'} ms over ${s.measured} (${s.excludedRestart} excluded: restart in the window; ${s.inFlight} in flight); ${s.early.length} earlier than Retry-After`,
    ],
    [
      'after a 429: same request',
      `min ${s.sameRequestMinMs ?? '-'} ms, median ${s.sameRequestMedianMs ?? '-'} ms; ${s.earlySameRequest.length} earlier than Retry-After`,
    ],
    [
      'leader failover',
      `lease taken ${r.failover.takeoverS} s after SIGKILL (lease duration ${r.failover.leaseDurationS} s, renew ${r.failover.renewDeadlineS} s, retry ${r.failover.retryPeriodS} s); a change reconciled after ${r.failover.reconciledS} s`,
    ],
    [
      'checked',
      `${r.checked.roles} IAM roles, ${r.checked.providers} OIDC providers, ${r.checked.variables} variables, ${r.checked.connections} connections, ${r.checked.hosts} hosts`,
    ],
    ['invariant violations', String(r.violations.length)],
    ['total', `${r.totalS} s`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return [
    ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`),
    ...r.violations.slice(0, 50).map((v) => `  VIOLATION: ${v}`),
    ...(r.violations.length > 50 ? [`  ... and ${r.violations.length - 50} more`] : []),
  ].join('\n');
}
