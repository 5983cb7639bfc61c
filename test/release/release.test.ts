// What a release publishes, made here with the same script the release
// workflow runs (scripts/release.ts) and the real helm and kubectl: the names,
// the chart as `helm package` makes it for a tag, and crds.yaml applied to an
// API server the way docs/upgrading.md says.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { crdBundle, releaseNames } from '../../scripts/release.ts';
import { removeOnExit } from '../../testbed/processes.ts';
import { kubectl } from '../harness/kube.ts';
import { CHART, helmOk, operatorContainer, parseManifests, REPO_CRDS } from '../helm/helm.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const chartYaml = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as {
  version: string;
  appVersion: string;
  home: string;
};
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { image: { repository: string } };
/** owner/name of this project on GitHub, from the chart's home. */
const REPOSITORY = new URL(chartYaml.home).pathname.replace(/^\/|\/$/g, '');

function release(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'scripts', 'release.ts'), ...args],
      { cwd: ROOT },
      (e, stdout, stderr) =>
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
    );
  });
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  removeOnExit(dir);
  return dir;
}

describe('the release names', () => {
  it("are the chart's defaults for this project's own repository: the chart installs what the workflow publishes", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await release(['names', '--tag', `v${pkg.version}`, '--repository', REPOSITORY]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const names = releaseNames(`v${pkg.version}`, REPOSITORY);
    expect(result.stdout).toBe(
      [
        `version=${pkg.version}`,
        `image=${names.image}`,
        `chart-registry=${names.chartRegistry}`,
        `chart-ref=${names.chartRef}`,
        '',
      ].join('\n'),
    );
    expect(names.image).toBe('ghcr.io/gitlab-aws-operator/gitlab-aws-operator');
    expect(names.chartRef).toBe('oci://ghcr.io/gitlab-aws-operator/charts/gitlab-aws-operator');
    expect(values.image.repository).toBe(names.image);
    expect(chartYaml.appVersion).toBe(pkg.version);
    expect(chartYaml.home).toBe(names.home);
    // The README's install command is the published chart's.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(
      `helm install gitlab-aws-operator ${names.chartRef} --version ${chartYaml.version}`,
    );
    expect(readme).toContain(`${names.image}:${chartYaml.appVersion}`);
  });

  it('refuse a tag that is not v<semver>, or that package.json does not say', async () => {
    for (const tag of ['1.2.3', 'v1.2', 'v01.2.3', 'v1.2.3+build.5', 'release-1']) {
      const result = await release(['names', '--tag', tag, '--repository', REPOSITORY]);
      expect(result.code, tag).toBe(1);
      expect(result.stderr, tag).toBe(
        `release: tag ${JSON.stringify(tag)} is not v<major>.<minor>.<patch>[-<pre-release>]\n`,
      );
    }
    const result = await release(['names', '--tag', 'v99.0.0', '--repository', REPOSITORY]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('package.json says');
    expect(result.stderr).toContain('the tag says 99.0.0');
  });

  it('lower-case the owner, as registries require, and put the chart beside the image under charts/', () => {
    expect(releaseNames('v2.0.0-rc.1', 'Example-Org/gao-fork')).toEqual({
      version: '2.0.0-rc.1',
      image: 'ghcr.io/example-org/gitlab-aws-operator',
      chartRegistry: 'oci://ghcr.io/example-org/charts',
      chartRef: 'oci://ghcr.io/example-org/charts/gitlab-aws-operator',
      home: 'https://github.com/Example-Org/gao-fork',
    });
    expect(() => releaseNames('v1.0.0', 'no-slash')).toThrow('is not <owner>/<name>');
  });
});

