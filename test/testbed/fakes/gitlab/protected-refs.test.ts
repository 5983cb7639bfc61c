// Protected branches and tags in the GitLab fake, over HTTP and through
// @gitbeaker/rest, pinned to GitLab's behaviour (docs/fakes.md).
import { Gitlab } from '@gitbeaker/rest';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitLabFake, refMatches, startGitLabFake } from '../../../../testbed/fakes/gitlab/index.ts';
import { failure } from './test-helpers.ts';

const PROJECT = 'payments/api';
const ENCODED = encodeURIComponent(PROJECT);
let fake: GitLabFake;
const client = (token: string) => new Gitlab({ host: fake.url, token });
const as = (username: string) => client(fake.state.addToken(username));
const raw = (path: string, username?: string, init: RequestInit = {}) =>
  fetch(`${fake.url}/api/v4${path}`, {
    ...init,
    headers: {
      ...(username ? { 'PRIVATE-TOKEN': fake.state.addToken(username) } : {}),
      ...(init.body ? { 'Content-Type': 'application/json' } : {}),
    },
  });

beforeAll(async () => {
  fake = await startGitLabFake();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  fake.state.addProject(PROJECT);
  fake.state.addMember({ group: 'payments' }, 'owner', 'owner');
  fake.state.addMember({ project: PROJECT }, 'maintainer', 'maintainer');
  fake.state.addMember({ project: PROJECT }, 'developer', 'developer');
  fake.state.addMember({ project: PROJECT }, 'reporter', 'reporter');
  fake.state.addMember({ project: PROJECT }, 'guest', 'guest');
  fake.state.addUser('stranger');
});

describe('wildcards (RefMatcher)', () => {
  it('matches exactly, or with * as the only wildcard, which also crosses / and matches nothing', () => {
    expect(refMatches('main', 'main')).toBe(true);
    expect(refMatches('main', 'Main')).toBe(false); // case-sensitive
    expect(refMatches('release/*', 'release/1.0')).toBe(true);
    expect(refMatches('release/*', 'release/1.0/hotfix')).toBe(true);
    expect(refMatches('release/*', 'release/')).toBe(true);
    expect(refMatches('release/*', 'release')).toBe(false);
    expect(refMatches('v*', 'v1.2.3')).toBe(true);
    expect(refMatches('*-stable', 'team/15-stable')).toBe(true);
    expect(refMatches('*-stable', '15-stable-2')).toBe(false); // anchored at both ends
    expect(refMatches('*gitlab*', 'my-gitlab-branch')).toBe(true);
  });

  it('treats everything else literally: ?, ., brackets', () => {
    expect(refMatches('v?', 'v1')).toBe(false);
    expect(refMatches('v?', 'v?')).toBe(true);
    expect(refMatches('v1.*', 'v1x2')).toBe(false);
    expect(refMatches('v1.*', 'v1.2')).toBe(true);
    expect(refMatches('[ab]*', 'a1')).toBe(false);
  });

  it('decides ref_protected in minted ID tokens', async () => {
    fake.state.protectBranch(PROJECT, 'release/*');
    fake.state.protectTag(PROJECT, 'v*');
    const claim = async (refType: 'branch' | 'tag', ref: string) =>
      decodeJwt(await fake.mintIdToken({ project: PROJECT, aud: 'sts.amazonaws.com', refType, ref }))
        .ref_protected;
    expect(await claim('branch', 'release/2024/1')).toBe('true');
    expect(await claim('branch', 'feature/x')).toBe('false');
    expect(await claim('tag', 'v1.0.0')).toBe('true');
    expect(await claim('tag', 'release/1')).toBe('false');
  });
});

