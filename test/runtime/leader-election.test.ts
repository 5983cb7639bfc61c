// Two replicas with Lease-based leader election: one reconciles, the other
// takes over when the first dies (within the lease duration) or steps down.
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { OperatorProcess } from '../../testbed/operator-process.ts';
import { createNamespace, kubeConfig } from '../harness/kube.ts';
import {
  metricValue,
  reconcileStarts,
  scrapeMetrics,
  startWidgetOperator,
  waitForReady,
  widgetApi,
} from './widgets.ts';

const api = widgetApi();
const LEASE = [
  '--leader-elect',
  '--leader-election-lease-duration',
  '6s',
  '--leader-election-renew-deadline',
  '4s',
  '--leader-election-retry-period',
  '500ms',
];
const acquired = (l: Record<string, unknown>) => l.msg === 'acquired the leader lease';
let ops: OperatorProcess[] = [];
afterEach(async () => {
  await Promise.all(ops.map((op) => op.stop('SIGKILL')));
  ops = [];
});

function startPair(ns: string): [OperatorProcess, OperatorProcess] {
  const args = [...LEASE, '--leader-election-namespace', ns];
  ops = [startWidgetOperator(ns, args), startWidgetOperator(ns, args)];
  return ops as [OperatorProcess, OperatorProcess];
}

async function leaderOf(pair: OperatorProcess[]): Promise<[OperatorProcess, OperatorProcess]> {
  await Promise.race(pair.map((op) => op.waitForLog(acquired)));
  const leader = pair.find((op) => op.lines.some(acquired))!;
  return [leader, pair.find((op) => op !== leader)!];
}

describe('leader election', () => {
  it('lets only the leader reconcile; a standby takes over within the lease duration after the leader is killed', async () => {
    const ns = await createNamespace('leader');
    const [leader, standby] = await leaderOf(startPair(ns));
    await api.create(ns, 'a', { value: 'a' });
    await waitForReady(ns, 'a');
    expect(reconcileStarts(leader, `${ns}/a`).length).toBeGreaterThan(0);
    expect(reconcileStarts(standby, `${ns}/a`)).toEqual([]);
    expect(standby.lines.some(acquired)).toBe(false);
    // The per-resource gauges come from the leader only (no doubled series, no doubled alerts);
    // leader_election_master_status says which replica leads.
    const ready = { kind: 'Widget', namespace: ns, name: 'a' };
    const [leaderMetrics, standbyMetrics] = [await scrapeMetrics(leader), await scrapeMetrics(standby)];
    expect(metricValue(leaderMetrics, 'gitlab_aws_operator_resource_ready', ready)).toBe(1);
    expect(standbyMetrics).not.toContain('gitlab_aws_operator_resource_ready{');
    expect(metricValue(leaderMetrics, 'leader_election_master_status')).toBe(1);
    expect(standbyMetrics).toMatch(/^leader_election_master_status\{name="[^"]+"\} 0$/m);

    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    const line = await standby.waitForLog(acquired, 15_000);
    const takeover = Date.parse(String(line.time)) - killedAt;
    // Not before the lease expired (6 s, less what had passed since the last renewal),
    // and within the lease duration plus a retry period and scheduling slack.
    expect(takeover).toBeGreaterThan(3000);
    expect(takeover).toBeLessThan(6000 + 500 + 2500);

    await api.create(ns, 'b', { value: 'b' });
    await waitForReady(ns, 'b');
    expect(reconcileStarts(standby, `${ns}/b`).length).toBeGreaterThan(0);
  });

  it('releases the lease on SIGTERM so that the standby takes over at once', async () => {
    const ns = await createNamespace('release');
    const [leader, standby] = await leaderOf(startPair(ns));
    const stoppedAt = Date.now();
    expect(await leader.stop('SIGTERM')).toBe(0);
    expect(leader.lines.some((l) => l.msg === 'released the leader lease')).toBe(true);
    const line = await standby.waitForLog(acquired, 10_000);
    // Far sooner than the 6 s lease would expire: the lease was released.
    expect(Date.parse(String(line.time)) - stoppedAt).toBeLessThan(4000);

    const lease = await kubeConfig()
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: ns, name: 'gitlab-aws-operator' });
    expect(lease.spec?.holderIdentity).toBe(String(line.identity));
    expect(lease.spec?.leaseTransitions).toBeGreaterThanOrEqual(1);
  });
});
