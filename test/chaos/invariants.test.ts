// The chaos suite's invariant checker must not be vacuous: from a consistent
// world it reports nothing, and each kind of damage gives the sentence that
// names it.
import { describe, expect, it } from 'vitest';
import type { GitLabAwsFederation, GitLabConnection } from '../../src/api/v1alpha1/index.ts';
import { type CheckInput, checkInvariants } from '../../testbed/chaos/invariants.ts';

const ready = (generation: number) => ({
  observedGeneration: generation,
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Ready',
      message: '',
      observedGeneration: generation,
      lastTransitionTime: '',
    },
  ],
});
const own = (owner: string) => ({ 'gitlab-aws.io/owner': owner, 'gitlab-aws.io/cluster': 'chaos' });
const ROLE_ARN = 'arn:aws:iam::123456789012:role/ns-fed';
const CONN_ARN = 'arn:aws:codestar-connections:eu-west-1:123456789012:connection/1';
const HOST_ARN = 'arn:aws:codestar-connections:eu-west-1:123456789012:host/h-1';
const URL = 'https://127.0.0.1:4443';

function world(): CheckInput {
  const fed = {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabAwsFederation',
    metadata: { namespace: 'ns', name: 'fed', generation: 2 },
    spec: {
      gitlab: { url: URL },
      access: [{ project: 'g/p', refs: ['main'] }],
      ciVariables: { target: { project: 'g/p' }, environmentScope: 'env' },
    },
    status: { ...ready(2), roleArn: ROLE_ARN },
  } as unknown as GitLabAwsFederation;
  const conn = {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabConnection',
    metadata: { namespace: 'ns', name: 'conn', generation: 1 },
    spec: { gitlab: { url: URL }, host: { name: 'h' }, tags: { team: 'x' } },
    status: { ...ready(1), connectionArn: CONN_ARN, hostArn: HOST_ARN },
  } as unknown as GitLabConnection;
  const foreignVar = {
    project: 'g/p',
    id: 1,
    key: 'ROLE_ARN',
    value: 'by hand',
    environmentScope: 'production',
    description: null,
    protected: false,
    masked: false,
  };
  const foreignRole = {
    name: 'hand-made',
    arn: 'arn:aws:iam::123456789012:role/hand-made',
    path: '/',
    description: '',
    tags: {},
    trustPolicy: '{}',
  };
  return {
    clusterId: 'chaos',
    defaultRegion: 'eu-west-1',
    federations: [fed],
    connections: [conn],
    deleted: { federations: ['ns/gone'], connections: [] },
    external: {
      roles: [
        {
          name: 'ns-fed',
          arn: ROLE_ARN,
          path: '/',
          description: '',
          tags: own('ns/fed'),
          trustPolicy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'sts:AssumeRoleWithWebIdentity',
                Condition: {
                  StringEquals: { '127.0.0.1:4443:aud': URL },
                  StringLike: { '127.0.0.1:4443:sub': ['project_path:g/p:ref_type:branch:ref:main'] },
                },
              },
            ],
          }),
        },
        foreignRole,
      ],
      providers: [
        {
          arn: 'arn:aws:iam::123456789012:oidc-provider/127.0.0.1:4443',
          url: '127.0.0.1:4443',
          clientIds: [URL],
          tags: {
            'gitlab-aws.io/managed-by': 'gitlab-aws-operator',
            'gitlab-aws.io/cluster': 'chaos',
            'gitlab-aws.io/audience-0123456789ab': URL,
          },
        },
      ],
      variables: [
        foreignVar,
        ...[
          ['ROLE_ARN', ROLE_ARN],
          ['AWS_DEFAULT_REGION', 'eu-west-1'],
        ].map(([key, value], i) => ({
          project: 'g/p',
          id: 10 + i,
          key: key!,
          value: value!,
          environmentScope: 'env',
          description: 'managed by gitlab-aws-operator: ns/fed',
          protected: false,
          masked: false,
        })),
      ],
      connections: [
        {
          arn: CONN_ARN,
          name: 'conn',
          status: 'AVAILABLE',
          hostArn: HOST_ARN,
          tags: { ...own('ns/conn'), team: 'x' },
        },
      ],
      hosts: [{ arn: HOST_ARN, name: 'h', status: 'AVAILABLE', providerEndpoint: URL, tags: own('ns/conn') }],
    },
    foreign: { roles: [foreignRole], variables: [foreignVar], connections: [], hosts: [] },
  };
}

describe('the chaos invariant checker', () => {
  it('finds nothing in a consistent world', () => {
    expect(checkInvariants(world())).toEqual([]);
  });

  it('names an orphaned role, a duplicated connection, a left-behind variable and a touched foreign variable', () => {
    const w = world();
    w.external.roles.push({
      name: 'ns-gone',
      arn: 'arn:aws:iam::123456789012:role/ns-gone',
      path: '/',
      description: '',
      tags: own('ns/gone'),
      trustPolicy: '{}',
    });
    w.external.connections.push({
      arn: `${CONN_ARN}-dup`,
      name: 'conn',
      status: 'PENDING',
      tags: own('ns/conn'),
    });
    w.external.variables.push({
      ...w.external.variables[1]!,
      id: 99,
      environmentScope: 'old-scope',
    });
    w.external.variables[0] = { ...w.external.variables[0]!, value: 'overwritten' };
    expect(checkInvariants(w)).toEqual([
      'IAM role ns-gone is orphaned: its owner ns/gone is no live GitLabAwsFederation',
      'variable g/p ROLE_ARN (scope old-scope) is marked for ns/fed, whose spec no longer asks for it: left behind',
      `ns/conn owns 2 connections: ${CONN_ARN}, ${CONN_ARN}-dup, expected 1`,
      expect.stringMatching(/^foreign variable g\/p ROLE_ARN \(scope production\) #1 was changed: /),
    ]);
  });

  it('names resources that are not Ready, not gone, or whose things are missing', () => {
    const w = world();
    const fed = w.federations[0]!;
    fed.metadata.generation = 3;
    w.federations.push({ ...fed, metadata: { namespace: 'ns', name: 'gone', generation: 1 } });
    w.external.hosts = [];
    fed.spec.access = [{ project: 'g/p', refs: ['main', 'release/*'] }];
    w.external.providers[0]!.clientIds = [URL, 'stale-audience'];
    expect(checkInvariants(w)).toEqual(
      expect.arrayContaining([
        'GitLabAwsFederation ns/fed is Ready for generation 2/2, not 3',
        'GitLabAwsFederation ns/gone was deleted but still exists',
        `IAM OIDC provider arn:aws:iam::123456789012:oidc-provider/127.0.0.1:4443 lists client IDs ["${URL}","stale-audience"], the live federations want ["${URL}"]`,
        'ns/conn owns 0 hosts, expected 1',
        'ns/fed: IAM role ns-fed admits the subjects ["project_path:g/p:ref_type:branch:ref:main"], the spec declares ["project_path:g/p:ref_type:branch:ref:main","project_path:g/p:ref_type:branch:ref:release/*"]',
      ]),
    );
  });
});