describe('GET /projects/:id/protected_branches', () => {
  it('lists names and wildcards with the access-level arrays GitLab returns', async () => {
    fake.state.protectBranch(PROJECT, 'main');
    fake.state.protectBranch(PROJECT, 'release/*', { pushAccessLevel: 0, mergeAccessLevel: 30 });
    const res = await raw(`/projects/${ENCODED}/protected_branches`, 'reporter');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-total')).toBe('2');
    const body = await res.json();
    expect(body).toEqual([
      {
        id: expect.any(Number),
        name: 'main',
        push_access_levels: [
          {
            id: expect.any(Number),
            access_level: 40,
            access_level_description: 'Maintainers',
            user_id: null,
            group_id: null,
          },
        ],
        merge_access_levels: [expect.objectContaining({ access_level: 40 })],
        allow_force_push: false,
        unprotect_access_levels: [expect.objectContaining({ access_level: 40 })],
        code_owner_approval_required: false,
        inherited: false,
      },
      expect.objectContaining({
        name: 'release/*',
        push_access_levels: [
          expect.objectContaining({ access_level: 0, access_level_description: 'No one' }),
        ],
        merge_access_levels: [
          expect.objectContaining({ access_level: 30, access_level_description: 'Developers + Maintainers' }),
        ],
      }),
    ]);
  });

  it('answers @gitbeaker/rest ProtectedBranches.all, walking the pages', async () => {
    for (let i = 0; i < 25; i++) fake.state.protectBranch(PROJECT, `release/${i}`);
    const res = await raw(`/projects/${ENCODED}/protected_branches?per_page=10&page=3`, 'maintainer');
    expect([res.headers.get('x-total'), res.headers.get('x-total-pages'), res.headers.get('x-page')]).toEqual(
      ['25', '3', '3'],
    );
    expect(((await res.json()) as unknown[]).length).toBe(5);
    const all = await as('developer').ProtectedBranches.all(PROJECT);
    expect(all.map((b) => b.name)).toEqual(Array.from({ length: 25 }, (_, i) => `release/${i}`));
  });

  it('filters by search like ProtectedBranch.by_name', async () => {
    for (const name of ['main', 'release/*', 'release-2', '*-stable'])
      fake.state.protectBranch(PROJECT, name);
    const api = as('maintainer');
    expect((await api.ProtectedBranches.all(PROJECT, { search: 'REL' })).map((b) => b.name)).toEqual([
      'release/*',
      'release-2',
    ]);
    // Shorter than 3 characters: the whole name, case aside.
    expect((await api.ProtectedBranches.all(PROJECT, { search: 'ma' })).map((b) => b.name)).toEqual([]);
  });

  it('needs read_code: Reporter on a private project; anyone who can see a public one', async () => {
    fake.state.protectBranch(PROJECT, 'main');
    expect((await as('reporter').ProtectedBranches.all(PROJECT)).length).toBe(1);
    expect(await failure(as('guest').ProtectedBranches.all(PROJECT))).toEqual({
      status: 403,
      description: '403 Forbidden',
    });
    expect(await failure(as('stranger').ProtectedBranches.all(PROJECT))).toEqual({
      status: 404,
      description: '404 Project Not Found',
    });
    fake.state.addProject('oss/tool', { visibility: 'public' });
    fake.state.protectBranch('oss/tool', 'main');
    const anonymous = new Gitlab({ host: fake.url });
    expect((await anonymous.ProtectedBranches.all('oss/tool')).map((b) => b.name)).toEqual(['main']);
  });
});

describe('POST /projects/:id/protected_branches', () => {
  it('protects a name or wildcard for a Maintainer, with GitLab defaults', async () => {
    const created = await as('maintainer').ProtectedBranches.create(PROJECT, 'release/*', {
      pushAccessLevel: 30,
      allowForcePush: true,
    });
    expect(created).toMatchObject({
      name: 'release/*',
      push_access_levels: [{ access_level: 30 }],
      merge_access_levels: [{ access_level: 40 }],
      allow_force_push: true,
      inherited: false,
    });
    expect(fake.state.protectedBranches(PROJECT).map((b) => b.name)).toEqual(['release/*']);
    expect(fake.requests.at(-1)?.status).toBe(201);
  });

  it('refuses a repeat (409), a bad level or no name (400) and a Developer (403)', async () => {
    const api = as('maintainer');
    await api.ProtectedBranches.create(PROJECT, 'main');
    expect(await failure(api.ProtectedBranches.create(PROJECT, 'main'))).toEqual({
      status: 409,
      description: "Protected branch 'main' already exists",
    });
    const bad = await raw(`/projects/${ENCODED}/protected_branches`, 'maintainer', {
      method: 'POST',
      body: JSON.stringify({ name: 'dev', push_access_level: 20 }),
    });
    expect([bad.status, await bad.json()]).toEqual([
      400,
      { error: 'push_access_level does not have a valid value' },
    ]);
    const nameless = await raw(`/projects/${ENCODED}/protected_branches`, 'developer', {
      method: 'POST',
      body: JSON.stringify({}),
    });
    expect([nameless.status, await nameless.json()]).toEqual([400, { error: 'name is missing' }]);
    expect((await failure(as('developer').ProtectedBranches.create(PROJECT, 'dev'))).status).toBe(403);
  });
});

