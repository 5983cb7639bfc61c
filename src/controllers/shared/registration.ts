// What the product's controllers share beyond the runtime: one set of AWS
// clients per process (so --aws-qps limits the process, not each controller),
// one rate-limited channel per GitLab instance, and the Secret reader.
import { AwsClients } from '../../adapters/aws/clients.ts';
import type { Metrics } from '../../runtime/process/metrics.ts';
import type { RuntimeDeps } from '../../runtime/process/registration.ts';
import type { EgressPolicy } from '../../runtime/transport/egress.ts';
import { ExternalSystem } from '../../runtime/transport/external.ts';
import { SecretReader } from './secrets.ts';
import { Tenancy, type TenancyMode } from './tenancy.ts';

type RateLimit = { qps: number; burst: number };

/** The settings of the command line the controllers read (config.ts has them all). */
export interface ProductSettings {
  clusterId: string;
  awsRegion?: string;
  awsRateLimit: RateLimit;
  gitlabRateLimit: RateLimit;
  propagationDelayMs: number;
  maxTrustPolicySize: number;
  tenancy: TenancyMode;
  connectionPollIntervalMs: number;
  connectionPollMaxIntervalMs: number;
}

export interface ProductDeps {
  runtime: RuntimeDeps;
  settings: ProductSettings;
  aws: AwsClients;
  /** The rate-limited channel to one GitLab instance. */
  gitlabSystemFor: (url: string) => ExternalSystem;
  /**
   * Where connections for a GitLab URL named in a namespace may go: loopback
   * and private addresses only when allowed (link-local never).
   */
  egressFor: (namespace: string, url: string) => EgressPolicy;
  secrets: SecretReader;
  /** The GitLabAwsPolicies and namespaces, for the tenancy step of both kinds. */
  tenancy: Tenancy;
}

export function productDeps(runtime: RuntimeDeps, settings: ProductSettings): ProductDeps {
  const tenancy = new Tenancy({ mode: settings.tenancy, kubeConfig: runtime.kubeConfig, log: runtime.log });
  return {
    runtime,
    settings,
    aws: new AwsClients({
      defaultRegion: settings.awsRegion,
      clusterId: settings.clusterId,
      metrics: runtime.metrics,
      rateLimit: settings.awsRateLimit,
    }),
    gitlabSystemFor: perInstance(runtime.metrics, settings.gitlabRateLimit),
    // Loopback and private addresses only for a URL a policy of the namespace names
    // (or with --tenancy open); link-local never (runtime/transport/egress.ts).
    egressFor: (namespace, url) => ({ allowPrivate: tenancy.privateAddressAllowed(namespace, url) }),
    secrets: new SecretReader(runtime.kubeConfig),
    tenancy,
  };
}

/**
 * One rate limit per GitLab instance: one slow instance must not hold up
 * another. A Retry-After pauses one token's calls (ExternalSystem.gateFor), as
 * gitlab.com limits each user.
 */
function perInstance(metrics: Metrics, limit: RateLimit): (url: string) => ExternalSystem {
  const systems = new Map<string, ExternalSystem>();
  return (url) => {
    let system = systems.get(url);
    if (!system) {
      system = new ExternalSystem('gitlab', metrics, limit);
      systems.set(url, system);
    }
    return system;
  };
}
