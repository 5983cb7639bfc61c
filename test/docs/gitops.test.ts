// docs/gitops.md's Argo CD and Flux set-ups, held to the project: the
// operator's kinds are accepted by the API server as written (annotations
// included), the waves and dependsOn put the CRDs and the operator first,
// then the policies, then the federations; the chart is installed from its
// real path with values it renders; the CRDs are upgraded (ServerSideApply,
// crds: CreateReplace); and the Flux health expressions name the real kinds and,
// evaluated by the kube-apiserver's CEL (cel.ts) on statuses the runtime writes,
// give what kstatus gives, except before the first Ready condition.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { done, RetryableError, TerminalError, wait } from '../../src/runtime/reconcile/outcome.ts';
import { summarize } from '../../src/runtime/reconcile/summarize.ts';
import { computeKStatus } from '../gitops/kstatus.ts';
import { kubectl } from '../harness/kube.ts';
import { one, render } from '../helm/helm.ts';
import { type CelProbe, type CelResult, celProbe } from './cel.ts';

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

describe('docs/gitops.md: the healthCheckExprs, evaluated by a real CEL', () => {
  interface Exprs {
    apiVersion: string;
    kind: string;
    current: string;
    failed: string;
    inProgress: string;
  }
  const exprs = named(flux, 'Kustomization', 'team-payments-aws').spec.healthCheckExprs as Exprs[];
  const federationExprs = exprs.find((e) => e.kind === 'GitLabAwsFederation')!;
  // The stricter variant the page offers: its addition to `failed`.
  const stricter = /`(\|\| status[^`]+)`/.exec(
    section('Flux: the operator, the policies and the federations in order'),
  )![1]!;

  // Statuses as the operator's runtime writes them (summarize: the one place that turns
  // the end of a reconcile into conditions), for generation 1, the generation the API
  // server gives the probe objects.
  const at = (ended: Parameters<typeof summarize>[1], generation = 1) =>
    summarize({}, ended, { generation, resyncMs: 600_000 }).status;
  const ready = at({ outcome: done('Ready', 'role ready') });
  const cases: { name: string; status?: Record<string, unknown>; flux: string; kstatus: string }[] = [
    { name: 'Ready', status: ready, flux: 'Current', kstatus: 'Current' },
    {
      name: 'waiting (Propagating)',
      status: at({ outcome: wait(3000, 'Propagating', 'IAM') }),
      flux: 'InProgress',
      kstatus: 'InProgress',
    },
    {
      name: 'Stalled',
      status: at({ error: new TerminalError('RoleOwnedElsewhere', 'taken') }),
      flux: 'Failed',
      kstatus: 'Failed',
    },
    {
      name: 'retrying',
      status: at({ error: new RetryableError('AWSThrottled', 'slow down') }),
      flux: 'InProgress',
      kstatus: 'InProgress',
    },
    {
      name: 'Ready for an older generation',
      status: at({ outcome: done('Ready', 'ok') }, 0),
      flux: 'InProgress',
      kstatus: 'InProgress',
    },
    // Where they differ, as the page says: no condition yet.
    { name: 'a status without conditions', status: {}, flux: 'InProgress', kstatus: 'Current' },
  ];

  let probe: CelProbe;
  beforeAll(async () => {
    probe = await celProbe();
    return () => probe.close();
  }, 120_000);

  /** Flux's StatusEvaluator: the generation check, then inProgress, failed, current; else InProgress. */
  const fluxStatus = async (
    e: Pick<Exprs, 'current' | 'failed' | 'inProgress'>,
    status?: Record<string, unknown>,
  ) => {
    const observed = status?.observedGeneration;
    if (observed !== undefined && observed !== 1) return 'InProgress';
    const object = { metadata: { generation: 1 }, ...(status ? { status } : {}) };
    for (const [expr, verdict] of [
      [e.inProgress, 'InProgress'],
      [e.failed, 'Failed'],
      [e.current, 'Current'],
    ] as const) {
      const result: CelResult = await probe.evaluate(expr, object);
      if (typeof result === 'object') return `error: ${result.error}`;
      if (result) return verdict;
    }
    return 'InProgress';
  };

  it('agree with kstatus on what the operator writes, and wait for a Ready condition where kstatus does not', async () => {
    for (const e of exprs) {
      for (const c of cases) {
        expect(await fluxStatus(e, c.status), `${e.kind}: ${c.name}`).toBe(c.flux);
        expect(
          computeKStatus({ kind: e.kind, metadata: { generation: 1 }, status: c.status as never }).status,
          c.name,
        ).toBe(c.kstatus);
      }
    }
  });

  it('cannot be evaluated before the operator wrote a status (Flux keeps waiting)', async () => {
    expect(await fluxStatus(federationExprs, undefined)).toMatch(/^error: /);
  });

  it('the stricter variant fails a Ready federation whose refs are not protected', async () => {
    const strict = { ...federationExprs, failed: `${federationExprs.failed} ${stricter}` };
    const unprotected = {
      ...ready,
      conditions: [
        ...(ready.conditions ?? []),
        {
          type: 'RefsProtected',
          status: 'False',
          reason: 'UnprotectedRefs',
          message: 'main',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    };
    expect(await fluxStatus(strict, unprotected)).toBe('Failed');
    expect(await fluxStatus(strict, ready)).toBe('Current');
    expect(await fluxStatus(federationExprs, unprotected)).toBe('Current');
  });
});