describe('protected tags', () => {
  it('lists and creates tag rules for Maintainers only', async () => {
    fake.state.protectTag(PROJECT, 'v*');
    const api = as('maintainer');
    expect(await api.ProtectedTags.all(PROJECT)).toEqual([
      {
        name: 'v*',
        create_access_levels: [
          {
            id: expect.any(Number),
            access_level: 40,
            access_level_description: 'Maintainers',
            user_id: null,
            group_id: null,
          },
        ],
      },
    ]);
    expect(await api.ProtectedTags.create(PROJECT, 'release-*', { createAccessLevel: 30 })).toMatchObject({
      name: 'release-*',
      create_access_levels: [{ access_level: 30 }],
    });
    expect(fake.state.protectedTags(PROJECT).map((t) => t.name)).toEqual(['v*', 'release-*']);
    expect((await failure(as('developer').ProtectedTags.all(PROJECT))).status).toBe(403);
  });

  it('answers a repeated name with the model error (422), not 409', async () => {
    const api = as('maintainer');
    await api.ProtectedTags.create(PROJECT, 'v*');
    const res = await raw(`/projects/${ENCODED}/protected_tags`, 'maintainer', {
      method: 'POST',
      body: JSON.stringify({ name: 'v*' }),
    });
    expect([res.status, await res.json()]).toEqual([422, { message: ['Name has already been taken'] }]);
  });

  it('has no group-level endpoint', async () => {
    const res = await raw('/groups/payments/protected_tags', 'owner');
    expect([res.status, await res.json()]).toEqual([404, { error: '404 Not Found' }]);
  });
});

describe('group protected branches (Premium, self-managed)', () => {
  it('are inherited by the projects of the top-level group, marked inherited', async () => {
    fake.state.addProject('payments/libs/core');
    fake.state.protectBranch({ group: 'payments' }, 'main');
    fake.state.protectBranch('payments/libs/core', 'release/*');
    const names = (await as('owner').ProtectedBranches.all('payments/libs/core')).map((b) => [
      b.name,
      b.inherited,
    ]);
    expect(names).toEqual([
      ['main', true],
      ['release/*', false],
    ]);
  });

  it('are listed and created by group Owners at GET|POST /groups/:id/protected_branches', async () => {
    const res = await raw('/groups/payments/protected_branches', 'owner', {
      method: 'POST',
      body: JSON.stringify({ name: '*-stable', push_access_level: 0 }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).not.toHaveProperty('inherited');
    const list = await raw('/groups/payments/protected_branches', 'owner');
    expect(((await list.json()) as { name: string }[]).map((b) => b.name)).toEqual(['*-stable']);
    // Owner only, for the reads too: a group Maintainer, or a project member who can see the group, is refused.
    fake.state.addMember({ group: 'payments' }, 'group-maintainer', 'maintainer');
    expect((await raw('/groups/payments/protected_branches', 'group-maintainer')).status).toBe(403);
    expect((await raw('/groups/payments/protected_branches', 'maintainer')).status).toBe(403);
    expect((await raw('/groups/payments/protected_branches', 'stranger')).status).toBe(404);
  });

  it('exist only on top-level groups', async () => {
    fake.state.addGroup('payments/libs');
    expect(() => fake.state.protectBranch({ group: 'payments/libs' }, 'main')).toThrow(
      'cannot be associated with a subgroup',
    );
    const res = await raw(`/groups/${encodeURIComponent('payments/libs')}/protected_branches`, 'owner', {
      method: 'POST',
      body: JSON.stringify({ name: 'main' }),
    });
    expect([res.status, await res.json()]).toEqual([
      422,
      { message: ['cannot be associated with a subgroup'] },
    ]);
  });

  it('are absent from a Free instance: no group endpoint, nothing inherited', async () => {
    const free = await startGitLabFake({ premium: false });
    try {
      free.state.addProject(PROJECT);
      free.state.addMember({ group: 'payments' }, 'owner', 'owner');
      free.state.protectBranch({ group: 'payments' }, 'main');
      const api = new Gitlab({ host: free.url, token: free.state.addToken('owner') });
      expect(await api.ProtectedBranches.all(PROJECT)).toEqual([]);
      const res = await fetch(`${free.url}/api/v4/groups/payments/protected_branches`, {
        headers: { 'PRIVATE-TOKEN': free.state.addToken('owner') },
      });
      expect(res.status).toBe(404);
    } finally {
      await free.close();
    }
  });
});
