// The CodeConnections calls the GitLabConnection controller makes, as a narrow
// port over @aws-sdk/client-codestar-connections: domain types in and out,
// not-found as undefined/false, every other error classified (errors.ts). One
// ExternalSystem counts and rate-limits them all.
import {
  type CodeStarConnectionsClient,
  CreateConnectionCommand,
  CreateHostCommand,
  DeleteConnectionCommand,
  DeleteHostCommand,
  GetConnectionCommand,
  ListConnectionsCommand,
  ListHostsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateHostCommand,
} from '@aws-sdk/client-codestar-connections';
import type { ExternalSystem } from '../../runtime/transport/external.ts';
import { classifyAwsError, isAwsError, outcomeOfAwsError } from './errors.ts';
import { fromTags, type Tags, toTags } from './tags.ts';

export type { Tags };

export interface Connection {
  arn: string;
  name: string;
  providerType: string | undefined;
  /** PENDING | AVAILABLE | ERROR. */
  status: string;
  hostArn: string | undefined;
}

export interface VpcConfig {
  vpcId: string;
  subnetIds: string[];
  securityGroupIds: string[];
  tlsCertificate?: string;
}

export interface Host {
  arn: string;
  name: string;
  providerType: string | undefined;
  endpoint: string;
  /** Free-form in the API: PENDING, AVAILABLE, ERROR, VPC_CONFIG_INITIALIZING, ... */
  status: string;
  /** Only ListHosts returns it (GetHost does not). */
  statusMessage: string | undefined;
  vpc: VpcConfig | undefined;
}

// --- ARNs ---
// AWS renamed CodeStar Connections to CodeConnections in 2024: resources made
// since carry `codeconnections` ARNs, older ones `codestar-connections`, and both
// name the same resource. Every ARN the operator reads or compares goes through these.

export type ConnectionsService = 'codestar-connections' | 'codeconnections';

export interface ConnectionsArn {
  partition: string;
  service: ConnectionsService;
  region: string;
  account: string;
  kind: 'connection' | 'host';
  id: string;
}

const ARN_RE =
  /^arn:(aws(?:-[a-z]+)*):(codestar-connections|codeconnections):([a-z0-9-]+):([0-9]{12}):(connection|host)\/(.+)$/;

export function parseConnectionsArn(arn: string | undefined): ConnectionsArn | undefined {
  const m = arn ? ARN_RE.exec(arn) : null;
  if (!m) return undefined;
  return {
    partition: m[1]!,
    service: m[2] as ConnectionsService,
    region: m[3]!,
    account: m[4]!,
    kind: m[5] as 'connection' | 'host',
    id: m[6]!,
  };
}

/** The same ARN under another service prefix; anything unparseable is returned as it is. */
export function withService(arn: string, service: ConnectionsService): string {
  const a = parseConnectionsArn(arn);
  return a ? `arn:${a.partition}:${service}:${a.region}:${a.account}:${a.kind}/${a.id}` : arn;
}

/** Whether two ARNs name the same connection or host, whichever prefix each carries. */
export function sameArn(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  return withService(a, 'codestar-connections') === withService(b, 'codestar-connections');
}

/** The Region an ARN was made in (connections are global, but their Region controls updates). */
export function regionOf(arn: string | undefined): string | undefined {
  return parseConnectionsArn(arn)?.region;
}

// --- the port ---

const SERVICE: ConnectionsService = 'codestar-connections';
// A runaway NextToken must not turn into an endless loop (250 connections fit in 3 pages).
const MAX_PAGES = 50;

// The 2019-12-01 model (this client) allows only codestar-connections host ARNs in
// HostArn members; the resource is the same under either prefix (API-FACTS D,
// pitfall 11). Connection and resource ARNs accept any prefix and are sent as read.
const hostArnForClient = (arn: string) => withService(arn, SERVICE);

export class ConnectionsPort {
  /** The Region this port's clients sign for (where hosts and new connections live). */
  readonly region: string;
  private readonly client: CodeStarConnectionsClient;
  private readonly createClient: CodeStarConnectionsClient;
  private readonly system: ExternalSystem;

  /**
   * `createClient` must not retry by itself: CreateConnection and CreateHost have no
   * idempotency token, so an SDK retry after a lost response would make a second
   * resource. The reconcile loop retries instead, after looking for the first one.
   */
  constructor(options: {
    region: string;
    client: CodeStarConnectionsClient;
    createClient: CodeStarConnectionsClient;
    system: ExternalSystem;
  }) {
    this.region = options.region;
    this.client = options.client;
    this.createClient = options.createClient;
    this.system = options.system;
  }

