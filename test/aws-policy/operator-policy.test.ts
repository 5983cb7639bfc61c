// deploy/iam/operator-policy.json holds exactly the AWS actions the operator
// makes, and so does the restricted variant (operator-policy-restricted.json
// with its adoption statement, operator-policy-restricted-adoption.json). The operator runs as its own process through a full life cycle of
// both kinds; every IAM/STS action is recorded at its own moto-iam-proxy and
// every CodeConnections operation at the fake. The test fails when an action
// made is missing from the policy, or when the policy grants one never made.
// The federations are one of each method: OIDC (role, provider) and
// IAMUserAccessKeys (user, its policies and its rotated access key).
import { readFileSync } from 'node:fs';
import {
  CreatePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type CodeConnectionsFake,
  startCodeConnectionsFake,
} from '../../testbed/fakes/codeconnections/index.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import { cond, connectionApi, waitForConnection, waitForGone } from '../connection/helpers.ts';
import {
  apply,
  CLI,
  createTokenSecret,
  federation,
  federationSpec,
  type GitLabInstance,
  getFederation,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';

const POLICY_FILE = new URL('../../deploy/iam/operator-policy.json', import.meta.url);
const ACCOUNT = '123456789012';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}
const readPolicy = (file: URL) =>
  JSON.parse(readFileSync(file, 'utf8')) as { Version: string; Statement: Statement[] };
const policy = readPolicy(POLICY_FILE);
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const granted = new Set(policy.Statement.flatMap((s) => list(s.Action)));
/** What the restricted variant allows, its adoption statement included (its Deny grants nothing). */
const grantedRestricted = new Set(
  ['operator-policy-restricted.json', 'operator-policy-restricted-adoption.json']
    .flatMap((f) => readPolicy(new URL(`../../deploy/iam/${f}`, import.meta.url)).Statement)
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) => list(s.Action)),
);

/**
 * IAM actions that authorise each API operation. IAM and STS operations are
 * authorised by the action of the same name. CodeConnections operations are
 * authorised under the prefix of the resource's ARN (API-FACTS D, "The 2024
 * rename"): the operator manages connections of either prefix, so both.
 */
const CONNECTIONS_PREFIXES = ['codestar-connections', 'codeconnections'];
function iamActionsFor(call: string): string[] {
  const [service, operation] = call.split(':') as [string, string];
  if (service === 'codestar-connections') return CONNECTIONS_PREFIXES.map((p) => `${p}:${operation}`);
  return [`${service}:${operation}`];
}

let gitlab: GitLabInstance;
let proxy: MotoIamProxy;
let fake: CodeConnectionsFake;
let op: OperatorProcess;
let ns: string;
let moto: IAMClient;

