// `npm run demo` (DESIGN.md §5): the whole product on one machine. Starts the
// testbed (etcd + kube-apiserver, moto behind the IAM proxy), the GitLab fake
// (HTTPS with a private CA that the operator trusts through NODE_EXTRA_CA_CERTS)
// and the CodeConnections fake, runs the operator, applies manifests from
// examples/ and shows what a user sees. scripts/demo.sh sets the machine up first.
//
// The committed examples name real instances (https://gitlab.com). When the demo
// applies them it rewrites every GitLabAwsFederation's spec.gitlab.url from
// https://gitlab.com to the GitLab fake's URL, adds that URL to the policies that
// allow https://gitlab.com (it is a loopback address: only a URL a policy names
// may be one), and puts the fake's token into the token Secret; connections keep
// https://gitlab.com (the CodeConnections fake plays AWS, which never calls GitLab
// before the handshake). The operator runs --tenancy restricted, as the chart does.
//
// Interactive (a terminal): pauses for Enter between steps and keeps the testbed
// up at the end. Non-interactive (DEMO_NONINTERACTIVE=1, CI=true or stdin not a
// TTY): runs straight through and exits 0. Ctrl-C stops everything it started.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { CreatePolicyCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { parseAllDocuments } from 'yaml';
import { type ControlPlane, startControlPlane } from '../testbed/controlplane.ts';
import {
  type CodeConnectionsFake,
  startCodeConnectionsFake,
} from '../testbed/fakes/codeconnections/index.ts';
import { type GitLabFake, startGitLabFake } from '../testbed/fakes/gitlab/index.ts';
import { type Moto, startMoto } from '../testbed/moto.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../testbed/moto-iam-proxy.ts';
import {
  type OperatorProcess,
  runArgs,
  startOperatorProcess,
  testbedAwsEnv,
} from '../testbed/operator-process.ts';
import { removeOnExit, waitFor } from '../testbed/processes.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const CLI = join(ROOT, 'src', 'cli.ts');
const REGION = 'eu-west-1';
const NS = 'team-payments';
const FEDERATION = 'payments-deploy';
const CONNECTION_NS = 'pipelines';
const CONNECTION = 'gitlab-main';
/** What the demo applies, in order (the other examples need a real instance or a host set-up). */
const APPLIED = [
  '00-namespaces.yaml',
  '01-policies.yaml',
  'gitlab-token-secret.yaml',
  'federation-gitlab-com-project.yaml',
  'federation-gitlab-com-group-tags.yaml',
  'connection-gitlab-com.yaml',
];

const interactive =
  process.env.DEMO_NONINTERACTIVE !== '1' && process.env.CI !== 'true' && Boolean(process.stdin.isTTY);
const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');
const cyan = paint('36');

const out = (s = '') => process.stdout.write(`${s}\n`);
const indent = (text: string, by = '  ') =>
  text
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => by + l)
    .join('\n');
let stepNo = 0;
const STEPS = 9;
function step(title: string): void {
  stepNo += 1;
  out();
  out(bold(cyan(`━━ ${stepNo}/${STEPS} ${title} ${'━'.repeat(Math.max(0, 70 - title.length))}`)));
}
function progress(s: string): void {
  out(dim(`  … ${s}`));
}

let rl: ReturnType<typeof createInterface> | undefined;
async function pause(what = 'continue'): Promise<void> {
  if (!interactive) return;
  rl ??= createInterface({ input: process.stdin, output: process.stdout });
  await rl.question(dim(`\n  [Enter] to ${what}, Ctrl-C to stop `));
}

// --- what the demo started, stopped in reverse on exit or Ctrl-C -----------------
let cp: ControlPlane | undefined;
let moto: Moto | undefined;
let proxy: MotoIamProxy | undefined;
let gitlab: GitLabFake | undefined;
let cc: CodeConnectionsFake | undefined;
let op: OperatorProcess | undefined;

