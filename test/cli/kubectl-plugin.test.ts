// check-access as a kubectl plugin, through the testbed's real kubectl: the
// plugin folder (bin/) on PATH, `kubectl gitlab-aws check-access NAME` with
// kubectl's -n, --context, --kubeconfig and -o json. The federation's status
// (its role) is written here and the role and provider are made in moto, so no
// operator is needed: check-access reads what AWS holds.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateOpenIDConnectProviderCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { removeOnExit } from '../../testbed/processes.ts';
import { apply, awsEnv, federation, iamClient } from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';

const PLUGIN_DIR = fileURLToPath(new URL('../../bin', import.meta.url));
const suffix = Math.random().toString(36).slice(2, 8);
const HOST = `gitlab-${suffix}.plugin.example`;
const ISSUER = `https://${HOST}`;
const ROLE = `plugin-${suffix}`;
const ROLE_ARN = `arn:aws:iam::123456789012:role/${ROLE}`;

let ns: string;
let kubeconfig: string;

/** kubectl, as a user types it, with the plugin folder and Node 24 on PATH. */
function kubectlPlugin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      inject('kubectl'),
      args,
      {
        env: {
          ...process.env,
          ...awsEnv(),
          KUBECONFIG: '',
          PATH: [PLUGIN_DIR, dirname(process.execPath), process.env.PATH].join(delimiter),
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  ns = await createNamespace('plugin');
  const iam = iamClient();
  await iam.send(new CreateOpenIDConnectProviderCommand({ Url: ISSUER, ClientIDList: [ISSUER] }));
  await iam.send(
    new CreateRoleCommand({
      RoleName: ROLE,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: `arn:aws:iam::123456789012:oidc-provider/${HOST}` },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: { [`${HOST}:aud`]: ISSUER },
              StringLike: { [`${HOST}:sub`]: 'project_path:payments/api:ref_type:branch:ref:main' },
            },
          },
        ],
      }),
    }),
  );
  await apply(
    ns,
    federation('deploy', {
      gitlab: { url: ISSUER, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
      access: [{ project: 'payments/api', refs: ['main'] }],
    }),
  );
  // What the operator would have written once the role exists.
  const patched = await kubectl([
    'patch',
    'glaf',
    'deploy',
    '-n',
    ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { roleArn: ROLE_ARN, issuer: ISSUER } }),
  ]);
  expect(patched.stderr).toBe('');

  // A kubeconfig whose current context is a cluster that does not answer, and
  // a context "testbed" for the testbed's API server whose namespace is ns.
  const admin = parse((await kubectl(['config', 'view', '--raw'])).stdout) as {
    clusters: { name: string }[];
    users: { name: string }[];
  };
  kubeconfig = join(tmpdir(), `gao-plugin-kubeconfig-${suffix}`);
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [...admin.clusters, { name: 'nowhere', cluster: { server: 'https://127.0.0.1:1' } }],
      users: admin.users,
      contexts: [
        { name: 'nowhere', context: { cluster: 'nowhere', user: admin.users[0]!.name } },
        {
          name: 'testbed',
          context: { cluster: admin.clusters[0]!.name, user: admin.users[0]!.name, namespace: ns },
        },
      ],
      'current-context': 'nowhere',
    }),
    { mode: 0o600 },
  );
  removeOnExit(kubeconfig);
});

describe('kubectl gitlab-aws check-access', () => {
  it('is found by kubectl on PATH and prints its help', async () => {
    const list = await kubectlPlugin(['plugin', 'list']);
    expect(list.stdout).toContain(join(PLUGIN_DIR, 'kubectl-gitlab_aws'));
    const help = await kubectlPlugin(['gitlab-aws', 'check-access', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('kubectl gitlab-aws check-access NAME -n NS');
  });

  it('takes NAME with -n, --context and --kubeconfig, and prints the verdict as text', async () => {
    const common = ['--kubeconfig', kubeconfig, '--context', 'testbed', '--project', 'payments/api'];
    const allowed = await kubectlPlugin([
      'gitlab-aws',
      'check-access',
      'deploy',
      '-n',
      ns,
      ...common,
      '--ref',
      'main',
    ]);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(
      new RegExp(
        `^ALLOWED: project_path:payments/api:ref_type:branch:ref:main \\(aud ${ISSUER}, issuer ${ISSUER}\\) may assume ${ROLE_ARN}\\n`,
      ),
    );
    // Without -n: the context's namespace, as kubectl does.
    const denied = await kubectlPlugin([
      'gitlab-aws',
      'check-access',
      'deploy',
      ...common,
      '--ref',
      'feature',
    ]);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^DENIED: project_path:payments\/api:ref_type:branch:ref:feature /);
  });

  it('-o json prints one JSON object, with the same exit codes', async () => {
    const args = ['gitlab-aws', 'check-access', 'deploy', '-n', ns, '--kubeconfig', kubeconfig];
    const allowed = await kubectlPlugin([
      ...args,
      '--context=testbed',
      '-o',
      'json',
      '--project',
      'payments/api',
      '--ref',
      'main',
    ]);
    expect(allowed.code).toBe(0);
    const verdict = JSON.parse(allowed.stdout);
    expect(verdict).toMatchObject({
      allowed: true,
      roleArn: ROLE_ARN,
      claims: { iss: ISSUER, sub: 'project_path:payments/api:ref_type:branch:ref:main', aud: [ISSUER] },
    });
    expect(verdict.summary).toMatch(/^ALLOWED: /);
    expect(verdict.conditions.map((c: { operator: string }) => c.operator)).toEqual(
      expect.arrayContaining(['StringEquals', 'StringLike']),
    );

    const denied = await kubectlPlugin([
      ...args,
      '--context',
      'testbed',
      '--output=json',
      '--project',
      'payments/api',
      '--ref',
      'feature',
    ]);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout)).toMatchObject({ allowed: false, roleArn: ROLE_ARN });
  });

  it('says which context is missing, and refuses an output it does not know, with exit code 2', async () => {
    const missing = await kubectlPlugin([
      'gitlab-aws',
      'check-access',
      'deploy',
      '--kubeconfig',
      kubeconfig,
      '--context',
      'prod',
      '--project',
      'payments/api',
      '--ref',
      'main',
    ]);
    expect(missing).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'gitlab-aws-operator check-access: context "prod" is not in the kubeconfig\n',
    });
    const badOutput = await kubectlPlugin(['gitlab-aws', 'check-access', 'deploy', '-o', 'yaml']);
    expect(badOutput.code).toBe(2);
    expect(badOutput.stderr).toContain('invalid value for --output: use text or json');
  });
});
