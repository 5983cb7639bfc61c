// The shared identity provider, deletion policies, ownership, a private CA,
// and GitLab or AWS saying no.
import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { getCondition, kstatusViolations } from '../../src/runtime/reconcile/conditions.ts';
import { waitFor } from '../../testbed/processes.ts';
import { kubectl } from '../harness/kube.ts';
import {
  apply,
  createCaSecret,
  createTokenSecret,
  eventsOf,
  federation,
  iamClient,
  perTestSetUp,
  waitForCondition,
} from './env.ts';

const iam = iamClient();
const setUp = perTestSetUp();

const clientIds = async (arn: string) =>
  (
    await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }))
  ).ClientIDList?.sort();
const gone = (promise: Promise<unknown>) => expect(promise).rejects.toThrow();

describe('the shared identity provider', () => {
  it('is shared by two federations: audiences unioned, kept while one remains, removed with the last', async () => {
    const { ns, spec, providerArn } = await setUp('share');
    await apply(ns, federation('one', spec({ audience: 'aud-one' })));
    await apply(ns, federation('two', spec({ audience: 'aud-two' })));
    await waitForCondition(ns, 'one', 'Ready', 'True');
    await waitForCondition(ns, 'two', 'Ready', 'True');
    await waitFor('both audiences', async () =>
      JSON.stringify(await clientIds(providerArn)) === '["aud-one","aud-two"]' ? true : undefined,
    );

    await kubectl(['delete', 'glaf', 'one', '-n', ns, '--timeout=30s']);
    expect(await clientIds(providerArn)).toEqual(['aud-two']);
    await kubectl(['delete', 'glaf', 'two', '-n', ns, '--timeout=30s']);
    await gone(iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn })));
  });

  it('never deletes a provider created outside the operator, nor removes audiences it did not add', async () => {
    const { gitlab, ns, spec, providerArn } = await setUp('external');
    await iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: gitlab.fake.url,
        ClientIDList: ['added-by-hand', gitlab.fake.url],
      }),
    );
    await apply(ns, federation('uses-it', spec({ audience: 'aud-mine' })));
    await waitForCondition(ns, 'uses-it', 'Ready', 'True');
    expect(await clientIds(providerArn)).toEqual(['added-by-hand', gitlab.fake.url, 'aud-mine'].sort());
    await kubectl(['delete', 'glaf', 'uses-it', '-n', ns, '--timeout=30s']);
    expect(await clientIds(providerArn)).toEqual(['added-by-hand', gitlab.fake.url].sort());
    await iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }));
  });
});

describe('deletion policy and ownership', () => {
  it('leaves everything in place with deletionPolicy Orphan', async () => {
    const { ns, spec, providerArn } = await setUp('orphan');
    await apply(ns, federation('keep', spec({ deletionPolicy: 'Orphan' })));
    const ready = await waitForCondition(ns, 'keep', 'Ready', 'True');
    await kubectl(['delete', 'glaf', 'keep', '-n', ns, '--timeout=30s']);
    expect((await iam.send(new GetRoleCommand({ RoleName: `${ns}-keep` }))).Role?.Arn).toBe(
      ready.status?.roleArn,
    );
    expect(await clientIds(providerArn)).toBeDefined();
  });

  it('does not block deletion when the token Secret is already gone (as in a namespace deletion)', async () => {
    const { ns, spec } = await setUp('nsdelete');
    await apply(ns, federation('left', spec({ ciVariables: { target: { project: 'payments/api' } } })));
    await waitForCondition(ns, 'left', 'Ready', 'True');
    await kubectl(['delete', 'secret', 'gitlab-token', '-n', ns]);
    const deleted = await kubectl(['delete', 'glaf', 'left', '-n', ns, '--timeout=30s']);
    expect(deleted.code).toBe(0);
    await gone(iam.send(new GetRoleCommand({ RoleName: `${ns}-left` })));
    const warning = (await eventsOf(ns, 'left')).find((e) => e.reason === 'VariablesLeftBehind');
    expect(warning?.type).toBe('Warning');
    expect(warning?.message).toBe(
      `Secret ${ns}/gitlab-token (spec.gitlab.tokenSecretRef) does not exist: create it with the key token; the CI/CD variables this federation wrote in project payments/api were not removed`,
    );
  });

  it('refuses a role that exists and is not its own, and takes it over when annotated to adopt', async () => {
    const { ns, spec } = await setUp('owned');
    await iam.send(
      new CreateRoleCommand({
        RoleName: `${ns}-taken`,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    await apply(ns, federation('taken', spec()));
    const stalled = await waitForCondition(ns, 'taken', 'Stalled', 'True', { reason: 'RoleOwnedElsewhere' });
    expect(getCondition(stalled.status?.conditions as never, 'Ready')?.message).toBe(
      `IAM role ${ns}-taken already exists and is not managed by this federation (it has no gitlab-aws.io/owner tag): set spec.role.name to another name, or annotate this resource with gitlab-aws.io/adopt: "true" to take the role over`,
    );
    expect(kstatusViolations(stalled as never)).toEqual([]);
    await apply(ns, federation('taken', spec(), { 'gitlab-aws.io/adopt': 'true' }));
    await waitForCondition(ns, 'taken', 'Ready', 'True');
  });
});

describe('self-managed GitLab with a private CA', () => {
  it('uses caSecretRef for every call and puts the computed thumbprint on the provider', async () => {
    const { gitlab, ns, spec, providerArn } = await setUp('privateca', { trustGitLab: false });
    await apply(ns, federation('ca', spec()));
    const unreachable = await waitForCondition(ns, 'ca', 'IssuerDiscoverable', 'False');
    expect(getCondition(unreachable.status?.conditions as never, 'IssuerDiscoverable')?.message).toContain(
      'AWS fetches it the same way at job time',
    );

    await createCaSecret(ns, gitlab.fake.tls!.caPem);
    await apply(
      ns,
      federation('ca', spec({ gitlab: { ...spec().gitlab, caSecretRef: { name: 'gitlab-ca' } } })),
    );
    const ready = await waitForCondition(ns, 'ca', 'Ready', 'True');
    expect(ready.status?.thumbprints).toEqual([gitlab.fake.tls!.thumbprint]);
    const provider = await iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }),
    );
    expect(provider.ThumbprintList).toEqual([gitlab.fake.tls!.thumbprint]);
  });
});

