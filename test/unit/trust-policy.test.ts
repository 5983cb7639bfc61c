import { describe, expect, it } from 'vitest';
import { checkAccess } from '../../src/access/check.ts';
import { subjectPatterns, trustPolicy } from '../../src/policy/trust-policy.ts';

const patternsOf = (entry: object, components?: string[]) => {
  const built = subjectPatterns(entry as never, components);
  if (built.kind !== 'patterns') throw new Error(`not expressible: ${JSON.stringify(built)}`);
  return built.patterns;
};

describe('sub patterns, built as GitLab builds the claim', () => {
  it.each([
    [
      { project: 'payments/api', refs: ['main', 'release/*'] },
      undefined,
      [
        'project_path:payments/api:ref_type:branch:ref:main',
        'project_path:payments/api:ref_type:branch:ref:release/*',
      ],
    ],
    [{ project: 'p/q', refType: 'tag', refs: ['v*'] }, undefined, ['project_path:p/q:ref_type:tag:ref:v*']],
    [{ project: 'p/q', refType: 'any', refs: ['main'] }, undefined, ['project_path:p/q:ref_type:*:ref:main']],
    [
      { group: 'payments/libs', refType: 'tag', refs: ['v*'] },
      undefined,
      ['project_path:payments/libs/*:ref_type:tag:ref:v*'],
    ],
    // Without ref_type the claim says nothing of it: fine only when the entry allows any.
    [
      { project: 'p/q', refType: 'any', refs: ['main'] },
      ['project_path', 'ref'],
      ['project_path:p/q:ref:main'],
    ],
    // Without ref: fine only when the entry allows every ref.
    [{ project: 'p/q', refs: ['*'] }, ['project_path', 'ref_type'], ['project_path:p/q:ref_type:branch']],
    [
      { project: 'p/q', refs: ['main'] },
      ['project_path', 'ref', 'ref_type'],
      ['project_path:p/q:ref:main:ref_type:branch'],
    ],
  ] as const)('%j with %j', (entry, components, expected) => {
    expect(patternsOf(entry, components as never)).toEqual(expected);
  });

  it('uses the path as GitLab spells it', () => {
    expect(subjectPatterns({ project: 'Payments/API', refs: ['main'] }, undefined, 'payments/api')).toEqual({
      kind: 'patterns',
      patterns: ['project_path:payments/api:ref_type:branch:ref:main'],
    });
  });

  it.each([
    [{ project: 'p/q', refs: ['main'] }, ['project_path', 'ref_type'], ['ref']],
    [{ project: 'p/q', refs: ['main'] }, ['project_path', 'ref'], ['ref_type']],
    [{ project: 'p/q', refType: 'tag', refs: ['v*'] }, ['project_path'], ['ref_type', 'ref']],
    [{ project: 'p/q', refType: 'any', refs: ['main', '*'] }, ['project_path', 'ref_type'], ['ref']],
  ] as const)('refuses %j when the claim leaves out what it restricts (%j)', (entry, components, missing) => {
    expect(subjectPatterns(entry as never, components as never)).toEqual({ kind: 'tooCoarse', missing });
  });

  it('refuses components it cannot express', () => {
    expect(subjectPatterns({ project: 'p/q', refs: ['main'] }, ['project_path', 'environment'])).toEqual({
      kind: 'unsupported',
      components: ['project_path', 'environment'],
    });
    expect(subjectPatterns({ project: 'p/q', refs: ['main'] }, ['ref', 'project_path'])).toEqual({
      kind: 'unsupported',
      components: ['ref', 'project_path'],
    });
  });
});

