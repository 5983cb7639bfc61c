// Is every ref an IAM glob admits covered by a protected name (a GitLab
// wildcard where only * is special, and * crosses /)? Cases that must be
// refused as well as ones that must pass.
import { describe, expect, it } from 'vitest';
import { covers, unprotectedRefs } from '../../src/policy/protected-refs.ts';

describe('covers(protected name, spec ref)', () => {
  it.each([
    ['main', 'main', true],
    ['main', 'Main', false], // GitLab matches names case-sensitively
    ['main', 'main2', false],
    ['*', 'main', true],
    ['*', '*', true],
    ['release/*', 'release/1.0', true],
    ['release/*', 'release/1.0/hotfix', true], // GitLab's * crosses /
    ['release/*', 'release/*', true],
    ['release/*', 'release/1.*', true],
    ['release/*', 'release*', false], // release-x is not under release/
    ['release/*', 'rel*', false],
    ['release/1*', 'release/*', false], // release/2.0 is not protected
    ['*-stable', 'v1-stable', true],
    ['*-stable', '*-stable', true],
    ['*-stable', '*stable', false],
    ['v?', 'v1', false], // ? is literal in GitLab
    ['v?', 'v?', false], // the spec's ? is any character: v1 would not be protected
    ['v*', 'v?', true],
    ['*', '?', true],
    ['a*b*c', 'a-b-*-c', true],
    ['a*b*c', 'a*c', false],
  ])('%s covers %s: %s', (pattern, ref, expected) => {
    expect(covers(pattern, ref)).toBe(expected);
  });

  it('names the refs no protected name covers', () => {
    expect(unprotectedRefs(['main', 'release/*', 'feature/*'], ['main', 'release/*'])).toEqual(['feature/*']);
    expect(unprotectedRefs(['main'], [])).toEqual(['main']);
  });
});
