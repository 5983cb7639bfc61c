// Cross-account (DESIGN.md §2.5): with spec.aws.assumeRoleArn the operator
// assumes the role with ExternalId `gitlab-aws-operator:<cluster-id>:<namespace>`
// and a session name naming the namespace, one session per namespace.
//
// What moto proves, and what it does not: moto's AssumeRole does not evaluate
// the target role's trust policy (moto/sts/models.py: "the role does not need
// to exist"), so a wrong ExternalId would not be refused here. What moto does
// is record every AssumeRole it answers (sts AssumedRole: role ARN, session
// name, ExternalId) and hand out credentials for the account the role ARN
// names. The tests read that record through moto's own introspection API
// (/moto-api/data.json) — the request as STS received it over the wire — and
// find the IAM resources in the other account.
//
// This file runs its own moto: moto 5.2.5's data.json answers HTTP 500 for good
// once any IAM user was deleted (it reads every attribute of every instance it
// ever made, deleted ones included, and one of a deleted user's raises), and
// other test files delete users in the shared one.

import {
  CreateRoleCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalIdFor, sessionNameFor } from '../../src/adapters/aws/clients.ts';
import { type Moto, startMoto } from '../../testbed/moto.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import type { OperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import {
  apply,
  createTokenSecret,
  federation,
  type GitLabInstance,
  REGION,
  startGitLab,
  startOperator,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';

const TARGET_ACCOUNT = '210987654321';
const CLUSTER_ID = 'itest-xacct';

let moto: Moto;
let proxy: MotoIamProxy;

/**
 * Every AssumeRole moto answered, as it recorded it. A read that moto answers with
 * HTTP 500 (it walks its state unlocked, so a write at the same moment can break it)
 * is tried again.
 */
async function assumedRoles(): Promise<
  { role_arn: string; session_name: string; external_id: string | null; arn: string }[]
> {
  type Data = {
    sts?: {
      AssumedRole?: { role_arn: string; session_name: string; external_id: string | null; arn: string }[];
    };
  };
  const data = await waitFor(
    'moto-api/data.json',
    async () => {
      const res = await fetch(`${moto.url}/moto-api/data.json`);
      return res.ok ? ((await res.json()) as Data) : undefined;
    },
    { timeoutMs: 10_000 },
  );
  return data.sts?.AssumedRole ?? [];
}

