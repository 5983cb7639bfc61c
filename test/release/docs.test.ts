// docs/upgrading.md and docs/releasing.md as a reader follows them: the
// manifests parse and say what the text says (CRDs replaced on upgrade, server-
// side apply, the signing identity), the names are the ones a release publishes,
// and the README and docs/helm.md lead there.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { releaseNames } from '../../scripts/release.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(`${ROOT}/${file}`, 'utf8');
const upgrading = read('docs/upgrading.md');
const names = releaseNames('v0.1.0', 'gitlab-aws-operator/gitlab-aws-operator');

// biome-ignore lint/suspicious/noExplicitAny: manifests of several kinds, read field by field
type Manifest = any;

/** The YAML blocks of a Markdown file, each document as an object. */
function manifests(markdown: string): Manifest[] {
  return [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) =>
    parseAllDocuments(m[1]!).map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as Manifest;
    }),
  );
}

function byKind(kind: string): Manifest {
  const found = manifests(upgrading).filter((m) => m.kind === kind);
  expect(found.length, kind).toBe(1);
  return found[0]!;
}

describe('docs/upgrading.md', () => {
  it('is linked from the README, docs/helm.md and the chart README', () => {
    expect(read('README.md')).toContain('[docs/upgrading.md](docs/upgrading.md)');
    expect(read('docs/helm.md')).toContain('[upgrading.md](upgrading.md)');
    expect(read('deploy/helm/gitlab-aws-operator/README.md')).toContain(
      `${names.home}/blob/main/docs/upgrading.md`,
    );
  });

  it("Helm: applies the release's crds.yaml server-side before helm upgrade of the published chart", () => {
    const apply = upgrading.indexOf('kubectl apply --server-side --force-conflicts \\\n');
    const upgrade = upgrading.indexOf(`helm upgrade gitlab-aws-operator ${names.chartRef}`);
    expect(apply).toBeGreaterThan(0);
    expect(upgrade).toBeGreaterThan(apply);
    expect(upgrading).toContain(`${names.home}/releases/download/v$VERSION/crds.yaml`);
  });

  it('Argo CD: the published chart, server-side apply, a sync wave before the teams', () => {
    const app = byKind('Application');
    expect(app.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-1');
    expect(`oci://${app.spec.source.repoURL}/${app.spec.source.chart}`).toBe(names.chartRef);
    expect(app.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
    const repo = byKind('Secret');
    expect(repo.metadata.labels['argocd.argoproj.io/secret-type']).toBe('repository');
    expect(repo.stringData).toMatchObject({ type: 'helm', enableOCI: 'true', url: app.spec.source.repoURL });
  });

  it('Flux: CreateReplace on install and upgrade, and the signature checked against the release workflow', () => {
    const release = byKind('HelmRelease');
    expect(release.spec.install.crds).toBe('CreateReplace');
    expect(release.spec.upgrade.crds).toBe('CreateReplace');
    const source = byKind('OCIRepository');
    expect(release.spec.chartRef).toEqual({ kind: 'OCIRepository', name: source.metadata.name });
    expect(source.spec.url).toBe(names.chartRef);
    const [identity] = source.spec.verify.matchOIDCIdentity as { issuer: string; subject: string }[];
    expect(new RegExp(identity!.issuer).test('https://token.actions.githubusercontent.com')).toBe(true);
    const subject = new RegExp(identity!.subject);
    expect(subject.test(`${names.home}/.github/workflows/release.yml@refs/tags/v0.1.0`)).toBe(true);
    expect(subject.test(`${names.home}/.github/workflows/ci.yml@refs/tags/v0.1.0`)).toBe(false);
    expect(
      subject.test(
        'https://github.com/someone-else/gitlab-aws-operator/.github/workflows/release.yml@refs/tags/v0.1.0',
      ),
    ).toBe(false);
  });
});

describe('docs/releasing.md', () => {
  it('names what the release publishes and walks through every job of the workflow', () => {
    const releasing = read('docs/releasing.md');
    expect(releasing).toContain(`\`${names.image}\``);
    expect(releasing).toContain(`\`${names.chartRef}\``);
    for (const job of ['test', 'names', 'image', 'chart', 'github-release']) {
      expect(releasing).toMatch(new RegExp(`\\*\\*${job}\\*\\* \\(`));
    }
  });
});
