// DESIGN.md §2.2, "Rules that keep the trust policy exactly as narrow as the
// spec": each rule tried the way it could be broken, on the real testbed (the
// operator as its own process, moto, the GitLab fake), asserting what a user
// sees: the condition, the live trust policy, and check-access on ID tokens
// the GitLab fake mints, with tokens that must be REFUSED as well as allowed.
import {
  CreateOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, inject, it } from 'vitest';
import { parsePolicy, statementsOf } from '../../src/policy/iam-document.ts';
import { startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import { waitFor } from '../../testbed/processes.ts';
import { kubectl } from '../harness/kube.ts';
import {
  apply,
  checkToken,
  createCaSecret,
  eventsOf,
  federation,
  getFederation,
  iamClient,
  perTestSetUp,
  roleExists,
  waitForCondition,
} from './env.ts';

const setUp = perTestSetUp();
const iam = iamClient();
// A short resync: what changes in GitLab behind the operator's back is seen within seconds.
const FAST = [
  '--resync-interval',
  '2s',
  '--connection-poll-interval',
  '1s',
  '--connection-poll-max-interval',
  '2s',
];

/** The sub patterns the role's live trust policy admits; [] when it admits nobody. */
async function trustedSubjects(roleName: string): Promise<string[]> {
  const role = await iam.send(new GetRoleCommand({ RoleName: roleName }));
  const doc = parsePolicy(role.Role!.AssumeRolePolicyDocument!);
  return statementsOf(doc)
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) => Object.entries(s.Condition?.StringLike ?? {}))
    .filter(([key]) => key.endsWith(':sub'))
    .flatMap(([, v]) => (Array.isArray(v) ? v : [String(v)]))
    .sort();
}

async function patch(ns: string, name: string, spec: object): Promise<void> {
  const result = await kubectl([
    'patch',
    'glaf',
    name,
    '-n',
    ns,
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec }),
  ]);
  if (result.code !== 0) throw new Error(result.stderr);
}

describe('sub claim settings that drop a component', () => {
  it('stalls with SubClaimTooCoarse and leaves the entry out, then recovers when a Maintainer fixes the setting', async () => {
    const { gitlab, ns, spec } = await setUp('coarse', { args: FAST });
    gitlab.fake.state.addProject('coarse/app');
    gitlab.fake.state.addMember({ project: 'coarse/app' }, 'deployer', 'maintainer');
    const access = [
      { project: 'coarse/app', refs: ['main'] },
      { project: 'payments/api', refs: ['main'] },
    ];
    await apply(ns, federation('coarse', spec({ access })));
    await waitForCondition(ns, 'coarse', 'Ready', 'True');
    const role = `${ns}-coarse`;
    const token = (ref: string) =>
      gitlab.fake.mintIdToken({ project: 'coarse/app', ref, aud: gitlab.fake.url });

    // A Maintainer drops `ref` from the claim: every branch would share one sub.
    gitlab.fake.state.project('coarse/app')!.ciIdTokenSubClaimComponents = ['project_path', 'ref_type'];
    const stalled = await waitForCondition(ns, 'coarse', 'Stalled', 'True', { reason: 'SubClaimTooCoarse' });
    const message = stalled.status!.conditions!.find((c) => c.type === 'Stalled')!.message;
    expect(message).toContain(
      'project coarse/app builds its ID token sub claim from project_path, ref_type, without ref',
    );
    expect(stalled.status!.conditions!.find((c) => c.type === 'RoleReady')).toMatchObject({
      status: 'False',
      reason: 'SubClaimTooCoarse',
    });
    expect(await trustedSubjects(role)).toEqual(['project_path:payments/api:ref_type:branch:ref:main']);
    // A feature branch a Developer pushes gets `project_path:coarse/app:ref_type:branch`: refused.
    expect((await checkToken(ns, 'coarse', await token('feature/steal'))).code).toBe(1);
    expect((await checkToken(ns, 'coarse', await token('main'))).code).toBe(1);

    // The other way round: without ref_type a tag named main would pass as the branch.
    gitlab.fake.state.project('coarse/app')!.ciIdTokenSubClaimComponents = ['project_path', 'ref'];
    await waitFor('the stall to name ref_type', async () => {
      const f = await getFederation(ns, 'coarse');
      return f.status?.conditions?.find((c) => c.type === 'Stalled')?.message.includes('without ref_type')
        ? true
        : undefined;
    });
    expect(await trustedSubjects(role)).toEqual(['project_path:payments/api:ref_type:branch:ref:main']);
    const tag = await gitlab.fake.mintIdToken({
      project: 'coarse/app',
      ref: 'main',
      refType: 'tag',
      aud: gitlab.fake.url,
    });
    expect((await checkToken(ns, 'coarse', tag)).code).toBe(1);

    gitlab.fake.state.project('coarse/app')!.ciIdTokenSubClaimComponents = [
      'project_path',
      'ref_type',
      'ref',
    ];
    const ready = await waitForCondition(ns, 'coarse', 'Ready', 'True', { timeoutMs: 30_000 });
    expect(ready.status?.subjects).toContain('project_path:coarse/app:ref_type:branch:ref:main');
    expect((await checkToken(ns, 'coarse', await token('main'))).code).toBe(0);
    expect((await checkToken(ns, 'coarse', await token('feature/steal'))).code).toBe(1);
  });
});

