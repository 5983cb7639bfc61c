// SDK clients per region and per assumed role, made once and reused. Without
// spec.aws.assumeRoleArn the SDK's default credential chain is used (IRSA /
// EKS Pod Identity in a cluster); with it, STS AssumeRole credentials that are
// refreshed before they expire, one set per (region, role, namespace): each
// AssumeRole names the tenant in its ExternalId
// (`gitlab-aws-operator:<cluster-id>:<namespace>`) and session name
// (`gitlab-aws-<namespace>`), so the target account's trust policy can tell
// tenants apart and CloudTrail shows which namespace acted (DESIGN.md §2.5).
// Endpoints follow the SDK's own environment variables (AWS_ENDPOINT_URL_IAM,
// AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS, ...), which is how tests reach moto
// and the CodeConnections fake.
import { createHash } from 'node:crypto';
import type { AgentOptions } from 'node:https';
import { CodeStarConnectionsClient } from '@aws-sdk/client-codestar-connections';
import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Metrics } from '../../runtime/process/metrics.ts';
import { ExternalSystem } from '../../runtime/transport/external.ts';
import { proxyAgentOptions } from '../../runtime/transport/proxy.ts';
import { ConnectionsPort } from './connections.ts';
import { classifyAwsError, outcomeOfAwsError } from './errors.ts';
import { IamPort } from './iam.ts';

/**
 * The SDK's HTTP handler is bounded: a connection must be made within 5 s, and
 * a request with its whole response must be over within 30 s (the SDK then
 * retries it as a TimeoutError); by default it would wait for ever.
 */
export const AWS_TIMEOUTS = { connectionMs: 5_000, requestMs: 30_000 };

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };

/** The ExternalId the operator passes when it assumes a role for a resource of `namespace`. */
export function externalIdFor(clusterId: string, namespace: string): string {
  return `gitlab-aws-operator:${clusterId}:${namespace}`;
}

/**
 * The RoleSessionName for a resource of `namespace`: `gitlab-aws-<namespace>`,
 * in STS's alphabet ([\w+=,.@-]) and at most 64 characters; a longer one is cut
 * and ends in a hash of the namespace, so two long namespaces never share one.
 */
export function sessionNameFor(namespace: string): string {
  const full = `gitlab-aws-${namespace}`.replace(/[^\w+=,.@-]/g, '-');
  if (full.length <= 64) return full;
  const hash = createHash('sha256').update(namespace).digest('hex').slice(0, 8);
  return `${full.slice(0, 55)}-${hash}`;
}

export class AwsClients {
  private readonly defaultRegion: string | undefined;
  private readonly clusterId: string;
  private readonly iamSystem: ExternalSystem;
  private readonly stsSystem: ExternalSystem;
  private readonly connectionsSystem: ExternalSystem;
  private readonly iam = new Map<string, IamPort>();
  private readonly connections = new Map<string, ConnectionsPort>();
  private readonly sts = new Map<string, STSClient>();
  private readonly requestHandler: {
    connectionTimeout: number;
    requestTimeout: number;
    throwOnRequestTimeout: true;
    httpAgent: AgentOptions;
    httpsAgent: AgentOptions;
  };

  constructor(options: {
    defaultRegion?: string;
    clusterId: string;
    metrics: Metrics;
    /** Per AWS API; IAM's control plane is throttled per account, so stay well below it by default. */
    rateLimit?: { qps: number; burst: number };
    /** AWS_TIMEOUTS unless given. */
    timeouts?: { connectionMs: number; requestMs: number };
  }) {
    const timeouts = options.timeouts ?? AWS_TIMEOUTS;
    // The SDK's own agent settings (keep-alive, 50 sockets) plus the
    // environment's proxy (runtime/transport/proxy.ts). STS for IRSA's web
    // identity inherits this handler; the EKS Pod Identity agent and IMDS,
    // link-local, are read by the SDK's own handlers and never proxied.
    const agent = { keepAlive: true, maxSockets: 50, ...proxyAgentOptions() };
    this.requestHandler = {
      connectionTimeout: timeouts.connectionMs,
      requestTimeout: timeouts.requestMs,
      throwOnRequestTimeout: true,
      httpAgent: agent,
      httpsAgent: agent,
    };
    this.defaultRegion = options.defaultRegion;
    this.clusterId = options.clusterId;
    const limit = options.rateLimit ?? { qps: 10, burst: 20 };
    this.iamSystem = new ExternalSystem('aws-iam', options.metrics, limit);
    this.stsSystem = new ExternalSystem('aws-sts', options.metrics, limit);
    this.connectionsSystem = new ExternalSystem('aws-codeconnections', options.metrics, limit);
  }

