// A federation end to end with credentials limited to the operator policy's
// actions, on a moto of its own that enforces IAM on signed requests
// (moto's INITIAL_NO_AUTH_ACTION_COUNT, set through /moto-api/reset-auth).
//
// moto checks the action of every request against the caller's policies, but
// not resource ARNs the way AWS does: it passes "*" as the resource for OIDC
// providers and for roles that do not exist yet, which a scoped Resource never
// matches. So the policy runs here with every Resource widened to "*": this
// proves the action list (nothing missing for a full life cycle), while
// operator-policy.test.ts proves it exact. CodeConnections runs on a fake that
// does not evaluate IAM, so only federations are covered here: one of each
// method (OIDC: role and provider; IAMUserAccessKeys: user and access keys).
import { readFileSync } from 'node:fs';
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Moto, startMoto } from '../../testbed/moto.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import {
  apply,
  CLI,
  createTokenSecret,
  federation,
  type GitLabInstance,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';

const policy = JSON.parse(
  readFileSync(new URL('../../deploy/iam/operator-policy.json', import.meta.url), 'utf8'),
) as { Version: string; Statement: (Record<string, unknown> & { Action: string[] })[] };
const actionsOnly = {
  Version: policy.Version,
  Statement: policy.Statement.map((s) => ({ ...s, Resource: '*' })),
};
const SETUP_CALLS = 8;
/** What the lesser operator lacks: the first write of each method. */
const WITHOUT = ['iam:CreateRole', 'iam:CreateAccessKey'];

let moto: Moto;
let proxy: MotoIamProxy;
let gitlab: GitLabInstance;
let op: OperatorProcess;
let ns: string;
let operatorIam: IAMClient;
let denied: { op: OperatorProcess; ns: string } | undefined;

beforeAll(async () => {
  moto = await startMoto();
  gitlab = await startGitLab();
  ns = await createNamespace('enforced');
  await createTokenSecret(ns, gitlab.token);
  // From here on, moto authenticates and authorises every request after the first SETUP_CALLS.
  const reset = await fetch(`${moto.url}/moto-api/reset-auth`, { method: 'POST', body: String(SETUP_CALLS) });
  expect(reset.ok).toBe(true);
  const admin = new IAMClient({
    endpoint: moto.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const userWith = async (name: string, document: object) => {
    await admin.send(new CreateUserCommand({ UserName: name }));
    const created = await admin.send(
      new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(document) }),
    );
    await admin.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: created.Policy!.Arn! }));
    return (await admin.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  };
  const key = await userWith('gitlab-aws-operator', actionsOnly);
  const lesserKey = await userWith('gitlab-aws-operator-lesser', {
    ...actionsOnly,
    Statement: actionsOnly.Statement.map((st) => ({
      ...st,
      Action: st.Action.filter((a) => !WITHOUT.includes(a)),
    })),
  });
  // moto checks every signature now: the proxy signs its own calls (user boundaries) with the operator's key.
  proxy = await startMotoIamProxy(moto.url, {
    credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! },
  });
  operatorIam = new IAMClient({
    endpoint: moto.url,
    region: 'us-east-1',
    credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! },
  });
  const start = (namespace: string, accessKey: { AccessKeyId?: string; SecretAccessKey?: string }) =>
    startOperatorProcess(
      CLI,
      [...runArgs(namespace, inject('kubeconfig')), '--propagation-delay', '0s', '--cluster-id', 'itest'],
      {
        AWS_ENDPOINT_URL_IAM: proxy.url,
        AWS_ENDPOINT_URL_STS: proxy.url,
        AWS_ACCESS_KEY_ID: accessKey.AccessKeyId!,
        AWS_SECRET_ACCESS_KEY: accessKey.SecretAccessKey!,
        AWS_REGION: 'us-east-1',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        NODE_EXTRA_CA_CERTS: gitlab.caFile,
      },
    );
  op = start(ns, key);
  const deniedNs = await createNamespace('enforced-lesser');
  await createTokenSecret(deniedNs, gitlab.token);
  denied = { ns: deniedNs, op: start(deniedNs, lesserKey) };
}, 120_000);
afterAll(async () => {
  await op?.stop('SIGKILL');
  await denied?.op.stop('SIGKILL');
  await proxy?.close();
  await gitlab?.close();
  await moto?.stop();
});

