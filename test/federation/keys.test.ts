// GitLabAwsFederation with method IAMUserAccessKeys end to end: moto for IAM,
// the GitLab fake over HTTPS, the operator as its own process. What a user
// sees: the IAM user and its policies, the key in GitLab (masked, the secret
// hidden and protected), the status and conditions, rotation, revocation,
// the limits of IAM, deletion.
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import {
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../../testbed/processes.ts';
import { kubectl } from '../harness/kube.ts';
import { applyPolicy } from '../tenancy/policies.ts';
import {
  apply,
  checkAccessCommand,
  eventsOf,
  federation,
  type GitLabInstance,
  getFederation,
  iamClient,
  keysSpec,
  perTestSetUp,
  REGION,
  roleExists,
  userExists,
  waitForCondition,
} from './env.ts';

const iam = iamClient();
const setUp = perTestSetUp();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

/** A managed policy in moto, as a platform team would have made it. */
const managedPolicy = (name: string, action = 's3:GetObject') =>
  iam.send(
    new CreatePolicyCommand({
      PolicyName: name,
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
      }),
    }),
  );

/** A GET to the GitLab fake's API over its TLS, as a person with the token would make it. */
function gitlabGet(gitlab: GitLabInstance, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(
      `${gitlab.fake.url}${path}`,
      { headers: { 'private-token': gitlab.token }, ca: readFileSync(gitlab.caFile) },
      (res) => {
        let body = '';
        res
          .on('data', (c) => (body += c))
          .on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode} ${body}`));
            else resolve(JSON.parse(body));
          });
      },
    );
    req.on('error', reject);
  });
}

const keysOf = async (user: string) =>
  ((await iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? []).map((k) => ({
    id: k.AccessKeyId!,
    status: k.Status!,
  }));

describe('method IAMUserAccessKeys', () => {
  it('makes the user and its key, writes the key to GitLab masked and hidden, and turns Ready', async () => {
    const { gitlab, ns } = await setUp('keys');
    const policy = await managedPolicy(`${ns}-deploy`);
    await apply(
      ns,
      federation(
        'legacy',
        keysSpec(gitlab, {
          iamUser: {
            path: '/gitlab/',
            managedPolicyArns: [policy.Policy!.Arn!],
            inlinePolicies: {
              read: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }],
              },
            },
            tags: { team: 'payments' },
          },
        }),
      ),
    );
    const fed = await waitForCondition(ns, 'legacy', 'Ready', 'True');
    const user = `${ns}-legacy`;
    expect(fed.status?.userArn).toBe(`arn:aws:iam::123456789012:user/gitlab/${user}`);
    const conditions = Object.fromEntries((fed.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conditions.UserReady?.status).toBe('True');
    expect(conditions.AccessKeyRotated).toMatchObject({ status: 'True', reason: 'Rotated' });
    const keys = await keysOf(user);
    expect(keys).toEqual([{ id: fed.status?.accessKey?.id, status: 'Active' }]);
    const created = Date.parse(fed.status!.accessKey!.createdAt!);
    expect(Date.parse(fed.status!.accessKey!.nextRotationAt!) - created).toBe(30 * 86_400_000);

    const vars = gitlab.fake.state.variables({ project: 'payments/api' });
    const byKey = Object.fromEntries(vars.map((v) => [v.key, v]));
    expect(byKey.AWS_ACCESS_KEY_ID).toMatchObject({
      value: keys[0]!.id,
      masked: true,
      hidden: false,
      protected: false,
    });
    expect(byKey.AWS_SECRET_ACCESS_KEY).toMatchObject({ masked: true, hidden: true, protected: true });
    expect(byKey.AWS_SECRET_ACCESS_KEY?.value).toMatch(/^[A-Za-z0-9/+]{40}$/);
    expect(byKey.AWS_DEFAULT_REGION).toMatchObject({ value: 'eu-west-1', masked: false });
    expect(fed.status?.ciVariables?.map((v) => v.key).sort()).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_DEFAULT_REGION',
      'AWS_SECRET_ACCESS_KEY',
    ]);
    // The API never shows the secret again.
    const listed = await gitlabGet(gitlab, '/api/v4/projects/payments%2Fapi/variables');
    const secret = (listed as { key: string; value: string | null }[]).find(
      (v) => v.key === 'AWS_SECRET_ACCESS_KEY',
    );
    expect(secret).toMatchObject({ hidden: true, value: null });
    // The user converged like a role: policies and tags.
    expect(
      (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: user }))).AttachedPolicies?.map(
        (p) => p.PolicyArn,
      ),
    ).toEqual([policy.Policy!.Arn!]);
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: user }))).PolicyNames).toEqual(['read']);
    const tags = (await iam.send(new GetUserCommand({ UserName: user }))).User?.Tags ?? [];
    expect(tags).toContainEqual({ Key: 'team', Value: 'payments' });
    expect(tags).toContainEqual({ Key: 'gitlab-aws.io/owner', Value: `${ns}/legacy` });

    // kubectl get shows the next rotation.
    const table = await kubectl(['get', 'glaf', 'legacy', '-n', ns]);
    expect(table.stdout).toMatch(/NEXT ROTATION/);
    expect(table.stdout).toContain(fed.status!.accessKey!.nextRotationAt!);

    // A steady resync makes no new key.
    const before = fed.status!.accessKey!.id;
    await new Promise((r) => setTimeout(r, 3000));
    expect((await getFederation(ns, 'legacy')).status?.accessKey?.id).toBe(before);
    expect(await keysOf(user)).toHaveLength(1);
  });

  it('rotates now on gitlab-aws.io/rotate-now and deletes the old key at once', async () => {
    const { gitlab, ns } = await setUp('revoke');
    await apply(ns, federation('leak', keysSpec(gitlab)));
    const first = await waitForCondition(ns, 'leak', 'Ready', 'True');
    const oldId = first.status!.accessKey!.id!;
    await kubectl(['annotate', 'glaf', 'leak', '-n', ns, 'gitlab-aws.io/rotate-now=2026-12-06T10:00']);
    let last: unknown;
    const fed = await waitFor(
      'the revocation',
      async () => {
        const f = await getFederation(ns, 'leak');
        last = f.status;
        return f.status?.accessKey?.revoked ? f : undefined;
      },
      { diagnostics: () => JSON.stringify(last, null, 2) },
    );
    expect(fed.status?.accessKey?.revoked).toMatchObject({ rotateNow: '2026-12-06T10:00', id: oldId });
    expect(fed.status?.accessKey?.id).not.toBe(oldId);
    expect(await keysOf(`${ns}-leak`)).toEqual([{ id: fed.status?.accessKey?.id, status: 'Active' }]);
    const id = gitlab.fake.state
      .variables({ project: 'payments/api' })
      .find((v) => v.key === 'AWS_ACCESS_KEY_ID');
    expect(id?.value).toBe(fed.status?.accessKey?.id);
    const events = await eventsOf(ns, 'leak');
    expect(events.find((e) => e.reason === 'AccessKeyRevoked')?.message).toContain(oldId);
  });

  it('still revokes on rotate-now when the first try fails: the old key goes at once, not after the grace', async () => {
    const { gitlab, ns } = await setUp('revokeretry');
    await apply(ns, federation('leak', keysSpec(gitlab)));
    const first = await waitForCondition(ns, 'leak', 'Ready', 'True');
    const oldId = first.status!.accessKey!.id!;
    // The new secret's write fails once: the next reconcile resumes the rotation the annotation started.
    const refused = gitlab.fake.faults.add({
      method: 'PUT',
      path: /\/variables\/AWS_SECRET_ACCESS_KEY$/,
      status: 500,
      times: 1,
    });
    await kubectl(['annotate', 'glaf', 'leak', '-n', ns, 'gitlab-aws.io/rotate-now=leaked']);
    let last: unknown;
    const fed = await waitFor(
      'the revocation',
      async () => {
        const f = await getFederation(ns, 'leak');
        last = f.status;
        return f.status?.accessKey?.revoked ? f : undefined;
      },
      { diagnostics: () => JSON.stringify(last, null, 2) },
    );
    expect(refused.hits).toBe(1);
    expect(fed.status?.accessKey?.revoked).toMatchObject({ rotateNow: 'leaked', id: oldId });
    expect(fed.status?.accessKey?.previous).toBeUndefined();
    expect(await keysOf(`${ns}-leak`)).toEqual([{ id: fed.status?.accessKey?.id, status: 'Active' }]);
    expect((await eventsOf(ns, 'leak')).find((e) => e.reason === 'AccessKeyRevoked')?.message).toContain(
      oldId,
    );
  });

  it('deletes a new key at once when GitLab does not take it', async () => {
    const { gitlab, ns } = await setUp('refused');
    gitlab.fake.faults.add({ method: 'POST', path: /variables/, status: 500, times: 2 });
    await apply(ns, federation('flaky', keysSpec(gitlab)));
    await waitForCondition(ns, 'flaky', 'Ready', 'True', { timeoutMs: 60_000 });
    const fed = await getFederation(ns, 'flaky');
    // Two keys were made and deleted again in the reconcile that made them, not later; the third is the only one.
    expect(await keysOf(`${ns}-flaky`)).toEqual([{ id: fed.status?.accessKey?.id, status: 'Active' }]);
    const said = (await eventsOf(ns, 'flaky')).map((e) => e.message).join('\n');
    expect(said.match(/GitLab did not take it/g)).toHaveLength(2);
    expect(said).not.toContain('stopped before GitLab held it');
  });

  it('check-access explains the user, the live key, when it was used and rotates, and the replaced key', async () => {
    const { gitlab, ns, op } = await setUp('keyaccess');
    const policy = await managedPolicy(`${ns}-read`);
    const inline = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }],
    };
    await apply(
      ns,
      federation(
        'shown',
        keysSpec(gitlab, {
          iamUser: {
            path: '/gitlab/',
            managedPolicyArns: [policy.Policy!.Arn!],
            inlinePolicies: { list: inline },
          },
          rotation: { interval: '7d', gracePeriod: '2h' },
        }),
      ),
    );
    const first = await waitForCondition(ns, 'shown', 'Ready', 'True');
    const oldId = first.status!.accessKey!.id!;
    // GitLab loses the key ID variable: the operator makes a new key, and the old one stays for the grace period.
    const idVar = gitlab.fake.state
      .variables({ project: 'payments/api' })
      .find((v) => v.key === 'AWS_ACCESS_KEY_ID')!;
    gitlab.fake.state.removeVariable(idVar.id);
    await kubectl(['annotate', 'glaf', 'shown', '-n', ns, 'looked-at=1']);
    let last: unknown;
    const fed = await waitFor(
      'the replacement',
      async () => {
        const f = await getFederation(ns, 'shown');
        last = f.status;
        return f.status?.accessKey?.previous?.id === oldId ? f : undefined;
      },
      { diagnostics: () => JSON.stringify(last, null, 2) },
    );
    const key = fed.status!.accessKey!;
    // A job uses the key GitLab holds: IAM records when.
    const vars = Object.fromEntries(
      gitlab.fake.state.variables({ project: 'payments/api' }).map((v) => [v.key, v.value]),
    );
    expect(vars.AWS_ACCESS_KEY_ID).toBe(key.id);
    const sts = new STSClient({
      endpoint: inject('motoIamUrl'),
      region: REGION,
      credentials: { accessKeyId: vars.AWS_ACCESS_KEY_ID!, secretAccessKey: vars.AWS_SECRET_ACCESS_KEY! },
    });
    await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();

    const user = `${ns}-shown`;
    const where = 'project payments/api (scope *)';
    const ok = await checkAccessCommand(['--federation', `${ns}/shown`]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const lines = ok.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `ALLOWED: jobs with access key ${key.id} from ${where} act as IAM user arn:aws:iam::123456789012:user/gitlab/${user}`,
    );
    expect(lines).toContain(
      `  - IAM user ${user}: path /gitlab/, permissions boundary none, managed policies ${policy.Policy!.Arn}, inline policies list`,
    );
    // The live key: as ListAccessKeys has it (IAM's creation time, to the second), and used just now.
    const liveLine = lines.find((l) => l.startsWith(`  - live key ${key.id}: Active in IAM, created `));
    expect(liveLine).toMatch(/, last used \S+ \(sts, eu-west-1\)$/);
    const created = Date.parse(/created (\S+),/.exec(liveLine!)![1]!);
    expect(Math.abs(created - Date.parse(key.createdAt!))).toBeLessThan(1000);
    expect(lines).toContain(
      `  - GitLab: ${where} holds it as AWS_ACCESS_KEY_ID and its secret as AWS_SECRET_ACCESS_KEY, as the operator wrote and read them back (status.accessKey.id); check-access does not read GitLab`,
    );
    expect(lines).toContain(`  - rotates at ${key.nextRotationAt}, in 6d 23h (spec.rotation.interval 7d)`);
    expect(lines).toContain(
      `  - replaced key ${oldId}: Active, deleted at ${key.previous!.deleteAt} (spec.rotation.gracePeriod 2h, so that running jobs finish), never used`,
    );
    expect(lines).toHaveLength(6);

    // Keys that AWS would refuse: the operator stands still meanwhile (stopped), so that it does not repair them.
    await op.stop();
    await iam.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: key.id!, Status: 'Inactive' }));
    const inactive = await checkAccessCommand(['--federation', `${ns}/shown`]);
    expect(inactive.code).toBe(1);
    expect(inactive.stdout.split('\n')[0]).toBe(
      `DENIED: access key ${key.id} that ${where} holds is Inactive in IAM: AWS refuses it (InvalidClientTokenId)`,
    );
    expect(inactive.stdout).toContain(`  - live key ${key.id}: Inactive in IAM`);
    await iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: key.id! }));
    const gone = await checkAccessCommand(['--federation', `${ns}/shown`]);
    expect(gone.code).toBe(1);
    expect(gone.stdout.split('\n')[0]).toBe(
      `DENIED: access key ${key.id} that ${where} holds does not exist in IAM: AWS refuses it (InvalidClientTokenId)`,
    );

    // No token for this method; and a federation without a key yet cannot be checked.
    const withToken = await checkAccessCommand([
      '--federation',
      `${ns}/shown`,
      '--project',
      'payments/api',
      '--ref',
      'main',
    ]);
    expect(withToken.code).toBe(2);
    expect(withToken.stderr).toContain(
      'has method IAMUserAccessKeys: its jobs present an access key, not an ID token',
    );
  });

  it('reports a user that already has two keys made by hand, and leaves them', async () => {
    const { gitlab, ns } = await setUp('twokeys');
    const user = `${ns}-adopted`;
    await iam.send(new CreateUserCommand({ UserName: user }));
    const a = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!.AccessKeyId!;
    const b = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!.AccessKeyId!;
    await apply(ns, federation('adopted', keysSpec(gitlab), { 'gitlab-aws.io/adopt': 'true' }));
    const fed = await waitForCondition(ns, 'adopted', 'Stalled', 'True', { reason: 'AccessKeyLimit' });
    const c = fed.status?.conditions?.find((x) => x.type === 'AccessKeyRotated');
    expect(c?.message).toContain(a);
    expect(c?.message).toContain(b);
    expect((await keysOf(user)).map((k) => k.id).sort()).toEqual([a, b].sort());
    expect(gitlab.fake.state.variables({ project: 'payments/api' }).map((v) => v.key)).not.toContain(
      'AWS_SECRET_ACCESS_KEY',
    );
  });

  it('never overwrites a key variable it does not own, and makes no key for it', async () => {
    const { gitlab, ns } = await setUp('foreignvar');
    gitlab.fake.state.setVariable(
      { project: 'payments/api' },
      { key: 'AWS_ACCESS_KEY_ID', value: 'AKIAHANDMADE00000000', environment_scope: '*' },
    );
    await apply(ns, federation('clash', keysSpec(gitlab)));
    const fed = await waitForCondition(ns, 'clash', 'Stalled', 'True', { reason: 'VariableOwnedElsewhere' });
    expect(fed.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('AWS_ACCESS_KEY_ID');
    expect(await keysOf(`${ns}-clash`)).toEqual([]);
    // check-access has no key to check.
    const check = await checkAccessCommand(['--federation', `${ns}/clash`]);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain(
      `federation ${ns}/clash has no access key yet (status.accessKey.id is empty): see kubectl describe glaf -n ${ns} clash`,
    );
    expect(
      gitlab.fake.state.variables({ project: 'payments/api' }).find((v) => v.key === 'AWS_ACCESS_KEY_ID')
        ?.value,
    ).toBe('AKIAHANDMADE00000000');
  });

  it('removes the user, its keys and its variables when deleted', async () => {
    const { gitlab, ns } = await setUp('keysdel');
    await apply(ns, federation('gone', keysSpec(gitlab)));
    await waitForCondition(ns, 'gone', 'Ready', 'True');
    await kubectl(['delete', 'glaf', 'gone', '-n', ns, '--wait=true', '--timeout=60s']);
    expect(await userExists(`${ns}-gone`)).toBe(false);
    expect(gitlab.fake.state.variables({ project: 'payments/api' })).toEqual([]);
  });

  it('rotates when the interval is over, and deletes the replaced key after the grace period', async () => {
    const { gitlab, ns } = await setUp('interval');
    await apply(
      ns,
      federation('timed', keysSpec(gitlab, { rotation: { interval: '1m', gracePeriod: '5s' } })),
    );
    const first = await waitForCondition(ns, 'timed', 'Ready', 'True');
    const oldId = first.status!.accessKey!.id!;
    const due = Date.parse(first.status!.accessKey!.nextRotationAt!);
    expect(due - Date.parse(first.status!.accessKey!.createdAt!)).toBe(60_000);
    const user = `${ns}-timed`;
    // Replaced: the new key in GitLab, the old one still usable for the grace period.
    const rotated = await waitFor(
      'the rotation',
      async () => {
        const f = await getFederation(ns, 'timed');
        return f.status?.accessKey?.previous ? f : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(Date.now()).toBeGreaterThanOrEqual(due - 2000);
    expect(rotated.status?.accessKey?.previous?.id).toBe(oldId);
    const newId = rotated.status!.accessKey!.id!;
    expect(newId).not.toBe(oldId);
    expect((await keysOf(user)).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [
        { id: oldId, status: 'Active' },
        { id: newId, status: 'Active' },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(
      gitlab.fake.state.variables({ project: 'payments/api' }).find((v) => v.key === 'AWS_ACCESS_KEY_ID')
        ?.value,
    ).toBe(newId);
    // Then it goes.
    await waitFor('the old key deleted', async () => ((await keysOf(user)).length === 1 ? true : undefined), {
      timeoutMs: 30_000,
    });
    expect(await keysOf(user)).toEqual([{ id: newId, status: 'Active' }]);
    const after = await getFederation(ns, 'timed');
    expect(after.status?.accessKey?.previous).toBeUndefined();
  }, 150_000);

  it('replaces a key deleted by hand in IAM, or whose secret was deleted in GitLab, at the next resync', async () => {
    const { gitlab, ns } = await setUp('keysdrift', { args: ['--resync-interval', '2s'] });
    await apply(ns, federation('drift', keysSpec(gitlab)));
    const first = await waitForCondition(ns, 'drift', 'Ready', 'True');
    const user = `${ns}-drift`;
    const replaced = async (old: string) =>
      waitFor(
        `a key other than ${old}`,
        async () => {
          const f = await getFederation(ns, 'drift');
          const id = f.status?.accessKey?.id;
          const ready = f.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
          return id && id !== old && ready ? id : undefined;
        },
        { timeoutMs: 30_000 },
      );
    const a = first.status!.accessKey!.id!;
    await iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: a }));
    const b = await replaced(a);
    expect(await keysOf(user)).toEqual([{ id: b, status: 'Active' }]);
    expect(
      gitlab.fake.state.variables({ project: 'payments/api' }).find((v) => v.key === 'AWS_ACCESS_KEY_ID')
        ?.value,
    ).toBe(b);

    const secret = gitlab.fake.state
      .variables({ project: 'payments/api' })
      .find((v) => v.key === 'AWS_SECRET_ACCESS_KEY')!;
    gitlab.fake.state.removeVariable(secret.id);
    const c = await replaced(b);
    // The key whose secret is gone stays for the grace period, since jobs may still hold it.
    const after = await getFederation(ns, 'drift');
    expect(after.status?.accessKey?.previous?.id).toBe(b);
    expect((await keysOf(user)).map((k) => k.id).sort()).toEqual([b, c].sort());
  });

  it('refuses an interval shorter than a minute', async () => {
    const { gitlab, ns } = await setUp('tooshort');
    await apply(ns, federation('fast', keysSpec(gitlab, { rotation: { interval: '10s' } })));
    const fed = await waitForCondition(ns, 'fast', 'Stalled', 'True', { reason: 'InvalidRotation' });
    expect(fed.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('at least 1m');
    expect(await keysOf(`${ns}-fast`)).toEqual([]);
  });

  it('does not take over a user it did not make without the adopt annotation', async () => {
    const { gitlab, ns } = await setUp('keysadopt');
    await iam.send(new CreateUserCommand({ UserName: `${ns}-mine` }));
    await apply(ns, federation('mine', keysSpec(gitlab)));
    const fed = await waitForCondition(ns, 'mine', 'Stalled', 'True', { reason: 'UserOwnedElsewhere' });
    expect(fed.status?.conditions?.find((c) => c.type === 'UserReady')?.message).toContain(
      'gitlab-aws.io/adopt',
    );
    expect(await keysOf(`${ns}-mine`)).toEqual([]);
  });
});

describe('switching methods', () => {
  it('from IAMUserAccessKeys to OIDC: the role and ROLE_ARN appear, then the user, its keys and the key variables go', async () => {
    const { gitlab, ns } = await setUp('migrate');
    await apply(ns, federation('move', keysSpec(gitlab)));
    const before = await waitForCondition(ns, 'move', 'Ready', 'True');
    const user = `${ns}-move`;
    expect(await keysOf(user)).toHaveLength(1);
    await apply(
      ns,
      federation('move', {
        gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        aws: { region: 'eu-west-1' },
        method: 'OIDC',
        access: [{ project: 'payments/api', refs: ['main'] }],
        ciVariables: { target: { project: 'payments/api' } },
      }),
    );
    const after = await waitForCondition(ns, 'move', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(after.status?.roleArn).toBe(`arn:aws:iam::123456789012:role/${ns}-move`);
    expect(after.status?.userArn).toBeUndefined();
    expect(after.status?.accessKey).toBeUndefined();
    expect(after.status?.retiring).toBeUndefined();
    expect(await userExists(user)).toBe(false);
    const keys = gitlab.fake.state
      .variables({ project: 'payments/api' })
      .map((v) => v.key)
      .sort();
    expect(keys).toEqual(['AWS_DEFAULT_REGION', 'ROLE_ARN']);
    expect(after.status?.ciVariables?.map((v) => v.key).sort()).toEqual(['AWS_DEFAULT_REGION', 'ROLE_ARN']);
    const events = await eventsOf(ns, 'move');
    expect(events.map((e) => e.message).join('\n')).toContain(`deleted IAM user ${before.status?.userArn}`);
  });

  it('from OIDC to IAMUserAccessKeys: the key is written, then the role and ROLE_ARN go', async () => {
    const { gitlab, ns } = await setUp('downgrade');
    await apply(
      ns,
      federation('back', {
        gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        aws: { region: 'eu-west-1' },
        access: [{ project: 'payments/api', refs: ['main'] }],
        ciVariables: { target: { project: 'payments/api' } },
      }),
    );
    const oidc = await waitForCondition(ns, 'back', 'Ready', 'True');
    expect(oidc.status?.roleArn).toBeDefined();
    await apply(ns, federation('back', keysSpec(gitlab)));
    const keys = await waitForCondition(ns, 'back', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(keys.status?.roleArn).toBeUndefined();
    expect(keys.status?.identityProviderArn).toBeUndefined();
    expect(keys.status?.retiring).toBeUndefined();
    expect(await roleExists(`${ns}-back`)).toBe(false);
    expect(
      gitlab.fake.state
        .variables({ project: 'payments/api' })
        .map((v) => v.key)
        .sort(),
    ).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_DEFAULT_REGION', 'AWS_SECRET_ACCESS_KEY']);
  });
});

describe('under a GitLabAwsPolicy (--tenancy restricted)', () => {
  it('refuses the method where the policy does not list it, and makes no user', async () => {
    const { gitlab, ns } = await setUp('keysten', { tenancy: 'restricted' });
    cleanups.push(
      await applyPolicy(`keys-${ns}`, ns, { gitlab: { urls: [gitlab.fake.url], paths: ['payments'] } }),
    );
    await apply(ns, federation('nokeys', keysSpec(gitlab)));
    const fed = await waitForCondition(ns, 'nokeys', 'Stalled', 'True', { reason: 'PolicyViolation' });
    expect(fed.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('spec.method');
    expect(await userExists(`${ns}-nokeys`)).toBe(false);
    expect(gitlab.fake.state.variables({ project: 'payments/api' })).toEqual([]);
  });

  it('gives the user the policy’s path prefix and boundary, and refuses a managed policy it does not allow', async () => {
    const { gitlab, ns } = await setUp('keysok', { tenancy: 'restricted' });
    const boundary = await managedPolicy(`boundary-${ns}`, 's3:*');
    const boundaryArn = boundary.Policy!.Arn!;
    cleanups.push(
      await applyPolicy(`keys-${ns}`, ns, {
        gitlab: { urls: [gitlab.fake.url], paths: ['payments'] },
        methods: ['IAMUserAccessKeys'],
        role: { pathPrefix: `/gitlab/${ns}/`, permissionsBoundaryArn: boundaryArn },
      }),
    );
    await apply(ns, federation('allowed', keysSpec(gitlab)));
    const fed = await waitForCondition(ns, 'allowed', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(fed.status?.userArn).toBe(`arn:aws:iam::123456789012:user/gitlab/${ns}/${ns}-allowed`);
    const user = (await iam.send(new GetUserCommand({ UserName: `${ns}-allowed` }))).User!;
    expect(user.PermissionsBoundary?.PermissionsBoundaryArn).toBe(boundaryArn);

    await apply(
      ns,
      federation(
        'admin',
        keysSpec(gitlab, {
          iamUser: { managedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'] },
          ciVariables: { target: { project: 'payments/api' }, environmentScope: 'admin' },
        }),
      ),
    );
    const refused = await waitForCondition(ns, 'admin', 'Stalled', 'True', { reason: 'PolicyViolation' });
    expect(refused.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      'spec.iamUser.managedPolicyArns',
    );
    expect(await userExists(`${ns}-admin`)).toBe(false);
  });
});