describe('canonical paths and project IDs', () => {
  it('uses GitLab’s spelling of a path typed in another case, says so, and records the project ID', async () => {
    const { gitlab, ns, spec } = await setUp('spelling');
    await apply(
      ns,
      federation(
        'spelled',
        spec({
          access: [
            { project: 'Payments/API', refs: ['main'] },
            { group: 'PAYMENTS/libs', refType: 'tag', refs: ['v*'] },
          ],
        }),
      ),
    );
    const ready = await waitForCondition(ns, 'spelled', 'Ready', 'True');
    expect(ready.status?.subjects).toEqual([
      'project_path:payments/api:ref_type:branch:ref:main',
      'project_path:payments/libs/*:ref_type:tag:ref:v*',
    ]);
    const id = gitlab.fake.state.project('payments/api')!.id;
    expect(ready.status?.projects).toEqual([{ path: 'payments/api', id }]);
    const spelling = (await eventsOf(ns, 'spelled')).filter((e) => e.reason === 'PathSpelling');
    expect(spelling.map((e) => [e.type, e.message])).toEqual(
      expect.arrayContaining([
        ['Warning', expect.stringContaining('names project Payments/API, which GitLab spells payments/api')],
        ['Warning', expect.stringContaining('names group PAYMENTS/libs, which GitLab spells payments/libs')],
      ]),
    );
    const job = await gitlab.fake.mintIdToken({ project: 'payments/api', ref: 'main', aud: gitlab.fake.url });
    expect((await checkToken(ns, 'spelled', job)).code).toBe(0);
    // As typed, the pattern would never have matched: GitLab's sub carries its own spelling.
    expect(JSON.parse(atob(job.split('.')[1]!)).sub).toBe(
      'project_path:payments/api:ref_type:branch:ref:main',
    );
  });

  it('refuses to trust a project deleted and re-created at the same path (ProjectReplaced)', async () => {
    const { gitlab, ns, spec } = await setUp('replaced', { args: FAST });
    gitlab.fake.state.addProject('team/app');
    gitlab.fake.state.addMember({ project: 'team/app' }, 'deployer', 'maintainer');
    await apply(ns, federation('replaced', spec({ access: [{ project: 'team/app', refs: ['main'] }] })));
    const ready = await waitForCondition(ns, 'replaced', 'Ready', 'True');
    const oldId = ready.status!.projects![0]!.id;

    gitlab.fake.state.removeProject('team/app');
    const squatter = gitlab.fake.state.addProject('team/app');
    gitlab.fake.state.addMember({ project: 'team/app' }, 'deployer', 'maintainer');
    const stalled = await waitForCondition(ns, 'replaced', 'Stalled', 'True', { reason: 'ProjectReplaced' });
    expect(stalled.status!.conditions!.find((c) => c.type === 'Stalled')!.message).toContain(
      `GitLab now has project ID ${squatter.id} at that path, where it had ID ${oldId}`,
    );
    expect(await trustedSubjects(`${ns}-replaced`)).toEqual([]);
    const job = await gitlab.fake.mintIdToken({ project: 'team/app', ref: 'main', aud: gitlab.fake.url });
    expect((await checkToken(ns, 'replaced', job)).code).toBe(1);

    // A person who means the new project takes it out of the spec and puts it back.
    await patch(ns, 'replaced', { access: [{ project: 'payments/api', refs: ['main'] }] });
    await waitForCondition(ns, 'replaced', 'Ready', 'True');
    await patch(ns, 'replaced', { access: [{ project: 'team/app', refs: ['main'] }] });
    const again = await waitForCondition(ns, 'replaced', 'Ready', 'True');
    expect(again.status?.projects).toEqual([{ path: 'team/app', id: squatter.id }]);
    expect((await checkToken(ns, 'replaced', job)).code).toBe(0);
  });
});

