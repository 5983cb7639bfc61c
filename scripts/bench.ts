// `npm run bench` (#6): the operator at scale, measured, never asserted. Starts
// the testbed (etcd + kube-apiserver, moto behind the IAM proxy, the GitLab and
// CodeConnections fakes), applies N GitLabAwsFederations and N GitLabConnections,
// then runs the operator as its own process and measures:
//   1. cold start: time to informers synced and to every resource Ready, with
//      peak RSS, CPU seconds and the calls made per resource; and, since the
//      testbed shares the machine, how busy the machine was, the CPU of each
//      part of the testbed, and the requests the API server answered;
//   2. steady RSS after the work is done;
//   3. apply → Ready latency of one more federation (p50 / p95 over --samples);
//   4. one steady-state resync: the operator restarted against unchanged AWS and
//      GitLab reconciles every resource once; reads per resource, and writes
//      (which must be 0);
//   5. keys (--keys K, default 100; 0 skips it): K federations of method
//      IAMUserAccessKeys, their first key, a revocation (rotate-now) of each
//      and, with --interval-rotation, a rotation on the interval: times, calls
//      per key and per rotation, and the keys each user has at the end.
// Calls are counted where they arrive (the IAM proxy, the fakes), not by the
// operator. A person authorises each connection in the CodeConnections fake as
// soon as it exists (PENDING → AVAILABLE); the operator sees it at its next poll
// (--connection-poll-interval 1s here).
//
//   npm run bench [-- --n 1000] [--samples 20] [--keys 100] [--interval-rotation] [--out file.json] [--node-options '<flags>'] [-- <operator flags>]
//
// Operator flags after a second `--` are appended (a later flag wins), e.g.
// `npm run bench -- --n 1000 -- --aws-qps 10 --gitlab-qps 10` for the defaults.
// NODE_OPTIONS are the Helm chart's (its `nodeOptions` value) unless
// --node-options is given.
//
// The pieces are in scripts/bench/, one file for each step and for what the
// steps share.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { measureApplyToReady } from './bench/apply-to-ready.ts';
import { CallLog } from './bench/calls.ts';
import { measureColdStart } from './bench/cold-start.ts';
import { measureKeys } from './bench/keys.ts';
import { OperatorLauncher, statusWrites } from './bench/operator.ts';
import { NAMESPACES, parseArgs, ROOT } from './bench/options.ts';
import { ReadyTracker } from './bench/ready.ts';
import { report } from './bench/report.ts';
import { BenchResources } from './bench/resources.ts';
import { measureResync } from './bench/resync.ts';
import { measureSteadyMemory } from './bench/steady-memory.ts';
import { authoriseConnections, type Running, startTestbed, stopAll } from './bench/testbed.ts';
import { log } from './bench/util.ts';

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const { n, samples, keys } = opts;
  process.chdir(ROOT);
  log('building dist/ (npm run build)');
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.ts')], { stdio: 'inherit' });
  log(`N = ${n} federations + ${n} connections in ${NAMESPACES} namespaces; starting the testbed`);

  const running: Running = { trackers: [] };
  process.on('SIGINT', () => void stopAll(running).then(() => process.exit(130)));
  try {
    const bed = await startTestbed(running, { n, projects: n + samples, keyProjects: keys });
    const kc = new KubeConfig();
    kc.loadFromFile(bed.cp.kubeconfigPath);

    // N federations and N connections, all applied before the operator starts.
    const resources = new BenchResources(kc, bed.gitlab.url);
    await resources.createNamespaces(bed.token);
    await resources.applyAll(n);

    // Watch for Ready as a user would; a person authorises each connection as soon as it exists.
    const feds = new ReadyTracker(kc, 'gitlabawsfederations');
    const conns = new ReadyTracker(kc, 'gitlabconnections');
    running.trackers.push(feds, conns);
    await Promise.all([feds.start(), conns.start()]);
    authoriseConnections(running, bed.cc);

    const calls = new CallLog(bed.proxy, bed.gitlab, bed.cc);
    const launcher = new OperatorLauncher(bed, opts);
    const nodeOptions = opts.nodeOptions;

    const cold = await measureColdStart({ bed, running, launcher, nodeOptions, calls, feds, conns, n });
    const steady = await measureSteadyMemory(cold.operator, opts.settle);
    const applyToReady = await measureApplyToReady({ resources, feds, calls, n, samples });
    const cpuSecondsUntilRestart = cold.operator.sampler.last.cpuSeconds;
    cold.operator.sampler.stop();
    const statusWritesBeforeRestart = await statusWrites(cold.operator);

    // Restart the operator and let it reconcile everything once.
    const { resync, operator } = await measureResync({
      first: cold.operator,
      launcher,
      running,
      calls,
      federations: n + samples,
      connections: n,
    });

    // K federations of method IAMUserAccessKeys: their first key, and rotations.
    const keyFigures =
      keys > 0
        ? await measureKeys({
            bed,
            kc,
            running,
            resources,
            feds,
            calls,
            operator,
            k: keys,
            intervalRotation: opts.intervalRotation,
          })
        : undefined;

    report(opts, launcher.args, {
      cold,
      steady,
      applyToReady,
      cpuSecondsUntilRestart,
      statusWritesBeforeRestart,
      resync,
      keys: keyFigures,
    });
  } finally {
    await stopAll(running);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
