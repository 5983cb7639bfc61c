// The chart's README.md is generated from Chart.yaml and values.yaml's comments
// (scripts/generate-chart-readme.ts): this fails when the committed file is
// stale. Fix: npm run generate:docs.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderChartReadme, valueRows } from '../../scripts/generate-chart-readme.ts';
import { removeOnExit } from '../../testbed/processes.ts';
import { CHART, helmOk } from '../helm/helm.ts';

const valuesYaml = readFileSync(join(CHART, 'values.yaml'), 'utf8');

describe("the chart's README.md", () => {
  it('is what scripts/generate-chart-readme.ts generates now (run npm run generate:docs)', () => {
    expect(readFileSync(join(CHART, 'README.md'), 'utf8')).toBe(renderChartReadme());
  });

  it('is the README helm shows for the chart', async () => {
    expect(await helmOk(['show', 'readme', CHART])).toContain(renderChartReadme().trim());
  });

  it('has a row for every value, with the comment above it as its description', () => {
    const rows = valueRows(valuesYaml);
    const values = parse(valuesYaml) as Record<string, unknown>;
    // Every top-level key, in file order.
    expect([...new Set(rows.map((r) => r.key.split('.')[0]))]).toEqual(Object.keys(values));
    const row = (key: string) => rows.find((r) => r.key === key);
    expect(row('replicaCount')).toEqual({
      key: 'replicaCount',
      default: '2',
      // Not the file's header, which is above a blank line.
      description:
        'Two replicas with Lease-based leader election: one reconciles, the other keeps a warm cache and takes over within the lease duration.',
    });
    expect(row('image.tag')).toEqual({
      key: 'image.tag',
      default: '""',
      description: "Defaults to the chart's appVersion.",
    });
    // The comment above the first key of a nested map is that key's.
    expect(row('rbac.create')?.description).toMatch(/^ClusterRole \+ ClusterRoleBinding/);
    expect(row('podDisruptionBudget.enabled')?.description).toBe('Rendered only when replicaCount > 1.');
    // A map of labels is one value, its keys are not settings.
    expect(row('networkPolicy.egress.dns.namespaceSelector.matchLabels')?.default).toBe(
      '{ kubernetes.io/metadata.name: kube-system }',
    );
    expect(row('networkPolicy.egress.dns.ports')?.default).toBe(
      '[ { port: 53, protocol: UDP }, { port: 53, protocol: TCP } ]',
    );
  });

  it('keeps a table row whole and shows <placeholders> as text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gao-chart-readme-'));
    removeOnExit(dir);
    cpSync(join(CHART, 'Chart.yaml'), join(dir, 'Chart.yaml'));
    writeFileSync(
      join(dir, 'values.yaml'),
      '# Header.\n\nimage:\n  # ghcr.io/<owner>/x | y\n  repository: "a|b"\n',
    );
    expect(renderChartReadme(dir)).toContain(
      '| `image.repository` | `"a\\|b"` | ghcr.io/&lt;owner&gt;/x \\| y |\n',
    );
  });
});
