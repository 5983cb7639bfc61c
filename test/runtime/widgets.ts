// Helpers for the runtime tests: the Widget fixture kind and its operator.
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import type { CustomObject } from '../../src/runtime/transport/kube.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import { kubeConfig } from '../harness/kube.ts';

export const WIDGET_OPERATOR = fileURLToPath(new URL('../fixtures/widget-operator.ts', import.meta.url));
const type = { group: 'fixtures.gitlab-aws.io', version: 'v1', plural: 'widgets' };

export type Widget = CustomObject<{ behavior?: string; sleepMs?: number; value?: string }>;

export function widgetApi(kubeconfig = inject('kubeconfig')) {
  const api = kubeConfig(kubeconfig).makeApiClient(CustomObjectsApi);
  return {
    create: (namespace: string, name: string, spec: Widget['spec']) =>
      api.createNamespacedCustomObject({
        ...type,
        namespace,
        body: { apiVersion: 'fixtures.gitlab-aws.io/v1', kind: 'Widget', metadata: { name }, spec },
      }) as Promise<Widget>,
    get: (namespace: string, name: string) =>
      api.getNamespacedCustomObject({ ...type, namespace, name }) as Promise<Widget>,
    patchSpec: (namespace: string, name: string, spec: Widget['spec']) =>
      api.patchNamespacedCustomObject(
        { ...type, namespace, name, body: { spec } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ) as Promise<Widget>,
    delete: (namespace: string, name: string) =>
      api.deleteNamespacedCustomObject({ ...type, namespace, name }),
  };
}

export function startWidgetOperator(
  namespace: string,
  extraArgs: string[] = [],
  kubeconfig = inject('kubeconfig'),
): OperatorProcess {
  return startOperatorProcess(WIDGET_OPERATOR, [
    ...runArgs(namespace, kubeconfig),
    '--log-level',
    'debug',
    ...extraArgs,
  ]);
}

/** Waits until the widget's Ready condition has this status for its current generation. */
export async function waitForReady(
  namespace: string,
  name: string,
  status: 'True' | 'False' = 'True',
  { kubeconfig = inject('kubeconfig'), timeoutMs = 30_000 } = {},
): Promise<Widget> {
  const api = widgetApi(kubeconfig);
  return waitFor(
    `${namespace}/${name} Ready=${status}`,
    async () => {
      const w = await api.get(namespace, name);
      const ready = getCondition(w.status?.conditions, 'Ready');
      return ready?.status === status && ready.observedGeneration === w.metadata?.generation ? w : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** The times (ms) at which the operator started reconciling `key`. */
export function reconcileStarts(op: OperatorProcess, key: string): number[] {
  return op.lines
    .filter((l) => l.fixture === 'start' && l.key === key)
    .map((l) => Date.parse(String(l.time)));
}

export async function scrapeMetrics(op: OperatorProcess): Promise<string> {
  const line = await op.waitForLog((l) => l.msg === 'serving metrics and probes');
  return (await fetch(`http://${line.metricsAddr}/metrics`)).text();
}

export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const total = text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => wanted.every((w) => l.includes(w)))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return total;
}