/** IAM in the target account: moto hands out that account's credentials for any role ARN in it. */
async function targetAccountIam(): Promise<IAMClient> {
  const sts = new STSClient({
    endpoint: moto.url,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${TARGET_ACCOUNT}:role/test-admin`,
      RoleSessionName: 'test-setup',
    }),
  );
  return new IAMClient({
    endpoint: moto.url,
    region: REGION,
    credentials: {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
      sessionToken: out.Credentials!.SessionToken!,
    },
  });
}

describe('AssumeRole names the tenant: ExternalId and session name per namespace', () => {
  let gitlab: GitLabInstance;
  let op: OperatorProcess;
  let iam: IAMClient;
  let nsA: string;
  let nsB: string;
  let targetArn: string;

  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startMotoIamProxy(moto.url);
    gitlab = await startGitLab();
    nsA = await createNamespace('xacct-a');
    // 63 characters, the longest namespace name: the session name must be cut.
    nsB = await createNamespace(`xacct-long-${'n'.repeat(45)}`);
    expect(nsB).toHaveLength(63);
    for (const ns of [nsA, nsB]) await createTokenSecret(ns, gitlab.token);
    iam = await targetAccountIam();
    // The trust policy the docs tell a target account to write (docs/cross-account.md).
    const role = await iam.send(
      new CreateRoleCommand({
        RoleName: `gitlab-aws-operator-${nsA}`,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: 'arn:aws:iam::123456789012:role/gitlab-aws-operator' },
              Action: 'sts:AssumeRole',
              Condition: {
                StringEquals: {
                  'sts:ExternalId': [externalIdFor(CLUSTER_ID, nsA), externalIdFor(CLUSTER_ID, nsB)],
                },
              },
            },
          ],
        }),
      }),
    );
    targetArn = role.Role!.Arn!;
    op = startOperator(`${nsA},${nsB}`, gitlab, { args: ['--cluster-id', CLUSTER_ID], iamUrl: proxy.url });
  });
  afterAll(async () => {
    await op?.stop('SIGKILL');
    await gitlab?.close();
    await proxy?.close();
    await moto?.stop();
  });

  it('acts in the other account, through one session per namespace, each with its ExternalId', async () => {
    const spec = (ns: string) => ({
      gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
      aws: { region: REGION, assumeRoleArn: targetArn },
      role: { name: `xacct-${ns}`.slice(0, 64) },
      access: [{ project: 'payments/api', refs: ['main'] }],
    });
    await apply(nsA, federation('deploy', spec(nsA)));
    await apply(nsA, federation('deploy-2', { ...spec(nsA), role: { name: `xacct-2-${nsA}` } }));
    await apply(nsB, federation('deploy', spec(nsB)));
    const a = await waitForCondition(nsA, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });
    await waitForCondition(nsA, 'deploy-2', 'Ready', 'True', { timeoutMs: 60_000 });
    const b = await waitForCondition(nsB, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });

    // The role and the provider are in the target account.
    expect(a.status?.roleArn).toBe(`arn:aws:iam::${TARGET_ACCOUNT}:role/xacct-${nsA}`);
    expect(b.status?.identityProviderArn).toMatch(
      new RegExp(`^arn:aws:iam::${TARGET_ACCOUNT}:oidc-provider/`),
    );
    await iam.send(new GetRoleCommand({ RoleName: `xacct-${nsA}` }));
    await iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: b.status!.identityProviderArn! }),
    );

    // What STS received: one AssumeRole per namespace (two federations of nsA share
    // theirs), each with that namespace's ExternalId and session name.
    const calls = (await assumedRoles()).filter((r) => r.role_arn === targetArn);
    const byNamespace = (ns: string) =>
      calls.filter((c) => c.external_id === `gitlab-aws-operator:${CLUSTER_ID}:${ns}`);
    expect(calls).toHaveLength(2);
    expect(byNamespace(nsA)).toHaveLength(1);
    expect(byNamespace(nsB)).toHaveLength(1);
    expect(byNamespace(nsA)[0]!.session_name).toBe(`gitlab-aws-${nsA}`);
    expect(byNamespace(nsA)[0]!.arn).toBe(
      `arn:aws:sts::${TARGET_ACCOUNT}:assumed-role/gitlab-aws-operator-${nsA}/gitlab-aws-${nsA}`,
    );
    // 11 + 63 characters is too long for STS (64): cut, with a hash of the namespace.
    const long = byNamespace(nsB)[0]!.session_name;
    expect(long).toHaveLength(64);
    expect(long).toBe(sessionNameFor(nsB));
    expect(long.startsWith(`gitlab-aws-${nsB.slice(0, 44)}`)).toBe(true);
    expect(long).toMatch(/-[0-9a-f]{8}$/);
  });

  it('a later change of the spec reuses the namespace’s session: no new AssumeRole', async () => {
    const before = (await assumedRoles()).filter((r) => r.role_arn === targetArn).length;
    await kubectl([
      'patch',
      'glaf',
      'deploy',
      '-n',
      nsA,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { access: [{ project: 'payments/api', refs: ['main', 'release/*'] }] } }),
    ]);
    const a = await waitForCondition(nsA, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(a.status?.subjects).toHaveLength(2);
    expect((await assumedRoles()).filter((r) => r.role_arn === targetArn)).toHaveLength(before);
  });
});

describe('sessionNameFor', () => {
  it('stays within STS’s alphabet and 64 characters, and never gives two namespaces one name', () => {
    expect(sessionNameFor('team-payments')).toBe('gitlab-aws-team-payments');
    const a = sessionNameFor(`${'a'.repeat(60)}-one`);
    const b = sessionNameFor(`${'a'.repeat(60)}-two`);
    expect(a).toHaveLength(64);
    expect(a).not.toBe(b);
    expect(sessionNameFor('odd name/ü')).toMatch(/^[\w+=,.@-]+$/);
    expect(externalIdFor('0b8e2c2e-5c55-4d6f-9d4e-2f7f3c1b9a10', 'team-a')).toBe(
      'gitlab-aws-operator:0b8e2c2e-5c55-4d6f-9d4e-2f7f3c1b9a10:team-a',
    );
  });
});
