// Runs the real helm (built by testbed/setup/env.sh ensure_helm) against the
// chart in deploy/helm and the testbed's API server.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { helmPath } from '../../testbed/assets.ts';
import { removeOnExit } from '../../testbed/processes.ts';

export const CHART = fileURLToPath(new URL('../../deploy/helm/gitlab-aws-operator', import.meta.url));
export const REPO_CRDS = fileURLToPath(new URL('../../crds', import.meta.url));

// helm keeps its cache, config and data under $HOME by default; give it its own.
const home = mkdtempSync(join(tmpdir(), 'gao-helm-'));
removeOnExit(home);
const helmEnv = {
  ...process.env,
  HELM_CACHE_HOME: join(home, 'cache'),
  HELM_CONFIG_HOME: join(home, 'config'),
  HELM_DATA_HOME: join(home, 'data'),
};

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[], { kubeconfig }: { kubeconfig?: string } = {}): Promise<HelmResult> {
  const kube = ['--kubeconfig', kubeconfig ?? inject('kubeconfig')];
  return new Promise((resolve) => {
    execFile(
      helmPath(),
      [...args, ...kube],
      { env: helmEnv, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** helm, failing with its output when it does not exit 0. */
export async function helmOk(args: string[]): Promise<string> {
  const result = await helm(args);
  if (result.code !== 0) {
    throw new Error(`helm ${args.join(' ')} exited ${result.code}\n${result.stderr}\n${result.stdout}`);
  }
  return result.stdout;
}

/** A values file for `-f` (so that types survive, unlike --set). */
export function valuesFile(values: object): string {
  const file = join(home, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(values));
  return file;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `helm template` of the chart with these values, as objects. */
export async function render(
  values: object = {},
  { release = 'gao', namespace = 'gao-system', extra = [] as string[] } = {},
): Promise<K8sObject[]> {
  return parseManifests(
    await helmOk(['template', release, CHART, '--namespace', namespace, '-f', valuesFile(values), ...extra]),
  );
}

export function find(objects: K8sObject[], kind: string, name?: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

export function one(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = find(objects, kind, name);
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

export interface Container {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
  [key: string]: unknown;
}

export function operatorContainer(objects: K8sObject[]): Container {
  const deployment = one(objects, 'Deployment') as unknown as {
    spec: { template: { spec: { containers: Container[] } } };
  };
  return deployment.spec.template.spec.containers[0]!;
}

/** A kubeconfig for the testbed's API server (its server and CA) with another bearer token. */
export function kubeconfigWithToken(token: string, namespace: string): string {
  const admin = parse(readFileSync(inject('kubeconfig'), 'utf8')) as {
    clusters: { name: string; cluster: Record<string, string> }[];
  };
  const file = join(home, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: admin.clusters,
      users: [{ name: 'operator', user: { token } }],
      contexts: [
        { name: 'operator', context: { cluster: admin.clusters[0]!.name, user: 'operator', namespace } },
      ],
      'current-context': 'operator',
    }),
    { mode: 0o600 },
  );
  return file;
}
