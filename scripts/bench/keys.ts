// 5. Keys (method IAMUserAccessKeys, issue #15): what a key costs. After the
// other steps, K federations of the second method are applied, spread over the
// bench namespaces like the others, each with its own IAM user and its own
// GitLab project (bench/k<i>) for the key. Measured, never asserted:
//   a. apply → all K Ready: the user made, its first key made and in GitLab;
//      calls, status writes and Kubernetes requests per federation;
//   b. a revocation: every federation annotated gitlab-aws.io/rotate-now=<value>,
//      until each status.accessKey.revoked.rotateNow is that value: a new key
//      in GitLab and the old one deleted at once; the same figures per rotation;
//   c. with --interval-rotation only (about a minute more): a rotation on
//      spec.rotation.interval, when the operator's own timer says so, and the
//      end of the replaced key's grace period (deactivated, then deleted):
//      calls per rotation, and how far past interval + grace period a key lived;
//   d. at the end, each user's keys in IAM (1) and the one GitLab names.
// Calls are counted at the IAM proxy and the GitLab fake over each part, until
// the operator has been quiet for 3 s; the other 2N resources are idle then
// (the resync interval is longer than the step), so the calls are the keys'.
import { loadavg } from 'node:os';
import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type { KubeConfig } from '@kubernetes/client-node';
import type { GitLabAwsFederation } from '../../src/api/v1alpha1/index.ts';
import { percentile } from '../../testbed/chaos/retry-after.ts';
import { waitFor } from '../../testbed/processes.ts';
import { apiserverRequests } from './apiserver.ts';
import { type CallLog, perResource } from './calls.ts';
import { metricSum, type StartedOperator } from './operator.ts';
import { REGION } from './options.ts';
import { CpuLedger } from './process-stats.ts';
import { type KubeObject, ReadyTracker } from './ready.ts';
import type { BenchResources } from './resources.ts';
import type { BenchTestbed, Running } from './testbed.ts';
import { log, pool, round } from './util.ts';

const ROTATE_NOW = 'gitlab-aws.io/rotate-now';
const PLURAL = 'gitlabawsfederations';
/** The grace period of the interval rotation (c). */
const GRACE_SECONDS = 10;

type Federation = GitLabAwsFederation;
const asFederation = (o: KubeObject) => o as unknown as Federation;
const keyOf = (o: { metadata: { namespace?: string; name?: string } }) =>
  `${o.metadata.namespace}/${o.metadata.name}`;

export interface KeysContext {
  bed: BenchTestbed;
  kc: KubeConfig;
  running: Running;
  resources: BenchResources;
  /** The tracker of every federation's first Ready. */
  feds: ReadyTracker;
  calls: CallLog;
  /** The operator that runs now (the one the resync started). */
  operator: StartedOperator;
  k: number;
  intervalRotation: boolean;
}

