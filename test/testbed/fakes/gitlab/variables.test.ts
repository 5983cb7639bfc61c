// The GitLab fake's CI/CD variables, driven only through @gitbeaker/rest over HTTP.
import { Gitlab } from '@gitbeaker/rest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitLabFake, startGitLabFake } from '../../../../testbed/fakes/gitlab/index.ts';
import { failure, untyped } from './test-helpers.ts';

const PROJECT = 'acme/platform/api';
let fake: GitLabFake;
let api: InstanceType<typeof Gitlab>;
let groupApi: InstanceType<typeof Gitlab>;

beforeAll(async () => {
  fake = await startGitLabFake();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  fake.state.addProject(PROJECT);
  fake.state.addMember({ project: PROJECT }, 'maintainer', 'maintainer');
  fake.state.addMember({ group: 'acme' }, 'owner', 'owner');
  api = new Gitlab({ host: fake.url, token: fake.state.addToken('maintainer') });
  groupApi = new Gitlab({ host: fake.url, token: fake.state.addToken('owner') });
});

describe('project variables: identity is key + environment scope', () => {
  beforeEach(async () => {
    await api.ProjectVariables.create(PROJECT, 'ROLE_ARN', 'arn:aws:iam::111111111111:role/any');
    await api.ProjectVariables.create(PROJECT, 'ROLE_ARN', 'arn:aws:iam::111111111111:role/prod', {
      environmentScope: 'production',
    });
  });

  it('creates one variable per scope, with GitLab defaults', async () => {
    const vars = fake.state.variables({ project: PROJECT });
    expect(vars.map((v) => [v.key, v.environment_scope])).toEqual([
      ['ROLE_ARN', '*'],
      ['ROLE_ARN', 'production'],
    ]);
    expect(
      await api.ProjectVariables.show(PROJECT, 'ROLE_ARN', { filter: { environment_scope: '*' } }),
    ).toEqual({
      variable_type: 'env_var',
      key: 'ROLE_ARN',
      value: 'arn:aws:iam::111111111111:role/any',
      hidden: false,
      protected: false,
      masked: false,
      raw: false,
      environment_scope: '*',
      description: null,
    });
  });

  it('answers 409 when a key matches several scopes and no filter narrows it', async () => {
    const message =
      "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'";
    expect(await failure(api.ProjectVariables.show(PROJECT, 'ROLE_ARN'))).toEqual({
      status: 409,
      description: message,
    });
    expect(await failure(api.ProjectVariables.remove(PROJECT, 'ROLE_ARN'))).toEqual({
      status: 409,
      description: message,
    });
    // A blank filter does not narrow (Ci::VariablesFinder uses `present?`).
    const blank = { filter: { environment_scope: '' } };
    expect(await failure(api.ProjectVariables.edit(PROJECT, 'ROLE_ARN', 'x', blank))).toEqual({
      status: 409,
      description: message,
    });
  });

  it('shows and edits the variable the filter names, in the query string and in the body', async () => {
    const prod = await api.ProjectVariables.show(PROJECT, 'ROLE_ARN', {
      filter: { environment_scope: 'production' },
    });
    expect(prod.value).toBe('arn:aws:iam::111111111111:role/prod');
    expect(fake.requests.at(-1)?.query).toEqual({ filter: { environment_scope: 'production' } });

    await api.ProjectVariables.edit(
      PROJECT,
      'ROLE_ARN',
      'arn:aws:iam::111111111111:role/prod2',
      untyped({
        filter: { environment_scope: 'production' },
        description: 'managed by gitlab-aws-operator: team/fed',
      }),
    );
    // gitbeaker's edit sends the filter in the PUT body.
    expect(fake.requests.at(-1)?.body).toMatchObject({ filter: { environment_scope: 'production' } });
    expect(
      fake.state.variables({ project: PROJECT }).map((v) => [v.environment_scope, v.value, v.description]),
    ).toEqual([
      ['*', 'arn:aws:iam::111111111111:role/any', null],
      ['production', 'arn:aws:iam::111111111111:role/prod2', 'managed by gitlab-aws-operator: team/fed'],
    ]);
  });

  it('honours the filter that gitbeaker 43.8.0 puts in the DELETE body, as Grape does', async () => {
    await api.ProjectVariables.remove(PROJECT, 'ROLE_ARN', { filter: { environment_scope: 'production' } });
    const sent = fake.requests.at(-1);
    expect(sent).toMatchObject({
      method: 'DELETE',
      query: {},
      body: { filter: { environment_scope: 'production' } },
    });
    expect(sent?.status).toBe(204);
    expect(fake.state.variables({ project: PROJECT }).map((v) => v.environment_scope)).toEqual(['*']);
    // With one variable left, no filter is needed.
    await api.ProjectVariables.remove(PROJECT, 'ROLE_ARN');
    expect(fake.state.variables({ project: PROJECT })).toEqual([]);
    expect(await failure(api.ProjectVariables.remove(PROJECT, 'ROLE_ARN'))).toEqual({
      status: 404,
      description: '404 Variable Not Found',
    });
  });

  it('rejects a duplicate key + scope with the model error, and moving onto a taken scope', async () => {
    expect(await failure(api.ProjectVariables.create(PROJECT, 'ROLE_ARN', 'again'))).toEqual({
      status: 400,
      description: '{"key":["(ROLE_ARN) has already been taken"]}',
    });
    const move = api.ProjectVariables.edit(PROJECT, 'ROLE_ARN', 'x', {
      filter: { environment_scope: 'production' },
      environmentScope: '*',
    });
    expect((await failure(move)).description).toBe('{"key":["(ROLE_ARN) has already been taken"]}');
  });
});