async function stopAll(): Promise<void> {
  rl?.close();
  const stopOperator = op
    ? Promise.race([op.stop('SIGTERM'), new Promise((r) => setTimeout(r, 5000))]).then(() =>
        op?.stop('SIGKILL'),
      )
    : undefined;
  await stopOperator;
  await Promise.allSettled([gitlab?.close(), cc?.close(), proxy?.close()]);
  await Promise.allSettled([moto?.stop(), cp?.stop()]);
}

// Ctrl-C: the harness kills every child it spawned (etcd, kube-apiserver, moto,
// the operator) and removes its temp dirs on exit; children also die with this
// process (setpriv --pdeathsig), even on SIGKILL.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    out(`\n${bold('Stopping')}: the operator, the fakes, moto, etcd and kube-apiserver.`);
    process.exit(130);
  });
}

// --- helpers ------------------------------------------------------------------------
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function exec(file: string, args: string[], env: NodeJS.ProcessEnv = {}, stdin?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}
async function kubectl(args: string[], stdin?: string): Promise<string> {
  const r = await exec(cp!.kubectlPath, ['--kubeconfig', cp!.kubeconfigPath, ...args], {}, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
async function showKubectl(args: string[]): Promise<void> {
  out(`  ${bold(`$ kubectl ${args.join(' ')}`)}`);
  out(indent(await kubectl(args)));
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface KubeObject {
  kind: string;
  metadata: { name: string; namespace: string };
  status?: { conditions?: Condition[]; connectionArn?: string; connectionStatus?: string };
}
async function getObject(kind: string, ns: string, name: string): Promise<KubeObject> {
  return JSON.parse(await kubectl(['get', kind, name, '-n', ns, '-o', 'json']));
}
const conditionOf = (obj: KubeObject, type: string) => obj.status?.conditions?.find((c) => c.type === type);

/** The examples, as the demo applies them: gitlab.com rewritten to the fake, the fake's token. */
function localise(file: string, fakeUrl: string, token: string): string {
  const docs = parseAllDocuments(readFileSync(join(EXAMPLES, file), 'utf8'));
  return docs
    .map((doc) => {
      const obj = doc.toJS() as {
        kind?: string;
        metadata?: { name?: string };
        spec?: { gitlab?: { url?: string; urls?: string[] } };
        stringData?: Record<string, string>;
      };
      if (obj.kind === 'GitLabAwsFederation' && obj.spec) {
        const url = obj.spec.gitlab?.url ?? 'https://gitlab.com';
        if (url === 'https://gitlab.com') obj.spec.gitlab = { ...obj.spec.gitlab, url: fakeUrl };
      }
      if (obj.kind === 'GitLabAwsPolicy' && obj.spec?.gitlab?.urls?.includes('https://gitlab.com')) {
        obj.spec.gitlab.urls.push(fakeUrl);
      }
      if (obj.kind === 'Secret' && obj.metadata?.name === 'gitlab-token' && obj.stringData) {
        obj.stringData.token = token;
      }
      return JSON.stringify(obj);
    })
    .join('\n---\n');
}

// --- the demo -------------------------------------------------------------------------
async function main(): Promise<void> {
  process.chdir(ROOT);
  const began = Date.now();
  out(bold('gitlab-aws-operator demo'));
  out(
    'GitLab CI/CD → AWS, declared as Kubernetes resources. Everything below runs on this machine:\n' +
      'a real kube-apiserver, moto for IAM/STS, fakes for the GitLab API and AWS CodeConnections,\n' +
      `and the operator itself. ${interactive ? 'Ctrl-C stops everything.' : '(non-interactive run)'}`,
  );

  step('Starting the testbed');
  progress('etcd + kube-apiserver (and the CRDs)');
  const scratch = mkdtempSync(join(tmpdir(), 'gao-demo-'));
  removeOnExit(scratch);
  [cp, moto] = await Promise.all([
    startControlPlane({ crdDirs: [join(ROOT, 'crds')], log: (l) => out(dim(`  ${l}`)) }),
    startMoto(),
  ]);
  proxy = await startMotoIamProxy(moto.url);
  out(dim(`  [testbed] moto (IAM, STS) at ${moto.url}, behind the IAM proxy at ${proxy.url}`));
  progress('GitLab fake (HTTPS, private CA) and CodeConnections fake');
  [gitlab, cc] = await Promise.all([startGitLabFake({ tls: true }), startCodeConnectionsFake()]);
  gitlab.state.addProject('payments/api');
  gitlab.state.addProject('payments/libs/crypto');
  // As most teams have it: the default branch and the release branches protected.
  gitlab.state.protectBranch('payments/api', 'main');
  gitlab.state.protectBranch('payments/api', 'release/*');
  gitlab.state.addMember({ project: 'payments/api' }, 'deployer', 'maintainer');
  gitlab.state.addMember({ group: 'payments/libs' }, 'deployer', 'owner');
  const token = gitlab.state.addToken('deployer', { scopes: ['api'] });
  const caFile = join(scratch, 'gitlab-ca.pem');
  writeFileSync(caFile, gitlab.tls!.caPem);
  out(dim(`  [testbed] GitLab fake at ${gitlab.url} (projects payments/api, payments/libs/crypto)`));
  out(dim(`  [testbed] CodeConnections fake at ${cc.endpoint}`));

  const awsEnv = testbedAwsEnv({ iamUrl: proxy.url, codeConnectionsUrl: cc.endpoint, region: REGION });
  progress('the operator: gitlab-aws-operator run');
  const flags = [
    '--propagation-delay',
    '3s',
    '--connection-poll-interval',
    '1s',
    '--connection-poll-max-interval',
    '2s',
    '--cluster-id',
    'demo',
  ];
  op = startOperatorProcess(CLI, [...runArgs(undefined, cp.kubeconfigPath, 'restricted'), ...flags], {
    ...awsEnv,
    NODE_EXTRA_CA_CERTS: caFile,
  });
  await op.waitForLog((l) => /start|sync|ready|leader/i.test(String(l.msg ?? '')), 30_000).catch(() => {});
  out(dim(`  [testbed] operator running (pid ${op.child.pid}): gitlab-aws-operator run ${flags.join(' ')}`));
  // What the platform team made before it wrote 01-policies.yaml: the boundary every role carries.
  const iam = new IAMClient({
    endpoint: proxy.url,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await iam.send(
    new CreatePolicyCommand({
      PolicyName: 'gitlab-boundary',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['ecr:*', 'ecs:*', 's3:*'], Resource: '*' }],
      }),
    }),
  );
  out(
    dim(
      "  [testbed] the platform team's permissions boundary arn:aws:iam::123456789012:policy/gitlab-boundary",
    ),
  );
  out(green(`  Testbed ready in ${((Date.now() - began) / 1000).toFixed(1)} s.`));
  await pause('apply the examples');

  step('Applying examples/');
  out(dim(`  GitLabAwsFederation gitlab.url https://gitlab.com → ${gitlab.url} (the GitLab fake);`));
  out(dim('  the token Secret gets a token of the fake. Everything else is applied as committed.'));
  for (const file of APPLIED) {
    out(`  ${bold(`$ kubectl apply -f examples/${file}`)}`);
    out(indent(await kubectl(['apply', '-f', '-'], localise(file, gitlab.url, token))));
  }
  await new Promise((r) => setTimeout(r, 1500));
  out();
  out(dim('  Right after apply: the federations wait for IAM to propagate, the connection for a person.'));
  await showKubectl(['get', 'gitlab-aws', '-A']);
  await pause('wait for Ready');

  step('Resources and their conditions');
  progress(`waiting for the federations to turn Ready (--propagation-delay 3s)`);
  await kubectl(['wait', '--for=condition=Ready', 'glaf', '--all', '-n', NS, '--timeout=90s']);
  await showKubectl(['get', 'gitlab-aws', '-A']);
  const feds = JSON.parse(await kubectl(['get', 'glaf', '-n', NS, '-o', 'json'])).items as KubeObject[];
  for (const fed of feds) {
    out();
    out(`  ${bold(`${fed.kind} ${fed.metadata.namespace}/${fed.metadata.name}`)}`);
    for (const c of fed.status?.conditions ?? []) {
      const mark = c.status === 'True' ? green('✔') : red('✘');
      out(`    ${mark} ${c.type.padEnd(22)} ${c.reason.padEnd(12)} ${dim(c.message)}`);
    }
  }
  await pause('see the trust policy');

  step('The IAM role and its trust policy');
  const fed = await getObject('glaf', NS, FEDERATION);
  const roleArn = (fed.status as { roleArn?: string }).roleArn!;
  const role = await iam.send(new GetRoleCommand({ RoleName: roleArn.split('/').pop()! }));
  out(`  ${bold(roleArn)} (${NS}/${FEDERATION}) trusts only the ID tokens of allowed refs:`);
  const trust = JSON.parse(decodeURIComponent(role.Role?.AssumeRolePolicyDocument ?? '{}'));
  out(indent(JSON.stringify(trust, null, 2), '    '));
  out(
    `  Permissions boundary (from GitLabAwsPolicy team-payments, the spec names none): ${role.Role?.PermissionsBoundary?.PermissionsBoundaryArn}`,
  );
  await pause('see the GitLab variables');

  step('GitLab CI/CD variables written by the operator');
  for (const target of [{ project: 'payments/api' }, { group: 'payments/libs' }] as const) {
    const name = 'project' in target ? `project ${target.project}` : `group ${target.group}`;
    out(`  ${bold(name)}`);
    for (const v of gitlab.state.variables(target)) {
      out(
        `    ${v.key.padEnd(20)} = ${String(v.value).padEnd(62)} scope ${v.environment_scope}${v.protected ? ', protected' : ''}`,
      );
      out(dim(`    ${''.padEnd(20)}   ${v.description ?? ''}`));
    }
  }
  out(dim('  A job uses them with id_tokens and ROLE_ARN: see examples/gitlab-ci/.gitlab-ci.yml.'));
  await pause('check two jobs against the role');

  step('Would AWS let this job in? gitlab-aws-operator check-access');
  const checks = [
    { label: 'a job on main of payments/api', project: 'payments/api', ref: 'main', file: 'main.jwt' },
    {
      label: 'a job on feature/login of payments/api',
      project: 'payments/api',
      ref: 'feature/login',
      file: 'feature.jwt',
    },
  ];
  const verdicts: string[] = [];
  for (const c of checks) {
    if (c !== checks[0]) out();
    const jwt = await gitlab.mintIdToken({ project: c.project, ref: c.ref, aud: gitlab.url });
    const file = join(scratch, c.file);
    writeFileSync(file, jwt);
    out(`  ${dim(`# ID token minted by the GitLab fake for ${c.label}`)}`);
    out(`  ${bold(`$ gitlab-aws-operator check-access --federation ${NS}/${FEDERATION} --token ${c.file}`)}`);
    const r = await exec(
      process.execPath,
      [CLI, 'check-access', '--federation', `${NS}/${FEDERATION}`, '--token', file],
      { ...awsEnv, KUBECONFIG: cp.kubeconfigPath },
    );
    const text = (r.stdout + r.stderr).replace(/^(ALLOWED|DENIED)/, (m) =>
      m === 'ALLOWED' ? green(m) : red(m),
    );
    out(indent(text));
    out(dim(`  (exit code ${r.code})`));
    verdicts.push(
      `${c.ref} ${r.code === 0 ? 'ALLOWED' : r.code === 1 ? 'DENIED' : `check failed (exit ${r.code})`}`,
    );
  }
  await pause('see what a team cannot get');

  step('What a team cannot get: its GitLabAwsPolicy stops it');
  out(dim('  Someone with edit rights in team-payments asks for an administrator role.'));
  const grab = {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabAwsFederation',
    metadata: { name: 'grab-admin', namespace: NS },
    spec: {
      gitlab: { url: gitlab.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
      role: { managedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'] },
      access: [{ project: 'payroll/api', refs: ['main'] }],
    },
  };
  out(
    `  ${bold('$ kubectl apply -f grab-admin.yaml')}  ${dim("(AdministratorAccess, another team's project)")}`,
  );
  out(indent(await kubectl(['apply', '-f', '-'], JSON.stringify(grab))));
  const refused = await waitFor(
    `${NS}/grab-admin Stalled`,
    async () => {
      const obj = await getObject('glaf', NS, 'grab-admin');
      return conditionOf(obj, 'Stalled')?.status === 'True' ? obj : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 300 },
  );
  const why = conditionOf(refused, 'Ready')!;
  out(`  Ready=${why.status}, Stalled=True, reason ${bold(why.reason)}:`);
  out(indent(why.message, '    '));
  out(dim('  Nothing was written to AWS or GitLab. (With the chart, kubectl apply itself is refused.)'));
  await kubectl(['delete', 'glaf', 'grab-admin', '-n', NS, '--wait=true', '--timeout=30s']);
  await pause('see the connection');

  step('A CodeConnections connection: PENDING until a person authorises it');
  const pending = await waitFor(
    `${CONNECTION_NS}/${CONNECTION} PENDING`,
    async () => {
      const obj = await getObject('glconn', CONNECTION_NS, CONNECTION);
      return obj.status?.connectionStatus === 'PENDING' && conditionOf(obj, 'Ready') ? obj : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 300 },
  );
  await showKubectl(['get', 'glconn', '-n', CONNECTION_NS]);
  const ready = conditionOf(pending, 'Ready')!;
  out(`  What the user reads (Ready=${ready.status}, reason ${ready.reason}):`);
  out(indent(ready.message, '    '));
  await pause('simulate the GitLab Owner completing the handshake');
  out();
  out(dim('  Simulating the handshake in the AWS console (the CodeConnections fake: PENDING → AVAILABLE) …'));
  cc.completeHandshake(pending.status!.connectionArn!);
  await kubectl([
    'wait',
    '--for=condition=Ready',
    `glconn/${CONNECTION}`,
    '-n',
    CONNECTION_NS,
    '--timeout=60s',
  ]);
  await showKubectl(['get', 'glconn', '-n', CONNECTION_NS]);
  const available = await getObject('glconn', CONNECTION_NS, CONNECTION);
  out(`  Ready=True: ${conditionOf(available, 'Ready')!.message}`);

  step('Summary');
  await showKubectl(['get', 'gitlab-aws', '-A']);
  out(`  ${green('✔')} federation ${NS}/${FEDERATION}: role ${roleArn}`);
  out(`    ROLE_ARN and AWS_DEFAULT_REGION published to payments/api; ${verdicts.join(', ')}`);
  out(`  ${green('✔')} federation ${NS}/libs-release: tags v* of group payments/libs`);
  out(`  ${green('✔')} connection ${CONNECTION_NS}/${CONNECTION}: PENDING → AVAILABLE after the handshake`);
  out(`  ${green('✔')} an administrator role asked for from ${NS}: refused by GitLabAwsPolicy team-payments`);
  out(`  Demo finished in ${((Date.now() - began) / 1000).toFixed(1)} s.`);
  if (interactive) {
    out();
    out('  The testbed is still running. In another terminal:');
    out(`    export KUBECONFIG=${cp.kubeconfigPath}`);
    out(`    ${cp.kubectlPath} describe glaf ${FEDERATION} -n ${NS}`);
    await pause('stop everything');
  }
}

main().then(
  async () => {
    await stopAll();
    process.exit(0);
  },
  async (err) => {
    out(red(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`));
    if (op) {
      out(dim('--- last operator log lines ---'));
      out(
        op.lines
          .slice(-30)
          .map((l) => JSON.stringify(l))
          .join('\n'),
      );
      out(op.stderr().slice(-2000));
    }
    await stopAll();
    process.exit(1);
  },
);