export async function measureKeys(ctx: KeysContext) {
  const { resources, k } = ctx;
  const bodies = Array.from({ length: k }, (_, i) => resources.keyFederation(i));
  const names = new Set(bodies.map(keyOf));
  const loadBefore = loadAverage();
  const ledger = new CpuLedger({
    operator: [ctx.operator.proc.child.pid!],
    etcd: ctx.bed.cp.pids().slice(0, 1),
    'kube-apiserver': ctx.bed.cp.pids().slice(1),
    moto: ctx.bed.moto.pid ? [ctx.bed.moto.pid] : [],
  });
  const cpuMark = ledger.mark();

  // a. The first key of each.
  log(`key step: applying ${k} federations of method IAMUserAccessKeys`);
  let w = await openWindow(ctx);
  const appliedAt = new Map<string, number>();
  const t0 = Date.now();
  await pool(bodies, 32, async (body) => {
    appliedAt.set(keyOf(body), Date.now());
    await resources.create(PLURAL, body);
  });
  const notReady = await waitForAll('key federations Ready', ctx.feds, names);
  const firstKey = {
    /** Federations not Ready within the wait. */
    notReady,
    applyToAllReadySeconds: round((lastOf(ctx.feds, names) - t0) / 1000, 2),
    applyToReady: latencies(names, appliedAt, ctx.feds),
    ...(await closeWindow(ctx, w, { 'kubernetes:POST gitlabawsfederations': k })),
  };
  log(`all ${k} key federations Ready ${firstKey.applyToAllReadySeconds} s after the first was applied`);

  // b. A revocation: rotate-now on every one.
  const before = await keyStatuses(resources, names);
  const value = `bench-${Date.now()}`;
  const revoked = await track(ctx, (o) => {
    const fed = asFederation(o);
    return names.has(keyOf(fed)) && fed.status?.accessKey?.revoked?.rotateNow === value;
  });
  log(`key step: annotating ${k} federations ${ROTATE_NOW}=${value}`);
  w = await openWindow(ctx);
  const annotatedAt = new Map<string, number>();
  const t1 = Date.now();
  await pool(bodies, 32, async (body) => {
    annotatedAt.set(keyOf(body), Date.now());
    await resources.patch(PLURAL, body.metadata.namespace, body.metadata.name, {
      metadata: { annotations: { [ROTATE_NOW]: value } },
    });
  });
  const unanswered = await waitForAll(`${ROTATE_NOW} answered`, revoked, names);
  revoked.stop();
  const revocationFigures = await closeWindow(ctx, w, { 'kubernetes:PATCH gitlabawsfederations': k });
  const afterRevocation = await keyStatuses(resources, names);
  const rotateNow = {
    annotateToAllRotatedSeconds: round((lastOf(revoked, names) - t1) / 1000, 2),
    annotateToRotated: latencies(names, annotatedAt, revoked),
    /** Federations whose revoked key is the one live before, and whose live key is a new one. */
    revokedTheLiveKey: [...names].filter((n) => {
      const was = before.get(n)?.id;
      const now = afterRevocation.get(n);
      return !!was && now?.revoked?.id === was && now.id !== was;
    }).length,
    /** Federations whose status never answered the annotation within the wait, and what their status says. */
    notAnswered: unanswered.map((n) => {
      const now = afterRevocation.get(n);
      return {
        federation: n,
        keyReplaced: !!now?.id && now.id !== before.get(n)?.id,
        previous: now?.previous,
        revoked: now?.revoked,
      };
    }),
    ...revocationFigures,
  };
  log(`all ${k} rotated ${rotateNow.annotateToAllRotatedSeconds} s after the first annotation`);

  // c. A rotation on the interval, and the end of its grace period.
  const interval = ctx.intervalRotation ? await intervalRotation(ctx, bodies, names) : undefined;

  // d. What is left: each user's keys, and the one GitLab names.
  const end = await keysAtTheEnd(ctx, names);
  log(`keys per user at the end: ${end.keysPerUser.min}–${end.keysPerUser.max}`);
  return {
    k,
    firstKey,
    rotateNow,
    ...(interval ? { interval } : {}),
    end,
    machine: { ...ledger.since(cpuMark), loadAverageBefore: loadBefore, loadAverageAfter: loadAverage() },
  };
}

/**
 * c. The rotation interval is set so that every key falls due at least
 * `margin` from now (the spec change itself reconciles each once, with reads
 * only, before the window opens); then the operator's own timer rotates each
 * key and, GRACE_SECONDS later, deactivates and deletes the replaced one.
 */
async function intervalRotation(
  ctx: KeysContext,
  bodies: { metadata: { namespace: string; name: string } }[],
  names: Set<string>,
) {
  const { resources, k } = ctx;
  const before = await keyStatuses(resources, names);
  const created = [...before.values()].map((s) => Date.parse(s.createdAt ?? ''));
  const marginSeconds = Math.max(20, Math.ceil(k / 20));
  const intervalSeconds = Math.max(60, Math.ceil((Date.now() - Math.min(...created)) / 1000) + marginSeconds);
  const deleteAt = new Map<string, number>();
  const rotated = await track(ctx, (o) => {
    const fed = asFederation(o);
    const key = keyOf(fed);
    const id = fed.status?.accessKey?.id;
    if (!names.has(key) || !id || id === before.get(key)?.id) return false;
    const at = Date.parse(fed.status?.accessKey?.previous?.deleteAt ?? '');
    if (Number.isFinite(at)) deleteAt.set(key, at);
    return true;
  });
  const retired = await track(ctx, (o) => {
    const fed = asFederation(o);
    const id = fed.status?.accessKey?.id;
    return (
      names.has(keyOf(fed)) && !!id && id !== before.get(keyOf(fed))?.id && !fed.status?.accessKey?.previous
    );
  });
  log(
    `key step: spec.rotation {interval: ${intervalSeconds}s, gracePeriod: ${GRACE_SECONDS}s} on ${k} federations; waiting for the interval`,
  );
  await pool(bodies, 32, async (body) => {
    await resources.patch(PLURAL, body.metadata.namespace, body.metadata.name, {
      spec: { rotation: { interval: `${intervalSeconds}s`, gracePeriod: `${GRACE_SECONDS}s` } },
    });
  });
  await quiet(ctx);
  const w = await openWindow(ctx);
  const notRetired = await waitForAll('the replaced keys deleted after their grace period', retired, names, {
    timeoutMs: (intervalSeconds + GRACE_SECONDS) * 1000 + Math.max(120_000, k * 500),
  });
  rotated.stop();
  retired.stop();
  const dueAt = (n: string) => Date.parse(before.get(n)?.createdAt ?? '') + intervalSeconds * 1000;
  const lag = (pick: (n: string) => number | undefined) =>
    spread(
      [...names].flatMap((n) => {
        const v = pick(n);
        return v === undefined || !Number.isFinite(v) ? [] : [v];
      }),
    );
  return {
    /** Federations whose replaced key was not gone from the status within the wait. */
    notRetired,
    intervalSeconds,
    gracePeriodSeconds: GRACE_SECONDS,
    /** Due (key created + interval) → the new key seen in the status. */
    dueToRotated: lag((n) => (rotated.readyAt.get(n) ?? Number.NaN) - dueAt(n)),
    /** previous.deleteAt → the status without `previous` (the old key deactivated and deleted). */
    deleteAtToDeleted: lag((n) => (retired.readyAt.get(n) ?? Number.NaN) - (deleteAt.get(n) ?? Number.NaN)),
    /** How long each replaced key lived past interval + grace period (created → seen deleted). */
    pastIntervalAndGrace: lag(
      (n) =>
        (retired.readyAt.get(n) ?? Number.NaN) -
        Date.parse(before.get(n)?.createdAt ?? '') -
        (intervalSeconds + GRACE_SECONDS) * 1000,
    ),
    ...(await closeWindow(ctx, w, {})),
  };
}

