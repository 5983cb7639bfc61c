// Tokens, roles, lookups and project settings of the GitLab fake, through @gitbeaker/rest.
import { Gitlab } from '@gitbeaker/rest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitLabFake, startGitLabFake } from '../../../../testbed/fakes/gitlab/index.ts';
import { failure, untyped } from './test-helpers.ts';

const PROJECT = 'acme/platform/api';
let fake: GitLabFake;
const client = (token: string) => new Gitlab({ host: fake.url, token });
const raw = (path: string, init: RequestInit = {}) => fetch(`${fake.url}/api/v4${path}`, init);

beforeAll(async () => {
  fake = await startGitLabFake();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  fake.state.addProject(PROJECT);
  fake.state.addMember({ project: PROJECT }, 'maintainer', 'maintainer');
  fake.state.addMember({ project: PROJECT }, 'developer', 'developer');
  fake.state.addMember({ group: 'acme' }, 'reporter', 'reporter');
  fake.state.addUser('stranger');
});

describe('tokens', () => {
  it('answers 401 "401 Unauthorized" to an unknown token and to none where authentication is required', async () => {
    expect(await failure(client('glpat-nope').Projects.show(PROJECT))).toEqual({
      status: 401,
      description: '401 Unauthorized',
    });
    const anonymous = await raw(`/projects/${encodeURIComponent(PROJECT)}/variables`);
    expect([anonymous.status, await anonymous.json()]).toEqual([401, { message: '401 Unauthorized' }]);
    expect(fake.requests.map((r) => r.user)).toEqual([null, null]);
  });

  it('answers expired and revoked tokens with an OAuth invalid_token error', async () => {
    const expired = fake.state.addToken('maintainer', { expiresAt: '2020-01-01' });
    const res = await raw('/user', { headers: { 'PRIVATE-TOKEN': expired } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: 'invalid_token',
      error_description: 'Token is expired. You can either do re-authorization or token refresh.',
    });
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const revoked = fake.state.addToken('maintainer', { revoked: true });
    // gitbeaker reports the `error` field.
    expect(await failure(client(revoked).Users.showCurrentUser())).toEqual({
      status: 401,
      description: 'invalid_token',
    });
    // The log names the token's user, never the token.
    expect(fake.requests.map((r) => r.user)).toEqual(['maintainer', 'maintainer']);
    expect(JSON.stringify(fake.requests)).not.toContain(expired);
  });

  it('lets read_api read but not write (403 insufficient_scope)', async () => {
    const token = fake.state.addToken('maintainer', { scopes: ['read_api'] });
    expect(await client(token).ProjectVariables.all(PROJECT)).toEqual([]);
    expect(await failure(client(token).ProjectVariables.create(PROJECT, 'K', 'v'))).toEqual({
      status: 403,
      description: 'insufficient_scope',
    });
    const res = await raw(`/projects/${encodeURIComponent(PROJECT)}/variables`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key: 'K', value: 'v' }),
    });
    expect(await res.json()).toEqual({
      error: 'insufficient_scope',
      error_description: 'The request requires higher privileges than provided by the access token.',
      scope: 'api read_api',
    });
  });

  it('describes the caller and its token', async () => {
    const token = fake.state.addToken('maintainer', { scopes: ['api', 'read_api'], expiresAt: '2999-12-31' });
    const api = client(token);
    expect(await api.Users.showCurrentUser()).toMatchObject({ username: 'maintainer', state: 'active' });
    expect(await api.PersonalAccessTokens.show()).toMatchObject({
      scopes: ['api', 'read_api'],
      expires_at: '2999-12-31',
      active: true,
      revoked: false,
    });
  });
});

