// The GitHub Actions workflows, checked as GitHub would run them: actionlint
// (with ShellCheck on every run: script) finds nothing, every action is pinned
// by commit SHA, each job has only the permissions it uses, and the release
// builds both architectures, attests, signs and publishes under the names
// scripts/release.ts gives (test/release/release.test.ts runs that script).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionlintPath } from '../../testbed/assets.ts';
import { removeOnExit } from '../../testbed/processes.ts';

/** A GitHub Actions expression, `${{ ... }}` (a plain string with it reads as a JS template slip). */
const expr = (inner: string) => `$\{{ ${inner} }}`;
/** A shell parameter expansion, `${...}`, for the same reason. */
const param = (inner: string) => `$\{${inner}}`;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKFLOWS = join(ROOT, '.github', 'workflows');
const files = readdirSync(WORKFLOWS)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  uses?: string;
  needs?: string[];
  permissions?: Record<string, string>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

function workflow(file: string): Workflow {
  return parse(readFileSync(join(WORKFLOWS, file), 'utf8')) as Workflow;
}

function shellcheck(): string | undefined {
  try {
    return execFileSync('bash', ['-c', 'command -v shellcheck'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function actionlint(cwd: string, paths: string[]): Promise<{ code: number; output: string }> {
  const checker = shellcheck();
  return new Promise((resolve) => {
    execFile(
      actionlintPath(),
      ['-no-color', `-shellcheck=${checker ?? ''}`, ...paths],
      { cwd },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

describe('.github/workflows', () => {
  it('has a CI workflow and a release workflow', () => {
    expect(files).toEqual(['ci.yml', 'release.yml']);
  });

  it('passes actionlint, with ShellCheck on every run: script', async () => {
    expect(
      shellcheck(),
      'shellcheck is not on PATH (testbed/setup/env.sh ensure_shellcheck; Debian: apt-get install shellcheck)',
    ).toBeDefined();
    const result = await actionlint(
      ROOT,
      files.map((f) => join('.github', 'workflows', f)),
    );
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('would catch a broken workflow (actionlint and ShellCheck really run)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gao-actionlint-'));
    removeOnExit(dir);
    const file = join(dir, 'broken.yml');
    writeFileSync(
      file,
      [
        'on: {push: {tags: ["v*"]}}',
        'permissions: {packages: wrte}',
        'jobs:',
        '  build:',
        '    runs-on: ubuntu-24.04',
        '    steps:',
        `      - run: echo ${expr('github.event.head_commit.message')} $UNQUOTED`,
        '',
      ].join('\n'),
    );
    const result = await actionlint(dir, [file]);
    expect(result.code).toBe(1);
    expect(result.output).toContain('"wrte" is invalid as permission of scope "packages"');
    // An expression an attacker writes (a commit message) pasted into a script.
    expect(result.output).toContain('"github.event.head_commit.message" is potentially untrusted');
    expect(result.output).toContain('SC2086');
  });

  it('pins every action by commit SHA, with its version in a comment, the same SHA everywhere', () => {
    const pins = new Map<string, string>();
    for (const file of files) {
      const lines = readFileSync(join(WORKFLOWS, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        const m = /^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$/.exec(line);
        if (!m) return;
        const [, ref, comment] = m;
        const where = `${file}:${i + 1}: ${line.trim()}`;
        if (ref!.startsWith('./')) return; // a workflow of this repository, at this commit
        expect(ref, where).toMatch(/^[A-Za-z0-9-]+\/[A-Za-z0-9._/-]+@[0-9a-f]{40}$/);
        expect(comment, where).toMatch(/^# v\d+\.\d+\.\d+$/);
        const action = ref!.slice(0, ref!.indexOf('@'));
        const pin = `${ref} ${comment}`;
        expect(pins.get(action) ?? pin, where).toBe(pin);
        pins.set(action, pin);
      });
    }
    expect([...pins.keys()].sort()).toEqual([
      'actions/cache',
      'actions/checkout',
      'actions/setup-go',
      'actions/setup-node',
      'azure/setup-helm',
      'docker/build-push-action',
      'docker/login-action',
      'docker/metadata-action',
      'docker/setup-buildx-action',
      'docker/setup-qemu-action',
      'sigstore/cosign-installer',
    ]);
  });

  it('gives each job only the permissions it uses', () => {
    const ci = workflow('ci.yml');
    expect(ci.permissions).toEqual({ contents: 'read' });
    const release = workflow('release.yml');
    // Nothing at the top: a job that names no permissions gets none.
    expect(release.permissions).toEqual({});
    const permissions = Object.fromEntries(Object.entries(release.jobs).map(([n, j]) => [n, j.permissions]));
    expect(permissions).toEqual({
      test: { contents: 'read' },
      names: { contents: 'read' },
      image: { contents: 'read', packages: 'write', 'id-token': 'write' },
      chart: { contents: 'read', packages: 'write', 'id-token': 'write' },
      'github-release': { contents: 'write' },
    });
    // No checkout leaves the token in .git/config for later steps.
    for (const file of files) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        for (const step of job.steps ?? []) {
          if (step.uses?.startsWith('actions/checkout@')) {
            expect(step.with?.['persist-credentials'], `${file} ${name}`).toBe(false);
          }
        }
      }
    }
  });

  it('runs the whole test suite before a release, on pushes to main and on pull requests', () => {
    const ci = workflow('ci.yml');
    expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push', 'workflow_call']);
    const steps = ci.jobs.test!.steps!;
    expect(steps.at(-1)!.run).toBe('bash .ci/run');
    expect(steps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with).toEqual({
      'node-version-file': '.nvmrc',
    });
    const release = workflow('release.yml');
    expect(release.on).toEqual({ push: { tags: ['v*'] } });
    expect(release.jobs.test!.uses).toBe('./.github/workflows/ci.yml');
    expect(release.jobs.image!.needs).toEqual(['test', 'names']);
    expect(release.jobs.chart!.needs).toEqual(['names', 'image']);
    expect(release.jobs['github-release']!.needs).toEqual(['names', 'image', 'chart']);
  });

  it('builds linux/amd64 and linux/arm64 from the Dockerfile with an SBOM, and signs the image and the chart by digest', () => {
    const release = workflow('release.yml');
    const names = release.jobs.names!.steps!.find((s) => s.id === 'names')!;
    expect(names.run).toContain('node scripts/release.ts names --tag "$TAG" --repository "$REPOSITORY"');

    const image = release.jobs.image!.steps!;
    const build = image.find((s) => s.id === 'build')!;
    expect(build.uses).toMatch(/^docker\/build-push-action@/);
    expect(build.with).toMatchObject({
      context: '.',
      file: 'Dockerfile',
      platforms: 'linux/amd64,linux/arm64',
      push: true,
      sbom: true,
      provenance: 'mode=max',
    });
    expect(image.some((s) => s.uses?.startsWith('docker/setup-qemu-action@'))).toBe(true);
    const meta = image.find((s) => s.id === 'meta')!;
    expect(meta.with?.images).toBe(expr('needs.names.outputs.image'));
    // The chart's appVersion is the image's tag.
    expect(meta.with?.tags).toContain(`type=raw,value=${expr('needs.names.outputs.version')}`);
    const signImage = image.find((s) => s.name === 'Sign the image (keyless)')!;
    expect(signImage.run).toBe('cosign sign --yes "$IMAGE@$DIGEST"');

    const chart = release.jobs.chart!.steps!;
    expect(chart.find((s) => s.name === "Set the chart's version and image")!.run).toBe(
      'node scripts/release.ts chart --tag "$TAG" --repository "$REPOSITORY"',
    );
    const push = chart.find((s) => s.id === 'push')!.run!;
    expect(push).toContain(
      'helm push "$RUNNER_TEMP/chart/gitlab-aws-operator-$VERSION.tgz" "$CHART_REGISTRY"',
    );
    expect(chart.find((s) => s.name === 'Sign the chart (keyless)')!.run).toContain(
      `cosign sign --yes "${param('CHART_REF#oci://')}@$DIGEST"`,
    );
    const publish = release.jobs['github-release']!.steps!.at(-1)!.run!;
    expect(publish).toContain('node scripts/release.ts crds >"$RUNNER_TEMP/crds.yaml"');
    expect(publish).toContain('gh release create "$TAG" "$RUNNER_TEMP/crds.yaml"');
  });

  it('installs the helm the tests use', () => {
    const step = workflow('release.yml').jobs.chart!.steps!.find((s) => s.id === 'helm-version')!;
    expect(step.run).toBe('echo "version=v$(jq -r .helm testbed/versions.json)" >>"$GITHUB_OUTPUT"');
  });
});
