// The GitLab fake as an OIDC issuer: discovery, JWKS and minted CI/CD ID tokens,
// checked with plain fetch and jose (and, over HTTPS, node:https with the fake's CA).
import { get } from 'node:https';
import { connect, type DetailedPeerCertificate, getCACertificates, setDefaultCACertificates } from 'node:tls';
import { Gitlab } from '@gitbeaker/rest';
import { createRemoteJWKSet, customFetch, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitLabFake, startGitLabFake } from '../../../../testbed/fakes/gitlab/index.ts';
import { untyped } from './test-helpers.ts';

const PROJECT = 'acme/platform/api';

async function discover(base: string, init?: RequestInit) {
  const res = await fetch(`${base}/.well-known/openid-configuration`, init);
  expect(res.status).toBe(200);
  return (await res.json()) as {
    issuer: string;
    jwks_uri: string;
    id_token_signing_alg_values_supported: string[];
  };
}

function seed(fake: GitLabFake) {
  fake.reset();
  fake.state.addProject(PROJECT);
  fake.state.addMember({ project: PROJECT }, 'deployer', 'maintainer');
}

describe('over HTTP', () => {
  let fake: GitLabFake;
  beforeAll(async () => {
    fake = await startGitLabFake();
  });
  afterAll(() => fake.close());
  beforeEach(() => seed(fake));

  it('publishes a discovery document and a JWKS like GitLab', async () => {
    const doc = await discover(fake.url);
    expect(doc).toMatchObject({
      issuer: fake.url,
      jwks_uri: `${fake.url}/oauth/discovery/keys`,
      id_token_signing_alg_values_supported: ['RS256'],
      subject_types_supported: ['public'],
      response_types_supported: ['code'],
    });
    const res = await fetch(doc.jwks_uri);
    expect(res.headers.get('cache-control')).toBe('max-age=86400, public, must-revalidate, no-transform');
    const { keys } = (await res.json()) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(2);
    for (const k of keys) expect(Object.keys(k)).toEqual(['kty', 'kid', 'e', 'n', 'use', 'alg']);
    expect(keys.map((k) => [k.kty, k.use, k.alg])).toEqual([
      ['RSA', 'sig', 'RS256'],
      ['RSA', 'sig', 'RS256'],
    ]);
  });

  it('mints RS256 ID tokens with GitLab claims that verify against the JWKS', async () => {
    const token = await fake.mintIdToken({ project: PROJECT, aud: 'https://gitlab.example.com' });
    const doc = await discover(fake.url);
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(doc.jwks_uri)), {
      issuer: doc.issuer,
      audience: 'https://gitlab.example.com',
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(payload).toMatchObject({
      sub: 'project_path:acme/platform/api:ref_type:branch:ref:main',
      project_path: PROJECT,
      namespace_path: 'acme/platform',
      project_id: expect.stringMatching(/^\d+$/),
      namespace_id: expect.stringMatching(/^\d+$/),
      user_login: 'deployer',
      user_access_level: 'maintainer',
      ref: 'main',
      ref_type: 'branch',
      ref_path: 'refs/heads/main',
      ref_protected: 'false',
      runner_id: 1,
      runner_environment: 'self-hosted',
      project_visibility: 'private',
    });
    expect(payload.nbf).toBe((payload.iat as number) - 5);
    expect(payload.exp).toBe((payload.iat as number) + 300);
    expect(payload).not.toHaveProperty('environment');
  });

  it('builds sub from the project setting, set through the API', async () => {
    const api = new Gitlab({ host: fake.url, token: fake.state.addToken('deployer') });
    const tag = decodeJwt(
      await fake.mintIdToken({ project: PROJECT, refType: 'tag', ref: 'v1.2.0', aud: 'x' }),
    );
    expect(tag.sub).toBe('project_path:acme/platform/api:ref_type:tag:ref:v1.2.0');
    expect(tag.ref_path).toBe('refs/tags/v1.2.0');
    await api.Projects.edit(PROJECT, untyped({ ciIdTokenSubClaimComponents: ['project_path', 'ref'] }));
    const custom = decodeJwt(await fake.mintIdToken({ project: PROJECT, ref: 'release/2', aud: 'x' }));
    expect(custom.sub).toBe('project_path:acme/platform/api:ref:release/2');
  });

  it('adds environment claims only for jobs with an environment, guessing the tier', async () => {
    const prod = decodeJwt(
      await fake.mintIdToken({
        project: PROJECT,
        aud: ['a', 'b'],
        environment: 'production',
        refProtected: true,
      }),
    );
    expect(prod).toMatchObject({
      aud: ['a', 'b'],
      environment: 'production',
      environment_protected: 'false',
      deployment_tier: 'production',
      environment_action: 'start',
      ref_protected: 'true',
    });
    const overridden = decodeJwt(
      await fake.mintIdToken({ project: PROJECT, aud: 'a', claims: { sha: undefined, iss: 'x' } }),
    );
    expect(overridden).not.toHaveProperty('sha');
    expect(overridden.iss).toBe('x');
  });

  it('signs with an unpublished key on request, which the JWKS cannot verify', async () => {
    const token = await fake.mintIdToken({ project: PROJECT, aud: 'a', signWith: 'foreign' });
    const jwks = createRemoteJWKSet(new URL(`${fake.url}/oauth/discovery/keys`));
    await expect(jwtVerify(token, jwks)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(fake.jwks.keys.map((k) => k.kid)).not.toContain(decodeProtectedHeader(token).kid);
  });

  it('issues tokens for a custom ci_id_tokens.issuer_url, served from another path like a static host', async () => {
    const origin = new URL(fake.url).origin;
    fake.oidc.issuerUrl = `${origin}/ci-issuer`;
    const token = await fake.mintIdToken({ project: PROJECT, aud: 'a' });
    expect(decodeJwt(token).iss).toBe(`${origin}/ci-issuer`);
    // GitLab's own document keeps naming the GitLab URL: tokens and document disagree.
    expect((await discover(fake.url)).issuer).toBe(fake.url);
    const mirrored = await discover(`${origin}/ci-issuer`);
    expect(mirrored).toMatchObject({
      issuer: `${origin}/ci-issuer`,
      jwks_uri: `${origin}/ci-issuer/oauth/discovery/keys`,
    });
    await jwtVerify(token, createRemoteJWKSet(new URL(mirrored.jwks_uri)), { issuer: mirrored.issuer });
  });

  it('can serve a discovery document whose issuer does not match its URL', async () => {
    fake.oidc.discoveryIssuer = 'https://gitlab.example.com';
    expect((await discover(fake.url)).issuer).toBe('https://gitlab.example.com');
    fake.reset();
    expect((await discover(fake.url)).issuer).toBe(fake.url);
  });

  it('can name keys elsewhere in jwks_uri (another host, plain http), until reset', async () => {
    fake.oidc.jwksUri = 'http://keys.example.com/jwks';
    expect((await discover(fake.url)).jwks_uri).toBe('http://keys.example.com/jwks');
    fake.reset();
    expect((await discover(fake.url)).jwks_uri).toBe(`${fake.url}/oauth/discovery/keys`);
  });
});

it('lives under a relative URL root when given a path prefix', async () => {
  const fake = await startGitLabFake({ pathPrefix: '/gitlab' });
  try {
    seed(fake);
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/gitlab$/);
    const doc = await discover(fake.url);
    expect(doc).toMatchObject({ issuer: fake.url, jwks_uri: `${fake.url}/oauth/discovery/keys` });
    const token = await fake.mintIdToken({ project: PROJECT, aud: 'a' });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(doc.jwks_uri)), {
      issuer: fake.url,
    });
    expect(payload.ci_config_ref_uri).toBe(
      `${new URL(fake.url).host}/gitlab/${PROJECT}//.gitlab-ci.yml@refs/heads/main`,
    );
    expect((await fetch(`${new URL(fake.url).origin}/.well-known/openid-configuration`)).status).toBe(404);
    const api = new Gitlab({ host: fake.url, token: fake.state.addToken('deployer') });
    expect((await api.Projects.show(PROJECT)).web_url).toBe(`${fake.url}/${PROJECT}`);
  } finally {
    await fake.close();
  }
});

