// check-access's explanation of an IAMUserAccessKeys federation, for the
// states an end-to-end test does not reach cheaply: the user gone, a rotation
// in progress, a rotation overdue, the replaced key already deleted, a key the
// operator did not make, a failing condition. (test/federation/keys.test.ts
// runs the command on an operator-made user in moto.)
import { describe, expect, it } from 'vitest';
import { explainKeys, type KeyFacts, span } from '../../src/access/keys.ts';
import type { GitLabAwsFederation } from '../../src/api/v1alpha1/index.ts';

const NOW = new Date('2026-12-06T12:00:00Z');
const ARN = 'arn:aws:iam::123456789012:user/team-a-legacy';
const WHERE = 'group payments (scope production)';

function fed(
  accessKey: NonNullable<GitLabAwsFederation['status']>['accessKey'],
  extra = {},
): GitLabAwsFederation {
  return {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabAwsFederation',
    metadata: { name: 'legacy', namespace: 'team-a' },
    spec: {
      method: 'IAMUserAccessKeys',
      iamUser: {},
      ciVariables: { target: { group: 'payments' }, environmentScope: 'production' },
    },
    status: { userArn: ARN, accessKey, ...extra },
  } as GitLabAwsFederation;
}

const facts = (f: GitLabAwsFederation, over: Partial<KeyFacts> = {}): KeyFacts => ({
  federation: f,
  userName: 'team-a-legacy',
  user: { arn: ARN, name: 'team-a-legacy', path: '/', tags: {} },
  managedPolicyArns: [],
  inlinePolicyNames: [],
  keys: [],
  lastUsed: {},
  now: NOW,
  ...over,
});

const key = (id: string, active = true) => ({ id, active, createdAt: new Date('2026-12-01T00:00:00Z') });

describe('check-access for IAMUserAccessKeys', () => {
  it('denies when the user is gone, naming the key GitLab holds', () => {
    const v = explainKeys(facts(fed({ id: 'AKIALIVE' }), { user: undefined }));
    expect(v.usable).toBe(false);
    expect(v.headline).toBe(
      `DENIED: IAM user team-a-legacy (${ARN}) does not exist, nor any key of it: AWS refuses access key AKIALIVE that ${WHERE} holds (InvalidClientTokenId)`,
    );
  });

  it('tells of a rotation in progress, an overdue rotation, a replaced key already gone, a revocation, a foreign key and a failing condition', () => {
    const f = fed(
      {
        id: 'AKIALIVE',
        nextRotationAt: '2026-12-06T11:00:00Z',
        rotation: { startedAt: '2026-12-06T11:59:00Z', reason: 'Interval', keysBefore: ['AKIALIVE'] },
        previous: { id: 'AKIAOLD', deleteAt: '2026-12-06T13:00:00Z' },
        revoked: { rotateNow: 'leak-1', at: '2026-12-05T10:00:00Z', id: 'AKIALEAKED' },
      },
      {
        conditions: [
          { type: 'AccessKeyRotated', status: 'False', reason: 'AccessKeyLimit', message: 'two keys' },
          { type: 'UserReady', status: 'True', reason: 'Ready', message: 'fine' },
        ],
      },
    );
    const v = explainKeys(
      facts(f, {
        keys: [key('AKIALIVE'), key('AKIAHAND', false)],
        lastUsed: { AKIALIVE: { at: new Date('2026-12-06T11:30:00Z'), service: 's3', region: 'eu-west-1' } },
      }),
    );
    expect(v.usable).toBe(true);
    expect(v.headline).toBe(`ALLOWED: jobs with access key AKIALIVE from ${WHERE} act as IAM user ${ARN}`);
    expect(v.details).toEqual([
      'IAM user team-a-legacy: path /, permissions boundary none, managed policies none, inline policies none',
      'live key AKIALIVE: Active in IAM, created 2026-12-01T00:00:00.000Z, last used 2026-12-06T11:30:00.000Z (s3, eu-west-1)',
      `GitLab: ${WHERE} holds it as AWS_ACCESS_KEY_ID and its secret as AWS_SECRET_ACCESS_KEY, as the operator wrote and read them back (status.accessKey.id); check-access does not read GitLab`,
      'was due for rotation at 2026-12-06T11:00:00Z (spec.rotation.interval 30d): the operator replaces it on its next reconcile',
      'a rotation (Interval) is in progress since 2026-12-06T11:59:00Z: the next reconcile finishes it',
      'replaced key AKIAOLD: already deleted',
      'last gitlab-aws.io/rotate-now: leak-1 at 2026-12-05T10:00:00Z, deleted key AKIALEAKED',
      'the user also has access key AKIAHAND (Inactive, created 2026-12-01T00:00:00.000Z), which is neither the live nor the replaced key',
      'the operator reports AccessKeyRotated=False (AccessKeyLimit): two keys',
    ]);
  });

  it('denies an Inactive or missing live key, whatever else the user has', () => {
    const f = fed({ id: 'AKIALIVE' });
    expect(explainKeys(facts(f, { keys: [key('AKIALIVE', false)] })).headline).toBe(
      `DENIED: access key AKIALIVE that ${WHERE} holds is Inactive in IAM: AWS refuses it (InvalidClientTokenId)`,
    );
    const missing = explainKeys(facts(f, { keys: [key('AKIAOTHER')] }));
    expect(missing.usable).toBe(false);
    expect(missing.headline).toContain('does not exist in IAM');
  });

  it.each([
    [6 * 86_400_000 + 23 * 3_600_000 + 59 * 60_000, '6d 23h'],
    [2 * 3_600_000, '2h'],
    [3 * 60_000 + 20_000, '3m 20s'],
    [999, '0s'],
  ])('says %i ms as %s', (ms, text) => {
    expect(span(ms)).toBe(text);
  });
});
