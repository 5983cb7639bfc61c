// `npm run demo` (DESIGN.md §5): the whole product on one machine. Starts the
// testbed (etcd + kube-apiserver, moto behind the IAM proxy), the GitLab fake
// (HTTPS with a private CA that the operator trusts through NODE_EXTRA_CA_CERTS)
// and the CodeConnections fake, runs the operator, applies manifests from
// examples/ and shows what a user sees. scripts/demo.sh sets the machine up first.
//
// The committed examples name real instances (https://gitlab.com and the
// self-managed https://gitlab.example.com). When the demo applies them it
// rewrites every GitLabAwsFederation's spec.gitlab.url from either to the
// GitLab fake's URL, adds that URL to the policies that allow either (it is a
// loopback address: only a URL a policy names may be one), and puts the fake's
// token into the token Secrets; connections keep https://gitlab.com (the
// CodeConnections fake plays AWS, which never calls GitLab before the
// handshake). The operator runs --tenancy restricted, as the chart does.
//
// The demo never prints a secret: of the GitLab variables it shows the values
// of unmasked ones and the operator's access key ID (which status.accessKey.id
// shows too), never AWS_SECRET_ACCESS_KEY or a masked value.
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
import {
  CreatePolicyCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { parseAllDocuments, stringify } from 'yaml';
import { type ControlPlane, startControlPlane } from '../testbed/controlplane.ts';
import {
  type CodeConnectionsFake,
  startCodeConnectionsFake,
} from '../testbed/fakes/codeconnections/index.ts';
import { type GitLabFake, startGitLabFake, type Variable } from '../testbed/fakes/gitlab/index.ts';
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
/** The federation of method IAMUserAccessKeys (examples/federation-self-managed-access-keys.yaml). */
const KEYS_NS = 'team-reporting';
const KEYS_FED = 'reporting-batch';
const KEYS_PROJECT = 'reporting/batch';
const KEYS_EXAMPLE = 'federation-self-managed-access-keys.yaml';
/** The instances the examples name; the demo's federations point at the GitLab fake instead. */
const EXAMPLE_URLS = ['https://gitlab.com', 'https://gitlab.example.com'];
/** What the demo applies, in order (the other examples need a real instance or a host set-up). */
const APPLIED = [
  '00-namespaces.yaml',
  '01-policies.yaml',
  'gitlab-token-secret.yaml',
  'federation-gitlab-com-project.yaml',
  'federation-gitlab-com-group-tags.yaml',
  'connection-gitlab-com.yaml',
  KEYS_EXAMPLE,
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

/** Everything the demo printed, so that it can check at the end that no secret is in it. */
const printed: string[] = [];
const out = (s = '') => {
  printed.push(s);
  process.stdout.write(`${s}\n`);
};
/** Every AWS_SECRET_ACCESS_KEY value GitLab held while the demo ran (never printed). */
const secretsSeen = new Set<string>();
function noteSecrets(vars: Variable[]): void {
  for (const v of vars) if (v.key === 'AWS_SECRET_ACCESS_KEY' && v.value) secretsSeen.add(v.value);
}
const indent = (text: string, by = '  ') =>
  text
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => by + l)
    .join('\n');
let stepNo = 0;
const STEPS = 12;
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
  metadata: { name: string; namespace: string; generation?: number };
  status?: {
    conditions?: (Condition & { observedGeneration?: number })[];
    connectionArn?: string;
    connectionStatus?: string;
    roleArn?: string;
    userArn?: string;
    accessKey?: {
      id?: string;
      createdAt?: string;
      nextRotationAt?: string;
      previous?: { id: string; deleteAt: string };
      revoked?: { rotateNow: string; at: string; id?: string };
    };
    legacyCredentials?: { target: string; key: string; environmentScope: string }[];
  };
}
async function getObject(kind: string, ns: string, name: string): Promise<KubeObject> {
  return JSON.parse(await kubectl(['get', kind, name, '-n', ns, '-o', 'json']));
}
const conditionOf = (obj: KubeObject, type: string) => obj.status?.conditions?.find((c) => c.type === type);

