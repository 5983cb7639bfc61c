// The operator's command line (DESIGN.md §4.1). Every flag has an environment
// variable; a flag wins. A bad flag or value is a UsageError: the CLI prints it
// and exits with code 2 before touching the cluster.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type FlagSpec, type FlagValue, parseFlags, UsageError, usage } from './runtime/process/flags.ts';
import { checkProxyEnv } from './runtime/transport/proxy.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const positive = (v: unknown) => ((v as number) > 0 ? undefined : 'must be greater than zero');
const address = (v: unknown) => (/^[^\s]*:\d{1,5}$/.test(v as string) ? undefined : 'use host:port or :port');

export const FLAGS: FlagSpec[] = [
  {
    name: 'kubeconfig',
    env: 'KUBECONFIG',
    type: 'string',
    help: 'kubeconfig file; in-cluster config, else ~/.kube/config, when unset',
  },
  {
    name: 'namespaces',
    env: 'WATCH_NAMESPACES',
    type: 'list',
    help: 'comma-separated namespaces to watch; all when unset',
  },
  {
    name: 'label-selector',
    env: 'LABEL_SELECTOR',
    type: 'string',
    help: 'only resources with these labels (sharding)',
  },
  {
    name: 'leader-elect',
    env: 'LEADER_ELECT',
    type: 'boolean',
    default: 'false',
    help: 'Lease-based leader election',
  },
  {
    name: 'leader-election-namespace',
    env: 'LEADER_ELECTION_NAMESPACE',
    type: 'string',
    help: "where the Lease lives; the pod's namespace when unset",
  },
  {
    name: 'leader-election-id',
    env: 'LEADER_ELECTION_ID',
    type: 'string',
    default: 'gitlab-aws-operator',
    help: 'name of the Lease; give each shard its own',
  },
  {
    name: 'leader-election-lease-duration',
    env: 'LEADER_ELECTION_LEASE_DURATION',
    type: 'duration',
    default: '15s',
    help: 'how long a standby waits before taking over a lease that is not renewed',
    check: positive,
  },
  {
    name: 'leader-election-renew-deadline',
    env: 'LEADER_ELECTION_RENEW_DEADLINE',
    type: 'duration',
    default: '10s',
    help: 'how long the leader keeps trying to renew before it gives up',
    check: positive,
  },
  {
    name: 'leader-election-retry-period',
    env: 'LEADER_ELECTION_RETRY_PERIOD',
    type: 'duration',
    default: '2s',
    help: 'how often the lease is renewed or tried',
    check: positive,
  },
  {
    name: 'metrics-addr',
    env: 'METRICS_ADDR',
    type: 'string',
    default: ':8080',
    help: 'Prometheus /metrics address',
    check: address,
  },
  {
    name: 'health-addr',
    env: 'HEALTH_ADDR',
    type: 'string',
    default: ':8081',
    help: '/healthz and /readyz address',
    check: address,
  },
  {
    name: 'max-concurrent-reconciles',
    env: 'MAX_CONCURRENT_RECONCILES',
    type: 'integer',
    default: '4',
    help: 'concurrent reconciles per controller',
    check: positive,
  },
  {
    name: 'optimizing-jit',
    env: 'OPTIMIZING_JIT',
    type: 'boolean',
    default: 'false',
    help: "V8's optimizing compilers (Maglev, TurboFan): less CPU under load, about 10 MB more memory",
  },
  {
    name: 'resync-interval',
    env: 'RESYNC_INTERVAL',
    type: 'duration',
    default: '10m',
    help: 'drift check period (jittered by 10%)',
    check: positive,
  },
  {
    name: 'aws-qps',
    env: 'AWS_QPS',
    type: 'number',
    default: '10',
    help: 'client-side limit on calls to each AWS API (IAM, STS, CodeConnections), per second',
    check: positive,
  },
  {
    name: 'aws-burst',
    env: 'AWS_BURST',
    type: 'integer',
    default: '20',
    help: 'calls to each AWS API allowed at once above --aws-qps',
    check: positive,
  },
  {
    name: 'gitlab-qps',
    env: 'GITLAB_QPS',
    type: 'number',
    default: '10',
    help: 'client-side limit on calls to each GitLab instance, per second (gitlab.com allows 2,000 a minute per user)',
    check: positive,
  },
  {
    name: 'gitlab-burst',
    env: 'GITLAB_BURST',
    type: 'integer',
    default: '20',
    help: 'calls to each GitLab instance allowed at once above --gitlab-qps',
    check: positive,
  },
  {
    name: 'propagation-delay',
    env: 'PROPAGATION_DELAY',
    type: 'duration',
    default: '10s',
    help: 'wait after IAM trust changes before Ready',
  },
  {
    name: 'tenancy',
    env: 'TENANCY',
    type: 'string',
    default: 'restricted',
    help: 'restricted: every resource must satisfy the GitLabAwsPolicies that select its namespace, and a namespace no policy selects may create nothing; open: no limits (a single-team cluster). See docs/tenancy.md',
    check: (v) => (v === 'restricted' || v === 'open' ? undefined : 'must be restricted or open'),
  },
  {
    name: 'max-trust-policy-size',
    env: 'MAX_TRUST_POLICY_SIZE',
    type: 'integer',
    default: '2048',
    help: "IAM's trust-policy quota in the accounts the operator manages (2048 by default, 4096 at most after a quota request); a larger trust policy is refused before it reaches IAM (TrustPolicyTooLarge)",
    check: (n) =>
      (n as number) >= 256 && (n as number) <= 4096
        ? undefined
        : 'must be between 256 and 4096 (IAM allows at most 4,096 characters)',
  },
  {
    name: 'connection-poll-interval',
    env: 'CONNECTION_POLL_INTERVAL',
    type: 'duration',
    default: '30s',
    help: 'first re-check of something that waits for a person (a PENDING connection or host, refs to be protected); doubles from there',
    check: positive,
  },
  {
    name: 'connection-poll-max-interval',
    env: 'CONNECTION_POLL_MAX_INTERVAL',
    type: 'duration',
    default: '5m',
    help: 'longest interval between re-checks of a pending connection or host',
    check: positive,
  },
  {
    name: 'shutdown-timeout',
    env: 'SHUTDOWN_TIMEOUT',
    type: 'duration',
    default: '25s',
    help: 'how long SIGTERM waits for in-flight reconciles',
    check: positive,
  },
  {
    name: 'cluster-id',
    env: 'CLUSTER_ID',
    type: 'string',
    help: "written into owner tags, markers and AssumeRole's ExternalId; the kube-system namespace's UID when unset",
    // It goes into IAM tag values and STS's ExternalId: the characters both accept.
    check: (v) =>
      /^[\w+=,.@:/-]{1,128}$/.test(v as string) ? undefined : 'use at most 128 letters, digits and _+=,.@:/-',
  },
  {
    name: 'aws-region',
    env: 'AWS_REGION',
    type: 'string',
    help: 'default region when a resource names none; SDK default when unset',
  },
  {
    name: 'log-level',
    env: 'LOG_LEVEL',
    type: 'string',
    default: 'info',
    help: `pino level (${LOG_LEVELS.join(', ')})`,
    check: (v) => (LOG_LEVELS.includes(v as string) ? undefined : `use one of ${LOG_LEVELS.join(', ')}`),
  },
];

