// Runs the example jobs of examples/gitlab-ci/ for real: a job is read from its
// .gitlab-ci.yml and its before_script and script run with bash the way
// GitLab's shell executor runs them (one shell, `set -eo pipefail`, each line
// echoed, then run), in a copy of examples/gitlab-ci/ as the project
// directory, with:
// - the testbed's AWS CLI on PATH, AWS_ENDPOINT_URL pointing at moto and a
//   config file of the test's own (S3 path-style addressing; testbed/aws-cli.ts).
//   The job files stay exactly what users copy; only the environment differs;
// - GitLab's predefined CI_* variables, the CI/CD variables of the project and
//   its groups as the GitLab fake holds them (ROLE_ARN and AWS_DEFAULT_REGION,
//   written by the operator), the job's and the file's `variables:` expanded as
//   GitLab expands them, and pipeline variables on top (how a test runs the same
//   job against another repository, service or bucket);
// - each `id_tokens` variable set to an ID token the GitLab fake mints for the
//   project, ref and aud.
// The job's `image` is read but not pulled: the script runs on this machine,
// with the testbed's tools (and jq from the machine). Refs are branches.
// The one stand-in: docker (test/jobs/bin/docker). The testbed has no Docker
// engine and nothing emulates ECR's registry API, so `docker push` is done
// with the ECR API actions a registry push is authorised on, with the job's
// credentials; see that file for what it does and does not do.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { parse } from 'yaml';
import type { Grant } from '../../src/api/v1alpha1/grants.ts';
import { grantPolicies, scopeOf } from '../../src/policy/grants.ts';
import { awsCli, awsCliEnv, type CommandResult, createMotoAdmin } from '../../testbed/aws-cli.ts';
import type { GitLabFake } from '../../testbed/fakes/gitlab/index.ts';
import { type Moto, startMoto } from '../../testbed/moto.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { removeOnExit, spawnGuarded } from '../../testbed/processes.ts';
import {
  apply,
  CLI,
  createTokenSecret,
  federation,
  type GitLabInstance,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace } from '../harness/kube.ts';

export const EXAMPLES = fileURLToPath(new URL('../../examples/gitlab-ci', import.meta.url));
const STAND_INS = fileURLToPath(new URL('./bin', import.meta.url));

type Scalar = string | number | boolean;

export interface Job {
  name: string;
  stage: string;
  image: unknown;
  /** The file's and then the job's `variables:`, in order, unexpanded. */
  variables: [string, string][];
  idTokens: Record<string, { aud: string | string[] }>;
  rules: { if?: string; when?: string }[] | undefined;
  environment: string | undefined;
  beforeScript: string[];
  script: string[];
}

// GitLab refuses a script entry that is not a string (a `key: value` by mistake); so does this.
const lines = (v: unknown): string[] =>
  (v === undefined ? [] : Array.isArray(v) ? v : [v]).map((line) => {
    if (typeof line !== 'string') throw new Error(`script entry is not a string: ${JSON.stringify(line)}`);
    return line;
  });
const vars = (v: unknown): [string, string][] =>
  Object.entries((v ?? {}) as Record<string, Scalar | { value: Scalar }>).map(([k, x]) => [
    k,
    String(typeof x === 'object' ? x.value : x),
  ]);

/** A job of a .gitlab-ci.yml, with what GitLab merges into it from `default:` and the file's `variables:`. */
export function readJob(text: string, name: string): Job {
  const doc = parse(text) as Record<string, Record<string, unknown>>;
  const job = doc[name];
  if (!job || typeof job !== 'object' || !('script' in job)) throw new Error(`no job ${name}`);
  const defaults = (doc.default ?? {}) as Record<string, unknown>;
  const environment = job.environment as string | { name: string } | undefined;
  return {
    name,
    stage: String(job.stage ?? 'test'),
    image: job.image ?? defaults.image,
    variables: [...vars(doc.variables), ...vars(job.variables)],
    idTokens: (job.id_tokens ?? {}) as Job['idTokens'],
    rules: job.rules as Job['rules'],
    environment: typeof environment === 'object' ? environment.name : environment,
    beforeScript: lines(job.before_script ?? defaults.before_script),
    script: lines(job.script),
  };
}