beforeAll(async () => {
  gitlab = await startGitLab();
  proxy = await startMotoIamProxy(inject('motoUrl'));
  fake = await startCodeConnectionsFake();
  ns = await createNamespace('awspolicy');
  await createTokenSecret(ns, gitlab.token);
  // Set-up calls go to moto directly, so the proxy records the operator's alone.
  moto = new IAMClient({
    endpoint: inject('motoUrl'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const doc = (action: string) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
    });
  for (const name of ['one', 'two', 'boundary', 'boundary2'])
    await moto.send(
      new CreatePolicyCommand({ PolicyName: `${ns}-${name}`, PolicyDocument: doc('s3:GetObject') }),
    );
  await moto.send(
    new CreateRoleCommand({
      RoleName: `${ns}-target`,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  op = startOperatorProcess(
    CLI,
    [
      ...runArgs(ns, inject('kubeconfig')),
      '--propagation-delay',
      '0s',
      '--connection-poll-interval',
      '300ms',
      '--connection-poll-max-interval',
      '1500ms',
      '--cluster-id',
      'itest',
    ],
    {
      AWS_ENDPOINT_URL_IAM: proxy.url,
      AWS_ENDPOINT_URL_STS: proxy.url,
      AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS: fake.endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      NODE_EXTRA_CA_CERTS: gitlab.caFile,
    },
  );
}, 120_000);
afterAll(async () => {
  await op?.stop('SIGKILL');
  await proxy?.close();
  await fake?.close();
  await gitlab?.close();
});

const policyArn = (name: string) => `arn:aws:iam::${ACCOUNT}:policy/${ns}-${name}`;
const inline = (action: string) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
});
const spec = (overrides: Record<string, unknown>) => federationSpec(gitlab, overrides);
/** Method IAMUserAccessKeys; a replaced key is deactivated and deleted 2 s after its successor is in GitLab. */
const keysSpec = (iamUser: Record<string, unknown>) => ({
  gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
  aws: { region: 'eu-west-1' },
  method: 'IAMUserAccessKeys',
  iamUser,
  rotation: { gracePeriod: '2s' },
  ciVariables: { target: { project: 'payments/api' } },
});
const keyIdsOf = async (user: string) =>
  ((await moto.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? []).map(
    (k) => `${k.AccessKeyId} ${k.Status}`,
  );

async function deleteAndWait(kind: string, name: string): Promise<void> {
  const r = await kubectl(['delete', kind, name, '-n', ns, '--wait=true', '--timeout=60s']);
  if (r.code !== 0) throw new Error(r.stderr);
}

describe('the operator IAM policy (deploy/iam/operator-policy.json)', () => {
  it('is a well-formed identity policy: Allow only, no wildcard actions, no duplicates', () => {
    expect(policy.Version).toBe('2012-10-17');
    const actions = policy.Statement.flatMap((s) => list(s.Action));
    expect(new Set(actions).size).toBe(actions.length);
    for (const s of policy.Statement) {
      expect(s.Effect).toBe('Allow');
      for (const a of list(s.Action))
        expect(a).toMatch(/^(iam|sts|codestar-connections|codeconnections):[A-Za-z]+$/);
      // Only listing actions, which IAM cannot scope to a resource, get "*".
      if (list(s.Resource).includes('*')) for (const a of list(s.Action)) expect(a).toMatch(/:List/);
    }
  });

  it('grants exactly the actions a federation and a connection life cycle make', async () => {
    // --- GitLabAwsFederation: create, update (every kind of drift), a second
    // federation sharing the provider through an assumed role, delete both.
    await apply(
      ns,
      federation(
        'main',
        spec({
          role: {
            description: 'first',
            managedPolicyArns: [policyArn('one')],
            inlinePolicies: { one: inline('s3:ListBucket') },
            tags: { team: 'a' },
          },
        }),
      ),
    );
    await waitForCondition(ns, 'main', 'Ready', 'True');
    await apply(
      ns,
      federation(
        'main',
        spec({
          access: [{ project: 'payments/api', refs: ['main', 'release/*'] }],
          role: {
            description: 'second',
            managedPolicyArns: [policyArn('two')],
            inlinePolicies: { two: inline('s3:PutObject') },
            permissionsBoundaryArn: policyArn('boundary'),
            tags: { team: 'b', extra: 'x' },
          },
        }),
      ),
    );
    await waitForCondition(ns, 'main', 'Ready', 'True');
    await apply(
      ns,
      federation(
        'main',
        spec({
          access: [{ project: 'payments/api', refs: ['main', 'release/*'] }],
          role: {
            description: 'second',
            managedPolicyArns: [policyArn('two')],
            inlinePolicies: { two: inline('s3:PutObject') },
            permissionsBoundaryArn: policyArn('boundary2'),
            tags: { team: 'b' },
          },
        }),
      ),
    );
    await waitForCondition(ns, 'main', 'Ready', 'True');
    // A boundary is replaced, never removed: without one in the spec the role
    // keeps boundary2 and the federation says so.
    await apply(
      ns,
      federation(
        'main',
        spec({
          access: [{ project: 'payments/api', refs: ['main', 'release/*'] }],
          role: {
            description: 'third',
            managedPolicyArns: [policyArn('two')],
            inlinePolicies: { two: inline('s3:PutObject') },
            tags: { team: 'b' },
          },
        }),
      ),
    );
    const kept = await waitForCondition(ns, 'main', 'Stalled', 'True');
    const ready = kept.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.reason).toBe('PermissionsBoundaryKept');
    expect(ready?.message).toContain(`keeps its permissions boundary ${policyArn('boundary2')}`);
    const role = (await moto.send(new GetRoleCommand({ RoleName: `${ns}-main` }))).Role!;
    expect(role.PermissionsBoundary?.PermissionsBoundaryArn).toBe(policyArn('boundary2'));
    expect(role.Description).toBe('third');
    await apply(
      ns,
      federation(
        'other',
        spec({
          audience: 'sts.amazonaws.com',
          identityProvider: { thumbprints: ['0123456789abcdef0123456789abcdef01234567'] },
          aws: { assumeRoleArn: `arn:aws:iam::${ACCOUNT}:role/${ns}-target` },
        }),
      ),
    );
    await waitForCondition(ns, 'other', 'Ready', 'True');
    await deleteAndWait('gitlabawsfederation', 'other');
    await deleteAndWait('gitlabawsfederation', 'main');

    // --- method IAMUserAccessKeys (after the OIDC ones are gone: the same
    // project): the user with its policies and key, a revocation, a change of
    // every kind of drift with a rotation whose old key outlives its grace
    // period, then delete.
    const user = `${ns}-keys`;
    await apply(
      ns,
      federation(
        'keys',
        keysSpec({
          managedPolicyArns: [policyArn('one')],
          inlinePolicies: { one: inline('s3:ListBucket') },
          tags: { team: 'a', extra: 'x' },
        }),
      ),
    );
    const first = await waitForCondition(ns, 'keys', 'Ready', 'True');
    const firstKey = first.status!.accessKey!.id!;
    // Revocation: the new key in GitLab, the old one deleted at once.
    await kubectl(['annotate', 'glaf', 'keys', '-n', ns, 'gitlab-aws.io/rotate-now=leak-1']);
    const revoked = await waitFor(
      'the revocation',
      async () => {
        const f = await getFederation(ns, 'keys');
        return f.status?.accessKey?.revoked?.rotateNow === 'leak-1' &&
          f.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True'
          ? f
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const secondKey = revoked.status!.accessKey!.id!;
    expect(secondKey).not.toBe(firstKey);
    expect(await keyIdsOf(user)).toEqual([`${secondKey} Active`]);
    // A rotation that is not a revocation: someone deleted AWS_ACCESS_KEY_ID in
    // GitLab (reason NotInGitLab). The replaced key stays active for the grace
    // period, then is deactivated and deleted. The same reconcile converges the
    // user: tags changed and removed, the boundary added, managed and inline
    // policies replaced.
    const idVar = gitlab.fake.state
      .variables({ project: 'payments/api' })
      .find((v) => v.key === 'AWS_ACCESS_KEY_ID')!;
    gitlab.fake.state.removeVariable(idVar.id);
    await apply(
      ns,
      federation(
        'keys',
        keysSpec({
          managedPolicyArns: [policyArn('two')],
          inlinePolicies: { two: inline('s3:PutObject') },
          permissionsBoundaryArn: policyArn('boundary'),
          tags: { team: 'b' },
        }),
        { 'gitlab-aws.io/rotate-now': 'leak-1' },
      ),
    );
    let last: unknown;
    const rotated = await waitFor(
      'the replaced key deleted after its grace period',
      async () => {
        const f = await getFederation(ns, 'keys');
        last = { status: f.status, keys: await keyIdsOf(user) };
        const ready = f.status?.conditions?.find((c) => c.type === 'Ready');
        return ready?.status === 'True' &&
          ready.observedGeneration === f.metadata.generation &&
          f.status?.accessKey?.id !== secondKey &&
          !f.status?.accessKey?.previous &&
          (await keyIdsOf(user)).length === 1
          ? f
          : undefined;
      },
      { timeoutMs: 30_000, diagnostics: () => JSON.stringify(last, null, 2) },
    );
    expect(await keyIdsOf(user)).toEqual([`${rotated.status!.accessKey!.id} Active`]);
    expect(proxy.actions).toContain('iam:UpdateAccessKey');
    const converged = (await moto.send(new GetUserCommand({ UserName: user }))).User!;
    // moto keeps no user boundary; the proxy does (testbed/moto-iam-proxy.ts), so read it there
    // (a GetUser, which the operator makes anyway: the set of actions stays the same).
    const viaProxy = new IAMClient({
      endpoint: proxy.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    expect(
      (await viaProxy.send(new GetUserCommand({ UserName: user }))).User?.PermissionsBoundary
        ?.PermissionsBoundaryArn,
    ).toBe(policyArn('boundary'));
    viaProxy.destroy();
    expect(converged.Tags?.find((t) => t.Key === 'extra')).toBeUndefined();
    await deleteAndWait('gitlabawsfederation', 'keys');
    await expect(moto.send(new GetUserCommand({ UserName: user }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
    });

    // --- GitLabConnection: gitlab.com with tag drift, self-managed with a host
    // that moves, then delete both.
    const connections = connectionApi();
    await connections.create(ns, 'com', { gitlab: { url: 'https://gitlab.com' }, tags: { team: 'a' } });
    await connections.create(ns, 'self', { gitlab: { url: 'https://gitlab.example.com' } });
    const pending = (o: { status?: { connectionStatus?: string } }) =>
      o.status?.connectionStatus === 'PENDING';
    const com = await waitForConnection(ns, 'com', 'PENDING', pending, { op });
    const self = await waitForConnection(ns, 'self', 'PENDING', pending, { op });
    await connections.patch(ns, 'com', { spec: { tags: { team: null, other: 'x' } } });
    await waitFor(
      'tags converged',
      async () => {
        const tags = fake.tagsOf(com.status!.connectionArn!);
        return tags.other === 'x' && !('team' in tags) ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
    await connections.patch(ns, 'self', { spec: { gitlab: { url: 'https://gitlab2.example.com' } } });
    await waitFor(
      'host endpoint moved',
      async () =>
        fake.host(self.status!.hostArn!)?.providerEndpoint === 'https://gitlab2.example.com'
          ? true
          : undefined,
      { timeoutMs: 30_000 },
    );
    expect(cond(self, 'Ready')?.status).toBe('False');
    await connections.delete(ns, 'com');
    await connections.delete(ns, 'self');
    await waitForGone(ns, 'com');
    await waitForGone(ns, 'self');

    // --- compare
    const calls = new Set([
      ...proxy.actions,
      ...fake.requests.map((r) => `codestar-connections:${r.operation}`),
    ]);
    const made = new Set([...calls].flatMap(iamActionsFor));
    const missing = [...made].filter((a) => !granted.has(a)).sort();
    const neverMade = [...granted].filter((a) => !made.has(a)).sort();
    expect({ missing, neverMade }).toEqual({ missing: [], neverMade: [] });
    expect([...grantedRestricted].sort()).toEqual([...made].sort());
    expect(made).not.toContain('iam:DeleteRolePermissionsBoundary');
    expect(made).not.toContain('iam:DeleteUserPermissionsBoundary');
  }, 300_000);
});
