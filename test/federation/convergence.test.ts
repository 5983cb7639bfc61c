// What a platform team sees over a federation's life: spec changes converge,
// hand edits are reverted on the next resync with an event, a foreign
// variable is left alone, leftover keys are reported, and deletion cleans up.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parsePolicy } from '../../src/policy/iam-document.ts';
import { getCondition, kstatusViolations } from '../../src/runtime/reconcile/conditions.ts';
import type { OperatorProcess } from '../../testbed/operator-process.ts';
import { removeOnExit, waitFor } from '../../testbed/processes.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';
import {
  apply,
  awsEnv,
  CLI,
  createTokenSecret,
  eventsOf,
  federation,
  type GitLabInstance,
  getFederation,
  iamClient,
  startGitLab,
  startOperator,
  waitForCondition,
} from './env.ts';

let gitlab: GitLabInstance;
let ns: string;
let op: OperatorProcess;
const iam = iamClient();

beforeAll(async () => {
  gitlab = await startGitLab();
  ns = await createNamespace('fedc');
  await createTokenSecret(ns, gitlab.token);
  op = startOperator(ns, gitlab, { args: ['--resync-interval', '2s'] });
});
afterAll(async () => {
  await op?.stop('SIGKILL');
  await gitlab?.close();
});

const spec = (overrides: Record<string, unknown> = {}) => ({
  gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
  aws: { region: 'eu-west-1' },
  access: [{ project: 'payments/api', refs: ['main'] }],
  ciVariables: { target: { project: 'payments/api' } },
  ...overrides,
});