/**
 * GitLab's expansion of variables in `variables:` and `id_tokens:` values:
 * `$NAME` and `${NAME}` from the variables known so far, `$$` for a `$`, an
 * unknown variable as empty.
 */
export function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{(\w+)\}|\$(\w+)/g, (all, braced?: string, bare?: string) =>
    all === '$$' ? '$' : (env[(braced ?? bare)!] ?? ''),
  );
}

/**
 * `rules:` with `if:` expressions of the forms the examples use:
 * `$A == "x"`, `$A == $B`, `!=`, `$A` (set and not empty), joined by `&&`.
 * Anything else throws, so an example cannot use syntax this runner would
 * get wrong. The first rule that matches decides; none matching: not run.
 */
export function rulesAllow(rules: Job['rules'], env: Record<string, string>): boolean {
  if (!rules) return true;
  const operand = (s: string) => {
    const t = s.trim();
    if (/^\$\w+$/.test(t)) return env[t.slice(1)];
    const quoted = /^"(.*)"$|^'(.*)'$/.exec(t);
    if (quoted) return quoted[1] ?? quoted[2];
    throw new Error(`rules: cannot evaluate ${s}`);
  };
  const clause = (c: string): boolean => {
    const m = /^(.*?)(==|!=)(.*)$/.exec(c);
    if (!m) return Boolean(operand(c));
    const equal = (operand(m[1]!) ?? null) === (operand(m[3]!) ?? null);
    return m[2] === '==' ? equal : !equal;
  };
  for (const rule of rules) {
    if (rule.if === undefined || rule.if.split('&&').every(clause)) return rule.when !== 'never';
  }
  return false;
}

const scopeMatches = (scope: string, environment: string | undefined) =>
  scope === '*' ||
  (environment !== undefined &&
    new RegExp(`^${scope.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`).test(environment));

export interface RunJobOptions {
  /** File name under examples/gitlab-ci/ (or an absolute path, for the harness's own tests). */
  file: string;
  job: string;
  gitlab: GitLabFake;
  /** Where AWS_ENDPOINT_URL points: moto. */
  awsEndpoint: string;
  project: string;
  /** Default: the project's default branch. */
  ref?: string;
  /** Pipeline variables: above every other variable, as in GitLab. */
  variables?: Record<string, string>;
}

export interface JobRun extends CommandResult {
  /** False when the job's rules kept it from running (code 0, no output). */
  ran: boolean;
  /** The project directory the job ran in (a copy of examples/gitlab-ci/). */
  projectDir: string;
  /** The job's TMPDIR, where its mktemp files are. */
  tmp: string;
  /** Every variable the job started with. */
  env: Record<string, string>;
}