describe('roles', () => {
  it('gives project variables to Maintainers, not Developers', async () => {
    const developer = client(fake.state.addToken('developer'));
    expect(await failure(developer.ProjectVariables.all(PROJECT))).toEqual({
      status: 403,
      description: '403 Forbidden',
    });
    expect(await failure(developer.ProjectVariables.create(PROJECT, 'K', 'v'))).toEqual({
      status: 403,
      description: '403 Forbidden',
    });
    await client(fake.state.addToken('maintainer')).ProjectVariables.create(PROJECT, 'K', 'v');
  });

  it('inherits group roles into subgroups and projects', async () => {
    fake.state.addMember({ group: 'acme' }, 'boss', 'owner');
    const boss = client(fake.state.addToken('boss'));
    await boss.ProjectVariables.create(PROJECT, 'K', 'v');
    await boss.GroupVariables.create('acme/platform', 'K', 'v');
    const reporter = client(fake.state.addToken('reporter'));
    expect((await reporter.Projects.show(PROJECT)).path_with_namespace).toBe(PROJECT);
    expect((await failure(reporter.ProjectVariables.all(PROJECT))).status).toBe(403);
  });

  it('shows ci_id_token_sub_claim_components and permissions as GitLab does', async () => {
    const asMaintainer = await client(fake.state.addToken('maintainer')).Projects.show(PROJECT);
    expect(asMaintainer).toMatchObject({
      ci_id_token_sub_claim_components: ['project_path', 'ref_type', 'ref'],
      namespace: { full_path: 'acme/platform', kind: 'group' },
      permissions: { project_access: { access_level: 40 }, group_access: null },
    });
    // The CI/CD settings are exposed only to users who can admin the project.
    const asDeveloper = await client(fake.state.addToken('developer')).Projects.show(PROJECT);
    expect(asDeveloper).not.toHaveProperty('ci_id_token_sub_claim_components');
    const asReporter = await client(fake.state.addToken('reporter')).Projects.show(PROJECT);
    expect(asReporter.permissions).toEqual({
      project_access: null,
      group_access: { access_level: 20, notification_level: 3 },
    });
  });
});

describe('lookups', () => {
  it('finds projects and groups by id or full path, case-insensitively', async () => {
    const api = client(fake.state.addToken('maintainer'));
    const project = await api.Projects.show(PROJECT);
    expect((await api.Projects.show(project.id)).id).toBe(project.id);
    expect((await api.Projects.show('ACME/Platform/API')).id).toBe(project.id);
    const group = await client(fake.state.addToken('reporter')).Groups.show('acme/platform');
    expect(group).toMatchObject({ full_path: 'acme/platform', parent_id: expect.any(Number) });
    expect(fake.requests[0]?.path).toBe('/api/v4/projects/acme%2Fplatform%2Fapi');
  });

  it('answers 404 for unknown or invisible projects and groups, and for a double-encoded path', async () => {
    const stranger = client(fake.state.addToken('stranger'));
    const notFound = { status: 404, description: '404 Project Not Found' };
    expect(await failure(stranger.Projects.show('acme/platform/nope'))).toEqual(notFound);
    expect(await failure(stranger.Projects.show(PROJECT))).toEqual(notFound);
    expect(await failure(stranger.ProjectVariables.all(PROJECT))).toEqual(notFound);
    expect(await failure(stranger.Groups.show('acme'))).toEqual({
      status: 404,
      description: '404 Group Not Found',
    });
    const maintainer = client(fake.state.addToken('maintainer'));
    expect(await failure(maintainer.Projects.show(encodeURIComponent(PROJECT)))).toEqual(notFound);
  });

  it('serves public projects anonymously', async () => {
    fake.state.addProject('oss/tool', { visibility: 'public' });
    expect((await new Gitlab({ host: fake.url }).Projects.show('oss/tool')).path).toBe('tool');
  });
});

describe('PUT /projects/:id ci_id_token_sub_claim_components', () => {
  it('lets a Maintainer set valid components', async () => {
    const api = client(fake.state.addToken('maintainer'));
    const updated = await api.Projects.edit(
      PROJECT,
      untyped({ ciIdTokenSubClaimComponents: ['project_path', 'ref'] }),
    );
    expect(updated.ci_id_token_sub_claim_components).toEqual(['project_path', 'ref']);
    expect(fake.state.project(PROJECT)?.ciIdTokenSubClaimComponents).toEqual(['project_path', 'ref']);
  });

  it('validates like ProjectCiCdSetting and needs Maintainer', async () => {
    const api = client(fake.state.addToken('maintainer'));
    expect(
      await failure(
        api.Projects.edit(PROJECT, untyped({ ciIdTokenSubClaimComponents: ['ref', 'project_path'] })),
      ),
    ).toEqual({
      status: 400,
      description:
        '{"ci_cd_settings.id_token_sub_claim_components":["project_path must be the first element of the sub claim"]}',
    });
    const unknown = await failure(
      api.Projects.edit(PROJECT, untyped({ ciIdTokenSubClaimComponents: ['project_path', 'job'] })),
    );
    expect(unknown.description).toContain('job is not an allowed sub claim component');
    const developer = client(fake.state.addToken('developer'));
    expect(
      await failure(
        developer.Projects.edit(PROJECT, untyped({ ciIdTokenSubClaimComponents: ['project_path'] })),
      ),
    ).toEqual({
      status: 403,
      description: '403 Forbidden',
    });
  });
});