describe('renames', () => {
  it('deletes the role it made under an earlier name or path once the new one is Ready', async () => {
    const { ns, spec } = await setUp('rename');
    await apply(ns, federation('moving', spec({ role: { name: `${ns}-first` } })));
    await waitForCondition(ns, 'moving', 'Ready', 'True');
    expect(await roleExists(`${ns}-first`)).toBe(true);

    await patch(ns, 'moving', { role: { name: `${ns}-second` } });
    const renamed = await waitForCondition(ns, 'moving', 'Ready', 'True');
    expect(renamed.status?.roleArn).toBe(`arn:aws:iam::123456789012:role/${ns}-second`);
    expect(renamed.status?.retiring).toBeUndefined();
    expect(await roleExists(`${ns}-first`)).toBe(false);
    expect(await eventsOf(ns, 'moving')).toContainEqual(
      expect.objectContaining({
        message: expect.stringContaining(
          `deleted IAM role arn:aws:iam::123456789012:role/${ns}-first, which an earlier spec named`,
        ),
      }),
    );

    // IAM cannot move a role: a new path makes it anew under the same name.
    await patch(ns, 'moving', { role: { name: `${ns}-second`, path: '/moved/' } });
    const moved = await waitForCondition(ns, 'moving', 'Ready', 'True');
    expect(moved.status?.roleArn).toBe(`arn:aws:iam::123456789012:role/moved/${ns}-second`);
    const role = await iam.send(new GetRoleCommand({ RoleName: `${ns}-second` }));
    expect(role.Role?.Path).toBe('/moved/');
  });
});

describe('conditions never lie', () => {
  it('removes CIVariablesReady with spec.ciVariables, and the variables with it', async () => {
    const { gitlab, ns, spec } = await setUp('novars');
    await apply(
      ns,
      federation(
        'vars',
        spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: 'novars' } }),
      ),
    );
    const ready = await waitForCondition(ns, 'vars', 'CIVariablesReady', 'True');
    expect(ready.status?.ciVariables).toHaveLength(2);
    await kubectl([
      'patch',
      'glaf',
      'vars',
      '-n',
      ns,
      '--type',
      'json',
      '-p',
      '[{"op":"remove","path":"/spec/ciVariables"}]',
    ]);
    const after = await waitForCondition(ns, 'vars', 'Ready', 'True');
    expect(after.status?.conditions?.map((c) => c.type)).not.toContain('CIVariablesReady');
    expect(after.status?.ciVariables).toBeUndefined();
    expect(
      gitlab.fake.state
        .variables({ project: 'payments/api' })
        .filter((v) => v.environment_scope === 'novars'),
    ).toEqual([]);
  });
});

describe('audiences and thumbprints', () => {
  it('takes a changed audience off the provider, unless another federation uses it', async () => {
    const { gitlab, ns, spec, providerArn } = await setUp('audience');
    await apply(ns, federation('one', spec({ audience: 'https://aud-one.example' })));
    await apply(ns, federation('two', spec({ audience: 'https://aud-shared.example' })));
    await apply(ns, federation('three', spec({ audience: 'https://aud-shared.example' })));
    for (const name of ['one', 'two', 'three']) await waitForCondition(ns, name, 'Ready', 'True');
    const clientIds = async () =>
      (await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn })))
        .ClientIDList ?? [];
    expect(await clientIds()).toEqual(
      expect.arrayContaining(['https://aud-one.example', 'https://aud-shared.example']),
    );

    await patch(ns, 'one', { audience: 'https://aud-new.example' });
    await patch(ns, 'two', { audience: 'https://aud-new.example' });
    await waitForCondition(ns, 'one', 'Ready', 'True');
    await waitForCondition(ns, 'two', 'Ready', 'True');
    const ids = await clientIds();
    expect(ids).toContain('https://aud-new.example');
    expect(ids).not.toContain('https://aud-one.example');
    // Still used by `three`.
    expect(ids).toContain('https://aud-shared.example');
    const job = await gitlab.fake.mintIdToken({
      project: 'payments/api',
      ref: 'main',
      aud: 'https://aud-one.example',
    });
    expect((await checkToken(ns, 'one', job)).code).toBe(1);
  });

  it('never drops a thumbprint it did not add: ThumbprintLimit when a sixth is needed', async () => {
    const { gitlab, ns, spec } = await setUp('thumbs', { trustGitLab: false });
    const someoneElses = ['1', '2', '3', '4', '5'].map((d) => d.repeat(40));
    const url = gitlab.fake.url;
    await iam.send(
      new CreateOpenIDConnectProviderCommand({ Url: url, ClientIDList: [url], ThumbprintList: someoneElses }),
    );
    await createCaSecret(ns, gitlab.fake.tls!.caPem);
    await apply(
      ns,
      federation(
        'thumbs',
        spec({
          gitlab: {
            url,
            tokenSecretRef: { name: 'gitlab-token', key: 'token' },
            caSecretRef: { name: 'gitlab-ca' },
          },
        }),
      ),
    );
    const stalled = await waitForCondition(ns, 'thumbs', 'Stalled', 'True', { reason: 'ThumbprintLimit' });
    expect(stalled.status!.conditions!.find((c) => c.type === 'IdentityProviderReady')).toMatchObject({
      status: 'False',
      reason: 'ThumbprintLimit',
    });
    const provider = await iam.send(
      new GetOpenIDConnectProviderCommand({
        OpenIDConnectProviderArn:
          stalled.status!.identityProviderArn ??
          `arn:aws:iam::123456789012:oidc-provider/${url.replace('https://', '')}`,
      }),
    );
    expect(provider.ThumbprintList).toEqual(someoneElses);
  });
});

