// 2. Steady memory: the operator's RSS and V8 heap after it has been idle for
// a while after the work.
import { metricSum, type StartedOperator } from './operator.ts';
import { round, sleep } from './util.ts';

export async function measureSteadyMemory(operator: StartedOperator, settleSeconds: number) {
  await sleep(settleSeconds * 1000);
  const { last } = operator.sampler;
  const rssMb = round(last.rssMb);
  const rssSplit = { anonMb: round(last.rssAnonMb), fileMb: round(last.rssFileMb) };
  const mb = async (name: string) => round((await metricSum(operator.addrs.metrics, name)) / 1048576);
  const heap = {
    heapUsedMb: await mb('gitlab_aws_operator_nodejs_heap_size_used_bytes'),
    heapTotalMb: await mb('gitlab_aws_operator_nodejs_heap_size_total_bytes'),
    externalMb: await mb('gitlab_aws_operator_nodejs_external_memory_bytes'),
  };
  return { rssMb, rssSplit, heap };
}
