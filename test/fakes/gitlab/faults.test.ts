// Fault injection in the GitLab fake, observed through @gitbeaker/rest and fetch.
import { GitbeakerRetryError, Gitlab } from '@gitbeaker/rest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitLabFake, startGitLabFake } from './index.ts';
import { failure } from './test-helpers.ts';

const PROJECT = 'acme/api';
let fake: GitLabFake;
let api: InstanceType<typeof Gitlab>;

beforeAll(async () => {
  fake = await startGitLabFake();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  fake.state.addProject(PROJECT);
  fake.state.addMember({ project: PROJECT }, 'deployer', 'maintainer');
  api = new Gitlab({ host: fake.url, token: fake.state.addToken('deployer') });
});

describe('429', () => {
  it('answers like Rack::Attack: plain text and RateLimit headers', async () => {
    fake.faults.add({ status: 429, retryAfterSeconds: 42, times: 1 });
    const res = await fetch(`${fake.url}/api/v4/projects/1`);
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('Retry later\n');
    expect(res.headers.get('retry-after')).toBe('42');
    for (const h of [
      'ratelimit-name',
      'ratelimit-limit',
      'ratelimit-observed',
      'ratelimit-remaining',
      'ratelimit-reset',
    ]) {
      expect(res.headers.get(h), h).not.toBeNull();
    }
    expect(res.headers.get('ratelimit-resettime')).toMatch(/GMT$/);
  });

  it('is retried by gitbeaker 43.8.0 itself, ignoring Retry-After', async () => {
    const fault = fake.faults.add({
      method: 'GET',
      path: /^\/api\/v4\/projects\/[^/]+$/,
      status: 429,
      times: 3,
    });
    const started = Date.now();
    expect((await api.Projects.show(PROJECT)).path).toBe('api');
    expect(Date.now() - started).toBeLessThan(1000); // Retry-After: 60 was not honoured
    expect(fault.hits).toBe(3);
    expect(fake.requests.map((r) => r.status)).toEqual([429, 429, 429, 200]);
  });

  it('gives up after 10 attempts with GitbeakerRetryError', async () => {
    fake.faults.add({ status: 429 });
    await expect(api.Projects.show(PROJECT)).rejects.toBeInstanceOf(GitbeakerRetryError);
    expect(fake.requests).toHaveLength(10);
  });
});

describe('other statuses', () => {
  it('retries 502 too, but not 500 or 503', async () => {
    fake.faults.add({ status: 502, times: 2 });
    await api.Projects.show(PROJECT);
    expect(fake.requests.map((r) => r.status)).toEqual([502, 502, 200]);
    fake.faults.add({ status: 500, times: 1 });
    expect(await failure(api.Projects.show(PROJECT))).toEqual({
      status: 500,
      description: '500 Internal Server Error',
    });
    fake.faults.add({ status: 503, times: 1 });
    expect((await failure(api.Projects.show(PROJECT))).status).toBe(503);
  });

  it('injects 401/403/404 with GitLab bodies, or a given body, for matching method and path only', async () => {
    fake.faults.add({ method: 'POST', path: /\/variables$/, status: 403, times: 1 });
    expect(await failure(api.ProjectVariables.create(PROJECT, 'K', 'v'))).toEqual({
      status: 403,
      description: '403 Forbidden',
    });
    await api.ProjectVariables.create(PROJECT, 'K', 'v');
    fake.faults.add({ path: /\/variables/, status: 404, body: { message: '404 Project Not Found' } });
    expect(await failure(api.ProjectVariables.all(PROJECT))).toEqual({
      status: 404,
      description: '404 Project Not Found',
    });
    expect((await api.Projects.show(PROJECT)).id).toBeGreaterThan(0);
    fake.faults.clear();
    fake.faults.add({ status: 401, times: 1 });
    expect(await failure(api.ProjectVariables.all(PROJECT))).toEqual({
      status: 401,
      description: '401 Unauthorized',
    });
    expect(await api.ProjectVariables.all(PROJECT)).toHaveLength(1);
  });
});

describe('latency', () => {
  it('delays the OIDC endpoints so a client timeout (AWS allows about 5 s) can be exercised', async () => {
    fake.faults.add({ path: /^\/\.well-known\/openid-configuration$/, delayMs: 1500 });
    const url = `${fake.url}/.well-known/openid-configuration`;
    await expect(fetch(url, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    const started = Date.now();
    expect((await fetch(url)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('can delay and then fail, and close() does not wait for delayed requests', async () => {
    const slow = await startGitLabFake();
    slow.faults.add({ delayMs: 60_000 });
    const pending = fetch(`${slow.url}/oauth/discovery/keys`).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await slow.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await pending;

    fake.faults.add({ path: /discovery\/keys/, delayMs: 100, status: 503, times: 1 });
    const res = await fetch(`${fake.url}/oauth/discovery/keys`);
    expect(res.status).toBe(503);
  });
});