describe('project variable attributes', () => {
  it('validates key, value presence, type and description like GitLab', async () => {
    expect(await failure(api.ProjectVariables.create(PROJECT, 'BAD-KEY', 'v'))).toEqual({
      status: 400,
      description: `{"key":["can contain only letters, digits and '_'."]}`,
    });
    const noValue = api.ProjectVariables.create(PROJECT, 'K', undefined as unknown as string);
    expect(await failure(noValue)).toEqual({ status: 400, description: 'value is missing' });
    const badType = api.ProjectVariables.create(PROJECT, 'K', 'v', { variableType: 'yaml' as 'file' });
    expect(await failure(badType)).toEqual({
      status: 400,
      description: 'variable_type does not have a valid value',
    });
    const long = api.ProjectVariables.create(PROJECT, 'K', 'v', { description: 'x'.repeat(256) });
    expect((await failure(long)).description).toBe(
      '{"description":["is too long (maximum is 255 characters)"]}',
    );
    const file = await api.ProjectVariables.create(PROJECT, 'KUBECONFIG', 'apiVersion: v1\n', {
      variableType: 'file',
      protected: true,
      raw: true,
    });
    expect(file).toMatchObject({
      variable_type: 'file',
      protected: true,
      raw: true,
      value: 'apiVersion: v1\n',
    });
  });

  it('applies the masking regexes: Base64 alphabet plus @:.~ when expanded, any non-space when raw', async () => {
    const masked = (key: string, value: string, raw: boolean) =>
      api.ProjectVariables.create(PROJECT, key, value, { masked: true, raw });
    await masked('A', 'abcdefgh', false);
    await masked('B', 'a+b=c/d@e:f.g~h-_', false);
    await masked('C', 'dollar$and%percent', true);
    await masked('D', 'p@$$w0rd!#', true);
    const invalid = { status: 400, description: '{"value":["is invalid"]}' };
    for (const [value, raw] of [
      ['short', false],
      ['has space1', false],
      ['dollar$sign', false],
      ['short', true],
      ['has space1', true],
      ['two\nlines1', true],
    ] as const) {
      expect(await failure(masked('E', value, raw)), `${JSON.stringify(value)} raw=${raw}`).toEqual(invalid);
    }
    // Turning masking on re-validates the stored value.
    await api.ProjectVariables.create(PROJECT, 'PLAIN', 'tiny');
    const mask = api.ProjectVariables.edit(PROJECT, 'PLAIN', 'tiny', {
      masked: true,
      filter: { environment_scope: '*' },
    });
    expect(await failure(mask)).toEqual(invalid);
  });

  it('hides masked_and_hidden values from every read and keeps them hidden', async () => {
    const hiddenOption = { masked: false, masked_and_hidden: true };
    const created = await api.ProjectVariables.create(
      PROJECT,
      'AWS_SECRET_ACCESS_KEY',
      'wJalrXUtnFEMI/K7MDENG',
      hiddenOption,
    );
    expect(created).toMatchObject({ value: null, hidden: true, masked: true });
    expect((await api.ProjectVariables.show(PROJECT, 'AWS_SECRET_ACCESS_KEY')).value).toBeNull();
    expect((await api.ProjectVariables.all(PROJECT))[0]?.value).toBeNull();
    expect(fake.state.variables({ project: PROJECT })[0]?.value).toBe('wJalrXUtnFEMI/K7MDENG');

    const scope = { filter: { environment_scope: '*' } };
    const unmask = api.ProjectVariables.edit(PROJECT, 'AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG', {
      ...scope,
      masked: false,
    });
    expect(await failure(unmask)).toEqual({
      status: 400,
      description: '{"base":["The visibility setting cannot be changed for masked and hidden variables."]}',
    });
    // The value can still be replaced (it must stay maskable).
    await api.ProjectVariables.edit(PROJECT, 'AWS_SECRET_ACCESS_KEY', 'rotated/SECRET+value', scope);
    expect(fake.state.variables({ project: PROJECT })[0]?.value).toBe('rotated/SECRET+value');

    // An existing variable cannot become hidden: PUT does not declare masked_and_hidden.
    await api.ProjectVariables.create(PROJECT, 'VISIBLE', 'abcdefgh1', { masked: true });
    await api.ProjectVariables.edit(PROJECT, 'VISIBLE', 'abcdefgh2', {
      ...scope,
      masked_and_hidden: true,
    } as typeof scope);
    expect((await api.ProjectVariables.show(PROJECT, 'VISIBLE')).hidden).toBe(false);
  });

  it('paginates with GitLab headers; all() follows the Link header across pages', async () => {
    for (let i = 1; i <= 45; i += 1)
      fake.state.setVariable({ project: PROJECT }, { key: `VAR_${i}`, value: `v${i}` });
    fake.requests.length = 0;
    const all = await api.ProjectVariables.all(PROJECT);
    expect(all.map((v) => v.key)).toEqual(Array.from({ length: 45 }, (_, i) => `VAR_${i + 1}`));
    expect(fake.requests.map((r) => r.query)).toEqual([
      {},
      { id: PROJECT, page: '2', per_page: '20' },
      { id: PROJECT, page: '3', per_page: '20' },
    ]);

    const page = await api.ProjectVariables.all(PROJECT, { page: 2, perPage: 20, showExpanded: true });
    expect(page.data).toHaveLength(20);
    expect(page.paginationInfo).toEqual({
      total: 45,
      next: 3,
      current: 2,
      previous: 1,
      perPage: 20,
      totalPages: 3,
    });

    const raw = await fetch(
      `${fake.url}/api/v4/projects/${encodeURIComponent(PROJECT)}/variables?per_page=500`,
      {
        headers: { 'PRIVATE-TOKEN': fake.state.addToken('maintainer') },
      },
    );
    expect(raw.headers.get('x-per-page')).toBe('100');
    expect(raw.headers.get('x-next-page')).toBe('');
    expect(raw.headers.get('link')).toBe(
      `<${fake.url}/api/v4/projects/acme%2Fplatform%2Fapi/variables?id=acme%2Fplatform%2Fapi&page=1&per_page=500>; rel="first", ` +
        `<${fake.url}/api/v4/projects/acme%2Fplatform%2Fapi/variables?id=acme%2Fplatform%2Fapi&page=1&per_page=500>; rel="last"`,
    );
  });
});

