// The CRDs in crds/ are generated from the TypeBox schemas; this fails when one
// side was edited without regenerating (npm run generate), and checks that the
// exported types describe objects the schemas accept.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { buildCrds, renderCrd } from '../../scripts/generate-crds.ts';
import {
  type GitLabAwsFederation,
  GitLabAwsFederationSpecSchema,
  GitLabAwsFederationStatusSchema,
  type GitLabConnection,
  GitLabConnectionSpecSchema,
  GitLabConnectionStatusSchema,
} from '../../src/api/v1alpha1/index.ts';

const CRD_DIR = join(import.meta.dirname, '..', '..', 'crds');

describe('crds/', () => {
  it('holds exactly the generated CRDs', () => {
    const generated = buildCrds();
    expect(readdirSync(CRD_DIR).sort()).toEqual([...generated.keys()].sort());
    for (const [file, crd] of generated) {
      expect(readFileSync(join(CRD_DIR, file), 'utf8'), `crds/${file} is stale: run npm run generate`).toBe(
        renderCrd(crd),
      );
    }
  });
});

describe('TypeScript types', () => {
  // Typed with the exported Static types: a field renamed in a schema breaks
  // the compile (tsc), a constraint tightened breaks Value.Check.
  const federation: GitLabAwsFederation = {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabAwsFederation',
    metadata: { name: 'payments-deploy', namespace: 'team-payments' },
    spec: {
      gitlab: { url: 'https://gitlab.example.com', tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
      aws: { region: 'eu-west-1' },
      method: 'OIDC',
      audience: 'https://gitlab.example.com',
      identityProvider: { thumbprints: [] },
      role: {
        name: 'gitlab-payments-deploy',
        path: '/gitlab/',
        description: 'Deploys payments from GitLab CI',
        maxSessionDuration: 3600,
        permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/gitlab-boundary',
        managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser'],
        inlinePolicies: { deploy: { Version: '2012-10-17', Statement: [] } },
        tags: { team: 'payments' },
      },
      access: [
        { project: 'payments/api', refType: 'branch', refs: ['main', 'release/*'] },
        { group: 'payments/libs', refType: 'tag', refs: ['v*'] },
      ],
      ciVariables: {
        target: { project: 'payments/api' },
        environmentScope: '*',
        protected: false,
        roleArnVariable: 'ROLE_ARN',
        regionVariable: 'AWS_DEFAULT_REGION',
      },
      legacyCredentials: { audit: true, removeWhenReady: false },
      deletionPolicy: 'Delete',
    },
    status: {
      observedGeneration: 4,
      issuer: 'https://gitlab.example.com',
      roleArn: 'arn:aws:iam::123456789012:role/gitlab/gitlab-payments-deploy',
      subjects: ['project_path:payments/api:ref_type:branch:ref:main'],
      ciVariables: [{ target: 'project payments/api', key: 'ROLE_ARN', environmentScope: '*' }],
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Succeeded',
          message: '',
          observedGeneration: 4,
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ],
    },
  };

  const connection: GitLabConnection = {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabConnection',
    metadata: { name: 'gitlab-main', namespace: 'pipelines' },
    spec: {
      connectionName: 'gitlab-main',
      gitlab: { url: 'https://gitlab.example.com' },
      host: {
        name: 'gitlab-example',
        vpcConfiguration: {
          vpcId: 'vpc-0123456789abcdef0',
          subnetIds: ['subnet-0123456789abcdef0'],
          securityGroupIds: ['sg-01234567'],
        },
      },
      aws: { region: 'eu-west-1' },
      tags: { team: 'pipelines' },
      deletionPolicy: 'Orphan',
    },
    status: {
      connectionStatus: 'PENDING',
      connectionArn: 'arn:aws:codeconnections:eu-west-1:123456789012:connection/0c1d',
    },
  };

  it('accepts the DESIGN.md examples', () => {
    expect(Value.Errors(GitLabAwsFederationSpecSchema, federation.spec).First()).toBeUndefined();
    expect(Value.Check(GitLabAwsFederationStatusSchema, federation.status)).toBe(true);
    expect(Value.Errors(GitLabConnectionSpecSchema, connection.spec).First()).toBeUndefined();
    expect(Value.Check(GitLabConnectionStatusSchema, connection.status)).toBe(true);
  });

  it('checks enums, maps and patterns', () => {
    const bad = (patch: Record<string, unknown>) => ({ ...federation.spec, ...patch });
    expect(Value.Check(GitLabAwsFederationSpecSchema, bad({ method: 'Keys' }))).toBe(false);
    expect(Value.Check(GitLabAwsFederationSpecSchema, bad({ role: { tags: { team: 1 } } }))).toBe(false);
    expect(
      Value.Check(GitLabAwsFederationSpecSchema, bad({ access: [{ project: 'a/*', refs: ['main'] }] })),
    ).toBe(false);
  });
});
