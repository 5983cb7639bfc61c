// The pure decisions of the GitLabConnection controller, table-tested.
import { describe, expect, it } from 'vitest';
import { parseConnectionsArn, regionOf, sameArn, withService } from '../../src/adapters/aws/connections.ts';
import type { GitLabConnection } from '../../src/api/v1alpha1/index.ts';
import { CreatedArns } from '../../src/controllers/connection/created.ts';
import { authorizationUrl, resolve } from '../../src/controllers/connection/defaults.ts';
import {
  connectionMismatch,
  desiredTags,
  hostPhase,
  pickExisting,
  tagDelta,
} from '../../src/controllers/connection/desired.ts';
import { ownershipOf } from '../../src/controllers/shared/ownership.ts';
import { formatDelay, pollDelay } from '../../src/runtime/reconcile/poll.ts';

const OWNER = 'gitlab-aws.io/owner';
const CLUSTER = 'gitlab-aws.io/cluster';
const C1 =
  'arn:aws:codestar-connections:eu-west-1:123456789012:connection/0c1d2e3f-0000-4000-8000-000000000001';
const C1_NEW = C1.replace('codestar-connections', 'codeconnections');
const H1 = 'arn:aws:codeconnections:eu-west-1:123456789012:host/gitlab-example-28aef605';

function glconn(spec: GitLabConnection['spec'], annotations?: Record<string, string>): GitLabConnection {
  return {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabConnection',
    metadata: { namespace: 'pipelines', name: 'gitlab-main', ...(annotations ? { annotations } : {}) },
    spec,
  };
}

describe('names and defaults', () => {
  it('gitlab.com has no host; names default to metadata.name, then the connection name', () => {
    expect(resolve(glconn({}), 'eu-west-1')).toMatchObject({
      owner: 'pipelines/gitlab-main',
      connectionName: 'gitlab-main',
      url: 'https://gitlab.com',
      host: undefined,
      region: 'eu-west-1',
      deletionPolicy: 'Delete',
      adopt: false,
    });
    expect(
      resolve(glconn({ connectionName: 'conn', gitlab: { url: 'https://git.example.com/' } }), undefined)
        .host,
    ).toEqual({ name: 'conn', endpoint: 'https://git.example.com', vpc: undefined });
    const r = resolve(
      glconn(
        { gitlab: { url: 'https://git.example.com' }, host: { name: 'h' }, aws: { region: 'us-west-2' } },
        {
          'gitlab-aws.io/adopt': 'true',
        },
      ),
      'eu-west-1',
    );
    expect(r).toMatchObject({ region: 'us-west-2', adopt: true, host: { name: 'h' } });
  });

  it('points a person at the console of the Region', () => {
    expect(authorizationUrl('eu-west-1')).toBe(
      'https://console.aws.amazon.com/codesuite/settings/connections?region=eu-west-1',
    );
  });
});

describe('ARNs under both prefixes', () => {
  it.each([
    [C1, C1_NEW, true],
    [C1_NEW, C1_NEW, true],
    [C1, C1.replace('0001', '0002'), false],
    [C1, C1.replace('eu-west-1', 'us-east-1'), false],
    [H1, H1.replace('codeconnections', 'codestar-connections'), true],
    [C1, undefined, false],
    ['not-an-arn', 'not-an-arn', true],
  ])('sameArn(%s, %s) is %s', (a, b, same) => {
    expect(sameArn(a, b)).toBe(same);
  });

  it('parses, converts and reads the Region', () => {
    expect(parseConnectionsArn(H1)).toEqual({
      partition: 'aws',
      service: 'codeconnections',
      region: 'eu-west-1',
      account: '123456789012',
      kind: 'host',
      id: 'gitlab-example-28aef605',
    });
    expect(withService(H1, 'codestar-connections')).toBe(
      H1.replace('codeconnections', 'codestar-connections'),
    );
    expect(withService('arn:aws:iam::123456789012:role/x', 'codeconnections')).toBe(
      'arn:aws:iam::123456789012:role/x',
    );
    expect(regionOf(C1_NEW)).toBe('eu-west-1');
    expect(
      parseConnectionsArn('arn:aws-cn:codeconnections:cn-north-1:123456789012:connection/x')?.partition,
    ).toBe('aws-cn');
  });
});

describe('tags', () => {
  it('desired = spec tags + owner tags', () => {
    expect(desiredTags(resolve(glconn({ tags: { team: 'a' } }), undefined), 'prod')).toEqual({
      team: 'a',
      [OWNER]: 'pipelines/gitlab-main',
      [CLUSTER]: 'prod',
    });
  });

  it.each([
    [{}, { a: '1' }, { set: { a: '1' }, remove: [] }],
    [{ a: '1' }, { a: '1' }, { set: {}, remove: [] }],
    [{ a: '1', b: '2' }, { a: '2' }, { set: { a: '2' }, remove: ['b'] }],
    [{ 'aws:x': '1', c: '3' }, {}, { set: {}, remove: ['c'] }],
  ])('tagDelta(%o, %o)', (observed, desired, delta) => {
    expect(tagDelta(observed, desired)).toEqual(delta);
  });
});

