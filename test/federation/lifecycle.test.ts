// GitLabAwsFederation (OIDC) end to end: real kube-apiserver, moto for IAM,
// the GitLab fake over HTTPS, and the operator as its own process.
import {
  CreatePolicyCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/iam-document.ts';
import { kstatusViolations } from '../../src/runtime/reconcile/conditions.ts';
import type { OperatorProcess } from '../../testbed/operator-process.ts';
import { createNamespace } from '../harness/kube.ts';
import {
  apply,
  checkToken,
  createTokenSecret,
  eventsOf,
  federation,
  type GitLabInstance,
  iamClient,
  startGitLab,
  startOperator,
  waitForCondition,
} from './env.ts';

let gitlab: GitLabInstance;
let ns: string;
let op: OperatorProcess;
let deployPolicyArn: string;
const iam = iamClient();

beforeAll(async () => {
  gitlab = await startGitLab();
  ns = await createNamespace('fed');
  await createTokenSecret(ns, gitlab.token);
  op = startOperator(ns, gitlab);
  const policy = await iam.send(
    new CreatePolicyCommand({
      PolicyName: `${ns}-deploy`,
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }],
      }),
    }),
  );
  deployPolicyArn = policy.Policy!.Arn!;
});
afterAll(async () => {
  await op?.stop('SIGKILL');
  await gitlab?.close();
});

describe('GitLabAwsFederation (OIDC)', () => {
  it('creates the provider, the role and the CI/CD variables, then turns Ready', async () => {
    const url = gitlab.fake.url;
    const host = url.replace('https://', '');
    await apply(
      ns,
      federation('payments-deploy', {
        gitlab: { url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        aws: { region: 'eu-west-1' },
        role: { managedPolicyArns: [deployPolicyArn], tags: { team: 'payments' } },
        access: [
          { project: 'payments/api', refs: ['main', 'release/*'] },
          { group: 'payments/libs', refType: 'tag', refs: ['v*'] },
        ],
        ciVariables: { target: { project: 'payments/api' } },
      }),
    );
    const fed = await waitForCondition(ns, 'payments-deploy', 'Ready', 'True');
    const roleName = `${ns}-payments-deploy`;
    const providerArn = `arn:aws:iam::123456789012:oidc-provider/${host}`;
    expect(fed.status).toMatchObject({
      issuer: url,
      identityProviderArn: providerArn,
      roleArn: `arn:aws:iam::123456789012:role/${roleName}`,
      subjects: [
        'project_path:payments/api:ref_type:branch:ref:main',
        'project_path:payments/api:ref_type:branch:ref:release/*',
        'project_path:payments/libs/*:ref_type:tag:ref:v*',
      ],
      ciVariables: [
        { target: 'project payments/api', key: 'ROLE_ARN', environmentScope: '*' },
        { target: 'project payments/api', key: 'AWS_DEFAULT_REGION', environmentScope: '*' },
      ],
    });
    expect(kstatusViolations(fed as never)).toEqual([]);
    for (const type of ['IssuerDiscoverable', 'IdentityProviderReady', 'RoleReady', 'CIVariablesReady']) {
      expect(fed.status?.conditions?.find((c) => c.type === type)?.status, type).toBe('True');
    }

    const provider = await iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }),
    );
    expect(provider.ClientIDList).toEqual([url]);
    expect(provider.ThumbprintList).toEqual([]);

    const role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!;
    expect(parsePolicy(role.AssumeRolePolicyDocument!)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: { [`${host}:aud`]: [url] },
            StringLike: { [`${host}:sub`]: fed.status?.subjects },
          },
        },
      ],
    });
    expect(Object.fromEntries((role.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      team: 'payments',
      'gitlab-aws.io/owner': `${ns}/payments-deploy`,
      'gitlab-aws.io/cluster': 'itest',
    });
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }));
    expect(attached.AttachedPolicies?.map((p) => p.PolicyArn)).toEqual([deployPolicyArn]);

    const variables = gitlab.fake.state.variables({ project: 'payments/api' });
    expect(variables.map((v) => [v.key, v.value, v.environment_scope, v.description])).toEqual([
      ['ROLE_ARN', role.Arn, '*', `managed by gitlab-aws-operator: ${ns}/payments-deploy`],
      ['AWS_DEFAULT_REGION', 'eu-west-1', '*', `managed by gitlab-aws-operator: ${ns}/payments-deploy`],
    ]);
    const events = await eventsOf(ns, 'payments-deploy');
    expect(events.map((e) => `${e.type}/${e.reason}`)).toContain('Normal/Created');

    // The live trust policy admits exactly what the spec declares.
    gitlab.fake.state.addProject('payments/libs/crypto-evil');
    gitlab.fake.state.addProject('payments/libsx/app');
    const verdicts: [string, string, 'branch' | 'tag', number][] = [
      ['payments/api', 'main', 'branch', 0],
      ['payments/api', 'release/1', 'branch', 0],
      ['payments/libs/crypto', 'v1.0.0', 'tag', 0],
      ['payments/api', 'feature/x', 'branch', 1],
      ['payments/api', 'main', 'tag', 1],
      ['payments/libs/crypto', 'v1.0.0', 'branch', 1],
      ['payments/libsx/app', 'v1', 'tag', 1],
    ];
    for (const [project, ref, refType, code] of verdicts) {
      const token = await gitlab.fake.mintIdToken({ project, ref, refType, aud: url });
      expect((await checkToken(ns, 'payments-deploy', token)).code, `${project} ${refType} ${ref}`).toBe(
        code,
      );
    }
  });
});