describe('over HTTPS with a private CA', () => {
  let fake: GitLabFake;
  beforeAll(async () => {
    fake = await startGitLabFake({ tls: true });
  });
  afterAll(() => fake.close());
  beforeEach(() => seed(fake));

  /** fetch for jose, through node:https trusting only the fake's CA. */
  const httpsFetch =
    (ca: string) =>
    (url: string, init: { signal?: AbortSignal } = {}): Promise<Response> =>
      new Promise((resolve, reject) => {
        get(url, { ca, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const headers = Object.entries(res.headers).filter(
              (e): e is [string, string] => typeof e[1] === 'string',
            );
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers }));
          });
        }).on('error', reject);
      });

  it('is not trusted without the CA', async () => {
    expect(fake.url).toMatch(/^https:\/\//);
    await expect(fetch(`${fake.url}/.well-known/openid-configuration`)).rejects.toThrow();
  });

  it('verifies minted tokens through the JWKS over HTTPS', async () => {
    const tls = fake.tls!;
    const doc = (await (
      await httpsFetch(tls.caPem)(`${fake.url}/.well-known/openid-configuration`)
    ).json()) as {
      jwks_uri: string;
      issuer: string;
    };
    expect(doc.issuer).toBe(fake.url);
    const jwks = createRemoteJWKSet(new URL(doc.jwks_uri), { [customFetch]: httpsFetch(tls.caPem) });
    const token = await fake.mintIdToken({ project: PROJECT, aud: 'sts.amazonaws.com' });
    const { payload } = await jwtVerify(token, jwks, { issuer: doc.issuer, audience: 'sts.amazonaws.com' });
    expect(payload.iss).toBe(fake.url);
  });

  it('exposes the SHA-1 thumbprint of the top certificate of the chain it serves', async () => {
    const { port } = new URL(fake.url);
    const peer = await new Promise<DetailedPeerCertificate>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port), ca: fake.tls!.caPem }, () => {
        resolve(socket.getPeerCertificate(true));
        socket.end();
      });
      socket.on('error', reject);
    });
    // Walk issuer links up to the self-signed top (whose issuer is itself).
    const chain = [peer];
    for (let next = peer.issuerCertificate; next && next.fingerprint !== chain.at(-1)?.fingerprint; ) {
      chain.push(next);
      next = next.issuerCertificate;
    }
    const hex = (c: DetailedPeerCertificate) => c.fingerprint.replaceAll(':', '').toLowerCase();
    expect(chain.map(hex)).toEqual([fake.tls!.leafThumbprint, fake.tls!.thumbprint]);
    expect(fake.tls!.thumbprint).toMatch(/^[0-9a-f]{40}$/);
    expect(peer.subjectaltname).toContain('IP Address:127.0.0.1');
  });

  it('serves gitbeaker once the CA is among the default CAs', async () => {
    const before = getCACertificates('default');
    setDefaultCACertificates([...before, fake.tls!.caPem]);
    try {
      const api = new Gitlab({ host: fake.url, token: fake.state.addToken('deployer') });
      expect((await api.Projects.show(PROJECT)).path_with_namespace).toBe(PROJECT);
    } finally {
      setDefaultCACertificates(before);
    }
  });
});