describe('the chart a tag publishes', () => {
  it('has the tag as version and appVersion, runs the image pushed for it, and keeps every other byte', async () => {
    const dir = tempDir('gao-release-chart-');
    const chart = join(dir, 'gitlab-aws-operator');
    cpSync(CHART, chart, { recursive: true });
    const result = await release([
      'chart',
      '--tag',
      'v1.2.3-rc.1',
      '--repository',
      'Example-Org/gao-fork',
      '--chart',
      chart,
    ]);
    expect(result.code, result.stderr).toBe(0);

    // Only the released lines differ; comments and formatting stay.
    const changed = (file: string) => {
      const before = readFileSync(join(CHART, file), 'utf8').split('\n');
      const after = readFileSync(join(chart, file), 'utf8').split('\n');
      expect(after.length).toBe(before.length);
      return after.filter((line, i) => line !== before[i]);
    };
    expect(changed('Chart.yaml')).toEqual([
      'version: 1.2.3-rc.1',
      'appVersion: "1.2.3-rc.1"',
      'home: https://github.com/Example-Org/gao-fork',
    ]);
    expect(changed('values.yaml')).toEqual(['  repository: ghcr.io/example-org/gitlab-aws-operator']);

    await helmOk(['lint', '--strict', chart]);
    const out = join(dir, 'out');
    const packaged = await helmOk(['package', chart, '--destination', out]);
    const tgz = join(out, 'gitlab-aws-operator-1.2.3-rc.1.tgz');
    expect(packaged).toContain(tgz);
    const shown = parse(await helmOk(['show', 'chart', tgz])) as Record<string, unknown>;
    expect(shown).toMatchObject({ version: '1.2.3-rc.1', appVersion: '1.2.3-rc.1' });
    const rendered = parseManifests(await helmOk(['template', 'gao', tgz, '--namespace', 'gao-system']));
    expect(operatorContainer(rendered).image).toBe('ghcr.io/example-org/gitlab-aws-operator:1.2.3-rc.1');
    // What Artifact Hub and `helm show readme` show: the fork's names.
    const readme = await helmOk(['show', 'readme', tgz]);
    expect(readme).toContain(
      'helm install gitlab-aws-operator oci://ghcr.io/example-org/charts/gitlab-aws-operator --version 1.2.3-rc.1',
    );
    expect(readme).toContain('cosign verify ghcr.io/example-org/gitlab-aws-operator:1.2.3-rc.1');
  });
});

describe("the release's crds.yaml", () => {
  it('holds exactly the CRDs of crds/, and kubectl apply --server-side takes it over the installed ones', async () => {
    const bundle = crdBundle();
    const docs = parseAllDocuments(bundle).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string } },
    );
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'CustomResourceDefinition/gitlabawsfederations.gitlab-aws.io',
      'CustomResourceDefinition/gitlabawspolicies.gitlab-aws.io',
      'CustomResourceDefinition/gitlabconnections.gitlab-aws.io',
    ]);
    const fromFiles = ['gitlabawsfederations', 'gitlabawspolicies', 'gitlabconnections'].map((n) =>
      parse(readFileSync(join(REPO_CRDS, `gitlab-aws.io_${n}.yaml`), 'utf8')),
    );
    expect(docs).toEqual(fromFiles);
    const file = join(tempDir('gao-release-crds-'), 'crds.yaml');
    writeFileSync(file, bundle);
    // The testbed's API server already has these CRDs, as a cluster being
    // upgraded does. A server-side dry run: the API server is shared with
    // tests that use the CRDs.
    const applied = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', file]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout.trim().split('\n')).toEqual([
      'customresourcedefinition.apiextensions.k8s.io/gitlabawsfederations.gitlab-aws.io serverside-applied (server dry run)',
      'customresourcedefinition.apiextensions.k8s.io/gitlabawspolicies.gitlab-aws.io serverside-applied (server dry run)',
      'customresourcedefinition.apiextensions.k8s.io/gitlabconnections.gitlab-aws.io serverside-applied (server dry run)',
    ]);
  });

  it('needs --force-conflicts when another field manager (helm install) wrote the CRDs a release changes', async () => {
    // The testbed applied crds/ as field manager "kubectl"; a next release
    // changes a field of it, and this apply comes from another manager, as
    // kubectl's does after `helm install` (manager "helm"). Server dry runs only.
    const next = parseAllDocuments(crdBundle()).map((d) => d.toJS()) as {
      spec: { versions: { schema: { openAPIV3Schema: { description: string } } }[] };
    }[];
    next[0]!.spec.versions[0]!.schema.openAPIV3Schema.description = 'As the next release describes it.';
    const file = join(tempDir('gao-release-next-'), 'crds.yaml');
    writeFileSync(file, next.map((d) => `---\n${stringify(d)}`).join(''));
    const apply = (extra: string[]) =>
      kubectl([
        'apply',
        '--server-side',
        '--dry-run=server',
        '--field-manager=release-test',
        ...extra,
        '-f',
        file,
      ]);
    const refused = await apply([]);
    expect(refused.code).toBe(1);
    // spec.versions is one atomic list: the whole of it changes hands.
    expect(refused.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl": .spec.versions\n',
    );
    const forced = await apply(['--force-conflicts']);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
  });
});
