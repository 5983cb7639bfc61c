// Helpers for the GitLabConnection integration tests: the product operator as its
// own process, pointed at a CodeConnections fake, and the API as a user sees it.
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { inject } from 'vitest';
import {
  API_VERSION,
  CONNECTION_KIND,
  connectionResource,
  type GitLabConnection,
  type GitLabConnectionSpec,
} from '../../src/api/v1alpha1/index.ts';
import { getCondition, kstatusViolations } from '../../src/runtime/reconcile/conditions.ts';
import type { Condition } from '../../src/runtime/transport/kube.ts';
import {
  type CodeConnectionsFake,
  type CodeConnectionsFakeOptions,
  startCodeConnectionsFake,
} from '../../testbed/fakes/codeconnections/index.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import { createNamespace, kubeConfig, kubectl } from '../harness/kube.ts';

export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
export const OWNER_TAG = 'gitlab-aws.io/owner';
export const CLUSTER_TAG = 'gitlab-aws.io/cluster';
export const CONSOLE_URL = 'https://console.aws.amazon.com/codesuite/settings/connections?region=us-east-1';
/** Fast polling, so tests need not wait 30 s for a PENDING connection. */
export const POLL_ARGS = ['--connection-poll-interval', '300ms', '--connection-poll-max-interval', '1500ms'];

const type = {
  group: connectionResource.group,
  version: connectionResource.version,
  plural: connectionResource.plural,
};
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function connectionApi(kubeconfig = inject('kubeconfig')) {
  const api = kubeConfig(kubeconfig).makeApiClient(CustomObjectsApi);
  return {
    create: (
      namespace: string,
      name: string,
      spec: GitLabConnectionSpec,
      annotations?: Record<string, string>,
    ) =>
      api.createNamespacedCustomObject({
        ...type,
        namespace,
        body: {
          apiVersion: API_VERSION,
          kind: CONNECTION_KIND,
          metadata: { name, ...(annotations ? { annotations } : {}) },
          spec,
        },
      }) as Promise<GitLabConnection>,
    get: (namespace: string, name: string) =>
      api.getNamespacedCustomObject({ ...type, namespace, name }) as Promise<GitLabConnection>,
    /** JSON merge patch of the object (spec, metadata). */
    patch: (namespace: string, name: string, body: object) =>
      api.patchNamespacedCustomObject(
        { ...type, namespace, name, body },
        mergePatch,
      ) as Promise<GitLabConnection>,
    delete: (namespace: string, name: string) =>
      api.deleteNamespacedCustomObject({ ...type, namespace, name }),
    exists: async (namespace: string, name: string) => {
      try {
        await api.getNamespacedCustomObject({ ...type, namespace, name });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return false;
        throw err;
      }
    },
  };
}

export const api = connectionApi;

export function cond(obj: GitLabConnection, t: string): Condition | undefined {
  return getCondition(obj.status?.conditions as Condition[] | undefined, t);
}

export interface Testbed {
  ns: string;
  fake: CodeConnectionsFake;
  op: OperatorProcess;
  /** Starts the operator again (after a crash), with the same environment unless told otherwise. */
  restart: (endpoint?: string) => OperatorProcess;
  stop: () => Promise<void>;
}

export function startOperator(
  ns: string,
  endpoint: string,
  extraArgs: string[] = [],
  kubeconfig = inject('kubeconfig'),
): OperatorProcess {
  return startOperatorProcess(
    CLI,
    // The tests compare owner tags with the cluster ID `default`.
    [
      ...runArgs(ns, kubeconfig),
      '--cluster-id',
      'default',
      '--log-level',
      'debug',
      ...POLL_ARGS,
      ...extraArgs,
    ],
    {
      AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      // Nothing from the developer's machine's shared AWS config.
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    },
  );
}

/** A namespace, a fresh fake and the product operator watching that namespace. */
export async function startTestbed(
  prefix: string,
  options: {
    fake?: CodeConnectionsFakeOptions;
    args?: string[];
    /** Where the operator reaches AWS: the fake, unless something is put in front of it. */
    endpoint?: (fake: CodeConnectionsFake) => Promise<string>;
  } = {},
): Promise<Testbed> {
  const ns = await createNamespace(prefix);
  const fake = await startCodeConnectionsFake(options.fake);
  const endpoint = options.endpoint ? await options.endpoint(fake) : fake.endpoint;
  const bed: Testbed = {
    ns,
    fake,
    op: startOperator(ns, endpoint, options.args),
    restart: (endpoint = fake.endpoint) => {
      bed.op = startOperator(ns, endpoint, options.args);
      return bed.op;
    },
    stop: async () => {
      await bed.op.stop('SIGKILL');
      await fake.close();
    },
  };
  return bed;
}

/** Polls the object until `predicate` holds; every state seen on the way must keep the kstatus invariants. */
export async function waitForConnection(
  ns: string,
  name: string,
  what: string,
  predicate: (obj: GitLabConnection) => boolean,
  { timeoutMs = 30_000, op }: { timeoutMs?: number; op?: OperatorProcess } = {},
): Promise<GitLabConnection> {
  const client = connectionApi();
  let last: GitLabConnection | undefined;
  return waitFor(
    `${ns}/${name}: ${what}`,
    async () => {
      last = await client.get(ns, name);
      if (last.status?.conditions?.length) {
        const problems = kstatusViolations(last as Parameters<typeof kstatusViolations>[0]);
        if (problems.length) throw new Error(`kstatus violated: ${problems.join('; ')}`);
      }
      return predicate(last) ? last : undefined;
    },
    {
      timeoutMs,
      intervalMs: 100,
      diagnostics: () =>
        `last status: ${JSON.stringify(last?.status, null, 2)}\n${
          op ? op.lines.map((l) => JSON.stringify(l)).join('\n') : ''
        }`,
    },
  );
}

export const readyReason = (obj: GitLabConnection) => cond(obj, 'Ready')?.reason;

export async function waitForGone(ns: string, name: string, timeoutMs = 30_000): Promise<void> {
  const client = connectionApi();
  await waitFor(`${ns}/${name} gone`, async () => ((await client.exists(ns, name)) ? undefined : true), {
    timeoutMs,
    intervalMs: 100,
  });
}

export interface KubeEvent {
  type: string;
  reason: string;
  message: string;
  count: number;
}

export async function eventsOf(ns: string, name: string): Promise<KubeEvent[]> {
  const result = await kubectl([
    'get',
    'events',
    '-n',
    ns,
    '--field-selector',
    `involvedObject.name=${name}`,
    '-o',
    'json',
  ]);
  if (result.code !== 0) throw new Error(result.stderr);
  return (JSON.parse(result.stdout).items as KubeEvent[]).map(({ type, reason, message, count }) => ({
    type,
    reason,
    message,
    count,
  }));
}

/** Every recorded request of one operation, as the fake saw it. */
export function requestsOf(fake: CodeConnectionsFake, operation: string) {
  return fake.requests.filter((r) => r.operation === operation);
}

export const CONNECTION_ARN =
  /^arn:aws:codestar-connections:us-east-1:123456789012:connection\/[0-9a-f-]{36}$/;

/** Events are sent in the background: wait for one with this reason. */
export async function waitForEvent(
  ns: string,
  name: string,
  reason: string,
  timeoutMs = 10_000,
): Promise<KubeEvent> {
  return waitFor(
    `${ns}/${name} event ${reason}`,
    async () => (await eventsOf(ns, name)).find((e) => e.reason === reason),
    { timeoutMs, intervalMs: 200 },
  );
}
