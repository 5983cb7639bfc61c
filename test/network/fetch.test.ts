// What the operator fetches for a tenant-supplied GitLab URL, and where it may
// connect, through the product's own adapters (discovery, the thumbprint probe,
// the GitLab client on gitbeaker) against the GitLab fake over HTTP(S): https
// only, keys only on the issuer's host, no link-local address ever, loopback
// and private addresses only when allowed, bodies of at most 1 MiB within a
// deadline. Each refusal is checked for what it says and for sending nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitLabPort } from '../../src/adapters/gitlab/client.ts';
import { discoverIssuer, serverThumbprint } from '../../src/adapters/gitlab/discovery.ts';
import { Metrics } from '../../src/runtime/process/metrics.ts';
import { ExternalSystem } from '../../src/runtime/transport/external.ts';
import { type GitLabFake, startGitLabFake } from '../../testbed/fakes/gitlab/index.ts';

let https: GitLabFake;
let plain: GitLabFake;
let ca: string;
let token: string;
const system = () => new ExternalSystem('gitlab', new Metrics(), { qps: 100, burst: 100 });
const PRIVATE = { allowPrivate: true };
const STRICT = { allowPrivate: false };

/** The error a promise fails with, or a failure of the test if it does not. */
async function failure(p: Promise<unknown>): Promise<Error & { reason?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { reason?: string };
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  [https, plain] = await Promise.all([startGitLabFake({ tls: true }), startGitLabFake()]);
  ca = https.tls!.caPem;
});
afterAll(() => Promise.all([https.close(), plain.close()]));
beforeEach(() => {
  for (const fake of [https, plain]) fake.reset();
  https.state.addProject('payments/api');
  https.state.addMember({ project: 'payments/api' }, 'deployer', 'maintainer');
  token = https.state.addToken('deployer', { scopes: ['api'] });
});

