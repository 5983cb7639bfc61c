// A GitLab instance (the fake), moto behind the IAM proxy, and the product
// operator as its own process, for the federation's integration tests.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeleteOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, inject } from 'vitest';
import { stringify } from 'yaml';
import { runCheckAccess } from '../../src/access/cli.ts';
import type { GitLabAwsFederation } from '../../src/api/v1alpha1/index.ts';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import { type GitLabFake, startGitLabFake } from '../../testbed/fakes/gitlab/index.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { removeOnExit, waitFor } from '../../testbed/processes.ts';
import { createNamespace, kubeConfig, kubectl } from '../harness/kube.ts';

export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
export const REGION = 'eu-west-1';

export const iamClient = () =>
  new IAMClient({
    endpoint: inject('motoIamUrl'),
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });

export function awsEnv(): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL_IAM: inject('motoIamUrl'),
    AWS_ENDPOINT_URL_STS: inject('motoIamUrl'),
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: REGION,
  };
}

export interface GitLabInstance {
  fake: GitLabFake;
  token: string;
  caFile: string;
  /**
   * Closes the fake, after deleting its issuer's OIDC provider from moto: moto
   * outlives the test file, and a later fake on the same port has the same
   * issuer, whose federations would adopt this provider, audiences and all.
   */
  close: () => Promise<void>;
}

/** A GitLab over HTTPS with payments/api (Maintainer), payments/libs (Owner) and a token with the api scope. */
export async function startGitLab(options: { pathPrefix?: string } = {}): Promise<GitLabInstance> {
  const fake = await startGitLabFake({ tls: true, ...options });
  fake.state.addProject('payments/api');
  fake.state.addProject('payments/libs/crypto');
  fake.state.addMember({ project: 'payments/api' }, 'deployer', 'maintainer');
  fake.state.addMember({ group: 'payments/libs' }, 'deployer', 'owner');
  const token = fake.state.addToken('deployer', { scopes: ['api'] });
  const caFile = join(tmpdir(), `gao-gitlab-ca-${process.pid}-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(caFile, fake.tls!.caPem);
  removeOnExit(caFile);
  return {
    fake,
    token,
    caFile,
    close: async () => {
      await forgetProvider(fake.url);
      await fake.close();
    },
  };
}

/**
 * The operator. With `trustGitLab`, the fake's CA is added to Node's trust
 * store, so the fake behaves like a publicly trusted instance (gitlab.com).
 */
export function startOperator(
  namespace: string,
  gitlab: GitLabInstance | undefined,
  {
    args = [] as string[],
    trustGitLab = true,
    iamUrl = inject('motoIamUrl'),
    tenancy = 'open' as 'open' | 'restricted',
  } = {},
): OperatorProcess {
  return startOperatorProcess(
    CLI,
    [
      ...runArgs(namespace, inject('kubeconfig'), tenancy),
      '--propagation-delay',
      '1s',
      '--cluster-id',
      'itest',
      '--log-level',
      'debug',
      ...args,
    ],
    {
      ...awsEnv(),
      AWS_ENDPOINT_URL_IAM: iamUrl,
      AWS_ENDPOINT_URL_STS: iamUrl,
      ...(trustGitLab && gitlab ? { NODE_EXTRA_CA_CERTS: gitlab.caFile } : {}),
    },
  );
}

export async function apply(namespace: string, manifest: object): Promise<void> {
  const result = await kubectl(['apply', '-n', namespace, '-f', '-'], { stdin: stringify(manifest) });
  if (result.code !== 0) throw new Error(result.stderr);
}

export async function createTokenSecret(
  namespace: string,
  token: string,
  name = 'gitlab-token',
): Promise<void> {
  await apply(namespace, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { token } });
}

/** The GitLab instance's CA bundle, for spec.gitlab.caSecretRef {name: gitlab-ca}. */
export async function createCaSecret(namespace: string, caPem: string, name = 'gitlab-ca'): Promise<void> {
  await apply(namespace, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    stringData: { 'ca.crt': caPem },
  });
}

export function federation(
  name: string,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
) {
  return {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabAwsFederation',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec,
  };
}

export async function getFederation(namespace: string, name: string): Promise<GitLabAwsFederation> {
  return (await kubeConfig().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: 'gitlab-aws.io',
    version: 'v1alpha1',
    plural: 'gitlabawsfederations',
    namespace,
    name,
  })) as GitLabAwsFederation;
}

/** Waits until the federation's condition `type` has `status` for its current generation. */
export async function waitForCondition(
  namespace: string,
  name: string,
  type: string,
  status: 'True' | 'False',
  { reason, timeoutMs = 30_000 }: { reason?: string; timeoutMs?: number } = {},
): Promise<GitLabAwsFederation> {
  let last: GitLabAwsFederation | undefined;
  return waitFor(
    `${namespace}/${name} ${type}=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      last = await getFederation(namespace, name);
      const c = getCondition(last.status?.conditions as never, type);
      return c?.status === status &&
        c.observedGeneration === last.metadata.generation &&
        (!reason || c.reason === reason)
        ? last
        : undefined;
    },
    { timeoutMs, intervalMs: 200, diagnostics: () => JSON.stringify(last?.status, null, 2) },
  );
}