  /**
   * IAM is global; the region only picks the endpoint partition and the STS endpoint.
   * `namespace` is the resource's: with an assumed role, each namespace has its own session.
   */
  iamFor(region: string | undefined, assumeRoleArn: string | undefined, namespace: string): IamPort {
    const key = clientKey(region, assumeRoleArn, namespace);
    let port = this.iam.get(key);
    if (!port) {
      const client = new IAMClient({
        region: region ?? this.defaultRegion ?? 'us-east-1',
        requestHandler: this.requestHandler,
        ...(assumeRoleArn ? { credentials: this.assumedCredentials(region, assumeRoleArn, namespace) } : {}),
      });
      port = new IamPort(client, this.iamSystem);
      this.iam.set(key, port);
    }
    return port;
  }

  /** CodeConnections (the codestar-connections API) in a Region, as the operator or an assumed role. */
  connectionsFor(
    region: string | undefined,
    assumeRoleArn: string | undefined,
    namespace: string,
  ): ConnectionsPort {
    const key = clientKey(region, assumeRoleArn, namespace);
    let port = this.connections.get(key);
    if (!port) {
      const resolved = region ?? this.defaultRegion ?? 'us-east-1';
      const credentials = assumeRoleArn
        ? { credentials: this.assumedCredentials(region, assumeRoleArn, namespace) }
        : {};
      port = new ConnectionsPort({
        region: resolved,
        client: new CodeStarConnectionsClient({
          region: resolved,
          requestHandler: this.requestHandler,
          ...credentials,
        }),
        createClient: new CodeStarConnectionsClient({
          region: resolved,
          maxAttempts: 1,
          requestHandler: this.requestHandler,
          ...credentials,
        }),
        system: this.connectionsSystem,
      });
      this.connections.set(key, port);
    }
    return port;
  }

  private stsClient(region: string | undefined): STSClient {
    const key = region ?? '';
    let client = this.sts.get(key);
    if (!client) {
      client = new STSClient({
        region: region ?? this.defaultRegion ?? 'us-east-1',
        requestHandler: this.requestHandler,
      });
      this.sts.set(key, client);
    }
    return client;
  }

  private assumedCredentials(
    region: string | undefined,
    roleArn: string,
    namespace: string,
  ): () => Promise<Credentials> {
    const request = {
      RoleArn: roleArn,
      RoleSessionName: sessionNameFor(namespace),
      ExternalId: externalIdFor(this.clusterId, namespace),
    };
    let cached: Credentials | undefined;
    return async () => {
      if (cached?.expiration && cached.expiration.getTime() - Date.now() > 5 * 60_000) return cached;
      try {
        const out = await this.stsSystem.call(
          'AssumeRole',
          () => this.stsClient(region).send(new AssumeRoleCommand(request)),
          outcomeOfAwsError,
        );
        const c = out.Credentials!;
        cached = {
          accessKeyId: c.AccessKeyId!,
          secretAccessKey: c.SecretAccessKey!,
          sessionToken: c.SessionToken,
          expiration: c.Expiration,
        };
        return cached;
      } catch (err) {
        throw classifyAwsError(
          err,
          'sts:AssumeRole',
          `role ${roleArn} (spec.aws.assumeRoleArn; ExternalId ${request.ExternalId})`,
        );
      }
    };
  }
}

/** Without an assumed role every namespace shares the operator's own credentials, so one client. */
const clientKey = (region: string | undefined, assumeRoleArn: string | undefined, namespace: string) =>
  `${region ?? ''}|${assumeRoleArn ?? ''}|${assumeRoleArn ? namespace : ''}`;