function checkAccess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'check-access', ...args],
      { env: { ...process.env, ...awsEnv(), KUBECONFIG: inject('kubeconfig') } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

async function tokenFile(
  ref: string,
  refType: 'branch' | 'tag' = 'branch',
  aud = gitlab.fake.url,
): Promise<string> {
  const file = join(tmpdir(), `gao-token-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, await gitlab.fake.mintIdToken({ project: 'payments/api', ref, refType, aud }));
  removeOnExit(file);
  return file;
}

describe('a federation over its life', () => {
  it('check-access allows a token from an allowed branch and refuses one from another, saying why', async () => {
    await apply(
      ns,
      federation(
        'access',
        spec({
          access: [{ project: 'payments/api', refs: ['main', 'release/*'] }],
          ciVariables: { target: { project: 'payments/api' }, environmentScope: 'access' },
        }),
      ),
    );
    await waitForCondition(ns, 'access', 'Ready', 'True');

    const allowed = await checkAccess([
      '--federation',
      `${ns}/access`,
      '--token',
      await tokenFile('release/2.0'),
    ]);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('ALLOWED: project_path:payments/api:ref_type:branch:ref:release/2.0');

    const denied = await checkAccess([
      '--federation',
      `${ns}/access`,
      '--token',
      await tokenFile('feature/x'),
    ]);
    expect(denied.code).toBe(1);
    const host = gitlab.fake.url.replace('https://', '');
    expect(denied.stdout).toContain(
      `DENIED: project_path:payments/api:ref_type:branch:ref:feature/x (aud ${gitlab.fake.url}, issuer ${gitlab.fake.url})`,
    );
    expect(denied.stdout).toContain(
      `statement 0: StringLike failed: ${host}:sub "project_path:payments/api:ref_type:branch:ref:feature/x" matches none of ["project_path:payments/api:ref_type:branch:ref:main", "project_path:payments/api:ref_type:branch:ref:release/*"] (StringLike)`,
    );

    const wrongAud = await checkAccess([
      '--federation',
      `${ns}/access`,
      '--token',
      await tokenFile('main', 'branch', 'sts.amazonaws.com'),
    ]);
    expect(wrongAud.code).toBe(1);
    expect(wrongAud.stdout).toContain('is not among the client IDs');

    const byFlags = await checkAccess([
      '--federation',
      `${ns}/access`,
      '--project',
      'payments/api',
      '--ref',
      'main',
    ]);
    expect(byFlags.code).toBe(0);
    const bad = await checkAccess(['--federation', `${ns}/access`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('give exactly one of --token or --project');
  });

  it('converges spec changes: another branch, a policy removed, another variable scope', async () => {
    await apply(
      ns,
      federation(
        'change',
        spec({
          role: {
            inlinePolicies: {
              deploy: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
              },
            },
          },
          ciVariables: { target: { project: 'payments/api' }, environmentScope: 'change' },
        }),
      ),
    );
    const first = await waitForCondition(ns, 'change', 'Ready', 'True');
    const roleName = `${ns}-change`;
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames).toEqual([
      'deploy',
    ]);

    await apply(
      ns,
      federation(
        'change',
        spec({
          access: [{ project: 'payments/api', refs: ['main', 'hotfix'] }],
          ciVariables: {
            target: { project: 'payments/api' },
            environmentScope: 'production',
            regionVariable: '',
          },
        }),
      ),
    );
    const changed = await waitFor('generation 2 Ready', async () => {
      const f = await getFederation(ns, 'change');
      const ready = getCondition(f.status?.conditions as never, 'Ready');
      return f.metadata.generation === 2 && ready?.status === 'True' && ready.observedGeneration === 2
        ? f
        : undefined;
    });
    expect(changed.metadata.generation).toBe((first.metadata.generation ?? 0) + 1);
    expect(changed.status?.subjects).toEqual([
      'project_path:payments/api:ref_type:branch:ref:hotfix',
      'project_path:payments/api:ref_type:branch:ref:main',
    ]);
    const trust = parsePolicy(
      (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!.AssumeRolePolicyDocument!,
    );
    expect(JSON.stringify(trust)).toContain('ref:hotfix');
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames).toEqual([]);
    const ours = gitlab.fake.state
      .variables({ project: 'payments/api' })
      .filter((v) => v.description === `managed by gitlab-aws-operator: ${ns}/change`);
    expect(ours.map((v) => [v.key, v.environment_scope])).toEqual([['ROLE_ARN', 'production']]);
    expect(kstatusViolations(changed as never)).toEqual([]);
  });

  it('reverts hand edits in IAM and GitLab on the next resync, with an event naming what drifted', async () => {
    await apply(
      ns,
      federation(
        'drift',
        spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: 'drift' } }),
      ),
    );
    const ready = await waitForCondition(ns, 'drift', 'Ready', 'True');
    const roleName = `${ns}-drift`;
    await iam.send(
      new UpdateAssumeRolePolicyCommand({
        RoleName: roleName,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: 'added-by-hand',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    );
    const variable = gitlab.fake.state
      .variables({ project: 'payments/api' })
      .find((v) => v.key === 'ROLE_ARN' && v.environment_scope === 'drift')!;
    gitlab.fake.state.setVariable(
      { project: 'payments/api' },
      { ...variable, value: 'arn:aws:iam::999999999999:role/evil' },
    );

    await waitFor(
      'drift corrected',
      async () => {
        const trust = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!
          .AssumeRolePolicyDocument!;
        const inline = (await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames;
        const value = gitlab.fake.state
          .variables({ project: 'payments/api' })
          .find((v) => v.key === 'ROLE_ARN' && v.environment_scope === 'drift')?.value;
        return trust.includes('AssumeRoleWithWebIdentity') &&
          inline?.length === 0 &&
          value === ready.status?.roleArn
          ? true
          : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const updated = (await eventsOf(ns, 'drift')).filter((e) => e.reason === 'Updated').map((e) => e.message);
    expect(updated.join('\n')).toContain('trust policy');
    expect(updated.join('\n')).toContain('removed inline policy added-by-hand, which the spec does not list');
    expect(updated.join('\n')).toContain('updated variable ROLE_ARN (scope drift) in project payments/api');
  });

  it('leaves a foreign variable with the same key and scope alone, and says who holds it', async () => {
    gitlab.fake.state.setVariable(
      { project: 'payments/api' },
      {
        key: 'ROLE_ARN',
        value: 'arn:aws:iam::111111111111:role/theirs',
        environment_scope: 'staging',
        description: 'set by hand',
      },
    );
    await apply(
      ns,
      federation(
        'foreign',
        spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: 'staging' } }),
      ),
    );
    const stalled = await waitForCondition(ns, 'foreign', 'Stalled', 'True', {
      reason: 'VariableOwnedElsewhere',
    });
    const variables = getCondition(stalled.status?.conditions as never, 'CIVariablesReady');
    expect(variables?.message).toContain(
      'ROLE_ARN (scope staging) in project payments/api is held by someone else (it has no gitlab-aws-operator marker)',
    );
    expect(getCondition(stalled.status?.conditions as never, 'Ready')?.status).toBe('False');
    expect(kstatusViolations(stalled as never)).toEqual([]);
    const theirs = gitlab.fake.state
      .variables({ project: 'payments/api' })
      .find((v) => v.key === 'ROLE_ARN' && v.environment_scope === 'staging');
    expect(theirs).toMatchObject({
      value: 'arn:aws:iam::111111111111:role/theirs',
      description: 'set by hand',
    });
  });

  it('reports leftover long-lived AWS keys by key and scope, and removes them when asked once Ready', async () => {
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      gitlab.fake.state.setVariable(
        { project: 'payments/api' },
        { key, value: `${key}-value-12345`, environment_scope: 'legacy' },
      );
    }
    await apply(
      ns,
      federation(
        'legacy',
        spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: 'legacy' } }),
      ),
    );
    const audited = await waitForCondition(ns, 'legacy', 'Ready', 'True');
    expect(audited.status?.legacyCredentials).toEqual([
      { target: 'project payments/api', key: 'AWS_ACCESS_KEY_ID', environmentScope: 'legacy' },
      { target: 'project payments/api', key: 'AWS_SECRET_ACCESS_KEY', environmentScope: 'legacy' },
    ]);
    expect(JSON.stringify(audited.status)).not.toContain('-value-12345');
    const warning = (await eventsOf(ns, 'legacy')).find((e) => e.reason === 'LegacyCredentialsFound');
    expect(warning?.type).toBe('Warning');
    expect(warning?.message).not.toContain('-value-12345');

    await apply(
      ns,
      federation(
        'legacy',
        spec({
          ciVariables: { target: { project: 'payments/api' }, environmentScope: 'legacy' },
          legacyCredentials: { audit: true, removeWhenReady: true },
        }),
      ),
    );
    await waitFor('legacy keys removed', async () =>
      gitlab.fake.state
        .variables({ project: 'payments/api' })
        .some(
          (v) =>
            v.key.startsWith('AWS_') && v.environment_scope === 'legacy' && v.key !== 'AWS_DEFAULT_REGION',
        )
        ? undefined
        : true,
    );
    const cleaned = await waitFor('status without legacy keys', async () => {
      const f = await getFederation(ns, 'legacy');
      return f.status?.legacyCredentials === undefined && f.metadata.generation === 2 ? f : undefined;
    });
    expect(cleaned.status?.legacyCredentials).toBeUndefined();
  });

  it('deletes its variables and role on delete, and the provider with the last federation', async () => {
    const providerArn = `arn:aws:iam::123456789012:oidc-provider/${gitlab.fake.url.replace('https://', '')}`;
    const result = await kubectl(['delete', 'glaf', '--all', '-n', ns, '--timeout=60s']);
    expect(result.stderr).toBe('');
    const roles = ['access', 'change', 'drift', 'foreign', 'legacy'].map((n) => `${ns}-${n}`);
    for (const name of roles) {
      await expect(iam.send(new GetRoleCommand({ RoleName: name }))).rejects.toThrow(
        /cannot be found|not found/i,
      );
    }
    const ours = gitlab.fake.state
      .variables({ project: 'payments/api' })
      .filter((v) => v.description?.startsWith('managed by gitlab-aws-operator'));
    expect(ours).toEqual([]);
    expect(
      gitlab.fake.state.variables({ project: 'payments/api' }).find((v) => v.environment_scope === 'staging')
        ?.value,
    ).toBe('arn:aws:iam::111111111111:role/theirs');
    await expect(
      iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn })),
    ).rejects.toThrow();
  });
});
