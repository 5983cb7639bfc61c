// The pure decisions of the federation controller, table-tested: which trust
// patterns an access entry gets for what GitLab says about its project, and
// what it never gets.
import { describe, expect, it } from 'vitest';
import {
  compact,
  mergeThumbprints,
  planEntry,
  principalNameOf,
  withItem,
} from '../../src/controllers/federation/desired.ts';

const project = (overrides: object = {}) => ({
  id: 12,
  path: 'payments/api',
  subClaimComponents: ['project_path', 'ref_type', 'ref'],
  protectedNames: ['main', 'release/*'],
  ...overrides,
});

describe('planEntry', () => {
  it('trusts the refs of a project as GitLab spells it', () => {
    expect(
      planEntry(
        { entry: { project: 'Payments/API', refs: ['main', 'release/*'] }, project: project() },
        false,
      ),
    ).toEqual({
      patterns: [
        'project_path:payments/api:ref_type:branch:ref:main',
        'project_path:payments/api:ref_type:branch:ref:release/*',
      ],
      unprotected: [],
      unverified: false,
    });
  });

  it('refuses a project whose ID is not the one recorded', () => {
    const plan = planEntry(
      { entry: { project: 'payments/api', refs: ['main'] }, project: project({ id: 57 }), recordedId: 12 },
      false,
    );
    expect(plan.patterns).toEqual([]);
    expect(plan.refused?.reason).toBe('ProjectReplaced');
    expect(plan.refused?.message).toContain('GitLab now has project ID 57 at that path, where it had ID 12');
  });

  it('refuses a claim that leaves out what the entry restricts, and one it cannot express', () => {
    const coarse = planEntry(
      {
        entry: { project: 'payments/api', refs: ['main'] },
        project: project({ subClaimComponents: ['project_path', 'ref_type'] }),
      },
      false,
    );
    expect(coarse.patterns).toEqual([]);
    expect(coarse.refused?.reason).toBe('SubClaimTooCoarse');
    const unsupported = planEntry(
      {
        entry: { project: 'payments/api', refs: ['main'] },
        project: project({ subClaimComponents: ['project_path', 'environment'] }),
      },
      false,
    );
    expect(unsupported.refused?.reason).toBe('UnsupportedSubClaim');
  });

  it('reports unprotected refs, and with requireProtectedRefs leaves them out', () => {
    const entry = { project: 'payments/api', refs: ['main', 'feature/*'] };
    expect(planEntry({ entry, project: project() }, false)).toMatchObject({
      patterns: [
        'project_path:payments/api:ref_type:branch:ref:main',
        'project_path:payments/api:ref_type:branch:ref:feature/*',
      ],
      unprotected: ['feature/*'],
    });
    expect(planEntry({ entry, project: project() }, true)).toMatchObject({
      patterns: ['project_path:payments/api:ref_type:branch:ref:main'],
      unprotected: ['feature/*'],
    });
  });

  it('leaves out what it could not check, when protection is required', () => {
    const group = {
      entry: { group: 'payments/libs', refType: 'tag' as const, refs: ['v*'] },
      groupPath: 'payments/libs',
    };
    expect(planEntry(group, false)).toEqual({
      patterns: ['project_path:payments/libs/*:ref_type:tag:ref:v*'],
      unprotected: [],
      unverified: true,
    });
    expect(planEntry(group, true).patterns).toEqual([]);
    // refType any is not a protection question: nothing to check, nothing left out.
    const any = {
      entry: { project: 'payments/api', refType: 'any' as const, refs: ['main'] },
      project: project({ protectedNames: undefined }),
    };
    expect(planEntry(any, true)).toEqual({
      patterns: ['project_path:payments/api:ref_type:*:ref:main'],
      unprotected: [],
      unverified: false,
    });
  });
});

describe('small decisions', () => {
  it('never drops a thumbprint; no sixth', () => {
    expect(mergeThumbprints(['a', 'b'], ['b', 'c'])).toEqual(['a', 'b', 'c']);
    expect(mergeThumbprints(['1', '2', '3', '4', '5'], ['6'])).toBeUndefined();
    expect(mergeThumbprints(['1', '2', '3', '4', '5'], ['5'])).toEqual(['1', '2', '3', '4', '5']);
  });

  it('reads the path and name of a role ARN', () => {
    expect(principalNameOf('arn:aws:iam::123456789012:role/gitlab/team/deploy')).toEqual({
      path: '/gitlab/team/',
      name: 'deploy',
    });
    expect(principalNameOf('arn:aws:iam::123456789012:role/deploy')).toEqual({ path: '/', name: 'deploy' });
  });

  it('records a retiring item once, whatever wrote it', () => {
    const item = compact({ arn: 'arn:aws:iam::1:role/a', managedThrough: undefined });
    expect(withItem(withItem(undefined, item), { arn: 'arn:aws:iam::1:role/a' })).toEqual([
      { arn: 'arn:aws:iam::1:role/a' },
    ]);
  });
});
