// Fault injection in the GitLab fake, observed through @gitbeaker/rest and fetch.
import { GitbeakerRetryError, Gitlab } from '@gitbeaker/rest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitLabFake, startGitLabFake } from '../../../../testbed/fakes/gitlab/index.ts';
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

describe('at random (probability) and the arrival log', () => {
  it('answers about that share of matching requests with 429, and logs every arrival with its time', async () => {
    fake.faults.clearArrivals();
    const fault = fake.faults.add({
      path: /^\/oauth\/discovery\/keys$/,
      status: 429,
      retryAfterSeconds: 1,
      probability: 0.5,
    });
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) statuses.push((await fetch(`${fake.url}/oauth/discovery/keys`)).status);
    const throttled = statuses.filter((s) => s === 429).length;
    expect(statuses.filter((s) => s !== 429 && s !== 200)).toEqual([]);
    // Binomial(200, 0.5): 100 ± 7 (1 sigma); 60..140 is beyond 5 sigma.
    expect(throttled).toBeGreaterThan(60);
    expect(throttled).toBeLessThan(140);
    expect(fault.hits).toBe(throttled);
    // Another path is not affected.
    expect((await fetch(`${fake.url}/.well-known/openid-configuration`)).status).toBe(200);

    const arrivals = fake.faults.arrivals;
    expect(arrivals).toHaveLength(201);
    expect(arrivals.map((a) => a.status ?? 200)).toEqual([...statuses, 200]);
    expect(arrivals.filter((a) => a.status === 429).every((a) => a.retryAfterSeconds === 1)).toBe(true);
    expect(arrivals.at(-1)).toMatchObject({ method: 'GET', path: '/.well-known/openid-configuration' });
    for (let i = 1; i < arrivals.length; i++) {
      expect(arrivals[i]!.at).toBeGreaterThanOrEqual(arrivals[i - 1]!.at);
    }
    fake.faults.clear();
    expect(fake.faults.arrivals).toHaveLength(201); // clear() removes faults, not the log
    fake.faults.clearArrivals();
    expect(fake.faults.arrivals).toHaveLength(0);
  });

  it('never fires at probability 0, always at 1; spared requests do not use up times', async () => {
    const never = fake.faults.add({ status: 503, probability: 0, times: 1 });
    for (let i = 0; i < 20; i++) expect((await fetch(`${fake.url}/oauth/discovery/keys`)).status).toBe(200);
    expect(never.hits).toBe(0);
    fake.faults.clear();
    const always = fake.faults.add({ status: 503, probability: 1, times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${fake.url}/oauth/discovery/keys`)).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(always.hits).toBe(2);
  });
});

describe('per user', () => {
  it("throttles only the requests of one user's tokens, as GitLab limits each user", async () => {
    fake.state.addMember({ project: PROJECT }, 'other', 'maintainer');
    const other = new Gitlab({ host: fake.url, token: fake.state.addToken('other') });
    fake.faults.add({ user: 'deployer', status: 429, retryAfterSeconds: 600 });
    expect((await other.Projects.show(PROJECT)).path).toBe('api');
    expect((await fetch(`${fake.url}/.well-known/openid-configuration`)).status).toBe(200);
    await expect(api.Projects.show(PROJECT)).rejects.toBeInstanceOf(GitbeakerRetryError);
    expect(new Set(fake.requests.filter((r) => r.status === 429).map((r) => r.user))).toEqual(
      new Set(['deployer']),
    );
  });
});

describe('streamed bodies', () => {
  it('serves a body of totalBytes in chunks', async () => {
    fake.faults.add({ path: /openid-configuration/, streamBody: { totalBytes: 3 * 1024 * 1024 } });
    const res = await fetch(`${fake.url}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(3 * 1024 * 1024);
  });

  it('serves an endless slow body, with the status asked for, until the client goes', async () => {
    const fault = fake.faults.add({
      path: /discovery\/keys/,
      status: 200,
      streamBody: { chunkBytes: 10, intervalMs: 10 },
    });
    const controller = new AbortController();
    const res = await fetch(`${fake.url}/oauth/discovery/keys`, { signal: controller.signal });
    const reader = res.body!.getReader();
    let received = 0;
    while (received < 100) received += (await reader.read()).value?.byteLength ?? 0;
    controller.abort();
    expect(received).toBeGreaterThanOrEqual(100);
    expect(fault.hits).toBe(1);
    expect(fake.requests.at(-1)).toMatchObject({ path: '/oauth/discovery/keys', status: 200 });
  });
});
