// The pure decisions of the access-key rotation (rotation.ts): which keys are
// live, the rotation's own, expired or someone else's, and what is due.
import { describe, expect, it } from 'vitest';
import type { AccessKey } from '../../src/adapters/aws/iam.ts';
import { type AccessKeyStatus, type Observed, planKeys } from '../../src/controllers/federation/rotation.ts';

const DAY = 86_400_000;
const now = new Date('2026-12-06T12:00:00Z');
const key = (id: string, ageMs = 0, active = true): AccessKey => ({
  id,
  active,
  createdAt: new Date(now.getTime() - ageMs),
});
const observe = (o: Partial<Observed> & { stored?: AccessKeyStatus }): Observed => ({
  keys: [],
  publishedId: undefined,
  secretPublished: false,
  stored: {},
  now,
  intervalMs: 30 * DAY,
  rotateNow: undefined,
  ...o,
});

describe('planKeys', () => {
  it('makes the first key when the user has none', () => {
    expect(planKeys(observe({}))).toMatchObject({
      live: undefined,
      rotate: 'FirstKey',
      orphans: [],
      foreign: [],
    });
  });

  it('leaves a live key alone until the interval is over, then rotates', () => {
    const fresh = observe({
      keys: [key('A', DAY)],
      publishedId: 'A',
      secretPublished: true,
      stored: { id: 'A' },
    });
    expect(planKeys(fresh)).toMatchObject({ live: { id: 'A' }, rotate: undefined, finish: false });
    const old = observe({ ...fresh, keys: [key('A', 30 * DAY)] });
    expect(planKeys(old).rotate).toBe('Interval');
  });

  it('does not count a key as live without its secret beside it in GitLab, or when inactive', () => {
    expect(planKeys(observe({ keys: [key('A')], publishedId: 'A', stored: { id: 'A' } }))).toMatchObject({
      live: undefined,
      rotate: 'NotInGitLab',
    });
    const inactive = observe({
      keys: [key('A', 0, false)],
      publishedId: 'A',
      secretPublished: true,
      stored: { id: 'A' },
    });
    expect(planKeys(inactive).rotate).toBe('NotInGitLab');
  });

  it('rotates once for each new rotate-now value', () => {
    const base = { keys: [key('A')], publishedId: 'A', secretPublished: true };
    expect(planKeys(observe({ ...base, stored: { id: 'A' }, rotateNow: 'x' })).rotate).toBe('RotateNow');
    const answered = { id: 'A', revoked: { rotateNow: 'x', at: now.toISOString() } };
    expect(planKeys(observe({ ...base, stored: answered, rotateNow: 'x' })).rotate).toBeUndefined();
    expect(planKeys(observe({ ...base, stored: answered, rotateNow: 'y' })).rotate).toBe('RotateNow');
  });

  const rotation = { startedAt: now.toISOString(), reason: 'Interval', keysBefore: ['A'] };

  it('resumes a rotation that stopped before its key was made', () => {
    const o = observe({
      keys: [key('A')],
      publishedId: 'A',
      secretPublished: true,
      stored: { id: 'A', rotation },
    });
    expect(planKeys(o)).toMatchObject({ rotate: 'Interval', finish: false, orphans: [] });
  });

  it('deletes a key the rotation made that GitLab does not name, and makes another', () => {
    // Killed after CreateAccessKey, or after the secret was written but before the ID.
    const o = observe({
      keys: [key('A'), key('B')],
      publishedId: 'A',
      secretPublished: true,
      stored: { id: 'A', rotation },
    });
    expect(planKeys(o)).toMatchObject({ orphans: [{ id: 'B' }], rotate: 'Interval', foreign: [] });
  });

  it('finishes a rotation whose key GitLab already names', () => {
    // Killed after the ID was written: GitLab holds the new pair.
    const o = observe({
      keys: [key('A'), key('B')],
      publishedId: 'B',
      secretPublished: true,
      stored: { id: 'A', rotation },
    });
    expect(planKeys(o)).toMatchObject({ live: { id: 'B' }, finish: true, rotate: undefined, orphans: [] });
  });

  it('deletes the replaced key after its grace period, not before', () => {
    const base = { keys: [key('A', DAY), key('B')], publishedId: 'B', secretPublished: true };
    const later = new Date(now.getTime() + 1000).toISOString();
    expect(
      planKeys(observe({ ...base, stored: { id: 'B', previous: { id: 'A', deleteAt: later } } })).expired,
    ).toBe(undefined);
    const past = new Date(now.getTime() - 1000).toISOString();
    expect(
      planKeys(observe({ ...base, stored: { id: 'B', previous: { id: 'A', deleteAt: past } } })).expired,
    ).toEqual(key('A', DAY));
  });

  it('calls a key it did not make foreign, and never an orphan outside a rotation', () => {
    const o = observe({
      keys: [key('A'), key('H')],
      publishedId: 'A',
      secretPublished: true,
      stored: { id: 'A' },
    });
    expect(planKeys(o)).toMatchObject({ foreign: [{ id: 'H' }], orphans: [], rotate: undefined });
  });
});