describe('size', () => {
  const longRefs = (prefix: string) =>
    Array.from({ length: 20 }, (_, i) => `${prefix}/a-rather-long-branch-name-for-a-release-train-${i}`);

  it('refuses a trust policy over the quota before IAM sees it, and makes no role', async () => {
    const { ns, spec } = await setUp('toolarge');
    await apply(
      ns,
      federation(
        'big',
        spec({
          access: [
            { project: 'payments/api', refs: longRefs('one') },
            { project: 'payments/api', refs: longRefs('two') },
          ],
        }),
      ),
    );
    const stalled = await waitForCondition(ns, 'big', 'Stalled', 'True', { reason: 'TrustPolicyTooLarge' });
    const message = stalled.status!.conditions!.find((c) => c.type === 'Stalled')!.message;
    expect(message).toMatch(/the trust policy would be \d+ characters, over the 2048 that IAM allows/);
    expect(message).toContain('project payments/api');
    expect(await roleExists(`${ns}-big`)).toBe(false);
  });

  it('keeps an existing role to the patterns it had that the spec still names', async () => {
    const { ns, spec } = await setUp('shrink');
    await apply(
      ns,
      federation('grow', spec({ access: [{ project: 'payments/api', refs: ['main', 'hotfix/*'] }] })),
    );
    await waitForCondition(ns, 'grow', 'Ready', 'True');
    // hotfix/* leaves the spec in the same change that makes it too large.
    await patch(ns, 'grow', {
      access: [
        { project: 'payments/api', refs: ['main', ...longRefs('one').slice(0, 19)] },
        { project: 'payments/api', refs: longRefs('two') },
      ],
    });
    await waitForCondition(ns, 'grow', 'Stalled', 'True', { reason: 'TrustPolicyTooLarge' });
    expect(await trustedSubjects(`${ns}-grow`)).toEqual([
      'project_path:payments/api:ref_type:branch:ref:main',
    ]);
  });
});

