// The restricted variant of the operator's IAM policy, enforced by moto (a
// moto of its own, with IAM enforcement on every signed request after the
// first few, as in enforced.test.ts), and the operator running with its
// credentials.
//
// What moto 5.2.5 evaluates (moto/iam/access_control.py, moto/iam/responses.py,
// moto/iam/policy_conditions.py; docs/aws-permissions.md says more):
// - Action, and Resource only for a request that names an existing role
//   (RoleName): then the resource is the role's ARN, path included, and a
//   scoped Resource is really compared. For a role that does not exist yet
//   (CreateRole, GetRole before the create), for every OIDC provider action and
//   for every user and access-key action (moto resolves no user ARN) moto
//   passes "*", which a scoped Resource never matches: those statements run
//   here with Resource "*" (MOTO_STAR below), and where they let a user call
//   land is read on the JSON by restricted-policy.test.ts.
// - Not Condition: identity policies are evaluated without request values,
//   and a condition without values passes. So the boundary, the owner and
//   cluster tags and the tag keys are not proven here; restricted-policy.test.ts
//   checks them statement by statement on the JSON.
import { readFileSync } from 'node:fs';
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteUserPermissionsBoundaryCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPermissionsBoundaryCommand,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLUSTER_TAG, OWNER_TAG } from '../../src/controllers/shared/ownership.ts';
import { type Moto, startMoto } from '../../testbed/moto.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import {
  apply,
  CLI,
  createTokenSecret,
  federation,
  type GitLabInstance,
  getFederation,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';

const ACCOUNT = '123456789012';
const CLUSTER_ID = 'itest-restricted';
const ROLE_PATH = '/gitlab/team-a/';
const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT}:policy/gitlab-boundary`;
const OTHER_BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT}:policy/other-boundary`;

interface Statement {
  Sid: string;
  Effect: string;
  Action: string[];
  Resource: string | string[];
  Condition?: object;
}
const render = (file: string) =>
  JSON.parse(
    readFileSync(new URL(`../../deploy/iam/${file}`, import.meta.url), 'utf8').replace(
      /\$\{([A-Z_]+)\}/g,
      (_, k: string) =>
        ({ ACCOUNT_ID: ACCOUNT, ROLE_PATH, BOUNDARY_ARN, CLUSTER_ID })[k] ??
        (() => {
          throw new Error(`no value for ${k}`);
        })(),
    ),
  ) as { Version: string; Statement: Statement[] };

/** Actions moto authorises against "*" (see above): their Allow statements get Resource "*" here. */
const MOTO_STAR = (a: string) =>
  /OpenIDConnectProvider/.test(a) ||
  a === 'iam:CreateRole' ||
  a === 'iam:GetRole' ||
  /^iam:[A-Za-z]*(User|AccessKey)/.test(a);
const widened = (s: Statement) => s.Effect === 'Allow' && s.Action.some(MOTO_STAR);
const forMoto = (p: { Version: string; Statement: Statement[] }) => ({
  ...p,
  Statement: p.Statement.map((s) => (widened(s) ? { ...s, Resource: '*' } : s)),
});
const restricted = render('operator-policy-restricted.json');
const adoption = render('operator-policy-restricted-adoption.json');
/** The statements whose Resource moto really compares: every role write but CreateRole. */
const comparedAsWritten = restricted.Statement.filter((s) => !widened(s)).map((s) => s.Sid);

const trust = (principal: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: 'sts:AssumeRole' }],
  });
const inline = (action: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });

let moto: Moto;
let proxy: MotoIamProxy;
let gitlab: GitLabInstance;
let op: OperatorProcess;
let ns: string;
let admin: IAMClient;
let operatorIam: IAMClient;
/** Through the proxy, which keeps the user boundaries moto lacks: the operator's credentials, the administrator's. */
let operatorViaProxy: IAMClient;
let adminViaProxy: IAMClient;
/** A user holding the rendered variant as written, with no Resource widened. */
let asWrittenIam: IAMClient;

