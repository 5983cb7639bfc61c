// Probes, metrics and graceful shutdown of an operator process.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../testbed/processes.ts';
import { createNamespace } from '../harness/kube.ts';
import { metricValue, scrapeMetrics, startWidgetOperator, waitForReady, widgetApi } from './widgets.ts';

const api = widgetApi();

describe('operator process', () => {
  it('serves /healthz, /readyz once synced, and /metrics', async () => {
    const ns = await createNamespace('probes');
    const op = startWidgetOperator(ns);
    try {
      const line = await op.waitForLog((l) => l.msg === 'serving metrics and probes');
      const health = `http://${line.healthAddr}`;
      expect((await fetch(`${health}/healthz`)).status).toBe(200);
      await waitFor('readyz 200', async () =>
        (await fetch(`${health}/readyz`)).status === 200 ? true : undefined,
      );
      await api.create(ns, 'w', { value: 'x' });
      await waitForReady(ns, 'w');
      const metrics = await scrapeMetrics(op);
      expect(
        metricValue(metrics, 'gitlab_aws_operator_reconcile_total', { controller: 'widget', result: 'done' }),
      ).toBeGreaterThanOrEqual(1);
      expect(metrics).toContain('gitlab_aws_operator_reconcile_duration_seconds_bucket');
      expect(metrics).toContain('gitlab_aws_operator_workqueue_depth');
      expect(metrics).toContain('gitlab_aws_operator_process_resident_memory_bytes');
    } finally {
      await op.stop('SIGKILL');
    }
  });

  it('finishes the reconcile in flight on SIGTERM and exits with code 0', async () => {
    const ns = await createNamespace('sigterm');
    const op = startWidgetOperator(ns);
    await api.create(ns, 'slow', { value: 'done-before-exit', sleepMs: 3000 });
    await op.waitForLog((l) => l.fixture === 'start' && l.key === `${ns}/slow`);
    const code = await op.stop('SIGTERM');
    expect(code).toBe(0);
    const msgs = op.lines.map((l) => String(l.fixture ?? l.msg));
    expect(msgs.indexOf('end')).toBeGreaterThan(
      msgs.indexOf('shutting down: finishing in-flight reconciles'),
    );
    expect(msgs.indexOf('shut down')).toBeGreaterThan(msgs.indexOf('end'));
    // The reconcile that was in flight wrote its status before the process exited.
    const w = await api.get(ns, 'slow');
    expect(w.status?.value).toBe('done-before-exit');
  });
});
