// Kinds of GitLab instances: one under a relative URL path, one whose
// discovery document names an issuer AWS cannot reach, and a project that
// customises its sub claim.

import { GetOpenIDConnectProviderCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import { apply, checkToken, federation, iamClient, perTestSetUp, waitForCondition } from './env.ts';

const iam = iamClient();
const setUp = perTestSetUp();
const check = checkToken;

describe('GitLab instances', () => {
  it('derives the provider URL, ARN and condition keys from the issuer of an instance under a path', async () => {
    const { gitlab, ns } = await setUp('relpath', { pathPrefix: '/gitlab' });
    const url = gitlab.fake.url;
    expect(url).toMatch(/\/gitlab$/);
    await apply(
      ns,
      federation('sub', {
        gitlab: { url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        access: [{ project: 'payments/api', refs: ['main'] }],
      }),
    );
    const ready = await waitForCondition(ns, 'sub', 'Ready', 'True');
    const providerUrl = url.replace('https://', '');
    expect(ready.status?.identityProviderArn).toBe(`arn:aws:iam::123456789012:oidc-provider/${providerUrl}`);
    const provider = await iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: ready.status!.identityProviderArn! }),
    );
    expect(provider.Url).toBe(providerUrl);
    const token = await gitlab.fake.mintIdToken({ project: 'payments/api', ref: 'main', aud: url });
    expect(await check(ns, 'sub', token)).toMatchObject({ code: 0 });
  });

  it('reports an issuer that AWS could not discover, saying what AWS will do', async () => {
    const { gitlab, ns } = await setUp('badissuer');
    gitlab.fake.oidc.discoveryIssuer = 'https://127.0.0.1:9/elsewhere';
    await apply(
      ns,
      federation('bad', {
        gitlab: { url: gitlab.fake.url },
        access: [{ group: 'payments', refs: ['main'] }],
      }),
    );
    const failing = await waitForCondition(ns, 'bad', 'IssuerDiscoverable', 'False');
    const message = getCondition(failing.status?.conditions as never, 'IssuerDiscoverable')?.message ?? '';
    expect(message).toContain(
      "the issuer's own discovery document https://127.0.0.1:9/elsewhere/.well-known/openid-configuration",
    );
    expect(message).toContain(
      'AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)',
    );
  });

  it('reports an issuer slower than the 5 s AWS allows', async () => {
    const { gitlab, ns } = await setUp('slowissuer');
    gitlab.fake.faults.add({ path: /openid-configuration/, delayMs: 6000 });
    await apply(
      ns,
      federation('slow', {
        gitlab: { url: gitlab.fake.url },
        access: [{ group: 'payments', refs: ['main'] }],
      }),
    );
    const failing = await waitForCondition(ns, 'slow', 'IssuerDiscoverable', 'False', { timeoutMs: 20_000 });
    expect(getCondition(failing.status?.conditions as never, 'IssuerDiscoverable')?.message).toBe(
      `the OIDC discovery document ${gitlab.fake.url}/.well-known/openid-configuration did not answer within 5 s; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
    );
    gitlab.fake.faults.clear();
  });

  it('follows a project’s ci_id_token_sub_claim_components where they can say what the entry asks', async () => {
    const { gitlab, ns } = await setUp('subclaim');
    gitlab.fake.state.addProject('custom/app', { ciIdTokenSubClaimComponents: ['project_path', 'ref'] });
    gitlab.fake.state.addMember({ project: 'custom/app' }, 'deployer', 'maintainer');
    await apply(
      ns,
      federation('custom', {
        gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        // Without ref_type in the claim, only an entry for any ref type can be expressed.
        access: [{ project: 'custom/app', refType: 'any', refs: ['main'] }],
      }),
    );
    const ready = await waitForCondition(ns, 'custom', 'Ready', 'True');
    expect(ready.status?.subjects).toEqual(['project_path:custom/app:ref:main']);
    const allowed = await gitlab.fake.mintIdToken({
      project: 'custom/app',
      ref: 'main',
      aud: gitlab.fake.url,
    });
    expect(await check(ns, 'custom', allowed)).toMatchObject({ code: 0 });
    const denied = await gitlab.fake.mintIdToken({ project: 'custom/app', ref: 'dev', aud: gitlab.fake.url });
    expect(await check(ns, 'custom', denied)).toMatchObject({ code: 1 });
  });
});
