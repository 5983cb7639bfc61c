// Project and group lookups, project ids and ci_id_token_sub_claim_components
// in the GitLab fake, over HTTP and through @gitbeaker/rest.
import { Gitlab } from '@gitbeaker/rest';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitLabFake, startGitLabFake } from '../../../../testbed/fakes/gitlab/index.ts';
import { failure, untyped } from './test-helpers.ts';

const PROJECT = 'Payments/Platform/API';
let fake: GitLabFake;
let token: string;
const raw = (path: string) => fetch(`${fake.url}/api/v4${path}`, { headers: { 'PRIVATE-TOKEN': token } });

beforeAll(async () => {
  fake = await startGitLabFake();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  fake.state.addProject(PROJECT);
  fake.state.addMember({ group: 'Payments' }, 'owner', 'owner');
  token = fake.state.addToken('owner');
});

describe('lookups by URL-encoded path', () => {
  it('find a project in any case and answer with its canonical path', async () => {
    const res = await raw(`/projects/${encodeURIComponent('payments/platform/api')}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: fake.state.project(PROJECT)!.id,
      path: 'API',
      path_with_namespace: 'Payments/Platform/API',
      namespace: { full_path: 'Payments/Platform' },
    });
    const api = new Gitlab({ host: fake.url, token });
    expect((await api.Projects.show('PAYMENTS/platform/Api')).path_with_namespace).toBe(PROJECT);
  });

  it('find a group in any case and answer with its id and canonical full_path', async () => {
    const res = await raw(`/groups/${encodeURIComponent('payments/PLATFORM')}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: fake.state.group('Payments/Platform')!.id,
      full_path: 'Payments/Platform',
      path: 'Platform',
    });
    const api = new Gitlab({ host: fake.url, token });
    expect(await api.Groups.show('payments')).toMatchObject({ full_path: 'Payments', parent_id: null });
  });
});

describe('project ids', () => {
  it('stay with the project, and a project re-created at the same path gets a new one', async () => {
    const api = new Gitlab({ host: fake.url, token });
    const before = await api.Projects.show(PROJECT);
    fake.state.setVariable({ project: PROJECT }, { key: 'ROLE_ARN', value: 'arn:aws:iam::1:role/x' });
    fake.state.protectBranch(PROJECT, 'main');
    const again = fake.state.recreateProject(PROJECT);
    expect(again.id).not.toBe(before.id);
    expect((await api.Projects.show(PROJECT)).id).toBe(again.id);
    // The old id is gone; the new project starts empty.
    expect(await failure(api.Projects.show(before.id))).toEqual({
      status: 404,
      description: '404 Project Not Found',
    });
    expect(await api.ProjectVariables.all(PROJECT)).toEqual([]);
    expect(await api.ProtectedBranches.all(PROJECT)).toEqual([]);
    // The id shows in minted ID tokens too.
    const jwt = decodeJwt(await fake.mintIdToken({ project: PROJECT, aud: 'sts.amazonaws.com' }));
    expect(jwt.project_id).toBe(String(again.id));
  });

  it('are never reused after a removal', () => {
    const first = fake.state.removeProject(PROJECT);
    const other = fake.state.addProject('Payments/other');
    expect(other.id).toBeGreaterThan(first.id);
    expect(fake.state.project(PROJECT)).toBeUndefined();
  });
});

describe('ci_id_token_sub_claim_components', () => {
  it('can be changed by a test, shows on the project and shapes the sub claim', async () => {
    fake.state.setSubClaimComponents(PROJECT, ['project_path', 'ref']);
    const api = new Gitlab({ host: fake.url, token });
    expect((await api.Projects.show(PROJECT)).ci_id_token_sub_claim_components).toEqual([
      'project_path',
      'ref',
    ]);
    const jwt = decodeJwt(
      await fake.mintIdToken({ project: PROJECT, aud: 'sts.amazonaws.com', ref: 'main' }),
    );
    expect(jwt.sub).toBe('project_path:Payments/Platform/API:ref:main');
  });

  it('accepts what ProjectCiCdSetting accepts: project_path first, then ref_type and ref in any order', () => {
    for (const components of [
      ['project_path'],
      ['project_path', 'ref'],
      ['project_path', 'ref_type'],
      ['project_path', 'ref', 'ref_type'],
      ['project_path', 'ref_type', 'ref'],
    ]) {
      expect(fake.state.setSubClaimComponents(PROJECT, components).ciIdTokenSubClaimComponents).toEqual(
        components,
      );
    }
  });

  it('refuses the rest with GitLab messages, in the helper and over HTTP', async () => {
    expect(() => fake.state.setSubClaimComponents(PROJECT, [])).toThrow(
      'is too short (minimum is 1 character), project_path must be the first element of the sub claim',
    );
    expect(() => fake.state.setSubClaimComponents(PROJECT, ['ref', 'project_path'])).toThrow(
      'project_path must be the first element of the sub claim',
    );
    expect(() => fake.state.setSubClaimComponents(PROJECT, ['project_path', 'project_id'])).toThrow(
      'project_id is not an allowed sub claim component',
    );
    expect(() => fake.state.addProject('Payments/x', { ciIdTokenSubClaimComponents: ['ref'] })).toThrow(
      'project_path must be the first element',
    );
    const api = new Gitlab({ host: fake.url, token });
    expect(
      await failure(
        api.Projects.edit(PROJECT, untyped({ ciIdTokenSubClaimComponents: ['project_path', 'job_id'] })),
      ),
    ).toEqual({
      status: 400,
      description:
        '{"ci_cd_settings.id_token_sub_claim_components":["job_id is not an allowed sub claim component"]}',
    });
    expect(fake.state.project(PROJECT)!.ciIdTokenSubClaimComponents).toEqual([
      'project_path',
      'ref_type',
      'ref',
    ]);
  });
});