export const COMMANDS = ['run', 'help', 'version'] as const;
export type Command = (typeof COMMANDS)[number];

export interface RateLimit {
  qps: number;
  burst: number;
}

export interface OperatorConfig {
  kubeconfig?: string;
  namespaces: string[];
  labelSelector?: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  metricsAddr: string;
  healthAddr: string;
  maxConcurrentReconciles: number;
  optimizingJit: boolean;
  resyncIntervalMs: number;
  propagationDelayMs: number;
  maxTrustPolicySize: number;
  tenancy: 'restricted' | 'open';
  awsRateLimit: RateLimit;
  gitlabRateLimit: RateLimit;
  connectionPollIntervalMs: number;
  connectionPollMaxIntervalMs: number;
  shutdownTimeoutMs: number;
  clusterId: string;
  awsRegion?: string;
  logLevel: string;
  identity: string;
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function podNamespace(env: Record<string, string | undefined>): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  if (existsSync(SA_NAMESPACE_FILE)) return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  return 'default';
}

export function parseCommandLine(
  argv: string[],
  env: Record<string, string | undefined>,
): { command: Command; args: string[]; config: OperatorConfig } {
  const { values: v, positionals } = parseFlags(FLAGS, argv, env);
  const [command = 'help', ...args] = positionals;
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`unknown command "${command}"; use one of: ${COMMANDS.join(', ')}`);
  }
  const str = (x: FlagValue) => (typeof x === 'string' && x !== '' ? x : undefined);
  const config: OperatorConfig = {
    kubeconfig: str(v.kubeconfig),
    namespaces: (v.namespaces as string[] | undefined) ?? [],
    labelSelector: str(v['label-selector']),
    leaderElect: v['leader-elect'] as boolean,
    leaderElectionNamespace: str(v['leader-election-namespace']) ?? podNamespace(env),
    leaderElectionId: v['leader-election-id'] as string,
    leaseDurationMs: v['leader-election-lease-duration'] as number,
    renewDeadlineMs: v['leader-election-renew-deadline'] as number,
    retryPeriodMs: v['leader-election-retry-period'] as number,
    metricsAddr: v['metrics-addr'] as string,
    healthAddr: v['health-addr'] as string,
    maxConcurrentReconciles: v['max-concurrent-reconciles'] as number,
    optimizingJit: v['optimizing-jit'] as boolean,
    resyncIntervalMs: v['resync-interval'] as number,
    propagationDelayMs: v['propagation-delay'] as number,
    maxTrustPolicySize: v['max-trust-policy-size'] as number,
    tenancy: v.tenancy as 'restricted' | 'open',
    awsRateLimit: { qps: v['aws-qps'] as number, burst: v['aws-burst'] as number },
    gitlabRateLimit: { qps: v['gitlab-qps'] as number, burst: v['gitlab-burst'] as number },
    connectionPollIntervalMs: v['connection-poll-interval'] as number,
    connectionPollMaxIntervalMs: v['connection-poll-max-interval'] as number,
    shutdownTimeoutMs: v['shutdown-timeout'] as number,
    // Empty: the kube-system namespace's UID, read at start (operator.ts resolveClusterId).
    clusterId: str(v['cluster-id']) ?? '',
    awsRegion: str(v['aws-region']),
    logLevel: v['log-level'] as string,
    identity: `${env.POD_NAME ?? hostname()}_${process.pid}`,
  };
  checkProxyEnv(env);
  if (
    config.leaderElect &&
    !(config.leaseDurationMs > config.renewDeadlineMs && config.renewDeadlineMs > config.retryPeriodMs)
  ) {
    throw new UsageError('leader election needs lease-duration > renew-deadline > retry-period');
  }
  return { command: command as Command, args, config };
}

export function helpText(): string {
  return `gitlab-aws-operator: keeps GitLab CI/CD and AWS wired together, declared as Kubernetes resources.

Usage: gitlab-aws-operator <command> [flags]

Commands:
  run           start the controllers (the container's command)
  check-access  would a GitLab job be allowed to assume a role, or does AWS take its access key? (check-access --help)
  version       print the version (also --version after any command)
  help          print this help (also -h or --help after any command; help check-access for its own)

As a kubectl plugin (kubectl-gitlab_aws on PATH): kubectl gitlab-aws check-access NAME -n NAMESPACE [-o json]

Flags (each also read from the environment variable in brackets; a flag wins):
${usage(FLAGS)}
`;
}
