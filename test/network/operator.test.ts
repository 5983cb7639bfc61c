// The network rules as a user of the operator sees them: the federation's
// conditions, and nothing written to AWS (counted at an IAM proxy in front of
// moto) or GitLab (the fake's request log). One operator watches two
// namespaces, each with a token of its own on the same GitLab instance.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import type { OperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import {
  apply,
  createCaSecret,
  createTokenSecret,
  federation,
  federationSpec,
  type GitLabInstance,
  getFederation,
  startGitLab,
  startOperator,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace } from '../harness/kube.ts';

let gitlab: GitLabInstance;
let proxy: MotoIamProxy;
let op: OperatorProcess;
let nsA: string;
let nsB: string;
let otherToken: string;

const WRITES = /^iam:(Create|Update|Add|Put|Attach|Tag|Delete|Remove|Untag|Detach)/;
const conditionOf = (fed: Awaited<ReturnType<typeof getFederation>>, type: string) =>
  getCondition(fed.status?.conditions as never, type);

beforeAll(async () => {
  gitlab = await startGitLab();
  gitlab.fake.state.addMember({ project: 'payments/api' }, 'other', 'maintainer');
  otherToken = gitlab.fake.state.addToken('other', { scopes: ['api'] });
  proxy = await startMotoIamProxy(inject('motoUrl'));
  [nsA, nsB] = await Promise.all([createNamespace('net-a'), createNamespace('net-b')]);
  await Promise.all([createTokenSecret(nsA, gitlab.token), createTokenSecret(nsB, otherToken)]);
  op = startOperator(`${nsA},${nsB}`, gitlab, { iamUrl: proxy.url });
});
afterAll(async () => {
  await op?.stop('SIGKILL');
  await proxy?.close();
  await gitlab?.close();
});

const spec = (overrides: Record<string, unknown> = {}) => federationSpec(gitlab, overrides);

describe('fairness', () => {
  it("one namespace's throttled token does not pause another namespace's federation on the same instance", async () => {
    // GitLab throttles the user of namespace A's token for ten minutes.
    gitlab.fake.faults.add({ user: 'deployer', status: 429, retryAfterSeconds: 600 });
    await apply(
      nsA,
      federation(
        'throttled',
        spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: 'team-a' } }),
      ),
    );
    await waitFor('the 429 to namespace A', async () =>
      gitlab.fake.requests.some((r) => r.user === 'deployer' && r.status === 429) ? true : undefined,
    );
    await apply(
      nsB,
      federation(
        'unhindered',
        spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: 'team-b' } }),
      ),
    );
    const ready = await waitForCondition(nsB, 'unhindered', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(ready.status?.roleArn).toBeDefined();
    const scopes = gitlab.fake.state.variables({ project: 'payments/api' }).map((v) => v.environment_scope);
    expect(scopes).toContain('team-b');
    expect(scopes).not.toContain('team-a');

    // A still waits, saying why; GitLab was not asked again for A within the pause.
    const throttled = await getFederation(nsA, 'throttled');
    const readyA = conditionOf(throttled, 'Ready');
    expect(readyA?.status).not.toBe('True');
    expect(readyA?.message).toMatch(
      /GitLab answered 429 .*retrying after the wait it asked for|GitLab asked the requests of this token to wait \(Retry-After\): \d+ s left/,
    );
    expect(gitlab.fake.requests.filter((r) => r.user === 'deployer')).toHaveLength(1);
    expect(gitlab.fake.requests.filter((r) => r.user === 'deployer' && r.method !== 'GET')).toEqual([]);
    // The pause is keyed by a hash of the token: neither token is in the log.
    const log = op.lines.map((l) => JSON.stringify(l)).join('\n');
    expect(log).not.toContain(gitlab.token);
    expect(log).not.toContain(otherToken);
    gitlab.fake.faults.clear();
  });
});

describe('where the operator connects', () => {
  it('stalls a federation whose GitLab URL is a metadata address, in any spelling, writing nothing', async () => {
    const before = proxy.actions.length;
    const urls = {
      metadata: 'https://169.254.169.254',
      decimal: 'https://2852039166',
      hex: 'https://0xa9fea9fe',
    };
    for (const [name, url] of Object.entries(urls)) {
      await apply(
        nsB,
        federation(name, { gitlab: { url }, access: [{ project: 'payments/api', refs: ['main'] }] }),
      );
    }
    for (const name of Object.keys(urls)) {
      const stalled = await waitForCondition(nsB, name, 'Stalled', 'True', { reason: 'AddressNotAllowed' });
      expect(conditionOf(stalled, 'Stalled')?.message).toBe(
        'the OIDC discovery document https://169.254.169.254/.well-known/openid-configuration was not fetched: 169.254.169.254 resolves to an address that is not allowed (link-local); the operator never connects to link-local or cloud metadata addresses',
      );
      expect(conditionOf(stalled, 'Ready')?.status).toBe('False');
      expect(stalled.status?.identityProviderArn).toBeUndefined();
    }
    expect(proxy.actions.slice(before).filter((a) => WRITES.test(a))).toEqual([]);
  });

  it('stalls a federation whose issuer names keys on another host, naming both hosts, writing nothing', async () => {
    // An instance of its own: the first one's discovery is cached by the operator.
    const second = await startGitLab();
    try {
      const { port } = new URL(second.fake.url);
      second.fake.oidc.jwksUri = `https://localhost:${port}/oauth/discovery/keys`;
      await createCaSecret(nsA, second.fake.tls!.caPem, 'second-ca');
      const before = proxy.actions.length;
      await apply(
        nsA,
        federation('foreignkeys', {
          gitlab: { url: second.fake.url, caSecretRef: { name: 'second-ca' } },
          access: [{ project: 'payments/api', refs: ['main'] }],
        }),
      );
      const stalled = await waitForCondition(nsA, 'foreignkeys', 'Stalled', 'True', {
        reason: 'IssuerNotAllowed',
      });
      expect(conditionOf(stalled, 'IssuerDiscoverable')).toMatchObject({
        status: 'False',
        reason: 'IssuerNotAllowed',
        message: `the discovery document of issuer ${second.fake.url} names jwks_uri https://localhost:${port}/oauth/discovery/keys, on host localhost:${port}; the operator fetches keys only from the issuer's own host 127.0.0.1:${port}. Serve the keys from the issuer's host`,
      });
      expect(proxy.actions.slice(before).filter((a) => WRITES.test(a))).toEqual([]);
      expect(second.fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(
        Array(second.fake.requests.length).fill('GET /.well-known/openid-configuration'),
      );
    } finally {
      await second.close();
    }
  });
});
