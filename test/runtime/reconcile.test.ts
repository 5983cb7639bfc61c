// The controller runtime against a real API server, driven through the Widget
// fixture operator running as its own process.
import { afterEach, describe, expect, it } from 'vitest';
import { getCondition, kstatusViolations } from '../../src/runtime/reconcile/conditions.ts';
import type { OperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';
import {
  metricValue,
  reconcileStarts,
  scrapeMetrics,
  startWidgetOperator,
  waitForReady,
  widgetApi,
} from './widgets.ts';

const api = widgetApi();
let op: OperatorProcess | undefined;
afterEach(async () => {
  await op?.stop('SIGKILL');
  op = undefined;
});

describe('reconcile loop', () => {
  it('coalesces 100 quick updates of one object into far fewer reconciles, never two at once', async () => {
    const ns = await createNamespace('dedup');
    op = startWidgetOperator(ns);
    await api.create(ns, 'w', { value: 'v0', sleepMs: 150 });
    await waitForReady(ns, 'w');
    const before = reconcileStarts(op, `${ns}/w`).length;
    for (let i = 1; i <= 100; i++) await api.patchSpec(ns, 'w', { value: `v${i}` });
    const final = await waitFor(
      'last value reconciled',
      async () => {
        const w = await api.get(ns, 'w');
        return w.status?.value === 'v100' && getCondition(w.status?.conditions, 'Ready')?.status === 'True'
          ? w
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const reconciles = reconcileStarts(op, `${ns}/w`).length - before;
    expect(reconciles).toBeGreaterThanOrEqual(1);
    expect(reconciles).toBeLessThan(30);
    expect(op.lines.filter((l) => l.fixture === 'concurrent')).toEqual([]);
    expect(kstatusViolations(final)).toEqual([]);
  });

  it('backs off exponentially while a reconcile keeps failing, then recovers', async () => {
    const ns = await createNamespace('backoff');
    op = startWidgetOperator(ns);
    await api.create(ns, 'w', { behavior: 'fail' });
    await waitFor(
      'five attempts',
      async () => (reconcileStarts(op!, `${ns}/w`).length >= 5 ? true : undefined),
      {
        timeoutMs: 40_000,
      },
    );
    const starts = reconcileStarts(op, `${ns}/w`);
    const gaps = starts.slice(1, 5).map((t, i) => t - starts[i]!);
    // Scheduled 1 s, 2 s, 4 s, 8 s apart: never sooner (load can only make it later), and growing.
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(1000 * 2 ** i * 0.95);
      if (i > 0) expect(gap / gaps[i - 1]!).toBeGreaterThan(1.3);
    });

    const failing = await api.get(ns, 'w');
    expect(getCondition(failing.status?.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReconcileError',
    });
    expect(getCondition(failing.status?.conditions, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'ProgressingWithRetry',
    });
    expect(getCondition(failing.status?.conditions, 'Stalled')).toBeUndefined();
    expect(kstatusViolations(failing)).toEqual([]);

    await api.patchSpec(ns, 'w', { behavior: 'ok', value: 'fixed' });
    const fixed = await waitForReady(ns, 'w');
    expect(fixed.status?.value).toBe('fixed');
    expect(kstatusViolations(fixed)).toEqual([]);
  });

  it('stalls on a terminal error without retrying, until the spec changes', async () => {
    const ns = await createNamespace('terminal');
    op = startWidgetOperator(ns);
    await api.create(ns, 'w', { behavior: 'terminal' });
    const stalled = await waitForReady(ns, 'w', 'False');
    expect(getCondition(stalled.status?.conditions, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'FixtureInvalid',
      message: 'spec.behavior is terminal: change the spec to recover',
    });
    expect(getCondition(stalled.status?.conditions, 'Reconciling')).toBeUndefined();
    expect(stalled.status?.observedGeneration).toBe(stalled.metadata?.generation);
    expect(kstatusViolations(stalled)).toEqual([]);
    await new Promise((r) => setTimeout(r, 3000));
    expect(reconcileStarts(op, `${ns}/w`)).toHaveLength(1);

    await api.patchSpec(ns, 'w', { behavior: 'ok' });
    await waitForReady(ns, 'w');
    const events = await kubectl([
      'get',
      'events',
      '-n',
      ns,
      '-o',
      'jsonpath={range .items[*]}{.type}/{.reason}{"\\n"}{end}',
    ]);
    expect(events.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'Normal/Reconciled',
      'Warning/FixtureInvalid',
    ]);
  });

  it('reports waiting as Reconciling, not as a failure', async () => {
    const ns = await createNamespace('wait');
    op = startWidgetOperator(ns);
    await api.create(ns, 'w', { behavior: 'wait' });
    const waiting = await waitFor('waiting condition', async () => {
      const w = await api.get(ns, 'w');
      return getCondition(w.status?.conditions, 'Reconciling')?.status === 'True' ? w : undefined;
    });
    expect(getCondition(waiting.status?.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'FixtureWaiting',
    });
    expect(getCondition(waiting.status?.conditions, 'Stalled')).toBeUndefined();
    expect(kstatusViolations(waiting)).toEqual([]);
  });

  it('does not write an unchanged status on resync, and emits no event for it', async () => {
    const ns = await createNamespace('nowrite');
    op = startWidgetOperator(ns, ['--resync-interval', '500ms']);
    await api.create(ns, 'w', { value: 'same' });
    const ready = await waitForReady(ns, 'w');
    const resourceVersion = ready.metadata?.resourceVersion;
    const starts = reconcileStarts(op, `${ns}/w`).length;
    await waitFor(
      'three resyncs',
      async () => (reconcileStarts(op!, `${ns}/w`).length >= starts + 3 ? true : undefined),
      {
        timeoutMs: 10_000,
      },
    );
    const after = await api.get(ns, 'w');
    expect(after.metadata?.resourceVersion).toBe(resourceVersion);
    const metrics = await scrapeMetrics(op);
    expect(metricValue(metrics, 'gitlab_aws_operator_status_writes_total', { controller: 'widget' })).toBe(1);
    expect(
      metricValue(metrics, 'gitlab_aws_operator_reconcile_total', { result: 'done' }),
    ).toBeGreaterThanOrEqual(4);
    const events = await kubectl(['get', 'events', '-n', ns, '-o', 'jsonpath={.items[*].reason}']);
    expect(events.stdout.trim()).toBe('Reconciled');
  });

  it('reconciles a new resource before a backlog of resyncs', async () => {
    const ns = await createNamespace('priority');
    for (let i = 0; i < 20; i++) await api.create(ns, `old-${i}`, { sleepMs: 150 });
    // One worker and 20 × 150 ms of work per 1 s resync: resyncs are always waiting.
    op = startWidgetOperator(ns, ['--resync-interval', '1s', '--max-concurrent-reconciles', '1']);
    const starts = () => op!.lines.filter((l) => l.fixture === 'start');
    await waitFor('a backlog of resyncs', async () => (starts().length >= 30 ? true : undefined), {
      timeoutMs: 30_000,
    });
    const before = starts().length;
    await api.create(ns, 'new', {});
    await waitForReady(ns, 'new');
    const ahead = starts()
      .slice(before)
      .findIndex((l) => l.key === `${ns}/new`);
    // At most the reconciles that began before the operator saw the new widget
    // (each takes 150 ms); behind the backlog it would have waited for up to 20.
    expect(ahead).toBeGreaterThanOrEqual(0);
    expect(ahead).toBeLessThanOrEqual(2);
  });

  it('adds the cleanup finalizer before reconciling and removes it after cleanup on delete', async () => {
    const ns = await createNamespace('finalizer');
    op = startWidgetOperator(ns);
    await api.create(ns, 'w', { value: 'x' });
    const ready = await waitForReady(ns, 'w');
    expect(ready.metadata?.finalizers).toEqual(['gitlab-aws.io/cleanup']);
    await api.delete(ns, 'w');
    await op.waitForLog((l) => l.fixture === 'finalize' && l.key === `${ns}/w`);
    await waitFor('widget gone', async () => {
      const result = await kubectl(['get', 'widget', 'w', '-n', ns]);
      return result.code !== 0 && result.stderr.includes('NotFound') ? true : undefined;
    });
  });
});