describe('protected refs', () => {
  it('reports refs a Developer could push to (RefsProtected), and Ready is not blocked', async () => {
    const { gitlab, ns, spec } = await setUp('refs', { args: FAST });
    gitlab.fake.state.protectBranch('payments/api', 'release/*');
    await apply(
      ns,
      federation('report', spec({ access: [{ project: 'payments/api', refs: ['main', 'release/*'] }] })),
    );
    await waitForCondition(ns, 'report', 'Ready', 'True');
    const ready = await waitForCondition(ns, 'report', 'RefsProtected', 'False', {
      reason: 'UnprotectedRefs',
    });
    expect(ready.status!.conditions!.find((c) => c.type === 'RefsProtected')!.message).toContain(
      'main of project payments/api',
    );
    expect((await eventsOf(ns, 'report')).filter((e) => e.reason === 'UnprotectedRefs')).toHaveLength(1);

    gitlab.fake.state.protectBranch('payments/api', 'main');
    await waitForCondition(ns, 'report', 'RefsProtected', 'True', { reason: 'Protected' });
  });

  it('with requireProtectedRefs, trusts only protected refs and waits for the rest', async () => {
    const { gitlab, ns, spec } = await setUp('require', { args: FAST });
    gitlab.fake.state.protectBranch('payments/api', 'release/*');
    await apply(
      ns,
      federation(
        'strict',
        spec({
          requireProtectedRefs: true,
          access: [{ project: 'payments/api', refs: ['main', 'release/*'] }],
        }),
      ),
    );
    const waiting = await waitForCondition(ns, 'strict', 'Ready', 'False', { reason: 'UnprotectedRefs' });
    expect(waiting.status!.conditions!.find((c) => c.type === 'Reconciling')?.status).toBe('True');
    expect(await trustedSubjects(`${ns}-strict`)).toEqual([
      'project_path:payments/api:ref_type:branch:ref:release/*',
    ]);
    const job = (ref: string) =>
      gitlab.fake.mintIdToken({ project: 'payments/api', ref, aud: gitlab.fake.url });
    expect((await checkToken(ns, 'strict', await job('main'))).code).toBe(1);
    expect((await checkToken(ns, 'strict', await job('release/2.0'))).code).toBe(0);

    gitlab.fake.state.protectBranch('payments/api', 'main');
    await waitForCondition(ns, 'strict', 'Ready', 'True', { timeoutMs: 30_000 });
    expect((await checkToken(ns, 'strict', await job('main'))).code).toBe(0);
  });

  it('checks tags against protected tags, wildcards included', async () => {
    const { gitlab, ns, spec } = await setUp('tags');
    gitlab.fake.state.protectTag('payments/api', 'v*');
    await apply(
      ns,
      federation(
        'tags',
        spec({
          requireProtectedRefs: true,
          access: [{ project: 'payments/api', refType: 'tag', refs: ['v1.*', 'v2.0.0'] }],
        }),
      ),
    );
    await waitForCondition(ns, 'tags', 'Ready', 'True');
    await waitForCondition(ns, 'tags', 'RefsProtected', 'True');
  });
});

describe('recovery from what a person fixes outside the spec', () => {
  it('recovers from a revoked GitLab token as soon as the Secret holds a new one, calling GitLab meanwhile with nothing', async () => {
    // The resync is long here: only the token's recheck (every second) looks.
    const { gitlab, ns, spec } = await setUp('token', { args: ['--connection-poll-interval', '1s'] });
    await apply(
      ns,
      federation(
        'tok',
        spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: 'tok' } }),
      ),
    );
    await waitForCondition(ns, 'tok', 'Ready', 'True');
    gitlab.fake.state.revokeToken(gitlab.token);
    await kubectl(['annotate', 'glaf', 'tok', '-n', ns, 'recheck=1']);
    await waitForCondition(ns, 'tok', 'Stalled', 'True', { reason: 'GitLabUnauthorized' });
    const mark = gitlab.fake.requests.length;
    await new Promise((r) => setTimeout(r, 3000));
    // Looked at every second, the Secret still holds the refused token: GitLab hears nothing.
    expect(
      gitlab.fake.requests
        .slice(mark)
        .filter((r) => !r.path.includes('.well-known') && !r.path.includes('discovery')),
    ).toEqual([]);

    const fresh = gitlab.fake.state.addToken('deployer', { scopes: ['api'] });
    await apply(ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'gitlab-token' },
      stringData: { token: fresh },
    });
    await waitForCondition(ns, 'tok', 'Ready', 'True', { timeoutMs: 15_000 });
  });

  it('looks again at AccessDenied from AWS every resync, and recovers once the permission is back', async () => {
    const proxy = await startMotoIamProxy(inject('motoUrl'));
    try {
      const { ns, spec } = await setUp('denied', { args: FAST, iamUrl: proxy.url });
      const fault = proxy.faults.add({ action: 'GetRole', type: 'access-denied' });
      await apply(ns, federation('denied', spec()));
      const stalled = await waitForCondition(ns, 'denied', 'Stalled', 'True', { reason: 'AWSAccessDenied' });
      expect(stalled.status!.conditions!.find((c) => c.type === 'RoleReady')).toMatchObject({
        status: 'False',
        reason: 'AWSAccessDenied',
      });
      expect(fault.hits).toBeGreaterThan(0);
      proxy.faults.clear();
      await waitForCondition(ns, 'denied', 'Ready', 'True', { timeoutMs: 20_000 });
      expect((await getFederation(ns, 'denied')).status?.roleArn).toBe(
        `arn:aws:iam::123456789012:role/${ns}-denied`,
      );
    } finally {
      await proxy.close();
    }
  });
});