describe('trust policy', () => {
  const policy = trustPolicy({
    providerArn: 'arn:aws:iam::123456789012:oidc-provider/gitlab.example.com',
    providerUrl: 'gitlab.example.com',
    audiences: ['https://gitlab.example.com'],
    subjects: [
      ...patternsOf({ project: 'payments/api', refType: 'branch', refs: ['main', 'release/*'] }),
      ...patternsOf({ group: 'payments/libs', refType: 'tag', refs: ['v*'] }),
    ],
  });
  const provider = {
    arn: 'arn:aws:iam::123456789012:oidc-provider/gitlab.example.com',
    url: 'gitlab.example.com',
    clientIds: ['https://gitlab.example.com'],
  };
  const token = (sub: string, aud = 'https://gitlab.example.com', iss = 'https://gitlab.example.com') => ({
    iss,
    sub,
    aud: [aud],
  });

  it('is the document IAM expects, with aud exact and sub patterns', () => {
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: 'arn:aws:iam::123456789012:oidc-provider/gitlab.example.com' },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: { 'gitlab.example.com:aud': ['https://gitlab.example.com'] },
            StringLike: {
              'gitlab.example.com:sub': [
                'project_path:payments/api:ref_type:branch:ref:main',
                'project_path:payments/api:ref_type:branch:ref:release/*',
                'project_path:payments/libs/*:ref_type:tag:ref:v*',
              ],
            },
          },
        },
      ],
    });
  });

  it.each([
    ['project_path:payments/api:ref_type:branch:ref:main', true],
    ['project_path:payments/api:ref_type:branch:ref:release/2.1', true],
    ['project_path:payments/libs/crypto:ref_type:tag:ref:v1.0.0', true],
    ['project_path:payments/libs/deep/sub:ref_type:tag:ref:v2', true],
    ['project_path:payments/api:ref_type:branch:ref:feature/x', false],
    ['project_path:payments/api:ref_type:tag:ref:main', false],
    ['project_path:payments/api-fork:ref_type:branch:ref:main', false],
    ['project_path:payments/libs/crypto:ref_type:branch:ref:v1', false],
    ['project_path:payments/libsx/crypto:ref_type:tag:ref:v1', false],
    ['project_path:Payments/api:ref_type:branch:ref:main', false],
  ])('%s allowed: %s', (sub, allowed) => {
    expect(checkAccess({ claims: token(sub), trustPolicy: policy, provider }).allowed).toBe(allowed);
  });

  it('denies a token whose audience the provider does not list', () => {
    const verdict = checkAccess({
      claims: token('project_path:payments/api:ref_type:branch:ref:main', 'sts.amazonaws.com'),
      trustPolicy: policy,
      provider,
    });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons[0]).toBe(
      'the token\'s audience "sts.amazonaws.com" is not among the client IDs of arn:aws:iam::123456789012:oidc-provider/gitlab.example.com ["https://gitlab.example.com"]; AWS answers InvalidIdentityToken "Incorrect token audience"',
    );
  });

  it('denies a token from another issuer, naming the mismatch', () => {
    const verdict = checkAccess({
      claims: token(
        'project_path:payments/api:ref_type:branch:ref:main',
        'https://gitlab.example.com',
        'https://gitlab.com',
      ),
      trustPolicy: policy,
      provider: undefined,
    });
    expect(verdict.reasons).toEqual([
      "no IAM OIDC identity provider exists for the token's issuer https://gitlab.com (provider URL gitlab.com); AWS answers InvalidIdentityToken",
      "statement 0 does not apply: its Federated principal arn:aws:iam::123456789012:oidc-provider/gitlab.example.com is not the provider of the token's issuer (gitlab.com)",
    ]);
  });

  it('lets an explicit Deny win', () => {
    const withDeny = {
      ...policy,
      Statement: [
        ...(policy.Statement as object[]),
        {
          Sid: 'NoFeatureBranches',
          Effect: 'Deny',
          Principal: { Federated: provider.arn },
          Action: 'sts:*',
          Condition: { StringLike: { 'gitlab.example.com:sub': '*:ref:release/*' } },
        },
      ],
    };
    const verdict = checkAccess({
      claims: token('project_path:payments/api:ref_type:branch:ref:release/1'),
      trustPolicy: withDeny as never,
      provider,
    });
    expect(verdict.reasons).toEqual([
      'statement 1 (NoFeatureBranches) explicitly denies sts:AssumeRoleWithWebIdentity for this token',
    ]);
  });
});