beforeAll(async () => {
  moto = await startMoto();
  gitlab = await startGitLab();
  ns = await createNamespace('restricted');
  await createTokenSecret(ns, gitlab.token);
  // The first 4 requests make an administrator; every later one is authorised.
  const reset = await fetch(`${moto.url}/moto-api/reset-auth`, { method: 'POST', body: '4' });
  expect(reset.ok).toBe(true);
  const iam = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new IAMClient({ endpoint: moto.url, region: 'us-east-1', credentials });
  const bootstrap = iam({ accessKeyId: 'testing', secretAccessKey: 'testing' });
  const keyOf = async (client: IAMClient, user: string, documents: object[]) => {
    await client.send(new CreateUserCommand({ UserName: user }));
    for (const [i, document] of documents.entries()) {
      const created = await client.send(
        new CreatePolicyCommand({ PolicyName: `${user}-${i}`, PolicyDocument: JSON.stringify(document) }),
      );
      await client.send(new AttachUserPolicyCommand({ UserName: user, PolicyArn: created.Policy!.Arn! }));
    }
    const key = (await client.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!;
    return { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
  };
  const adminKey = await keyOf(bootstrap, 'admin', [
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
  ]);
  admin = iam(adminKey);
  for (const name of ['gitlab-boundary', 'other-boundary', 'extra'])
    await admin.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: inline('s3:*') }));
  const operatorKey = await keyOf(admin, 'gitlab-aws-operator', [forMoto(restricted), forMoto(adoption)]);
  operatorIam = iam(operatorKey);
  asWrittenIam = iam(await keyOf(admin, 'gitlab-aws-operator-as-written', [restricted, adoption]));
  // The proxy keeps user boundaries as tags (moto has none), signing its own calls as the administrator.
  proxy = await startMotoIamProxy(moto.url, { credentials: adminKey });
  operatorViaProxy = new IAMClient({ endpoint: proxy.url, region: 'us-east-1', credentials: operatorKey });
  adminViaProxy = new IAMClient({ endpoint: proxy.url, region: 'us-east-1', credentials: adminKey });
  op = startOperatorProcess(
    CLI,
    [...runArgs(ns, inject('kubeconfig')), '--propagation-delay', '0s', '--cluster-id', CLUSTER_ID],
    {
      AWS_ENDPOINT_URL_IAM: proxy.url,
      AWS_ENDPOINT_URL_STS: proxy.url,
      AWS_ACCESS_KEY_ID: operatorKey.accessKeyId,
      AWS_SECRET_ACCESS_KEY: operatorKey.secretAccessKey,
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
  await gitlab?.close();
  await moto?.stop();
});

const getRole = async (name: string) => (await admin.send(new GetRoleCommand({ RoleName: name }))).Role;
const getUser = async (name: string) =>
  (await adminViaProxy.send(new GetUserCommand({ UserName: name }))).User;
const spec = (role: Record<string, unknown>, refs = ['main']) => ({
  gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
  access: [{ project: 'payments/api', refs }],
  role,
});

describe('the restricted IAM policy, enforced by moto', () => {
  it('compares the Resource of every role-changing statement as written (only CreateRole, GetRole, OIDC providers and users are widened)', () => {
    expect(comparedAsWritten).toEqual([
      'ReadRolesInPrefix',
      'ChangeOwnRolesWithBoundary',
      'TagOwnRolesKeepingOwnership',
      'NeverRemoveABoundary',
      'AssumeRoleInOtherAccounts',
      'ListConnectionsAndHosts',
      'ManageConnectionsAndHosts',
    ]);
  });

  it('takes a federation inside the role path prefix, with the boundary, through create, update and delete', async () => {
    const role = (description: string, tags: Record<string, string>) => ({
      path: ROLE_PATH,
      permissionsBoundaryArn: BOUNDARY_ARN,
      description,
      inlinePolicies: { [description]: JSON.parse(inline('s3:ListBucket')) },
      tags,
    });
    await apply(ns, federation('inside', spec(role('first', { team: 'a' }))));
    const ready = await waitForCondition(ns, 'inside', 'Ready', 'True', { timeoutMs: 45_000 });
    expect(ready.status?.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role${ROLE_PATH}${ns}-inside`);
    // The create carried the boundary and the owner tags: nothing was added after it.
    expect(proxy.actions).toContain('iam:CreateRole');
    expect(proxy.actions).not.toContain('iam:TagRole');
    expect(proxy.actions).not.toContain('iam:PutRolePermissionsBoundary');
    const made = await getRole(`${ns}-inside`);
    expect(made?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(BOUNDARY_ARN);
    expect(Object.fromEntries((made?.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
      [OWNER_TAG]: `${ns}/inside`,
      [CLUSTER_TAG]: CLUSTER_ID,
      team: 'a',
    });

    await apply(ns, federation('inside', spec(role('second', { other: 'b' }), ['main', 'release/*'])));
    await waitForCondition(ns, 'inside', 'Ready', 'True', { timeoutMs: 45_000 });
    expect((await getRole(`${ns}-inside`))?.Description).toBe('second');
    const r = await kubectl([
      'delete',
      'gitlabawsfederation',
      'inside',
      '-n',
      ns,
      '--wait=true',
      '--timeout=60s',
    ]);
    expect(r.code, r.stderr).toBe(0);
    await expect(getRole(`${ns}-inside`)).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    expect(op.lines.filter((l) => JSON.stringify(l).includes('AccessDenied'))).toEqual([]);
    for (const action of [
      'iam:UpdateAssumeRolePolicy',
      'iam:PutRolePolicy',
      'iam:DeleteRolePolicy',
      'iam:DeleteRole',
    ])
      expect(proxy.actions).toContain(action);
  }, 180_000);

  it('takes a federation of method IAMUserAccessKeys inside the prefix, with the boundary, through create, revocation and delete', async () => {
    const from = proxy.actions.length;
    const user = `${ns}-keys`;
    const keysSpec = (tags: Record<string, string>) => ({
      gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
      aws: { region: 'eu-west-1' },
      method: 'IAMUserAccessKeys',
      iamUser: {
        path: ROLE_PATH,
        permissionsBoundaryArn: BOUNDARY_ARN,
        inlinePolicies: { read: JSON.parse(inline('s3:ListBucket')) },
        tags,
      },
      ciVariables: { target: { project: 'payments/api' } },
    });
    await apply(ns, federation('keys', keysSpec({ team: 'a' })));
    const ready = await waitForCondition(ns, 'keys', 'Ready', 'True', { timeoutMs: 45_000 });
    expect(ready.status?.userArn).toBe(`arn:aws:iam::${ACCOUNT}:user${ROLE_PATH}${user}`);
    // The create carried the boundary and the owner tags: nothing was added after it.
    const made = proxy.actions.slice(from);
    expect(made).toContain('iam:CreateUser');
    expect(made).toContain('iam:CreateAccessKey');
    expect(made).not.toContain('iam:TagUser');
    expect(made).not.toContain('iam:PutUserPermissionsBoundary');
    expect((await getUser(user))?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(BOUNDARY_ARN);
    expect(
      Object.fromEntries(((await getUser(user))?.Tags ?? []).map((t) => [t.Key, t.Value])),
    ).toMatchObject({ [OWNER_TAG]: `${ns}/keys`, [CLUSTER_TAG]: CLUSTER_ID, team: 'a' });
    // A change of tags and a revocation: the old key goes at once.
    await apply(ns, federation('keys', keysSpec({ team: 'b' }), { 'gitlab-aws.io/rotate-now': 'leak' }));
    await waitFor(
      'the revocation',
      async () => {
        const f = await getFederation(ns, 'keys');
        const c = f.status?.conditions?.find((x) => x.type === 'Ready');
        return f.status?.accessKey?.revoked?.rotateNow === 'leak' &&
          c?.status === 'True' &&
          c.observedGeneration === f.metadata.generation
          ? f
          : undefined;
      },
      { timeoutMs: 45_000 },
    );
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
    await expect(getUser(user)).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    expect(op.lines.filter((l) => JSON.stringify(l).includes('AccessDenied'))).toEqual([]);
    for (const action of ['iam:TagUser', 'iam:DeleteAccessKey', 'iam:DeleteUserPolicy', 'iam:DeleteUser'])
      expect(proxy.actions.slice(from)).toContain(action);
  }, 180_000);

  it('denies every write to a role outside the prefix, and allows the same writes inside it', async () => {
    const marks = [
      { Key: OWNER_TAG, Value: `${ns}/x` },
      { Key: CLUSTER_TAG, Value: CLUSTER_ID },
    ];
    // Both roles carry the boundary and this cluster's marks: only the path tells them apart.
    for (const [name, path] of [
      ['outside-x', '/elsewhere/'],
      ['inside-x', ROLE_PATH],
    ])
      await admin.send(
        new CreateRoleCommand({
          RoleName: name,
          Path: path,
          AssumeRolePolicyDocument: trust(`arn:aws:iam::${ACCOUNT}:root`),
          PermissionsBoundary: BOUNDARY_ARN,
          Tags: marks,
        }),
      );
    const writes = (name: string) => [
      new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: trust('*') }),
      new PutRolePolicyCommand({ RoleName: name, PolicyName: 'admin', PolicyDocument: inline('*') }),
      new AttachRolePolicyCommand({ RoleName: name, PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/extra` }),
      new UpdateRoleCommand({ RoleName: name, MaxSessionDuration: 43_200 }),
      new TagRoleCommand({ RoleName: name, Tags: [{ Key: 'team', Value: 'mine' }] }),
      new DeleteRoleCommand({ RoleName: name }),
    ];
    for (const command of writes('outside-x'))
      await expect(operatorIam.send(command as never), command.constructor.name).rejects.toMatchObject({
        name: 'AccessDenied',
      });
    const untouched = await getRole('outside-x');
    expect(JSON.parse(decodeURIComponent(untouched!.AssumeRolePolicyDocument!))).toEqual(
      JSON.parse(trust(`arn:aws:iam::${ACCOUNT}:root`)),
    );
    expect(untouched?.Tags?.map((t) => t.Key).sort()).toEqual([CLUSTER_TAG, OWNER_TAG].sort());
    // Inside the prefix the same calls pass (DeleteRole last needs the policies gone: not called here).
    for (const command of writes('inside-x').slice(0, -1)) await operatorIam.send(command as never);
  });

  it('denies removing a boundary, inside the prefix too', async () => {
    await expect(
      operatorIam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 'inside-x' })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect((await getRole('inside-x'))?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(BOUNDARY_ARN);
  });

  it('denies removing a user’s boundary, inside the prefix too', async () => {
    const user = 'inside-user-x';
    await admin.send(
      new CreateUserCommand({
        UserName: user,
        Path: ROLE_PATH,
        PermissionsBoundary: BOUNDARY_ARN,
        Tags: [
          { Key: OWNER_TAG, Value: `${ns}/x` },
          { Key: CLUSTER_TAG, Value: CLUSTER_ID },
        ],
      }),
    );
    // Through the proxy, which keeps the user's boundary (moto does not): the refusal is moto's.
    await operatorViaProxy.send(
      new PutUserPermissionsBoundaryCommand({ UserName: user, PermissionsBoundary: BOUNDARY_ARN }),
    );
    await expect(
      operatorViaProxy.send(new DeleteUserPermissionsBoundaryCommand({ UserName: user })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect((await getUser(user))?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(BOUNDARY_ARN);
  });

  it('stalls with AWSAccessDenied when a federation would adopt a role outside the prefix, and leaves it as it was', async () => {
    await admin.send(
      new CreateRoleCommand({
        RoleName: 'legacy-deployer',
        Path: '/elsewhere/',
        AssumeRolePolicyDocument: trust(`arn:aws:iam::${ACCOUNT}:root`),
      }),
    );
    await apply(
      ns,
      federation(
        'adopt',
        spec({ name: 'legacy-deployer', path: '/elsewhere/', permissionsBoundaryArn: BOUNDARY_ARN }),
        { 'gitlab-aws.io/adopt': 'true' },
      ),
    );
    const stalled = await waitForCondition(ns, 'adopt', 'Stalled', 'True', { timeoutMs: 45_000 });
    const ready = stalled.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.reason).toBe('AWSAccessDenied');
    // Tags come first on an existing role, so the first write refused is the marking.
    expect(ready?.message).toContain('iam:TagRole');
    const role = await getRole('legacy-deployer');
    expect(role?.Tags ?? []).toEqual([]);
    expect(role?.PermissionsBoundary).toBeUndefined();
    expect(JSON.parse(decodeURIComponent(role!.AssumeRolePolicyDocument!))).toEqual(
      JSON.parse(trust(`arn:aws:iam::${ACCOUNT}:root`)),
    );
  }, 120_000);

  it('(a limit of moto, not a property of the policy) resolves no user ARN: the policy as written refuses a key write inside the prefix', async () => {
    // AWS allows this call: the user is under ROLE_PATH and carries this
    // cluster's marks (RotateKeysAndDeleteOwnUsers). moto authorises it against
    // "*", which user${ROLE_PATH}* does not match, hence the widened user
    // statements above. If moto ever resolves user ARNs this test fails, and
    // the user statements can run here as written.
    await expect(
      asWrittenIam.send(new CreateAccessKeyCommand({ UserName: 'inside-user-x' })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    // A role write inside the prefix, for contrast, passes as written.
    await asWrittenIam.send(
      new TagRoleCommand({ RoleName: 'inside-x', Tags: [{ Key: 'team', Value: 'as-written' }] }),
    );
  });

  it('(a limit of moto, not a property of the policy) does not evaluate Condition: a create with another boundary passes', async () => {
    // AWS refuses this call: CreateRoleInPrefixWithBoundaryAndOwner requires
    // iam:PermissionsBoundary = BOUNDARY_ARN. If moto ever starts to evaluate
    // conditions this test fails, and the boundary can be proven here too.
    await operatorIam.send(
      new CreateRoleCommand({
        RoleName: 'moto-ignores-conditions',
        Path: ROLE_PATH,
        AssumeRolePolicyDocument: trust(`arn:aws:iam::${ACCOUNT}:root`),
        PermissionsBoundary: OTHER_BOUNDARY_ARN,
      }),
    );
    expect((await getRole('moto-ignores-conditions'))?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(
      OTHER_BOUNDARY_ARN,
    );
  });
});