// A rotate-now rotation cut short by a SIGKILL, at each point of its calls
// (test/federation/rotation-crash.test.ts runs the same end to end): the
// rotation's record names the value it answers, so the next reconcile still
// deletes the replaced key at once rather than keeping it for the grace period.
describe('planKeys: the rotate-now value a rotation answers (revoke)', () => {
  const revoking = { startedAt: now.toISOString(), reason: 'RotateNow', keysBefore: ['A'], rotateNow: 'x' };
  const live = { keys: [key('A', DAY)], publishedId: 'A', secretPublished: true };
  const cases: { name: string; o: Partial<Observed>; rotate?: string; finish: boolean; revoke?: string }[] = [
    {
      name: 'a new value: a rotation that revokes it',
      o: { ...live, stored: { id: 'A' }, rotateNow: 'x' },
      rotate: 'RotateNow',
      finish: false,
      revoke: 'x',
    },
    {
      name: 'a value answered: nothing',
      o: { ...live, stored: { id: 'A', revoked: { rotateNow: 'x', at: now.toISOString() } }, rotateNow: 'x' },
      finish: false,
    },
    {
      name: 'an interval rotation: the replaced key stays for its grace period',
      o: { ...live, keys: [key('A', 30 * DAY)], stored: { id: 'A' } },
      rotate: 'Interval',
      finish: false,
    },
    {
      // Killed right after the checkpoint, or in a CreateAccessKey that did not reach IAM.
      name: 'killed before the key was made: resumed, and still revokes',
      o: { ...live, stored: { id: 'A', rotation: revoking }, rotateNow: 'x' },
      rotate: 'RotateNow',
      finish: false,
      revoke: 'x',
    },
    {
      // Killed in a CreateAccessKey that took effect, or in the write of the secret.
      name: 'killed before GitLab named the new key: resumed (B is an orphan), and still revokes',
      o: {
        ...live,
        keys: [key('A', DAY), key('B')],
        stored: { id: 'A', rotation: revoking },
        rotateNow: 'x',
      },
      rotate: 'RotateNow',
      finish: false,
      revoke: 'x',
    },
    {
      // Killed in the write of the ID, the read-back, or a DeleteAccessKey of A that did not reach IAM.
      name: 'killed once GitLab named the new key: finished, and still revokes',
      o: {
        keys: [key('A', DAY), key('B')],
        publishedId: 'B',
        secretPublished: true,
        stored: { id: 'A', rotation: revoking },
        rotateNow: 'x',
      },
      finish: true,
      revoke: 'x',
    },
    {
      // Killed in a DeleteAccessKey of A that took effect.
      name: 'killed after the old key was deleted: finished, and still revokes',
      o: {
        keys: [key('B')],
        publishedId: 'B',
        secretPublished: true,
        stored: { id: 'A', rotation: revoking },
        rotateNow: 'x',
      },
      finish: true,
      revoke: 'x',
    },
    {
      name: 'a newer value came meanwhile: the recorded one is answered first, the newer one next',
      o: {
        keys: [key('A', DAY), key('B')],
        publishedId: 'B',
        secretPublished: true,
        stored: { id: 'A', rotation: revoking },
        rotateNow: 'y',
      },
      finish: true,
      revoke: 'x',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planKeys(observe(c.o));
      expect({ rotate: plan.rotate, finish: plan.finish, revoke: plan.revoke }).toEqual({
        rotate: c.rotate,
        finish: c.finish,
        revoke: c.revoke,
      });
    });
  }
});
