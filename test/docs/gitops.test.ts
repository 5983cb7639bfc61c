// docs/gitops.md's Argo CD and Flux set-ups, held to the project: the
// operator's kinds are accepted by the API server as written (annotations
// included), the waves and dependsOn put the CRDs and the operator first,
// then the policies, then the federations; the chart is installed from its
// real path with values it renders; the CRDs are upgraded (ServerSideApply,
// crds: CreateReplace); and the Flux health expressions name the real kinds.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { kubectl } from '../harness/kube.ts';
import { one, render } from '../helm/helm.ts';

const root = new URL('../../', import.meta.url);
const DOC = readFileSync(new URL('docs/gitops.md', root), 'utf8');

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: parsed YAML of other projects' kinds, navigated field by field
  spec: Record<string, any>;
}
const section = (title: string) => {
  const start = DOC.indexOf(`\n## ${title}`);
  expect(start, title).toBeGreaterThan(0);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end === -1 ? undefined : end);
};
const objectsOf = (text: string) =>
  [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) =>
    parseAllDocuments(m[1]!).map((d) => d.toJS() as Obj),
  );
const argo = objectsOf(section('Argo CD: the operator, the policies and the federations in order'));
const flux = objectsOf(section('Flux: the operator, the policies and the federations in order'));
const ofKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: Obj[], kind: string, name: string) => {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const wave = (o: Obj) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);

// The product's kinds, from the CRDs the chart ships.
const crdDir = new URL('deploy/helm/gitlab-aws-operator/crds/', root);
const kinds = readdirSync(crdDir).map((f) => {
  const crd = parse(readFileSync(new URL(f, crdDir), 'utf8')) as {
    spec: { group: string; names: { kind: string }; versions: { name: string }[] };
  };
  return {
    kind: crd.spec.names.kind,
    apiVersions: crd.spec.versions.map((v) => `${crd.spec.group}/${v.name}`),
  };
});

describe('docs/gitops.md: Argo CD', () => {
  it('orders the Applications: the operator, then the policies, then the teams', () => {
    const apps = ofKind(argo, 'Application');
    expect(apps.map((a) => a.metadata.name)).toEqual([
      'gitlab-aws-operator',
      'gitlab-aws-policies',
      'team-payments',
    ]);
    expect(apps.map(wave)).toEqual([...apps.map(wave)].sort((a, b) => a - b));
    expect(new Set(apps.map(wave)).size).toBe(3);
  });

  it('installs the chart from its path, with ServerSideApply for the CRDs, and values it renders', async () => {
    const app = named(argo, 'Application', 'gitlab-aws-operator');
    expect(existsSync(new URL(`${app.spec.source.path}/Chart.yaml`, root))).toBe(true);
    expect(app.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
    const objects = await render(app.spec.source.helm.valuesObject, {
      release: app.spec.source.helm.releaseName,
      namespace: app.spec.destination.namespace,
    });
    expect(one(objects, 'ServiceAccount').metadata.name).toBe('gitlab-aws-operator');
  });

  describe('waves on the resources', () => {
    const policy = ofKind(argo, 'GitLabAwsPolicy')[0]!;
    const federation = ofKind(argo, 'GitLabAwsFederation')[0]!;

    it('put the GitLabAwsPolicy before the federation', () => {
      expect(wave(policy)).toBeLessThan(wave(federation));
      expect(federation.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe(
        'SkipDryRunOnMissingResource=true',
      );
    });

    beforeAll(async () => {
      const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: federation.metadata.namespace } };
      const r = await kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(ns) });
      expect(r.code, r.stderr).toBe(0);
    });

    it('are on manifests the API server accepts (server-side dry run)', async () => {
      for (const o of [policy, federation]) {
        const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: JSON.stringify(o) });
        expect(r.code, `${o.kind} ${o.metadata.name}: ${r.stderr}`).toBe(0);
      }
    });
  });
});

describe('docs/gitops.md: Flux', () => {
  it('upgrades the CRDs with the HelmRelease, from the chart in this repository', async () => {
    const release = ofKind(flux, 'HelmRelease')[0]!;
    expect(release.spec.install.crds).toBe('CreateReplace');
    expect(release.spec.upgrade.crds).toBe('CreateReplace');
    const source = named(flux, 'GitRepository', release.spec.chart.spec.sourceRef.name);
    expect(source.metadata.namespace).toBe(release.spec.chart.spec.sourceRef.namespace);
    expect(existsSync(new URL(`${release.spec.chart.spec.chart}/Chart.yaml`, root))).toBe(true);
    const objects = await render(release.spec.values, {
      release: release.spec.releaseName,
      namespace: release.metadata.namespace,
    });
    expect(one(objects, 'Deployment').metadata.name).toBe('gitlab-aws-operator');
  });

  it('applies the operator, then the policies, then the federations (dependsOn)', () => {
    const ks = ofKind(flux, 'Kustomization');
    const dependsOn = (name: string) =>
      (named(flux, 'Kustomization', name).spec.dependsOn ?? []).map((d: { name: string }) => d.name);
    expect(ks.map((k) => k.metadata.name)).toEqual([
      'gitlab-aws-operator',
      'gitlab-aws-policies',
      'team-payments-aws',
    ]);
    expect(dependsOn('gitlab-aws-operator')).toEqual([]);
    expect(dependsOn('gitlab-aws-policies')).toEqual(['gitlab-aws-operator']);
    expect(dependsOn('team-payments-aws')).toEqual(['gitlab-aws-policies']);
    // The operator's Kustomization waits for the HelmRelease the page defines.
    const release = ofKind(flux, 'HelmRelease')[0]!;
    expect(named(flux, 'Kustomization', 'gitlab-aws-operator').spec.healthChecks).toEqual([
      {
        apiVersion: release.apiVersion,
        kind: 'HelmRelease',
        name: release.metadata.name,
        namespace: release.metadata.namespace,
      },
    ]);
  });

  it('has health expressions for both kinds with status, under their real apiVersion', () => {
    const team = named(flux, 'Kustomization', 'team-payments-aws');
    const exprs = team.spec.healthCheckExprs as {
      apiVersion: string;
      kind: string;
      current: string;
      failed: string;
      inProgress: string;
    }[];
    expect(exprs.map((e) => e.kind).sort()).toEqual(['GitLabAwsFederation', 'GitLabConnection']);
    for (const e of exprs) {
      expect(kinds.find((k) => k.kind === e.kind)?.apiVersions).toContain(e.apiVersion);
      expect(e.current).toContain("c.type == 'Ready' && c.status == 'True'");
      expect(e.failed).toContain("c.type == 'Stalled' && c.status == 'True'");
      expect(e.inProgress).toContain("c.type == 'Reconciling' && c.status == 'True'");
    }
  });
});