describe('a federation with credentials limited to the operator policy (moto enforcing IAM)', () => {
  it('refuses an action outside the policy, so enforcement is on', async () => {
    await expect(
      operatorIam.send(new CreateGroupCommand({ GroupName: 'not-allowed' })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('creates, updates and deletes a federation without an access denial', async () => {
    const spec = (refs: string[], tags: Record<string, string>) => ({
      gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
      access: [{ project: 'payments/api', refs }],
      role: {
        description: refs.join(','),
        inlinePolicies: {
          [`p${refs.length}`]: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }],
          },
        },
        tags,
      },
    });
    await apply(ns, federation('limited', spec(['main'], { team: 'a' })));
    await waitForCondition(ns, 'limited', 'Ready', 'True', { timeoutMs: 45_000 });
    await apply(ns, federation('limited', spec(['main', 'release/*'], { other: 'b' })));
    await waitForCondition(ns, 'limited', 'Ready', 'True', { timeoutMs: 45_000 });
    const r = await kubectl([
      'delete',
      'gitlabawsfederation',
      'limited',
      '-n',
      ns,
      '--wait=true',
      '--timeout=60s',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(op.lines.filter((l) => JSON.stringify(l).includes('AccessDenied'))).toEqual([]);
    expect(proxy.actions).toContain('iam:CreateRole');
    expect(proxy.actions).toContain('iam:DeleteOpenIDConnectProvider');
  }, 180_000);

  it('takes a federation of method IAMUserAccessKeys through create, revocation and delete without an access denial', async () => {
    const spec = (tags: Record<string, string>) => ({
      gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
      aws: { region: 'eu-west-1' },
      method: 'IAMUserAccessKeys',
      iamUser: {
        managedPolicyArns: [],
        inlinePolicies: {
          read: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }],
          },
        },
        tags,
      },
      ciVariables: { target: { project: 'payments/api' } },
    });
    const from = proxy.actions.length;
    await apply(ns, federation('keys', spec({ team: 'a' })));
    await waitForCondition(ns, 'keys', 'Ready', 'True', { timeoutMs: 45_000 });
    await apply(ns, federation('keys', spec({ other: 'b' }), { 'gitlab-aws.io/rotate-now': 'leak' }));
    await waitForCondition(ns, 'keys', 'Ready', 'True', { timeoutMs: 45_000 });
    const r = await kubectl([
      'delete',
      'gitlabawsfederation',
      'keys',
      '-n',
      ns,
      '--wait=true',
      '--timeout=60s',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(op.lines.filter((l) => JSON.stringify(l).includes('AccessDenied'))).toEqual([]);
    const made = proxy.actions.slice(from);
    for (const action of [
      'iam:CreateUser',
      'iam:CreateAccessKey',
      'iam:TagUser',
      'iam:UntagUser',
      'iam:DeleteUser',
    ])
      expect(made).toContain(action);
  }, 180_000);

  it(`stalls with AWSAccessDenied when the policy lacks an action it needs (${WITHOUT.join(', ')})`, async () => {
    const d = denied!;
    await apply(
      d.ns,
      federation('lesser', {
        gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        access: [{ project: 'payments/api', refs: ['main'] }],
      }),
    );
    const stalled = await waitForCondition(d.ns, 'lesser', 'Stalled', 'True', { timeoutMs: 45_000 });
    const ready = stalled.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.reason).toBe('AWSAccessDenied');
    expect(ready?.message).toContain('iam:CreateRole');
    await apply(
      d.ns,
      federation('lesser-keys', {
        gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        method: 'IAMUserAccessKeys',
        iamUser: {},
        ciVariables: { target: { project: 'payments/api' } },
      }),
    );
    const keys = await waitForCondition(d.ns, 'lesser-keys', 'Stalled', 'True', { timeoutMs: 45_000 });
    const keysReady = keys.status?.conditions?.find((c) => c.type === 'Ready');
    expect(keysReady?.reason).toBe('AWSAccessDenied');
    expect(keysReady?.message).toContain('iam:CreateAccessKey');
  }, 120_000);
});