function showConditions(obj: KubeObject): void {
  out(`  ${bold(`${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`)}`);
  for (const c of obj.status?.conditions ?? []) {
    const mark = c.status === 'True' ? green('✔') : red('✘');
    out(`    ${mark} ${c.type.padEnd(22)} ${c.reason.padEnd(12)} ${dim(c.message)}`);
  }
}

async function eventsOf(
  ns: string,
  name: string,
): Promise<{ type: string; reason: string; message: string }[]> {
  const list = JSON.parse(
    await kubectl([
      'get',
      'events',
      '-n',
      ns,
      '--field-selector',
      `involvedObject.name=${name}`,
      '-o',
      'json',
    ]),
  ) as { items: { type: string; reason: string; message: string; lastTimestamp?: string }[] };
  return list.items;
}

const OPERATOR_MARK = 'managed by gitlab-aws-operator:';
/**
 * A variable's value as the demo shows it: never a secret. Unmasked values, and
 * the operator's own access key ID (an identifier, also in status.accessKey.id).
 */
function shownValue(v: Variable): string {
  if (v.hidden) return '(hidden: GitLab never shows it again)';
  if (!v.masked) return String(v.value);
  if (v.key === 'AWS_ACCESS_KEY_ID' && v.description?.startsWith(OPERATOR_MARK)) return String(v.value);
  return '(masked)';
}
function showVariables(label: string, vars: Variable[]): void {
  noteSecrets(vars);
  out(`  ${bold(label)}`);
  for (const v of vars) {
    const flags = [v.masked && 'masked', v.hidden && 'hidden', v.protected && 'protected'].filter(Boolean);
    out(
      `    ${v.key.padEnd(21)} = ${shownValue(v).padEnd(62)} scope ${v.environment_scope}${flags.length ? `, ${flags.join(', ')}` : ''}`,
    );
    out(dim(`    ${''.padEnd(21)}   ${v.description ?? '(no description: not written by the operator)'}`));
  }
}

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown> & { gitlab?: { url?: string; urls?: string[] } };
  stringData?: Record<string, string>;
}

