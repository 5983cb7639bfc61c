// The informer against an API server that restarts or goes silent.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/runtime/process/logger.ts';
import { type CustomObject, CustomResourceClient } from '../../src/runtime/transport/kube.ts';
import { Informer } from '../../src/runtime/watch/informer.ts';
import { type ControlPlane, startControlPlane } from '../../testbed/controlplane.ts';
import { startFreezingProxy } from '../../testbed/freezing-proxy.ts';
import { waitFor } from '../../testbed/processes.ts';
import { metricValue, scrapeMetrics, startWidgetOperator, waitForReady, widgetApi } from './widgets.ts';

const fixtures = fileURLToPath(new URL('../fixtures/crds', import.meta.url));
const widgetType = { group: 'fixtures.gitlab-aws.io', version: 'v1', plural: 'widgets', kind: 'Widget' };

// These tests restart or cut off the API server, so they get a control plane of their own.
let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane({ crdDirs: [fixtures] });
});
afterAll(async () => {
  await cp?.stop();
});

describe('informer', () => {
  it('keeps delivering events after the API server restarts, relisting on 410 Gone', async () => {
    const api = widgetApi(cp.kubeconfigPath);
    const op = startWidgetOperator('default', [], cp.kubeconfigPath);
    try {
      await api.create('default', 'before', { value: 'a' });
      await waitForReady('default', 'before', 'True', { kubeconfig: cp.kubeconfigPath });
      await cp.restartApiServer();
      await api.create('default', 'after', { value: 'b' });
      const after = await waitForReady('default', 'after', 'True', {
        kubeconfig: cp.kubeconfigPath,
        timeoutMs: 45_000,
      });
      expect(after.status?.value).toBe('b');
      await api.patchSpec('default', 'before', { value: 'a2' });
      await waitFor('update after restart reconciled', async () =>
        (await api.get('default', 'before')).status?.value === 'a2' ? true : undefined,
      );
      const metrics = await scrapeMetrics(op);
      expect(
        metricValue(metrics, 'gitlab_aws_operator_informer_restarts_total', { resource: 'widgets' }),
      ).toBeGreaterThan(0);
    } finally {
      await op.stop('SIGKILL');
    }
  });

  it('reconnects a watch stream that went silent (watchdog)', async () => {
    const proxy = await startFreezingProxy(Number(new URL(cp.server).port));
    const viaProxy = new KubeConfig();
    viaProxy.loadFromString(
      readFileSync(cp.kubeconfigPath, 'utf8').replace(cp.server, `https://127.0.0.1:${proxy.port}`),
    );
    const restarts: string[] = [];
    const seen = new Set<string>();
    const informer = new Informer<CustomObject>({
      kubeConfig: viaProxy,
      client: new CustomResourceClient(viaProxy, widgetType),
      namespace: 'default',
      log: createLogger('silent'),
      watchdogMs: 1500,
      watchTimeoutSeconds: 300,
      onRestart: (reason) => restarts.push(reason),
    });
    informer.on({ add: (o) => seen.add(o.metadata?.name ?? '') });
    informer.start();
    try {
      await waitFor('informer synced', async () => (informer.synced ? true : undefined));
      proxy.freeze();
      await widgetApi(cp.kubeconfigPath).create('default', 'while-silent', { value: 'x' });
      await waitFor(
        'object seen after the watchdog fired',
        async () => (seen.has('while-silent') ? true : undefined),
        {
          timeoutMs: 15_000,
        },
      );
      expect(restarts).toContain('watchdog');
    } finally {
      await informer.stop();
      await proxy.close();
    }
  });
});