describe('group variables', () => {
  it('need the Owner role, even to read', async () => {
    fake.state.addMember({ group: 'acme' }, 'maintainer', 'maintainer');
    expect(await failure(api.GroupVariables.all('acme'))).toEqual({
      status: 403,
      description: '403 Forbidden',
    });
    await groupApi.GroupVariables.create('acme', 'AWS_DEFAULT_REGION', 'eu-west-1');
    expect(await groupApi.GroupVariables.all('acme')).toHaveLength(1);
  });

  it('support scopes, filters, 409 and hidden values like project variables', async () => {
    await groupApi.GroupVariables.create('acme', 'ROLE_ARN', 'a');
    await groupApi.GroupVariables.create('acme', 'ROLE_ARN', 'b', { environmentScope: 'staging' });
    expect((await failure(groupApi.GroupVariables.show('acme', 'ROLE_ARN'))).status).toBe(409);
    const staging = untyped({ filter: { environment_scope: 'staging' } });
    expect((await groupApi.GroupVariables.show('acme', 'ROLE_ARN', staging)).value).toBe('b');
    await groupApi.GroupVariables.remove('acme', 'ROLE_ARN', staging);
    expect(fake.state.variables({ group: 'acme' }).map((v) => v.environment_scope)).toEqual(['*']);
    expect(await failure(groupApi.GroupVariables.show('acme', 'NOPE'))).toEqual({
      status: 404,
      description: '404 GroupVariable Not Found',
    });
    const hidden = await groupApi.GroupVariables.create(
      'acme',
      'TOKEN',
      'secret-value-1',
      untyped({ masked_and_hidden: true }),
    );
    expect(hidden).toMatchObject({ hidden: true, value: null });
  });

  it('update without a filter changes the first variable with the key (lib/api/group_variables.rb)', async () => {
    await groupApi.GroupVariables.create('acme', 'ROLE_ARN', 'a');
    await groupApi.GroupVariables.create('acme', 'ROLE_ARN', 'b', { environmentScope: 'staging' });
    await groupApi.GroupVariables.edit('acme', 'ROLE_ARN', 'changed', undefined);
    expect(fake.state.variables({ group: 'acme' }).map((v) => v.value)).toEqual(['changed', 'b']);
    // With a filter it goes through find_variable: 409 on ambiguity is possible again.
    const edit = groupApi.GroupVariables.edit('acme', 'ROLE_ARN', 'x', { filter: { environment_scope: '' } });
    expect((await failure(edit)).status).toBe(409);
  });

  it('drop environment_scope on GitLab Free', async () => {
    const free = await startGitLabFake({ premium: false });
    try {
      free.state.addGroup('acme');
      free.state.addMember({ group: 'acme' }, 'owner', 'owner');
      const client = new Gitlab({ host: free.url, token: free.state.addToken('owner') });
      const v = await client.GroupVariables.create('acme', 'K', 'v', { environmentScope: 'production' });
      expect(v.environment_scope).toBe('*');
    } finally {
      await free.close();
    }
  });
});

it('exposes variables planted directly in state, e.g. a foreign one the operator must not take over', async () => {
  fake.state.setVariable(
    { project: PROJECT },
    { key: 'ROLE_ARN', value: 'theirs', description: 'hand-made' },
  );
  expect(await api.ProjectVariables.show(PROJECT, 'ROLE_ARN')).toMatchObject({
    value: 'theirs',
    description: 'hand-made',
  });
});
