// Grant presets end to end: the operator as its own process, moto for IAM, the
// GitLab fake. What a user sees: one inline policy per preset on the role (or
// the IAM user), in the role's account and the federation's region, converged
// like any inline policy (a hand edit reverted, a removed preset deleted), and
// what IAM would refuse said before anything is written. test/jobs/ runs the
// example jobs against these policies with IAM enforcement on.
import {
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/iam-document.ts';
import { waitFor } from '../../testbed/processes.ts';
import {
  apply,
  eventsOf,
  federation,
  iamClient,
  keysSpec,
  perTestSetUp,
  REGION,
  waitForCondition,
} from './env.ts';

const iam = iamClient();
const setUp = perTestSetUp();
const ACCOUNT = '123456789012';

const rolePolicy = async (role: string, name: string) =>
  parsePolicy(
    (await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name }))).PolicyDocument!,
  );
const rolePolicies = async (role: string) =>
  (await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames?.sort();

describe('grant presets', () => {
  it('become inline policies of the role, scoped to its account and region, and converge like any', async () => {
    const { ns, spec } = await setUp('grants', { args: ['--resync-interval', '2s'] });
    const role = `${ns}-deploy`.slice(0, 64);
    await apply(
      ns,
      federation(
        'deploy',
        spec({
          aws: { region: REGION },
          role: {
            inlinePolicies: {
              extra: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 'sns:Publish', Resource: '*' }],
              },
            },
            grants: [
              { ecrPush: { repositories: ['payments/api'] } },
              { s3Deploy: { buckets: ['payments-site'] } },
            ],
          },
        }),
      ),
    );
    await waitForCondition(ns, 'deploy', 'Ready', 'True');
    expect(await rolePolicies(role)).toEqual([
      'extra',
      'gitlab-aws-grant-ecrPush',
      'gitlab-aws-grant-s3Deploy',
    ]);
    const ecr = await rolePolicy(role, 'gitlab-aws-grant-ecrPush');
    expect(ecr.Statement).toContainEqual(
      expect.objectContaining({
        Sid: 'EcrPush',
        Resource: [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/payments/api`],
      }),
    );

    // Widened by hand: put back at the next resync, with an event.
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: role,
        PolicyName: 'gitlab-aws-grant-s3Deploy',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
        }),
      }),
    );
    await waitFor('the widened grant put back', async () => {
      const doc = JSON.stringify(await rolePolicy(role, 'gitlab-aws-grant-s3Deploy'));
      return doc.includes('arn:aws:s3:::payments-site/*') && !doc.includes('s3:*') ? true : undefined;
    });
    await waitFor('an event naming the grant', async () =>
      (await eventsOf(ns, 'deploy')).some((e) =>
        e.message.includes('inline policy gitlab-aws-grant-s3Deploy'),
      )
        ? true
        : undefined,
    );

    // A preset the spec no longer names goes.
    await apply(
      ns,
      federation(
        'deploy',
        spec({
          aws: { region: REGION },
          role: { grants: [{ ecrPush: { repositories: ['payments/api', 'payments/web'] } }] },
        }),
      ),
    );
    await waitFor('the s3Deploy grant removed and ecrPush widened as asked', async () => {
      const names = await rolePolicies(role);
      if (names?.join() !== 'gitlab-aws-grant-ecrPush') return undefined;
      const doc = JSON.stringify(await rolePolicy(role, 'gitlab-aws-grant-ecrPush'));
      return doc.includes('repository/payments/web') ? true : undefined;
    });
    await waitForCondition(ns, 'deploy', 'Ready', 'True');
  });

  it('become inline policies of the IAM user; more than IAM allows a user is refused before any write', async () => {
    const { ns, gitlab } = await setUp('grants-user');
    const user = `${ns}-ci`.slice(0, 64);
    await apply(
      ns,
      federation(
        'ci',
        keysSpec(gitlab, { iamUser: { grants: [{ s3Deploy: { buckets: ['payments-site'] } }] } }),
      ),
    );
    await waitForCondition(ns, 'ci', 'Ready', 'True');
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: user }))).PolicyNames).toEqual([
      'gitlab-aws-grant-s3Deploy',
    ]);
    const doc = (
      await iam.send(new GetUserPolicyCommand({ UserName: user, PolicyName: 'gitlab-aws-grant-s3Deploy' }))
    ).PolicyDocument!;
    expect(JSON.stringify(parsePolicy(doc))).toContain('arn:aws:s3:::payments-site/*');

    // Twenty repositories and twenty secrets: over the 2,048 characters IAM allows a user's inline policies.
    const many = Array.from({ length: 20 }, (_, i) => `payments/service-number-${i}`);
    const secrets = Array.from(
      { length: 20 },
      (_, i) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:payments/service-${i}-??????`,
    );
    await apply(
      ns,
      federation(
        'ci',
        keysSpec(gitlab, {
          iamUser: {
            grants: [{ ecrPush: { repositories: many } }, { secretsRead: { secretArns: secrets } }],
          },
        }),
      ),
    );
    const fed = await waitForCondition(ns, 'ci', 'Stalled', 'True', { reason: 'InlinePoliciesTooLarge' });
    const stalled = fed.status?.conditions?.find((c) => c.type === 'Stalled');
    expect(stalled?.message).toMatch(
      /inline policies of IAM user .* would be \d+ characters together, over the 2048 that IAM allows for a user/,
    );
    // Nothing was written: the user keeps the policy it had.
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: user }))).PolicyNames).toEqual([
      'gitlab-aws-grant-s3Deploy',
    ]);
    expect(fed.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
  });
});