describe('https only, keys on the issuer host', () => {
  it('discovers an https issuer on a private address when allowed (the baseline)', async () => {
    const found = await discoverIssuer(https.url, { caPem: ca, allowPrivate: true });
    expect(found).toEqual({ issuer: https.url, jwksUri: `${https.url}/oauth/discovery/keys` });
    expect(await serverThumbprint(found.jwksUri, ca, PRIVATE)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('refuses an http GitLab URL before sending anything', async () => {
    const err = await failure(discoverIssuer(plain.url, { allowPrivate: true }));
    expect(err).toMatchObject({ name: 'TerminalError', reason: 'IssuerNotAllowed' });
    expect(err.message).toBe(
      `the GitLab URL ${plain.url}/ is not an https URL: the operator fetches OIDC discovery documents and keys only over https (AWS, too, accepts only https issuers)`,
    );
    expect(plain.requests).toEqual([]);
  });

  it('refuses a jwks_uri over http, fetching no keys', async () => {
    https.oidc.jwksUri = `${https.url.replace('https:', 'http:')}/oauth/discovery/keys`;
    const err = await failure(discoverIssuer(https.url, { caPem: ca, allowPrivate: true }));
    expect(err).toMatchObject({ reason: 'IssuerNotAllowed' });
    expect(err.message).toBe(
      `the jwks_uri of issuer ${https.url} ${https.oidc.jwksUri} is not an https URL: the operator fetches OIDC discovery documents and keys only over https (AWS, too, accepts only https issuers)`,
    );
    expect(https.requests.map((r) => r.path)).toEqual(['/.well-known/openid-configuration']);
  });

  it('refuses a jwks_uri on another host (or port) than the issuer, naming both', async () => {
    const { port } = new URL(https.url);
    for (const [jwksUri, host] of [
      [`https://localhost:${port}/oauth/discovery/keys`, `localhost:${port}`],
      [`https://127.0.0.1/oauth/discovery/keys`, '127.0.0.1:443'],
    ] as const) {
      https.reset();
      https.oidc.jwksUri = jwksUri;
      const err = await failure(discoverIssuer(https.url, { caPem: ca, allowPrivate: true }));
      expect(err).toMatchObject({ name: 'TerminalError', reason: 'IssuerNotAllowed' });
      expect(err.message).toBe(
        `the discovery document of issuer ${https.url} names jwks_uri ${jwksUri}, on host ${host}; the operator fetches keys only from the issuer's own host 127.0.0.1:${port}. Serve the keys from the issuer's host`,
      );
      expect(https.requests.map((r) => r.path)).toEqual(['/.well-known/openid-configuration']);
    }
  });
});

describe('addresses', () => {
  it('refuses loopback, by literal or by name, unless allowed, and says only the class', async () => {
    const byName = https.url.replace('127.0.0.1', 'localhost');
    for (const url of [https.url, byName]) {
      const host = new URL(url).hostname;
      const err = await failure(discoverIssuer(url, { caPem: ca, allowPrivate: false }));
      expect(err).toMatchObject({ name: 'TerminalError', reason: 'AddressNotAllowed' });
      expect(err.message).toBe(
        `the OIDC discovery document ${url}/.well-known/openid-configuration was not fetched: ${host} resolves to an address that is not allowed (loopback); the operator connects to loopback addresses only for a GitLab URL that a GitLabAwsPolicy selecting this namespace lists in spec.gitlab.urls (or with --tenancy open)`,
      );
      const thumbprint = await failure(serverThumbprint(`${url}/oauth/discovery/keys`, ca, STRICT));
      expect(thumbprint).toMatchObject({ reason: 'AddressNotAllowed' });
      expect(thumbprint.message).toMatch(/resolves to an address that is not allowed \(loopback\); /);
    }
    expect(https.requests).toEqual([]);
  });

  it('refuses GitLab API calls to a loopback address unless allowed, sending no token', async () => {
    const strict = new GitLabPort({ url: https.url, token, caPem: ca, system: system(), egress: STRICT });
    const err = await failure(strict.project('payments/api'));
    expect(err).toMatchObject({ name: 'TerminalError', reason: 'AddressNotAllowed' });
    expect(err.message).toBe(
      'could not get project project payments/api: 127.0.0.1 resolves to an address that is not allowed (loopback); the operator connects to loopback addresses only for a GitLab URL that a GitLabAwsPolicy selecting this namespace lists in spec.gitlab.urls (or with --tenancy open)',
    );
    expect(https.requests).toEqual([]);
    const allowed = new GitLabPort({ url: https.url, token, caPem: ca, system: system(), egress: PRIVATE });
    expect((await allowed.project('payments/api')).path).toBe('payments/api');
  });

  it('never connects to link-local or metadata addresses, in any spelling, even with private allowed', async () => {
    for (const url of [
      'https://169.254.169.254',
      'https://2852039166',
      'https://0xa9fea9fe',
      'https://[::ffff:169.254.169.254]',
      'https://[fd00:ec2::254]',
      'https://[fe80::1]',
    ]) {
      const host = new URL(url).hostname;
      const err = await failure(discoverIssuer(url, { allowPrivate: true }));
      expect(err, url).toMatchObject({ reason: 'AddressNotAllowed' });
      // The class, never a connection error or what answered.
      expect(err.message).toBe(
        `the OIDC discovery document ${new URL(url).origin}/.well-known/openid-configuration was not fetched: ${host} resolves to an address that is not allowed (link-local); the operator never connects to link-local or cloud metadata addresses`,
      );
      const port = new GitLabPort({ url, token, system: system(), egress: PRIVATE });
      expect(await failure(port.project('payments/api'))).toMatchObject({ reason: 'AddressNotAllowed' });
      expect(await failure(serverThumbprint(`${url}/keys`, ca, PRIVATE))).toMatchObject({
        reason: 'AddressNotAllowed',
      });
    }
  });
});

describe('bounded bodies', () => {
  it('stops reading a discovery document beyond 1 MiB', async () => {
    https.faults.add({ path: /openid-configuration/, streamBody: { totalBytes: 4 * 1024 * 1024 } });
    const err = await failure(discoverIssuer(https.url, { caPem: ca, allowPrivate: true }));
    expect(err).toMatchObject({ name: 'RetryableError', reason: 'IssuerUnreachable' });
    expect(err.message).toBe(
      `the OIDC discovery document ${https.url}/.well-known/openid-configuration is larger than 1 MiB, the most the operator reads; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
    );
  });

  it('cuts an endless, slow JWKS at the 5 s deadline although bytes keep coming', async () => {
    https.faults.add({ path: /discovery\/keys/, streamBody: { chunkBytes: 1, intervalMs: 100 } });
    const err = await failure(discoverIssuer(https.url, { caPem: ca, allowPrivate: true }));
    expect(err).toMatchObject({ reason: 'IssuerUnreachable' });
    expect(err.message).toBe(
      `the JWKS ${https.url}/oauth/discovery/keys did not answer within 5 s; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
    );
  });

  it('stops reading a GitLab API answer beyond 1 MiB', async () => {
    https.faults.add({ path: /^\/api\/v4\/projects/, streamBody: {} });
    const port = new GitLabPort({ url: https.url, token, caPem: ca, system: system(), egress: PRIVATE });
    const err = await failure(port.project('payments/api'));
    expect(err).toMatchObject({ name: 'RetryableError', reason: 'GitLabUnavailable' });
    expect(err.message).toBe(
      `could not get project project payments/api: ${https.url}/api/v4/projects/payments%2Fapi sent a response body larger than 1 MiB, the most the operator reads`,
    );
  });
});

describe('bounded lists', () => {
  it('stops following next links after 400 requests for one call (pages of one item each)', async () => {
    const next = `${https.url}/api/v4/projects/payments%2Fapi/variables?page=2&per_page=100`;
    https.faults.add({
      path: /\/variables$/,
      status: 200,
      body: [{ key: 'K', value: 'v', environment_scope: '*' }],
      headers: { Link: `<${next}>; rel="next"`, 'X-Next-Page': '2' },
    });
    const port = new GitLabPort({ url: https.url, token, caPem: ca, system: system(), egress: PRIVATE });
    const err = await failure(port.variables({ kind: 'project', path: 'payments/api' }));
    expect(err).toMatchObject({ name: 'RetryableError', reason: 'GitLabUnavailable' });
    expect(err.message).toBe(
      `could not list variables project payments/api: ${new URL(https.url).origin} kept answering with more pages: the operator makes at most 400 requests for one call`,
    );
    expect(https.requests.filter((r) => r.path.endsWith('/variables'))).toHaveLength(400);
    // The next call has a budget of its own.
    https.faults.clear();
    expect(await port.variables({ kind: 'project', path: 'payments/api' })).toEqual([]);
  });
});

describe('Retry-After', () => {
  it('pauses the calls of the throttled token only, on the same instance', async () => {
    https.state.addMember({ project: 'payments/api' }, 'other', 'maintainer');
    const otherToken = https.state.addToken('other', { scopes: ['api'] });
    const instance = system();
    const throttled = new GitLabPort({ url: https.url, token, caPem: ca, system: instance, egress: PRIVATE });
    const other = new GitLabPort({
      url: https.url,
      token: otherToken,
      caPem: ca,
      system: instance,
      egress: PRIVATE,
    });
    https.faults.add({ user: 'deployer', status: 429, retryAfterSeconds: 600 });
    expect(await failure(throttled.project('payments/api'))).toMatchObject({ reason: 'GitLabThrottled' });
    // The same token now waits without asking GitLab again; another token goes ahead.
    const again = await failure(throttled.project('payments/api'));
    expect(again).toMatchObject({ reason: 'RateLimited' });
    expect(again.message).toMatch(
      /^GitLab asked the requests of this token to wait \(Retry-After\): \d+ s left$/,
    );
    expect(https.requests.filter((r) => r.user === 'deployer')).toHaveLength(1);
    expect((await other.project('payments/api')).path).toBe('payments/api');
    expect(await discoverIssuer(https.url, { caPem: ca, allowPrivate: true })).toMatchObject({
      issuer: https.url,
    });
  });
});
