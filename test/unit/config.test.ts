import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/config.ts';
import { parseDuration } from '../../src/runtime/process/duration.ts';

describe('command line', () => {
  it('has the documented defaults', () => {
    const { command, config } = parseCommandLine(['run'], {});
    expect(command).toBe('run');
    expect(config).toMatchObject({
      namespaces: [],
      leaderElect: false,
      leaderElectionNamespace: 'default',
      metricsAddr: ':8080',
      healthAddr: ':8081',
      maxConcurrentReconciles: 4,
      optimizingJit: false,
      resyncIntervalMs: 600_000,
      propagationDelayMs: 10_000,
      // Empty: the kube-system namespace's UID, read at start (operator.ts).
      clusterId: '',
      // Every namespace held to its GitLabAwsPolicies unless the cluster opts out.
      tenancy: 'restricted',
      logLevel: 'info',
      connectionPollIntervalMs: 30_000,
      connectionPollMaxIntervalMs: 300_000,
      awsRateLimit: { qps: 10, burst: 20 },
      gitlabRateLimit: { qps: 10, burst: 20 },
    });
  });

  it('reads every flag from its environment variable, and a flag wins', () => {
    const env = {
      WATCH_NAMESPACES: 'a, b',
      LABEL_SELECTOR: 'shard=1',
      LEADER_ELECT: 'true',
      LEADER_ELECTION_NAMESPACE: 'ops',
      METRICS_ADDR: ':9090',
      HEALTH_ADDR: '127.0.0.1:9091',
      MAX_CONCURRENT_RECONCILES: '8',
      OPTIMIZING_JIT: 'true',
      RESYNC_INTERVAL: '5m',
      PROPAGATION_DELAY: '0s',
      CLUSTER_ID: 'prod-eu',
      AWS_REGION: 'eu-west-1',
      LOG_LEVEL: 'debug',
      KUBECONFIG: '/k',
      CONNECTION_POLL_INTERVAL: '5s',
      CONNECTION_POLL_MAX_INTERVAL: '1m',
      AWS_QPS: '2.5',
      AWS_BURST: '5',
      GITLAB_QPS: '30',
      GITLAB_BURST: '60',
    };
    const { config } = parseCommandLine(['run', '--resync-interval=1h', '--namespaces', 'c'], env);
    expect(config).toMatchObject({
      kubeconfig: '/k',
      namespaces: ['c'],
      labelSelector: 'shard=1',
      leaderElect: true,
      leaderElectionNamespace: 'ops',
      metricsAddr: ':9090',
      healthAddr: '127.0.0.1:9091',
      maxConcurrentReconciles: 8,
      optimizingJit: true,
      resyncIntervalMs: 3_600_000,
      propagationDelayMs: 0,
      clusterId: 'prod-eu',
      awsRegion: 'eu-west-1',
      logLevel: 'debug',
      connectionPollIntervalMs: 5000,
      connectionPollMaxIntervalMs: 60_000,
      awsRateLimit: { qps: 2.5, burst: 5 },
      gitlabRateLimit: { qps: 30, burst: 60 },
    });
    expect(parseCommandLine(['run', '--leader-elect=false'], env).config.leaderElect).toBe(false);
  });

  it.each([
    [['run', '--bogus'], 'unknown flag --bogus'],
    [
      ['run', '--resync-interval', 'soon'],
      'invalid value "soon" for --resync-interval: use a duration such as 30s, 5m or 1h',
    ],
    [
      ['run', '--max-concurrent-reconciles', '0'],
      'invalid value for --max-concurrent-reconciles: must be greater than zero',
    ],
    [['run', '--aws-qps', 'fast'], 'invalid value "fast" for --aws-qps: use a number'],
    [['run', '--tenancy', 'off'], 'invalid value for --tenancy: must be restricted or open'],
    [['run', '--gitlab-qps', '0'], 'invalid value for --gitlab-qps: must be greater than zero'],
    [['run', '--metrics-addr', 'localhost'], 'invalid value for --metrics-addr: use host:port or :port'],
    [
      ['run', '--log-level', 'loud'],
      'invalid value for --log-level: use one of fatal, error, warn, info, debug, trace, silent',
    ],
    [['deploy'], 'unknown command "deploy"; use one of: run, help, version'],
    [['run', '--namespaces'], 'flag --namespaces needs a value'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv, {})).toThrow(message);
  });

  it('refuses a bad value from the environment and names the variable', () => {
    expect(() => parseCommandLine(['run'], { LEADER_ELECT: 'maybe' })).toThrow(
      'invalid value "maybe" for LEADER_ELECT: use true or false',
    );
  });

  it('refuses leader-election timings that cannot work', () => {
    expect(() =>
      parseCommandLine(['run', '--leader-elect', '--leader-election-renew-deadline', '20s'], {}),
    ).toThrow('leader election needs lease-duration > renew-deadline > retry-period');
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['30d', 2_592_000_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['', '10', 'm', '5 minutes', '-1s'])('refuses %j', (text) =>
    expect(() => parseDuration(text)).toThrow(),
  );
});