/** Runs one job of an example file; see the top of this file. */
export async function runJob(options: RunJobOptions): Promise<JobRun> {
  const { fake, project } = { fake: options.gitlab, project: options.gitlab.state.project(options.project) };
  if (!project) throw new Error(`no project ${options.project} in the GitLab fake`);
  const job = readJob(readFileSync(resolve(EXAMPLES, options.file), 'utf8'), options.job);

  const root = mkdtempSync(join(tmpdir(), `gao-job-${options.job}-`));
  removeOnExit(root);
  const projectDir = join(root, 'builds', project.fullPath);
  const tmp = join(root, 'tmp');
  const home = join(root, 'home');
  for (const d of [tmp, home]) mkdirSync(d, { recursive: true });
  cpSync(EXAMPLES, projectDir, { recursive: true });

  const ref = options.ref ?? project.defaultBranch;
  const refProtected = fake.state.isProtected(project.id, 'branch', ref);
  const url = new URL(fake.url);
  const sha = '714a629c0b401fdce83e847fc9589983fc6f46bc'; // the sha the fake's ID tokens carry
  const registry = `${url.hostname}:5050`;
  const predefined: Record<string, string> = {
    CI: 'true',
    GITLAB_CI: 'true',
    CI_SERVER: 'yes',
    CI_SERVER_URL: fake.url,
    CI_SERVER_HOST: url.hostname,
    CI_SERVER_PROTOCOL: url.protocol.replace(':', ''),
    CI_API_V4_URL: `${fake.url}/api/v4`,
    CI_PROJECT_ID: String(project.id),
    CI_PROJECT_PATH: project.fullPath,
    CI_PROJECT_NAME: project.path,
    CI_PROJECT_NAMESPACE: project.fullPath.split('/').slice(0, -1).join('/'),
    CI_PROJECT_DIR: projectDir,
    CI_BUILDS_DIR: join(root, 'builds'),
    CI_DEFAULT_BRANCH: project.defaultBranch,
    CI_COMMIT_SHA: sha,
    CI_COMMIT_SHORT_SHA: sha.slice(0, 8),
    CI_COMMIT_REF_NAME: ref,
    CI_COMMIT_REF_SLUG: ref
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '-')
      .slice(0, 63),
    CI_COMMIT_BRANCH: ref,
    CI_COMMIT_REF_PROTECTED: String(refProtected),
    CI_PIPELINE_ID: String(1000 + project.id),
    CI_PIPELINE_SOURCE: 'push',
    CI_JOB_ID: String(5000 + project.id),
    CI_JOB_NAME: job.name,
    CI_JOB_STAGE: job.stage,
    CI_REGISTRY: registry,
    CI_REGISTRY_IMAGE: `${registry}/${project.fullPath}`,
    ...(job.environment ? { CI_ENVIRONMENT_NAME: job.environment } : {}),
  };

  // CI/CD variables: the groups' from the top down, then the project's (nearer wins);
  // protected ones only on a protected ref; file variables become a file.
  const owners = [
    ...fake.state
      .ancestorsOf(project)
      .reverse()
      .filter((ns) => ns.kind === 'group')
      .map((ns) => ({ group: ns.fullPath })),
    { project: project.fullPath },
  ];
  const settings: Record<string, string> = {};
  for (const owner of owners) {
    for (const v of fake.state.variables(owner)) {
      if (v.value === null || (v.protected && !refProtected)) continue;
      if (!scopeMatches(v.environment_scope, job.environment)) continue;
      if (v.variable_type === 'file') {
        const file = join(tmp, `variable-${v.key}`);
        writeFileSync(file, v.value);
        settings[v.key] = file;
      } else settings[v.key] = v.value;
    }
  }

  // Precedence (GitLab's, lowest first): predefined, the file's and the job's
  // variables:, CI/CD settings, pipeline variables. variables: values are
  // expanded with everything the job ends up with.
  const env: Record<string, string> = { ...predefined };
  const yamlVars: Record<string, string> = {};
  for (const [k, v] of job.variables) yamlVars[k] = v;
  Object.assign(env, yamlVars, settings, options.variables);
  for (const k of Object.keys(yamlVars)) {
    if (!(k in settings) && !(options.variables && k in options.variables))
      env[k] = expand(yamlVars[k]!, env);
  }

  if (!rulesAllow(job.rules, env))
    return { ran: false, code: 0, stdout: '', stderr: '', projectDir, tmp, env };

  for (const [name, spec] of Object.entries(job.idTokens)) {
    const aud = Array.isArray(spec.aud) ? spec.aud.map((a) => expand(a, env)) : expand(spec.aud, env);
    env[name] = await fake.mintIdToken({ project: project.fullPath, ref, aud });
  }

  const aws = awsCliEnv(options.awsEndpoint);
  Object.assign(env, {
    ...aws,
    PATH: `${STAND_INS}:${aws.PATH}`,
    HOME: home,
    TMPDIR: tmp,
    DOCKER_STANDIN_DIR: join(root, 'docker'),
    LANG: 'C.UTF-8',
  });

  // GitLab's bash script: one shell for before_script and script, each
  // command echoed with `$ ` and then run as written.
  const script = [
    'set -eo pipefail',
    `cd ${shellQuote(projectDir)}`,
    'set +o noclobber',
    ...[...job.beforeScript, ...job.script].flatMap((command) => [
      `printf '%s\\n' ${shellQuote(`$ ${command}`)}`,
      command,
    ]),
    '',
  ].join('\n');
  const file = join(root, 'script.sh');
  writeFileSync(file, script);
  chmodSync(file, 0o700);
  // Guarded: bash dies with this process, like every process of the testbed.
  const child = spawnGuarded('bash', ['--noprofile', '--norc', file], env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number>((resolve) =>
    child.once('close', (exit, signal) => resolve(exit ?? (signal ? 128 : 1))),
  );
  clearTimeout(timer);
  const result: CommandResult = { code, stdout, stderr };
  return { ran: true, ...result, projectDir, tmp, env };
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The job failed because AWS refused `action` (the denial names it:
 * "not authorized to perform: ecs:UpdateService"; S3's names the operation).
 */
export function expectRefused(run: JobRun, action: string): void {
  expect(run.ran).toBe(true);
  expect(run.code, `${run.stdout}\n${run.stderr}`).not.toBe(0);
  expect(run.stderr).toContain('AccessDenied');
  expect(run.stderr).toContain(action);
}

/** Job tests run several jobs, each a dozen AWS CLI processes: more than vitest's default 60 s on a busy machine. */
export const JOB_TEST_TIMEOUT = 180_000;

// --- The set-up every job test shares -----------------------------------

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';
export const PROJECT = 'payments/api';

export interface JobsTestbed {
  moto: Moto;
  gitlab: GitLabInstance;
  /** The AWS CLI as an IAM user allowed everything: the test's own set-up and checks. */
  admin: (args: string[]) => Promise<string>;
  /**
   * Applies a federation giving payments/api (on main) a role with these
   * grants, waits until it is Ready, and checks that the role's inline
   * policies are the presets' documents (src/policy/grants.ts) and nothing else.
   */
  federate: (name: string, grants: Record<string, unknown>[]) => Promise<Federated>;
  /**
   * check-access (the operator's command, as its own process) on the ID token
   * a job got (its AWS_ID_TOKEN), for the last federation: would AWS's STS
   * exchange it for the role? moto's does not check the trust policy.
   */
  admits: (run: JobRun) => Promise<CommandResult>;
  /** Runs a job of examples/gitlab-ci/ for payments/api on main. */
  run: (file: string, job: string, variables?: Record<string, string>, ref?: string) => Promise<JobRun>;
}

export interface Federated {
  roleName: string;
  roleArn: string;
  /** The role's inline policies, by name, as IAM holds them. */
  policies: Record<
    string,
    { Statement: { Sid?: string; Action: string | string[]; Resource: string | string[] }[] }
  >;
}

/**
 * Registers beforeAll/afterAll for a test file: a moto of its own that
 * enforces IAM and authorises by resource (startMoto({ enforceResources: true }),
 * its ECS services running what they ask for), the GitLab fake with
 * payments/api, the operator (credentials of a moto user allowed everything,
 * IAM through the IAM proxy) watching a namespace of its own, and `federate`
 * to give the project a role through a GitLabAwsFederation.
 */
export function jobsTestbed(): JobsTestbed {
  const t = {} as JobsTestbed;
  let adminEnv: Record<string, string>;
  let proxy: MotoIamProxy | undefined;
  let op: OperatorProcess | undefined;
  beforeAll(async () => {
    t.moto = await startMoto({ enforceResources: true, env: { MOTO_ECS_SERVICE_RUNNING: '1' } });
    t.gitlab = await startGitLab();
    const key = await createMotoAdmin(t.moto.url);
    await t.moto.enforceIam();
    adminEnv = awsCliEnv(t.moto.url, { region: REGION, credentials: key });
    t.admin = async (args) => {
      const r = await awsCli(args, adminEnv);
      if (r.code !== 0) throw new Error(`aws ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    };
    // moto checks every signature now: the IAM proxy (which implements what
    // moto lacks for OIDC providers) signs its own calls with the admin's key.
    proxy = await startMotoIamProxy(t.moto.url, { credentials: key });
    const ns = await createNamespace('jobs');
    await createTokenSecret(ns, t.gitlab.token);
    op = startOperatorProcess(
      CLI,
      [...runArgs(ns, inject('kubeconfig')), '--propagation-delay', '0s', '--cluster-id', 'itest'],
      {
        AWS_ENDPOINT_URL_IAM: proxy.url,
        AWS_ENDPOINT_URL_STS: proxy.url,
        AWS_ACCESS_KEY_ID: key.accessKeyId,
        AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
        AWS_REGION: REGION,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        NODE_EXTRA_CA_CERTS: t.gitlab.caFile,
      },
    );
    let last: string | undefined;
    t.federate = (name, grants) => {
      last = name;
      return federate(t, ns, name, grants);
    };
    t.admits = async (run) => {
      const token = join(run.tmp, 'check-access-token');
      writeFileSync(token, run.env.AWS_ID_TOKEN ?? '');
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          [CLI, 'check-access', '--federation', `${ns}/${last}`, '--token', token],
          {
            env: {
              ...process.env,
              KUBECONFIG: inject('kubeconfig'),
              AWS_ENDPOINT_URL_IAM: proxy!.url,
              AWS_ENDPOINT_URL_STS: proxy!.url,
              AWS_ACCESS_KEY_ID: key.accessKeyId,
              AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
              AWS_REGION: REGION,
              AWS_CONFIG_FILE: '/dev/null',
              AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
            },
          },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    };
    t.run = (file, job, variables, ref) =>
      runJob({
        file,
        job,
        gitlab: t.gitlab.fake,
        awsEndpoint: t.moto.url,
        project: PROJECT,
        ...(variables ? { variables } : {}),
        ...(ref ? { ref } : {}),
      });
  }, 120_000);
  afterAll(async () => {
    await op?.stop('SIGKILL');
    await proxy?.close();
    await t.gitlab?.close();
    await t.moto?.stop();
  });
  return t;
}

/**
 * The operator's part: a GitLabAwsFederation for payments/api on main with the
 * grants, Ready; the role's inline policies as IAM holds them. The operator
 * writes ROLE_ARN and AWS_DEFAULT_REGION into the project's CI/CD variables.
 */
async function federate(
  t: JobsTestbed,
  ns: string,
  name: string,
  grants: Record<string, unknown>[],
): Promise<Federated> {
  await apply(
    ns,
    federation(name, {
      gitlab: { url: t.gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
      aws: { region: REGION },
      access: [{ project: PROJECT, refs: ['main'] }],
      role: { grants },
      ciVariables: { target: { project: PROJECT } },
    }),
  );
  const ready = await waitForCondition(ns, name, 'Ready', 'True', { timeoutMs: 45_000 });
  const roleArn = ready.status!.roleArn!;
  const roleName = roleArn.split('/').at(-1)!;
  const names = JSON.parse(
    await t.admin(['iam', 'list-role-policies', '--role-name', roleName, '--query', 'PolicyNames']),
  ) as string[];
  const policies: Federated['policies'] = {};
  for (const policyName of names) {
    policies[policyName] = JSON.parse(
      await t.admin([
        'iam',
        'get-role-policy',
        '--role-name',
        roleName,
        '--policy-name',
        policyName,
        '--query',
        'PolicyDocument',
      ]),
    );
  }
  // One inline policy per preset, gitlab-aws-grant-<preset>, each the document
  // the operator computes for the role's account and the federation's region.
  expect(policies).toEqual(grantPolicies(grants as Grant[], scopeOf(roleArn, REGION)));
  return { roleName, roleArn, policies };
}