describe('AWS saying no', () => {
  it('stalls on a policy document IAM refuses, with IAM’s reason', async () => {
    const { ns, spec } = await setUp('malformed');
    await apply(
      ns,
      federation(
        'bad-policy',
        spec({ role: { inlinePolicies: { broken: { Version: '2012-10-17', Statement: 'nope' } } } }),
      ),
    );
    const stalled = await waitForCondition(ns, 'bad-policy', 'Stalled', 'True', {
      reason: 'MalformedPolicy',
    });
    expect(getCondition(stalled.status?.conditions as never, 'Ready')?.message).toMatch(
      /^IAM refused a policy document for role [a-z0-9-]+-bad-policy: .+\. Fix the policy in the spec$/,
    );
  });
});

describe('GitLab saying no', () => {
  it.each([
    ['a revoked token', 'GitLabUnauthorized', 'GitLab rejected the token (401)'],
    [
      'a user with only the Developer role',
      'GitLabForbidden',
      'needs the api scope and its user needs at least the Maintainer role',
    ],
    ['a project that does not exist', 'GitLabNotFound', 'GitLab has no project payments/nope'],
  ])('reports %s with a message that names the fix', async (what, reason, message) => {
    const { gitlab, ns, spec } = await setUp('gitlabno');
    let overrides: Record<string, unknown> = { ciVariables: { target: { project: 'payments/api' } } };
    if (what === 'a revoked token') gitlab.fake.state.revokeToken(gitlab.token);
    if (what === 'a user with only the Developer role') {
      const dev = gitlab.fake.state.addToken('dev', { scopes: ['api'] });
      gitlab.fake.state.addMember({ project: 'payments/api' }, 'dev', 'developer');
      await createTokenSecret(ns, dev, 'dev-token');
      overrides = {
        ...overrides,
        gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'dev-token', key: 'token' } },
      };
    }
    if (what === 'a project that does not exist') {
      overrides = { access: [{ project: 'payments/nope', refs: ['main'] }] };
    }
    await apply(ns, federation('denied', spec(overrides)));
    const stalled = await waitForCondition(ns, 'denied', 'Stalled', 'True', { reason });
    const ready = getCondition(stalled.status?.conditions as never, 'Ready');
    expect(ready?.message).toContain(message);
    expect(JSON.stringify(stalled.status)).not.toContain(gitlab.token);
  });

  it('waits for a missing token Secret and continues once it exists', async () => {
    const { gitlab, ns, spec } = await setUp('nosecret');
    await apply(
      ns,
      federation(
        'later',
        spec({ gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'later', key: 'token' } } }),
      ),
    );
    const waiting = await waitForCondition(ns, 'later', 'Reconciling', 'True', { reason: 'SecretNotFound' });
    expect(getCondition(waiting.status?.conditions as never, 'Ready')?.message).toBe(
      `Secret ${ns}/later (spec.gitlab.tokenSecretRef) does not exist: create it with the key token`,
    );
    // Creating the Secret does not change the federation; it is looked at again within a minute,
    // or at once when anything on the resource changes, such as an annotation.
    await createTokenSecret(ns, gitlab.token, 'later');
    await kubectl(['annotate', 'glaf', 'later', '-n', ns, 'gitlab-aws.io/reconcile-requested-at=now']);
    await waitForCondition(ns, 'later', 'Ready', 'True');
  });
});
