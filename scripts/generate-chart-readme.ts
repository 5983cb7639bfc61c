// Generates the chart's README.md (deploy/helm/gitlab-aws-operator/README.md,
// which helm packages into the chart and OCI registries show) from Chart.yaml
// and from values.yaml's own comments: one row per value, its default and the
// comment above it. Run: npm run generate:docs. test/release/chart-readme.test.ts
// fails when the committed file differs from this output.
//
// Comments are read with the `yaml` package's CST-backed document: a comment
// above a key is that key's description. `yaml` attaches the comment above the
// first key of a nested map to the map itself, and the file's header to the
// first key of the file; both are undone below.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parse,
  parseDocument,
  stringify,
  type YAMLMap,
} from 'yaml';

export const CHART_DIR = join(import.meta.dirname, '..', 'deploy', 'helm', 'gitlab-aws-operator');

export interface ValueRow {
  key: string;
  /** The default in YAML flow style; undefined for a map that is only a heading. */
  default: string | undefined;
  description: string;
}

interface ChartMeta {
  name: string;
  version: string;
  appVersion: string;
  description: string;
  home: string;
  kubeVersion?: string;
}

/** A key path segment: plain identifiers as they are, anything else quoted. */
function segment(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
}

/** `# a\n# b` as yaml gives it (" a\n b") to one line of prose. */
function prose(comment: string | null | undefined): string {
  return (comment ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

function flow(node: unknown): string {
  const value = isScalar(node) || isMap(node) || isSeq(node) ? (node as Node).toJSON() : node;
  if (typeof value === 'string') return JSON.stringify(value);
  return stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trim();
}

/**
 * A map is a group of settings to describe key by key when its keys are plain
 * identifiers; a map of labels or annotations (keys like kubernetes.io/x) is one value.
 */
function isSettingsMap(node: unknown): node is YAMLMap {
  return (
    isMap(node) &&
    node.items.length > 0 &&
    node.items.every((p) => isScalar(p.key) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p.key.value)))
  );
}

/** Every value of values.yaml in file order, with the comment above it. */
export function valueRows(valuesYaml: string): ValueRow[] {
  const doc = parseDocument(valuesYaml);
  if (doc.errors.length > 0) throw new Error(`values.yaml: ${doc.errors[0]!.message}`);
  const rows: ValueRow[] = [];
  const walk = (map: YAMLMap, prefix: string, inherited: string | null | undefined, top: boolean): void => {
    map.items.forEach((item, index) => {
      const pair = item as Pair<Node, Node>;
      const key = `${prefix}${segment(String((pair.key as { value?: unknown }).value ?? pair.key))}`;
      let comment = (pair.key as { commentBefore?: string | null }).commentBefore;
      if (index === 0) {
        comment = comment ?? inherited;
        // The file's header comment, above a blank line, is not about the first key.
        if (top && comment?.includes('\n\n')) comment = comment.slice(comment.lastIndexOf('\n\n') + 2);
      }
      const value = pair.value;
      if (isSettingsMap(value)) {
        // The comment yaml hangs on the map belongs to its first key.
        const description = prose(comment);
        if (description) rows.push({ key, default: undefined, description });
        walk(value, `${key}.`, value.commentBefore, false);
      } else {
        rows.push({ key, default: flow(value), description: prose(comment) });
      }
    });
  };
  if (!isMap(doc.contents)) throw new Error('values.yaml is not a map');
  walk(doc.contents, '', undefined, true);
  return rows;
}

/** The file header: the comment above the first blank line of values.yaml. */
function header(valuesYaml: string): string {
  const doc = parseDocument(valuesYaml);
  const first = isMap(doc.contents)
    ? (doc.contents.items[0]?.key as { commentBefore?: string } | undefined)
    : undefined;
  const comment = first?.commentBefore ?? '';
  return comment.includes('\n\n') ? prose(comment.slice(0, comment.indexOf('\n\n'))) : '';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Prose in a cell: <owner> is text, not an HTML tag that GitHub would hide. */
function proseCell(text: string): string {
  return cell(text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

export function renderChartReadme(chartDir: string = CHART_DIR): string {
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as ChartMeta;
  const valuesYaml = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
  const values = parse(valuesYaml) as { image: { repository: string } };
  const image = values.image.repository;
  // The release workflow pushes the chart next to the image, under charts/
  // (the image already holds <owner>/gitlab-aws-operator with the same tags).
  const chartRef = `oci://${image.slice(0, image.lastIndexOf('/'))}/charts/${chart.name}`;
  const repo = chart.home.replace(/\/+$/, '');
  const identity = `^${repo.replace(/[.]/g, '\\.')}/\\.github/workflows/release\\.yml@refs/tags/v`;
  const rows = valueRows(valuesYaml);
  const lines = [
    '<!-- Generated by scripts/generate-chart-readme.ts from Chart.yaml and values.yaml (npm run generate:docs); do not edit. -->',
    '',
    `# ${chart.name}`,
    '',
    chart.description,
    '',
    `Chart version \`${chart.version}\`, app version \`${chart.appVersion}\`${chart.kubeVersion ? `, Kubernetes \`${chart.kubeVersion}\`` : ''}. Source, issues and docs: ${repo}.`,
    '',
    '## Install',
    '',
    '```sh',
    `helm install ${chart.name} ${chartRef} --version ${chart.version} \\`,
    `  --namespace ${chart.name} --create-namespace`,
    '```',
    '',
    `The chart runs the image \`${image}:${chart.appVersion}\` (\`image.tag\` defaults to the chart's appVersion).`,
    'Both the image (linux/amd64 and linux/arm64, with SBOM and provenance attestations) and the chart are',
    "signed with cosign keyless signing by the project's release workflow; check them before installing:",
    '',
    '```sh',
    `cosign verify ${image}:${chart.appVersion} \\`,
    `  --certificate-identity-regexp '${identity}' \\`,
    "  --certificate-oidc-issuer 'https://token.actions.githubusercontent.com'",
    `cosign verify ${chartRef.slice('oci://'.length)}:${chart.version} \\`,
    `  --certificate-identity-regexp '${identity}' \\`,
    "  --certificate-oidc-issuer 'https://token.actions.githubusercontent.com'",
    '```',
    '',
    '**Upgrading:** `helm upgrade` never changes the CRDs in `crds/`; apply the new ones first',
    `(\`kubectl apply --server-side -f ${repo}/releases/download/v${chart.version}/crds.yaml\`).`,
    `Helm, Argo CD and Flux: ${repo}/blob/main/docs/upgrading.md.`,
    '',
    '## Values',
    '',
  ];
  const head = header(valuesYaml);
  if (head) lines.push(head, '');
  lines.push('| key | default | description |', '|---|---|---|');
  for (const r of rows) {
    lines.push(
      `| \`${cell(r.key)}\` | ${r.default === undefined ? '' : `\`${cell(r.default)}\``} | ${proseCell(r.description)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.main) {
  writeFileSync(join(CHART_DIR, 'README.md'), renderChartReadme());
  console.log('wrote deploy/helm/gitlab-aws-operator/README.md');
}