describe('ownership and what to use of an existing name', () => {
  const ours = { [OWNER]: 'pipelines/gitlab-main', [CLUSTER]: 'default' };
  it.each([
    [ours, 'ours'],
    [{ [OWNER]: 'pipelines/gitlab-main' }, 'ours'],
    [{ [OWNER]: 'pipelines/gitlab-main', [CLUSTER]: 'other' }, 'other'],
    [{ [OWNER]: 'team/x', [CLUSTER]: 'default' }, 'other'],
    [{ team: 'a' }, 'unmarked'],
  ])('ownershipOf(%o) is %s', (tags, expected) => {
    expect(ownershipOf(tags, 'pipelines/gitlab-main', 'default')).toBe(expected);
  });

  const pick = (cands: { arn: string; tags?: Record<string, string> }[], adopt = false) =>
    pickExisting(
      cands as { arn: string; tags: Record<string, string> | undefined }[],
      'pipelines/gitlab-main',
      'default',
      adopt,
    );

  it('prefers ours, even among others', () => {
    expect(
      pick([
        { arn: 'a', tags: { [OWNER]: 'x/y' } },
        { arn: 'b', tags: ours },
        { arn: 'c', tags: ours },
      ]),
    ).toEqual({
      kind: 'adopt',
      arn: 'b',
      ownership: 'ours',
      others: ['c'],
    });
  });
  it('adopts a single unmarked one only when asked', () => {
    expect(pick([{ arn: 'a', tags: {} }])).toMatchObject({
      kind: 'conflict',
      arn: 'a',
      ownership: 'unmarked',
    });
    expect(pick([{ arn: 'a', tags: {} }], true)).toMatchObject({
      kind: 'adopt',
      arn: 'a',
      ownership: 'unmarked',
    });
    expect(
      pick(
        [
          { arn: 'a', tags: {} },
          { arn: 'b', tags: {} },
        ],
        true,
      ),
    ).toMatchObject({ kind: 'conflict' });
  });
  it("never adopts another owner's, and ignores what vanished", () => {
    expect(pick([{ arn: 'a', tags: { [OWNER]: 'x/y' } }], true)).toMatchObject({
      kind: 'conflict',
      ownership: 'other',
    });
    expect(pick([{ arn: 'a' }])).toEqual({ kind: 'none' });
    expect(pick([])).toEqual({ kind: 'none' });
  });

  it('checks that an existing connection fits the spec', () => {
    expect(connectionMismatch({ providerType: 'GitLab', hostArn: undefined }, undefined)).toBeUndefined();
    expect(connectionMismatch({ providerType: 'GitHub', hostArn: undefined }, undefined)).toContain('GitHub');
    expect(
      connectionMismatch(
        { providerType: 'GitLabSelfManaged', hostArn: H1 },
        withService(H1, 'codestar-connections'),
      ),
    ).toBeUndefined();
    expect(connectionMismatch({ providerType: 'GitLab', hostArn: undefined }, H1)).toContain(
      `not host ${H1}`,
    );
  });
});

describe('waiting', () => {
  it.each([
    [0, 30_000],
    [10_000, 30_000],
    [45_000, 45_000],
    [120_000, 120_000],
    [3_600_000, 300_000],
  ])('after waiting %i ms, looks again in %i ms (30 s doubling up to 5 min)', (waited, delay) => {
    expect(pollDelay(waited, 30_000, 300_000)).toBe(delay);
  });

  it('never goes below the first interval, even with a smaller cap', () => {
    expect(pollDelay(0, 30_000, 1_000)).toBe(30_000);
  });

  it.each([
    ['AVAILABLE', 'available'],
    ['PENDING', 'pending'],
    ['VPC_CONFIG_INITIALIZING', 'provisioning'],
    ['VPC_CONFIG_FAILED_INITIALIZATION', 'failed'],
    ['ERROR', 'failed'],
    ['VPC_CONFIG_DELETING', 'deleting'],
    ['SOMETHING_NEW', 'unknown'],
  ])('host status %s is %s', (status, phase) => {
    expect(hostPhase(status)).toBe(phase);
  });

  it('formats delays for messages', () => {
    expect([formatDelay(1_500), formatDelay(30_000), formatDelay(300_000), formatDelay(5_400_000)]).toEqual([
      '1.5 s',
      '30 s',
      '5 min',
      '1.5 h',
    ]);
  });
});

describe('ARNs created by this process', () => {
  const obj = (status?: { connectionArn?: string; hostArn?: string }) =>
    ({ ...glconn({}), metadata: { uid: 'u1', name: 'n', namespace: 'ns' }, status }) as GitLabConnection;

  it('stand in for status until the cached object shows them, then are dropped', () => {
    const created = new CreatedArns();
    expect(created.recall(obj({ connectionArn: C1 }))).toEqual({ connectionArn: C1, hostArn: undefined });
    created.remember(obj(), { hostArn: H1 });
    created.remember(obj(), { connectionArn: C1_NEW });
    // The informer has not seen the status write yet.
    expect(created.recall(obj())).toEqual({ connectionArn: C1_NEW, hostArn: H1 });
    // A stale status (an older connection) does not win over what was just created.
    expect(created.recall(obj({ connectionArn: C1, hostArn: H1 }))).toEqual({
      connectionArn: C1_NEW,
      hostArn: H1,
    });
    // Caught up: forgotten, status rules again.
    expect(created.recall(obj({ connectionArn: C1_NEW, hostArn: H1 }))).toEqual({
      connectionArn: C1_NEW,
      hostArn: H1,
    });
    expect(created.recall(obj({ connectionArn: C1 }))).toEqual({ connectionArn: C1, hostArn: undefined });
  });
});
