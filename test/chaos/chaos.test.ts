// The chaos suite's short mode (issue #6; docs/chaos.md): 200 federations and
// 50 connections, 20 SIGKILLs of the operator, one kube-apiserver restart, 50 %
// IAM throttling, GitLab 429s with Retry-After, deletions and spec changes;
// then every resource must be Ready, the invariant checker must find nothing,
// Retry-After must have been honoured and a leader failover must happen within
// the lease duration. `npm run chaos` is the long mode (100 kills).
// It starts a control plane of its own: it restarts the API server.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ChaosReport, formatReport, runChaos, shortOptions } from '../../testbed/chaos/scenario.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const outDir = join(ROOT, '.tmp', 'chaos', `short-${new Date().toISOString().replace(/[:.]/g, '-')}`);
let report: ChaosReport;

beforeAll(async () => {
  report = await runChaos(shortOptions(outDir, (line) => console.log(line)));
  console.log(`Chaos suite (short mode), figures in ${join(outDir, 'chaos.json')}\n${formatReport(report)}`);
}, 290_000);

describe('chaos (short mode)', () => {
  it('ran the chaos it promises', () => {
    expect(report.kills).toBe(20);
    expect(report.apiServerRestarts).toBe(1);
    expect(report.deleted).toEqual({ federations: 20, connections: 5 });
    expect(report.changed).toEqual({ federations: 20, connections: 5 });
    expect(report.iam.throttlesInjected).toBeGreaterThan(0);
    expect(report.gitlab.injected429).toBeGreaterThan(0);
  });

  it('ends with every resource Ready, and nothing owned twice, orphaned or foreign touched', () => {
    expect(report.timeToAllReadyS).not.toBeNull();
    expect(report.violations).toEqual([]);
  });

  // GitLab's throttles (Rack::Attack) count per user across the instance: until
  // Retry-After has passed, every request with that token would get 429 again.
  it('honours GitLab’s Retry-After: nothing is sent to the instance before it has passed', () => {
    const s = report.gitlab.spacing;
    expect(s.measured).toBeGreaterThan(0);
    expect(s.early).toEqual([]);
  });

  it('honours GitLab’s Retry-After: a throttled request is not sent again before it has passed', () => {
    expect(report.gitlab.spacing.earlySameRequest).toEqual([]);
  });

  it('fails over to the standby within the lease duration (plus a retry period and slack)', () => {
    const f = report.failover;
    expect(f.newLeader).not.toBe('');
    expect(f.leaseHolderAfter).toBe(f.newLeader);
    expect(f.takeoverS).toBeLessThan(f.leaseDurationS + f.retryPeriodS + 2.5);
    expect(f.reconciledS).toBeLessThan(f.leaseDurationS + f.retryPeriodS + 10);
  });
});