/** The examples, as the demo applies them: the instances rewritten to the fake, the fake's token. */
function localised(file: string, fakeUrl: string, token: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(EXAMPLES, file), 'utf8')).map((doc) => {
    const obj = doc.toJS() as Manifest;
    if (obj.kind === 'GitLabAwsFederation' && obj.spec) {
      const url = obj.spec.gitlab?.url ?? 'https://gitlab.com';
      if (EXAMPLE_URLS.includes(url)) obj.spec.gitlab = { ...obj.spec.gitlab, url: fakeUrl };
    }
    const urls = obj.kind === 'GitLabAwsPolicy' ? obj.spec?.gitlab?.urls : undefined;
    if (urls?.some((u) => EXAMPLE_URLS.includes(u))) urls.push(fakeUrl);
    if (obj.kind === 'Secret' && obj.metadata?.name === 'gitlab-token' && obj.stringData) {
      obj.stringData.token = token;
    }
    return obj;
  });
}
const localise = (file: string, fakeUrl: string, token: string) =>
  localised(file, fakeUrl, token)
    .map((obj) => JSON.stringify(obj))
    .join('\n---\n');

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
  // team-reporting's project on the self-managed instance, with the key someone pasted into its
  // production scope years ago: the legacy audit reports it (never its value).
  gitlab.state.addProject(KEYS_PROJECT);
  gitlab.state.protectBranch(KEYS_PROJECT, 'main');
  gitlab.state.addMember({ project: KEYS_PROJECT }, 'deployer', 'maintainer');
  for (const [key, value] of [
    ['AWS_ACCESS_KEY_ID', 'AKIAIOSFODNN7EXAMPLE'],
    ['AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ] as const) {
    gitlab.state.setVariable(
      { project: KEYS_PROJECT },
      { key, value, environment_scope: 'production', masked: true, raw: true },
    );
  }
  const token = gitlab.state.addToken('deployer', { scopes: ['api'] });
  const caFile = join(scratch, 'gitlab-ca.pem');
  writeFileSync(caFile, gitlab.tls!.caPem);
  out(
    dim(
      `  [testbed] GitLab fake at ${gitlab.url} (projects payments/api, payments/libs/crypto, ${KEYS_PROJECT})`,
    ),
  );
  out(
    dim(
      `  [testbed] ${KEYS_PROJECT} has AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY pasted by hand, scope production`,
    ),
  );
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
  out(
    dim(
      `  GitLabAwsFederation gitlab.url https://gitlab.com and https://gitlab.example.com → ${gitlab.url} (the GitLab fake);`,
    ),
  );
  out(dim('  the token Secrets get a token of the fake. Everything else is applied as committed.'));
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
  for (const ns of [NS, KEYS_NS]) {
    await kubectl(['wait', '--for=condition=Ready', 'glaf', '--all', '-n', ns, '--timeout=90s']);
  }
  await showKubectl(['get', 'gitlab-aws', '-A']);
  const feds = JSON.parse(await kubectl(['get', 'glaf', '-n', NS, '-o', 'json'])).items as KubeObject[];
  for (const fed of feds) {
    out();
    showConditions(fed);
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
    showVariables(name, gitlab.state.variables(target));
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
  await pause('see the keys of a GitLab AWS cannot reach');

  step('Keys for a GitLab AWS cannot reach: method IAMUserAccessKeys');
  for (const line of [
    `${KEYS_NS} runs its jobs on a self-managed GitLab behind a firewall: STS cannot fetch its`,
    'discovery document, so no OIDC. Its GitLabAwsPolicy lists IAMUserAccessKeys in methods',
    `(team-payments' does not), and examples/${KEYS_EXAMPLE}`,
    'asks for an IAM user whose key the operator rotates.',
  ])
    out(dim(`  ${line}`));
  await showKubectl(['get', 'glaf', '-n', KEYS_NS]);
  await showKubectl([
    'get',
    'glaf',
    '-n',
    KEYS_NS,
    '-o',
    'custom-columns=NAME:.metadata.name,METHOD:.spec.method,USER:.status.userArn,ACCESS KEY:.status.accessKey.id',
  ]);
  const keyed = await getObject('glaf', KEYS_NS, KEYS_FED);
  const userArn = keyed.status!.userArn!;
  const userName = userArn.split('/').pop()!;
  const firstKey = keyed.status!.accessKey!;
  out();
  showConditions(keyed);
  out();
  const listKeys = async () =>
    (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
  const userExists = (name: string) =>
    iam.send(new GetUserCommand({ UserName: name })).then(
      () => true,
      (err: Error) =>
        err.name === 'NoSuchEntityException' || err.name === 'NoSuchEntity' ? false : Promise.reject(err),
    );
  const showKeys = async () => {
    out(`  ${bold(`$ aws iam list-access-keys --user-name ${userName}`)}`);
    for (const k of await listKeys()) {
      out(`    ${k.AccessKeyId}  ${k.Status}  created ${k.CreateDate?.toISOString()}`);
    }
  };
  await showKeys();
  out();
  showVariables(`project ${KEYS_PROJECT}`, gitlab.state.variables({ project: KEYS_PROJECT }));
  out(
    dim(
      '  The secret: masked, hidden and protected (only jobs on protected refs get it), whatever the spec says;',
    ),
  );
  out(
    dim(
      '  the key ID: masked, protected as ciVariables.protected says. Jobs need no change: the AWS CLI and',
    ),
  );
  out(dim('  SDKs read AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION.'));
  out();
  out(
    `  The legacy audit, ${bold('status.legacyCredentials')} (key and scope, never values): the pair pasted by hand;`,
  );
  out("  the operator's own AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (scope *) are not counted.");
  for (const l of keyed.status?.legacyCredentials ?? []) {
    out(`    - ${l.target} ${l.key} (scope ${l.environmentScope})`);
  }
  const found = (await eventsOf(KEYS_NS, KEYS_FED)).find((e) => e.reason === 'LegacyCredentialsFound');
  if (found) out(`  Event ${found.type} ${found.reason}: ${dim(found.message)}`);
  await pause('rotate the key at once (a suspected leak)');

  step('A suspected leak: rotate now with gitlab-aws.io/rotate-now');
  const secretOf = () => {
    const vars = gitlab!.state.variables({ project: KEYS_PROJECT });
    noteSecrets(vars);
    return vars.find((v) => v.key === 'AWS_SECRET_ACCESS_KEY' && v.environment_scope === '*')?.value;
  };
  const secretBefore = secretOf();
  const iamMark = proxy.actions.length;
  const gitlabMark = gitlab.requests.length;
  const rotateNow = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  out(`  ${bold(`$ kubectl annotate glaf ${KEYS_FED} -n ${KEYS_NS} gitlab-aws.io/rotate-now=${rotateNow}`)}`);
  out(
    indent(
      await kubectl(['annotate', 'glaf', KEYS_FED, '-n', KEYS_NS, `gitlab-aws.io/rotate-now=${rotateNow}`]),
    ),
  );
  progress('waiting for status.accessKey.revoked');
  const rotated = await waitFor(
    `${KEYS_NS}/${KEYS_FED} revoked`,
    async () => {
      const obj = await getObject('glaf', KEYS_NS, KEYS_FED);
      return obj.status?.accessKey?.revoked?.rotateNow === rotateNow &&
        conditionOf(obj, 'Ready')?.status === 'True'
        ? obj
        : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const iamCalls = proxy.actions.slice(iamMark);
  const gitlabCalls = gitlab.requests
    .slice(gitlabMark)
    .filter((r) => r.path.includes(encodeURIComponent(KEYS_PROJECT)));
  const newKey = rotated.status!.accessKey!;
  await showKubectl(['get', 'glaf', '-n', KEYS_NS]);
  out(
    `  access key ${bold(firstKey.id!)} → ${bold(newKey.id!)}; next rotation ${firstKey.nextRotationAt} → ${newKey.nextRotationAt}`,
  );
  out(`  status.accessKey.revoked: ${JSON.stringify(newKey.revoked)}`);
  await showKeys();
  out(dim(`  ${firstKey.id} was deleted at once: no grace period for a key that may have leaked.`));
  const published = gitlab.state
    .variables({ project: KEYS_PROJECT })
    .find((v) => v.key === 'AWS_ACCESS_KEY_ID' && v.environment_scope === '*');
  out(
    `  GitLab: AWS_ACCESS_KEY_ID = ${published?.value}; AWS_SECRET_ACCESS_KEY ${secretOf() !== secretBefore ? 'replaced' : 'NOT replaced'} (value not shown)`,
  );
  const revokedEvent = (await eventsOf(KEYS_NS, KEYS_FED)).find((e) => e.reason === 'AccessKeyRevoked');
  if (revokedEvent) out(`  Event ${revokedEvent.type} ${revokedEvent.reason}: ${dim(revokedEvent.message)}`);
  const tally = (names: string[]) =>
    [...names.reduce((m, n) => m.set(n, (m.get(n) ?? 0) + 1), new Map<string, number>())]
      .map(([n, c]) => (c > 1 ? `${n} ×${c}` : n))
      .join(', ');
  out('  What the rotation called, as the IAM proxy and the GitLab fake recorded it:');
  out(`    IAM:    ${tally(iamCalls.map((a) => a.replace(/^iam:/, '')))}`);
  out(
    `    GitLab: ${tally(gitlabCalls.map((r) => `${r.method} ${r.path.replace(/^.*\/variables/, 'variables')}`))}`,
  );
  out(
    dim(
      '  On spec.rotation.interval (default 30d, at least 1m) the rotation is the same, except that the old',
    ),
  );
  out(dim('  key stays active for spec.rotation.gracePeriod (default 1h: running jobs finish), then it is'));
  out(dim('  deactivated and deleted (status.accessKey.previous says when).'));
  await pause('migrate to OIDC');

  step('Migrating to OIDC: the role first, the keys go once it is Ready');
  out(
    dim(
      '  AWS can reach the instance now (the fake serves its discovery document), so the team goes keyless.',
    ),
  );
  out(`  The spec change (the job change it needs: ${bold('docs/migrate-keys-to-oidc.md')}):`);
  const manifest = localised(KEYS_EXAMPLE, gitlab.url, token).find((o) => o.kind === 'GitLabAwsFederation')!;
  const spec = manifest.spec!;
  const oidc = {
    method: 'OIDC',
    role: spec.iamUser,
    access: [{ project: KEYS_PROJECT, refs: ['main'] }],
    legacyCredentials: { removeWhenReady: true },
  };
  const flow = (v: unknown) => stringify(v, { collectionStyle: 'flow' }).trim();
  for (const key of ['method', 'iamUser', 'rotation']) out(`    ${red(`- ${key}: ${flow(spec[key])}`)}`);
  for (const [key, value] of Object.entries(oidc)) out(`    ${green(`+ ${key}: ${flow(value)}`)}`);
  const { iamUser: _user, rotation: _rotation, ...kept } = spec;
  const migrated = { ...manifest, spec: { ...kept, ...oidc } };
  out(`  ${bold(`$ kubectl apply -f ${KEYS_FED}-oidc.yaml`)}`);
  out(indent(await kubectl(['apply', '-f', '-'], JSON.stringify(migrated))));
  progress('waiting for the role and ROLE_ARN');
  // The table is the probe, so it shows the moment the role appeared; the rest is read right after.
  const table = await waitFor(
    `${KEYS_NS}/${KEYS_FED} role`,
    async () => {
      const text = await kubectl(['get', 'glaf', '-n', KEYS_NS]);
      return /:role\//.test(text) ? text : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const during = gitlab.state.variables({ project: KEYS_PROJECT });
  const keysDuring = (await userExists(userName)) ? (await listKeys()).map((k) => k.AccessKeyId) : undefined;
  const roleArnMade = /arn:aws:iam::\d+:role\/\S+/.exec(table)![0];
  out(`  ${bold(`$ kubectl get glaf -n ${KEYS_NS}`)}`);
  out(indent(table));
  out(
    `  ${bold(roleArnMade)} made; the IAM user ${keysDuring ? `is still there with access key ${keysDuring.join(', ')}` : 'is already gone'}:`,
  );
  out(
    '  until the role is Ready, jobs keep the key (the SDKs take AWS_ACCESS_KEY_ID before a web identity).',
  );
  showVariables(`project ${KEYS_PROJECT}`, during);
  progress('waiting for Ready (--propagation-delay 3s)');
  const migratedObj = await waitFor(
    `${KEYS_NS}/${KEYS_FED} Ready as OIDC`,
    async () => {
      const obj = await getObject('glaf', KEYS_NS, KEYS_FED);
      const ready = conditionOf(obj, 'Ready');
      return ready?.status === 'True' && ready.observedGeneration === obj.metadata.generation
        ? obj
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 300 },
  );
  await showKubectl(['get', 'glaf', '-n', KEYS_NS]);
  showConditions(migratedObj);
  const userGone = !(await userExists(userName));
  out(`  IAM user ${userArn}: ${userGone ? 'deleted, and its access keys with it' : 'still there'}`);
  showVariables(`project ${KEYS_PROJECT}`, gitlab.state.variables({ project: KEYS_PROJECT }));
  out(
    `  status.legacyCredentials: ${migratedObj.status?.legacyCredentials?.length ? JSON.stringify(migratedObj.status.legacyCredentials) : 'none'}`,
  );
  const events = await eventsOf(KEYS_NS, KEYS_FED);
  for (const e of events.filter(
    (x) => x.reason === 'LegacyCredentialsRemoved' || /deleted IAM user/.test(x.message),
  )) {
    out(`  Event ${e.type} ${e.reason}: ${dim(e.message)}`);
  }
  const keyVariablesLeft = gitlab.state
    .variables({ project: KEYS_PROJECT })
    .filter((v) => v.key === 'AWS_ACCESS_KEY_ID' || v.key === 'AWS_SECRET_ACCESS_KEY').length;
  const migration = {
    role: migratedObj.status!.roleArn!,
    userGone,
    keyVariablesLeft,
  };

  step('Summary');
  await showKubectl(['get', 'gitlab-aws', '-A']);
  out(`  ${green('✔')} federation ${NS}/${FEDERATION}: role ${roleArn}`);
  out(`    ROLE_ARN and AWS_DEFAULT_REGION published to payments/api; ${verdicts.join(', ')}`);
  out(`  ${green('✔')} federation ${NS}/libs-release: tags v* of group payments/libs`);
  out(`  ${green('✔')} connection ${CONNECTION_NS}/${CONNECTION}: PENDING → AVAILABLE after the handshake`);
  out(`  ${green('✔')} an administrator role asked for from ${NS}: refused by GitLabAwsPolicy team-payments`);
  out(
    `  ${green('✔')} federation ${KEYS_NS}/${KEYS_FED} (IAMUserAccessKeys): access key ${firstKey.id} → ${newKey.id} on rotate-now, the old key deleted at once;`,
  );
  out(`    the key pasted by hand in scope production reported by the legacy audit, the operator's own not`);
  out(
    `  ${green('✔')} ${KEYS_NS}/${KEYS_FED} migrated to OIDC: role ${migration.role}; ${migration.userGone ? 'the IAM user and its keys deleted' : 'the IAM user NOT deleted'}, ${migration.keyVariablesLeft === 0 ? 'no AWS key variable left' : `${migration.keyVariablesLeft} AWS key variable(s) left`} in ${KEYS_PROJECT}`,
  );
  const leaked = [...secretsSeen].filter((secret) => printed.some((line) => line.includes(secret)));
  if (leaked.length) throw new Error(`the demo printed ${leaked.length} secret access key(s)`);
  out(
    `  ${green('✔')} no secret in this output: none of the ${secretsSeen.size} AWS_SECRET_ACCESS_KEY values GitLab held is in it`,
  );
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