type KeyStatus = NonNullable<NonNullable<Federation['status']>['accessKey']> & { userArn?: string };

async function keyStatuses(resources: BenchResources, names: Set<string>): Promise<Map<string, KeyStatus>> {
  const out = new Map<string, KeyStatus>();
  for (const fed of await resources.list<Federation>(PLURAL)) {
    if (names.has(keyOf(fed)))
      out.set(keyOf(fed), { ...(fed.status?.accessKey ?? {}), userArn: fed.status?.userArn });
  }
  return out;
}

/** d. Each user's keys, read from moto directly (not through the proxy, whose count is the operator's). */
async function keysAtTheEnd(ctx: KeysContext, names: Set<string>) {
  const iam = new IAMClient({
    endpoint: ctx.bed.moto.url,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const statuses = await keyStatuses(ctx.resources, names);
  const perUser: number[] = [];
  let inGitLab = 0;
  await pool([...statuses.entries()], 8, async ([name, st]) => {
    const user = (st.userArn ?? '').slice((st.userArn ?? '').lastIndexOf('/') + 1);
    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? [];
    perUser.push(keys.length);
    const i = name.slice(name.lastIndexOf('-') + 1);
    const vars = ctx.bed.gitlab.state.variables({ project: `bench/k${i}` });
    const named = vars.find((v) => v.key === 'AWS_ACCESS_KEY_ID')?.value;
    if (
      keys.length === 1 &&
      keys[0]!.AccessKeyId === st.id &&
      named === st.id &&
      keys[0]!.Status === 'Active'
    )
      inGitLab++;
  });
  iam.destroy();
  return {
    users: perUser.length,
    keysPerUser: { min: Math.min(...perUser), max: Math.max(...perUser) },
    /** Users whose one key is active, is the status's, and is the one AWS_ACCESS_KEY_ID names. */
    oneKeyNamedInGitLab: inGitLab,
  };
}

interface Window {
  calls: ReturnType<CallLog['mark']>;
  kube: Record<string, number>;
  statusWrites: number;
  reconciles: number;
  retries: number;
  /** Seconds spent in federation reconciles so far. */
  reconcileSeconds: number;
}

const FEDERATION = 'controller="gitlabawsfederation"';

async function openWindow(ctx: KeysContext): Promise<Window> {
  const addr = ctx.operator.addrs.metrics;
  return {
    calls: ctx.calls.mark(),
    kube: await apiserverRequests(ctx.bed.cp),
    statusWrites: await metricSum(addr, 'gitlab_aws_operator_status_writes_total', FEDERATION),
    reconciles: await metricSum(addr, 'gitlab_aws_operator_reconcile_total', FEDERATION),
    retries: await metricSum(addr, 'gitlab_aws_operator_workqueue_retries_total', FEDERATION),
    reconcileSeconds: await metricSum(addr, RECONCILE_SECONDS, FEDERATION),
  };
}

const RECONCILE_SECONDS = 'gitlab_aws_operator_reconcile_duration_seconds_sum';

/**
 * Waits until the operator is quiet, then gives the window's figures per
 * federation. `own` are the bench's own Kubernetes requests in the window,
 * left out of the operator's.
 */
async function closeWindow(ctx: KeysContext, w: Window, own: Record<string, number>) {
  await quiet(ctx);
  const { k } = ctx;
  const addr = ctx.operator.addrs.metrics;
  const counts = ctx.calls.since(w.calls);
  const kubeNow = await apiserverRequests(ctx.bed.cp);
  const kubernetesRequests: Record<string, number> = {};
  for (const [op, v] of Object.entries(kubeNow)) {
    // What a federation's reconcile asks for; the API server's own (its lease, endpoints, OpenAPI) are left out.
    if (!/ (gitlabawsfederations|secrets|events)\b/.test(op)) continue;
    const d = v - (w.kube[op] ?? 0) - (own[op] ?? 0);
    if (d > 0) kubernetesRequests[op] = round(d / k, 2);
  }
  const per = async (name: string, then: number) =>
    round(((await metricSum(addr, name, FEDERATION)) - then) / k, 2);
  const reconciles =
    (await metricSum(addr, 'gitlab_aws_operator_reconcile_total', FEDERATION)) - w.reconciles;
  const seconds = (await metricSum(addr, RECONCILE_SECONDS, FEDERATION)) - w.reconcileSeconds;
  return {
    calls: perResource(counts, k, ['iam:', 'gitlab:']),
    /** The mean time of one reconcile in the window (the operator runs --max-concurrent-reconciles at once). */
    reconcileMeanMs: reconciles > 0 ? Math.round((1000 * seconds) / reconciles) : 0,
    reconciles: await per('gitlab_aws_operator_reconcile_total', w.reconciles),
    retries: await per('gitlab_aws_operator_workqueue_retries_total', w.retries),
    statusWrites: await per('gitlab_aws_operator_status_writes_total', w.statusWrites),
    kubernetesRequests,
  };
}

/** No call to IAM or GitLab for 3 s and nothing queued. */
async function quiet(ctx: KeysContext): Promise<void> {
  let since = Date.now();
  let last = ctx.calls.total();
  await waitFor(
    'the operator quiet',
    async () => {
      const depth = await metricSum(ctx.operator.addrs.metrics, 'gitlab_aws_operator_workqueue_depth');
      if (ctx.calls.total() !== last) {
        last = ctx.calls.total();
        since = Date.now();
      }
      return depth === 0 && Date.now() - since > 3000 ? true : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 250 },
  );
}

async function track(ctx: KeysContext, test: (o: KubeObject) => boolean): Promise<ReadyTracker> {
  const tracker = new ReadyTracker(ctx.kc, PLURAL, test);
  ctx.running.trackers.push(tracker);
  await tracker.start();
  return tracker;
}

/**
 * Waits until `tracker` has seen every one of `names`, with a progress line
 * every 5 s; gives those it has not seen by the timeout (a finding, printed).
 */
async function waitForAll(
  what: string,
  tracker: ReadyTracker,
  names: Set<string>,
  { timeoutMs = Math.max(120_000, names.size * 1000) } = {},
): Promise<string[]> {
  let lastProgress = Date.now();
  const missing = () => [...names].filter((n) => !tracker.readyAt.has(n));
  const all = await waitFor(
    what,
    async () => {
      const left = missing().length;
      if (Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        log(`${what}: ${names.size - left}/${names.size}`);
      }
      return left === 0 ? true : undefined;
    },
    { timeoutMs, intervalMs: 20 },
  ).catch(() => false);
  if (all) return [];
  log(`${what}: not seen within ${timeoutMs / 1000} s: ${missing().join(', ')}`);
  return missing();
}

/** When the tracker saw the last of `names` it saw. */
const lastOf = (tracker: ReadyTracker, names: Set<string>) =>
  Math.max(...[...names].flatMap((n) => tracker.readyAt.get(n) ?? []));

/** From when each was applied (or annotated) to when the tracker saw it. */
const latencies = (names: Set<string>, from: Map<string, number>, tracker: ReadyTracker) =>
  spread([...names].map((n) => (tracker.readyAt.get(n) ?? Number.NaN) - (from.get(n) ?? Number.NaN)));

/** p50, p95 and max of what was seen (NaN for what was not). */
const spread = (values: number[]) => {
  const ms = values.filter(Number.isFinite);
  return {
    p50Ms: percentile(ms, 50) ?? Number.NaN,
    p95Ms: percentile(ms, 95) ?? Number.NaN,
    maxMs: ms.length ? Math.max(...ms) : Number.NaN,
  };
};

/** The machine's load: other work on it (tests, say) makes every time here longer. */
const loadAverage = () => {
  const [one, five] = loadavg();
  return { oneMinute: round(one!, 2), fiveMinutes: round(five!, 2) };
};