export async function eventsOf(
  namespace: string,
  name: string,
): Promise<{ type: string; reason: string; message: string }[]> {
  const result = await kubectl([
    'get',
    'events',
    '-n',
    namespace,
    '--field-selector',
    `involvedObject.name=${name}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(result.stdout).items as { type: string; reason: string; message: string }[]).map(
    ({ type, reason, message }) => ({ type, reason, message }),
  );
}

/** Deletes the OIDC provider of an issuer from moto, if there is one. */
export async function forgetProvider(issuer: string): Promise<void> {
  await iamClient()
    .send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArnOf(issuer) }))
    .catch(() => undefined);
}

/** The smallest federation spec on a GitLab fake: payments/api on main, the token Secret gitlab-token. */
export function federationSpec(gitlab: GitLabInstance, overrides: Record<string, unknown> = {}) {
  return {
    gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
    access: [{ project: 'payments/api', refs: ['main'] }],
    ...overrides,
  };
}

/** The smallest spec of method IAMUserAccessKeys: the key into payments/api, region eu-west-1. */
export function keysSpec(gitlab: GitLabInstance, overrides: Record<string, unknown> = {}) {
  return {
    gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
    aws: { region: REGION },
    method: 'IAMUserAccessKeys',
    iamUser: {},
    ciVariables: { target: { project: 'payments/api' } },
    ...overrides,
  };
}

/** The ARN of the IAM OIDC provider for an issuer in moto's account. */
export const providerArnOf = (issuer: string) =>
  `arn:aws:iam::123456789012:oidc-provider/${issuer.replace('https://', '')}`;

/** Is the IAM entity there (a get that fails with NoSuchEntity says no)? */
async function exists(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return true;
  } catch (err) {
    if (/^NoSuchEntity/.test((err as Error).name)) return false;
    throw err;
  }
}
export const roleExists = (name: string) =>
  exists(() => iamClient().send(new GetRoleCommand({ RoleName: name })));
export const userExists = (name: string) =>
  exists(() => iamClient().send(new GetUserCommand({ UserName: name })));
export const providerExists = (arn: string) =>
  exists(() => iamClient().send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })));

/**
 * For test files that give each test its own GitLab, namespace and operator:
 * returns a set-up function, and stops what it started after the file.
 */
export function perTestSetUp() {
  const ops: OperatorProcess[] = [];
  const gitlabs: GitLabInstance[] = [];
  afterAll(async () => {
    await Promise.all(ops.map((op) => op.stop('SIGKILL')));
    await Promise.all(gitlabs.map((g) => g.close()));
  });
  return async (
    prefix: string,
    {
      trustGitLab = true,
      pathPrefix,
      args = [],
      iamUrl,
      tenancy = 'open',
    }: {
      trustGitLab?: boolean;
      pathPrefix?: string;
      args?: string[];
      iamUrl?: string;
      tenancy?: 'open' | 'restricted';
    } = {},
  ) => {
    const gitlab = await startGitLab(pathPrefix ? { pathPrefix } : {});
    gitlabs.push(gitlab);
    const ns = await createNamespace(prefix);
    await createTokenSecret(ns, gitlab.token);
    const op = startOperator(ns, gitlab, { trustGitLab, args, tenancy, ...(iamUrl ? { iamUrl } : {}) });
    ops.push(op);
    const spec = (overrides: Record<string, unknown> = {}) => federationSpec(gitlab, overrides);
    const providerArn = providerArnOf(gitlab.fake.url);
    return { gitlab, ns, op, spec, providerArn };
  };
}

/** check-access, in this process, for a federation and an ID token. */
export async function checkToken(
  namespace: string,
  name: string,
  token: string,
  iamUrl = inject('motoIamUrl'),
): Promise<{ code: number; out: string }> {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_IAM: iamUrl,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    KUBECONFIG: inject('kubeconfig'),
  });
  const file = join(tmpdir(), `gao-token-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, token);
  removeOnExit(file);
  let out = '';
  const code = await runCheckAccess(['--federation', `${namespace}/${name}`, '--token', file], (s) => {
    out += s;
  });
  return { code, out };
}

/** The check-access command as its own process (src/cli.ts), with the testbed's AWS and kubeconfig. */
export function checkAccessCommand(
  args: string[],
  iamUrl = inject('motoIamUrl'),
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'check-access', ...args],
      {
        env: {
          ...process.env,
          ...awsEnv(),
          AWS_ENDPOINT_URL_IAM: iamUrl,
          AWS_ENDPOINT_URL_STS: iamUrl,
          KUBECONFIG: inject('kubeconfig'),
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}
