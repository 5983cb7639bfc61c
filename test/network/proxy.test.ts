// HTTPS_PROXY, HTTP_PROXY and NO_PROXY, with a real proxy (CONNECT tunnels
// and forwarded http, testbed/connect-proxy.ts) and the operator as its own
// process. The GitLab instance and AWS (moto, IAM and STS) are named at
// host:ports where nothing listens; the proxy alone routes them to the real
// servers, so a federation that becomes Ready made every such call through the
// proxy. NO_PROXY sends a second instance direct. The address rules hold
// through the proxy: a refused host is never handed to it.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetOpenIDConnectProviderCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import { send } from '../../src/runtime/transport/http-client.ts';
import { type ConnectProxy, startConnectProxy } from '../../testbed/connect-proxy.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { freePort, removeOnExit } from '../../testbed/processes.ts';
import {
  apply,
  awsEnv,
  CLI,
  createCaSecret,
  createTokenSecret,
  federation,
  forgetProvider,
  type GitLabInstance,
  getFederation,
  iamClient,
  providerArnOf,
  REGION,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';

let proxy: ConnectProxy;
/** Reached through the proxy only. */
let gitlab: GitLabInstance;
/** Reached direct, by NO_PROXY. */
let direct: GitLabInstance;
let op: OperatorProcess;
let ns: string;
/** Where the operator is told GitLab and AWS are: host:ports where nothing listens. */
let gitlabVia: string;
let awsVia: string;

const hostPort = (url: string) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === 'https:' ? 443 : 80)}`;
};

beforeAll(async () => {
  proxy = await startConnectProxy();
  [gitlab, direct] = await Promise.all([startGitLab(), startGitLab()]);
  gitlabVia = `127.0.0.1:${await freePort()}`;
  awsVia = `127.0.0.1:${await freePort()}`;
  proxy.route(gitlabVia, hostPort(gitlab.fake.url));
  proxy.route(awsVia, hostPort(inject('motoIamUrl')));
  // The instance as the operator knows it: issuer, keys and API at gitlabVia.
  const issuer = `https://${gitlabVia}`;
  Object.assign(gitlab.fake.oidc, {
    issuerUrl: issuer,
    discoveryIssuer: issuer,
    jwksUri: `${issuer}/oauth/discovery/keys`,
  });
  ns = await createNamespace('proxy');
  await createTokenSecret(ns, gitlab.token);
  await createTokenSecret(ns, direct.token, 'direct-token');
  // Both instances trusted as public ones are (NODE_EXTRA_CA_CERTS takes one file).
  const cas = join(tmpdir(), `gao-proxy-cas-${process.pid}.pem`);
  writeFileSync(cas, `${gitlab.fake.tls!.caPem}\n${direct.fake.tls!.caPem}`);
  removeOnExit(cas);
  op = startOperatorProcess(
    CLI,
    [...runArgs(ns, inject('kubeconfig')), '--propagation-delay', '1s', '--cluster-id', 'itest'],
    {
      ...awsEnv(),
      AWS_ENDPOINT_URL_IAM: `http://${awsVia}`,
      AWS_ENDPOINT_URL_STS: `http://${awsVia}`,
      NODE_EXTRA_CA_CERTS: cas,
      HTTPS_PROXY: proxy.url,
      HTTP_PROXY: proxy.url,
      NO_PROXY: `gitlab.example.invalid,${hostPort(direct.fake.url)}`,
    },
  );
});

afterAll(async () => {
  // The operator deletes what it made in AWS (providers for issuers at
  // gitlabVia, a port a later fake may get), then stops.
  if (op && ns) {
    await kubectl(['delete', 'glaf', '--all', '-n', ns, '--wait=true', '--timeout=60s']);
  }
  await forgetProvider(`https://${gitlabVia}`);
  await op?.stop('SIGKILL');
  await proxy?.close();
  await Promise.all([gitlab?.close(), direct?.close()]);
});

