// 3. Apply → Ready of one more federation, one at a time, while the operator
// is idle: the latency a user sees, and the calls a single create makes.
import { percentile } from '../../testbed/chaos/retry-after.ts';
import { waitFor } from '../../testbed/processes.ts';
import type { CallLog } from './calls.ts';
import type { ReadyTracker } from './ready.ts';
import type { BenchResources } from './resources.ts';
import { log } from './util.ts';

export async function measureApplyToReady(ctx: {
  resources: BenchResources;
  feds: ReadyTracker;
  calls: CallLog;
  n: number;
  samples: number;
}) {
  const { resources, feds, calls, n, samples } = ctx;
  const mark = calls.mark();
  const latencies: number[] = [];
  for (let s = 0; s < samples; s++) {
    // Federation n + s names project bench/p<n+s>, which the testbed created for the samples.
    const body = resources.federation(n + s);
    body.metadata.name = `latency-${s}`;
    const t = Date.now();
    await resources.create('gitlabawsfederations', body);
    const key = `${body.metadata.namespace}/${body.metadata.name}`;
    const at = await waitFor('latency sample Ready', async () => feds.readyAt.get(key), {
      timeoutMs: 120_000,
      intervalMs: 5,
    }).catch(() => undefined);
    if (at === undefined) {
      log(`${key} was not Ready within 120 s; the figures count it as 120 s`);
      latencies.push(120_000);
    } else latencies.push(at - t);
  }
  const counts = calls.since(mark);
  const latency = {
    samples: latencies.length,
    p50Ms: percentile(latencies, 50) ?? Number.NaN,
    p95Ms: percentile(latencies, 95) ?? Number.NaN,
    maxMs: Math.max(...latencies),
  };
  log(`apply → Ready p50 ${latency.p50Ms} ms, p95 ${latency.p95Ms} ms`);
  return { latency, counts };
}