  private async send<T>(operation: string, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.system.call(operation, fn, outcomeOfAwsError);
    } catch (err) {
      throw classifyAwsError(err, `${SERVICE}:${operation}`, what);
    }
  }

  /** Like send, but a ResourceNotFoundException is `undefined`. */
  private async sendOrMissing<T>(
    operation: string,
    what: string,
    fn: () => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await this.system.call(operation, fn, outcomeOfAwsError);
    } catch (err) {
      if (isAwsError(err, 'ResourceNotFound')) return undefined;
      throw classifyAwsError(err, `${SERVICE}:${operation}`, what);
    }
  }

  async getConnection(arn: string): Promise<Connection | undefined> {
    const out = await this.sendOrMissing('GetConnection', `connection ${arn}`, () =>
      this.client.send(new GetConnectionCommand({ ConnectionArn: arn })),
    );
    return out?.Connection ? toConnection(out.Connection) : undefined;
  }

  /** Every connection of the account (connections are global), or those on one host. */
  async listConnections(filter: { hostArn?: string } = {}): Promise<Connection[]> {
    const all: Connection[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await this.send('ListConnections', 'connections', () =>
        this.client.send(
          new ListConnectionsCommand({
            MaxResults: 100,
            ...(filter.hostArn ? { HostArnFilter: hostArnForClient(filter.hostArn) } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      all.push(...(out.Connections ?? []).map(toConnection));
      token = out.NextToken;
      if (!token) break;
    }
    return all;
  }

  async createConnection(input: {
    name: string;
    providerType?: 'GitLab';
    hostArn?: string;
    tags: Tags;
  }): Promise<string> {
    const out = await this.send('CreateConnection', `connection ${input.name}`, () =>
      this.createClient.send(
        new CreateConnectionCommand({
          ConnectionName: input.name,
          ...(input.providerType ? { ProviderType: input.providerType } : {}),
          ...(input.hostArn ? { HostArn: hostArnForClient(input.hostArn) } : {}),
          Tags: fromTags(input.tags),
        }),
      ),
    );
    return out.ConnectionArn ?? '';
  }

  /** False when it was already gone. */
  async deleteConnection(arn: string): Promise<boolean> {
    const out = await this.sendOrMissing('DeleteConnection', `connection ${arn}`, () =>
      this.client.send(new DeleteConnectionCommand({ ConnectionArn: arn })),
    );
    return out !== undefined;
  }

  /** The hosts of this port's Region (hosts are Regional), with their status messages. */
  async listHosts(): Promise<Host[]> {
    const all: Host[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await this.send('ListHosts', 'hosts', () =>
        this.client.send(new ListHostsCommand({ MaxResults: 100, ...(token ? { NextToken: token } : {}) })),
      );
      all.push(
        ...(out.Hosts ?? []).map((h) => ({
          arn: h.HostArn ?? '',
          name: h.Name ?? '',
          providerType: h.ProviderType,
          endpoint: h.ProviderEndpoint ?? '',
          status: h.Status ?? '',
          statusMessage: h.StatusMessage,
          vpc: h.VpcConfiguration
            ? {
                vpcId: h.VpcConfiguration.VpcId ?? '',
                subnetIds: h.VpcConfiguration.SubnetIds ?? [],
                securityGroupIds: h.VpcConfiguration.SecurityGroupIds ?? [],
                ...(h.VpcConfiguration.TlsCertificate
                  ? { tlsCertificate: h.VpcConfiguration.TlsCertificate }
                  : {}),
              }
            : undefined,
        })),
      );
      token = out.NextToken;
      if (!token) break;
    }
    return all;
  }

  async createHost(input: { name: string; endpoint: string; vpc?: VpcConfig; tags: Tags }): Promise<string> {
    const out = await this.send('CreateHost', `host ${input.name}`, () =>
      this.createClient.send(
        new CreateHostCommand({
          Name: input.name,
          ProviderType: 'GitLabSelfManaged',
          ProviderEndpoint: input.endpoint,
          ...(input.vpc
            ? {
                VpcConfiguration: {
                  VpcId: input.vpc.vpcId,
                  SubnetIds: input.vpc.subnetIds,
                  SecurityGroupIds: input.vpc.securityGroupIds,
                  ...(input.vpc.tlsCertificate ? { TlsCertificate: input.vpc.tlsCertificate } : {}),
                },
              }
            : {}),
          Tags: fromTags(input.tags),
        }),
      ),
    );
    return out.HostArn ?? '';
  }

  async updateHostEndpoint(arn: string, endpoint: string): Promise<void> {
    await this.send('UpdateHost', `host ${arn}`, () =>
      this.client.send(new UpdateHostCommand({ HostArn: hostArnForClient(arn), ProviderEndpoint: endpoint })),
    );
  }

  /** False when it was already gone. */
  async deleteHost(arn: string): Promise<boolean> {
    const out = await this.sendOrMissing('DeleteHost', `host ${arn}`, () =>
      this.client.send(new DeleteHostCommand({ HostArn: hostArnForClient(arn) })),
    );
    return out !== undefined;
  }

  /** The tags of a connection or host; undefined when it does not exist. */
  async tags(arn: string): Promise<Tags | undefined> {
    const out = await this.sendOrMissing('ListTagsForResource', arn, () =>
      this.client.send(new ListTagsForResourceCommand({ ResourceArn: arn })),
    );
    return out ? toTags(out.Tags) : undefined;
  }

  async tag(arn: string, tags: Tags): Promise<void> {
    await this.send('TagResource', arn, () =>
      this.client.send(new TagResourceCommand({ ResourceArn: arn, Tags: fromTags(tags) })),
    );
  }

  async untag(arn: string, keys: string[]): Promise<void> {
    await this.send('UntagResource', arn, () =>
      this.client.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: keys })),
    );
  }
}

function toConnection(c: {
  ConnectionArn?: string;
  ConnectionName?: string;
  ProviderType?: string;
  ConnectionStatus?: string;
  HostArn?: string;
}): Connection {
  return {
    arn: c.ConnectionArn ?? '',
    name: c.ConnectionName ?? '',
    providerType: c.ProviderType,
    status: c.ConnectionStatus ?? '',
    hostArn: c.HostArn,
  };
}