describe('through HTTPS_PROXY and HTTP_PROXY', () => {
  it('a federation becomes Ready with GitLab, discovery, keys, STS and IAM all through the proxy', async () => {
    const otherAccount = `arn:aws:iam::${String(Date.now()).slice(-12).padStart(12, '1')}:role/proxy-target`;
    await apply(
      ns,
      federation('proxied', {
        gitlab: { url: `https://${gitlabVia}`, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        aws: { region: REGION, assumeRoleArn: otherAccount },
        access: [{ project: 'payments/api', refs: ['main'] }],
        ciVariables: { target: { project: 'payments/api' } },
      }),
    );
    const ready = await waitForCondition(ns, 'proxied', 'Ready', 'True', { timeoutMs: 90_000 });
    expect(ready.status?.roleArn).toMatch(/^arn:aws:iam::\d{12}:role\//);

    const counts = proxy.counts();
    // GitLab: https, so CONNECT tunnels (kept alive: fewer tunnels than calls).
    const tunnels = proxy.requests.filter((r) => r.method === 'CONNECT' && r.target === gitlabVia);
    expect(tunnels.length).toBeGreaterThan(0);
    const paths = gitlab.fake.requests.map((r) => r.path);
    expect(paths).toContain('/.well-known/openid-configuration');
    expect(paths).toContain('/oauth/discovery/keys');
    expect(paths.some((p) => p.startsWith('/api/v4/projects/'))).toBe(true);
    expect(gitlab.fake.state.variables({ project: 'payments/api' }).length).toBeGreaterThan(0);
    // AWS at an http endpoint: forwarded requests, STS's AssumeRole first, then IAM.
    const actions = proxy.requests
      .filter((r) => r.target === awsVia)
      .map((r) => new URLSearchParams(r.body).get('Action'));
    expect(actions).toContain('AssumeRole');
    expect(actions).toContain('CreateRole');
    expect(actions).toContain('CreateOpenIDConnectProvider');
    // Only what the operator named; never the Kubernetes API (it follows its kubeconfig).
    const kubeconfig = parse(readFileSync(inject('kubeconfig'), 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    expect(Object.keys(counts)).not.toContain(hostPort(kubeconfig.clusters[0]!.cluster.server));
    expect(Object.keys(counts).sort()).toEqual([awsVia, gitlabVia].sort());
  });

  it('NO_PROXY sends a listed host:port direct', async () => {
    await apply(
      ns,
      federation('direct', {
        gitlab: { url: direct.fake.url, tokenSecretRef: { name: 'direct-token', key: 'token' } },
        aws: { region: REGION },
        access: [{ project: 'payments/api', refs: ['main'] }],
      }),
    );
    await waitForCondition(ns, 'direct', 'Ready', 'True', { timeoutMs: 90_000 });
    expect(direct.fake.requests.map((r) => r.path)).toContain('/oauth/discovery/keys');
    expect(proxy.requests.filter((r) => r.target === hostPort(direct.fake.url))).toEqual([]);
    // Its AWS calls still went through the proxy (awsVia is not in NO_PROXY).
    expect(proxy.requests.filter((r) => r.target === awsVia).length).toBeGreaterThan(0);
  });

  it('the thumbprint of a private CA is read through the proxy too', async () => {
    await createCaSecret(ns, gitlab.fake.tls!.caPem);
    const tunnels = () => proxy.requests.filter((r) => r.target === gitlabVia).length;
    const before = tunnels();
    await apply(
      ns,
      federation('private-ca', {
        gitlab: {
          url: `https://${gitlabVia}`,
          tokenSecretRef: { name: 'gitlab-token', key: 'token' },
          caSecretRef: { name: 'gitlab-ca' },
        },
        aws: { region: REGION },
        role: { name: `proxy-ca-${ns}`.slice(0, 64) },
        access: [{ project: 'payments/api', refs: ['main'] }],
      }),
    );
    await waitForCondition(ns, 'private-ca', 'Ready', 'True', { timeoutMs: 90_000 });
    expect(tunnels()).toBeGreaterThan(before);
    expect(gitlab.fake.requests.map((r) => `${r.method} ${r.path}`)).toContain('HEAD /oauth/discovery/keys');
    const provider = await iamClient().send(
      new GetOpenIDConnectProviderCommand({
        OpenIDConnectProviderArn: providerArnOf(`https://${gitlabVia}`),
      }),
    );
    // The top of the chain: the fake's CA, as the AWS console computes it.
    const ca = createHash('sha1').update(new X509Certificate(gitlab.fake.tls!.caPem).raw).digest('hex');
    expect(provider.ThumbprintList).toEqual([ca]);
    expect((await getFederation(ns, 'private-ca')).status?.identityProviderArn).toBe(
      providerArnOf(`https://${gitlabVia}`),
    );
  });

  it('a link-local GitLab URL is refused before the proxy is asked', async () => {
    await apply(
      ns,
      federation('metadata', {
        gitlab: { url: 'https://169.254.169.254' },
        access: [{ project: 'payments/api', refs: ['main'] }],
      }),
    );
    const stalled = await waitForCondition(ns, 'metadata', 'Stalled', 'True', {
      reason: 'AddressNotAllowed',
    });
    expect(getCondition(stalled.status?.conditions as never, 'Stalled')?.message).toContain(
      '169.254.169.254 resolves to an address that is not allowed (link-local)',
    );
    expect(proxy.requests.filter((r) => r.target.startsWith('169.254.'))).toEqual([]);
  });
});

describe('the address rules through a proxy', () => {
  // In this process: send() as the GitLab client and discovery call it.
  it('resolve a name first and refuse it before the proxy sees it; an allowed one is tunnelled', async () => {
    const saved = { ...process.env };
    process.env.HTTPS_PROXY = proxy.url;
    process.env.NO_PROXY = '';
    try {
      const port = hostPort(gitlab.fake.url).split(':')[1];
      const target = `localhost:${port}`;
      const refused = send(new URL(`https://${target}/.well-known/openid-configuration`), {
        timeoutMs: 5000,
        egress: { allowPrivate: false },
      });
      await expect(refused).rejects.toMatchObject({
        name: 'EgressRefusedError',
        addressClass: 'loopback',
        message: 'localhost resolves to an address that is not allowed (loopback)',
      });
      expect(proxy.requests.filter((r) => r.target === target)).toEqual([]);

      // Where private addresses are allowed, the same request goes through the proxy.
      const before = proxy.requests.length;
      const allowed = await send(new URL(`https://${target}/.well-known/openid-configuration`), {
        timeoutMs: 5000,
        egress: { allowPrivate: true },
        agent: new Agent({ ca: gitlab.fake.tls!.caPem, proxyEnv: process.env }),
      });
      expect(allowed.status).toBe(200);
      expect(proxy.requests.slice(before).map((r) => `${r.method} ${r.target}`)).toEqual([
        `CONNECT ${target}`,
      ]);
    } finally {
      process.env = saved;
    }
  });
});
