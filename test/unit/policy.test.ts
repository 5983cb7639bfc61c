import { describe, expect, it } from 'vitest';
import { parsePolicy, samePolicy } from '../../src/policy/iam-document.ts';

const trust = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: 'arn:aws:iam::123456789012:oidc-provider/gitlab.com' },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: { 'gitlab.com:aud': 'https://gitlab.com' },
        StringLike: { 'gitlab.com:sub': ['b', 'a'] },
      },
    },
  ],
} as const;

describe('policy documents compared by meaning', () => {
  it('ignores key order, single-vs-list values, value order, duplicates and statement order', () => {
    const reordered = {
      Statement: {
        Condition: {
          StringLike: { 'gitlab.com:sub': ['a', 'b', 'a'] },
          StringEquals: { 'gitlab.com:aud': ['https://gitlab.com'] },
        },
        Action: ['sts:AssumeRoleWithWebIdentity'],
        Principal: { Federated: ['arn:aws:iam::123456789012:oidc-provider/gitlab.com'] },
        Effect: 'Allow',
      },
      Version: '2012-10-17',
    };
    expect(samePolicy(trust as never, reordered as never)).toBe(true);
  });

  it('reads IAM’s URL-encoded form', () => {
    expect(samePolicy(trust as never, encodeURIComponent(JSON.stringify(trust)))).toBe(true);
    expect(parsePolicy(encodeURIComponent('{"Statement":[]}'))).toEqual({ Statement: [] });
  });

  it('sees a real difference', () => {
    const widened = structuredClone(trust) as unknown as {
      Statement: { Condition: { StringLike: Record<string, string[]> } }[];
    };
    widened.Statement[0]!.Condition.StringLike['gitlab.com:sub'] = ['a', 'b', 'c'];
    expect(samePolicy(trust as never, widened as never)).toBe(false);
    expect(samePolicy(trust as never, { ...trust, Version: '2008-10-17' } as never)).toBe(false);
  });
});
