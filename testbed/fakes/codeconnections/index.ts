// A stateful fake of AWS CodeStar Connections / CodeConnections for the tests and the demo.
// No emulator serves this API (moto lacks it, LocalStack only in its paid image), so the real
// client, @aws-sdk/client-codestar-connections, talks to this over HTTP. See docs/fakes.md.
//
//   const fake = await startCodeConnectionsFake();
//   const client = new CodeStarConnectionsClient({ endpoint: fake.endpoint, region: 'us-east-1',
//     credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
//   ... fake.completeHandshake(arn) ... await fake.close();
import { Faults } from './faults.ts';
import { createHandlers } from './operations.ts';
import type { CodeConnectionsFakeOptions, ResolvedOptions } from './options.ts';
import { type RecordedRequest, startProtocolServer } from './protocol.ts';
import {
  type ConnectionRecord,
  type ConnectionStatus,
  type HostRecord,
  type HostStatus,
  type PlantConnection,
  type PlantHost,
  Store,
  toTagList,
} from './state.ts';
import type { Tag } from './validation.ts';

export type { Fault, FaultSpec, FaultType } from './faults.ts';
export type { CodeConnectionsFakeOptions, ResolvedOptions } from './options.ts';
export type { RecordedRequest } from './protocol.ts';
export type {
  ArnPrefix,
  ConnectionRecord,
  ConnectionStatus,
  HostRecord,
  HostStatus,
  PlantConnection,
  PlantHost,
} from './state.ts';
export { formatArn, parseArn } from './state.ts';
export type { ProviderType, Tag, VpcConfiguration } from './validation.ts';

export interface CodeConnectionsFake {
  /** http://127.0.0.1:<port>, for the client's `endpoint` or AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS. */
  readonly endpoint: string;
  readonly options: Readonly<ResolvedOptions>;
  /** Every request that reached an operation (including throttled and failed ones), in order. */
  readonly requests: RecordedRequest[];
  /** Number of recorded requests, for one operation or all. */
  callCount(operation?: string): number;
  readonly faults: Faults;
  /** The raw state, for tests that need more than the helpers below. */
  readonly store: Store;

  /** Snapshots of the state, in creation order. */
  connections(): ConnectionRecord[];
  hosts(): HostRecord[];
  /** The record an ARN (either prefix) names, or undefined. Live objects: changes take effect. */
  connection(arn: string): ConnectionRecord | undefined;
  host(arn: string): HostRecord | undefined;
  /** Tags of a connection or host as a plain object. Throws if the ARN names nothing. */
  tagsOf(arn: string): Record<string, string>;

  /** Puts a connection in place without the API (no validation, no quota); returns its ARN. */
  plantConnection(p: PlantConnection): string;
  /** Puts a host in place without the API; returns its ARN. */
  plantHost(p: PlantHost): string;
  /** Removes a resource behind the operator's back, as a person in the console might. */
  removeConnection(arn: string): void;
  removeHost(arn: string): void;

  /** The human handshake in the console: PENDING -> AVAILABLE. The host, if any, must be AVAILABLE. */
  completeHandshake(connectionArn: string): void;
  /** The connection goes to ERROR (for example, the app was uninstalled on the provider side). */
  breakConnection(connectionArn: string): void;
  setConnectionStatus(connectionArn: string, status: ConnectionStatus): void;
  /** Sets a host's status (and ListHosts' StatusMessage), cancelling any timed VPC transition. */
  setHostStatus(hostArn: string, status: HostStatus, statusMessage?: string): void;

  /** Empties the account, the request log and the faults. ARNs issued before stay retired. */
  reset(): void;
  close(): Promise<void>;
}

export async function startCodeConnectionsFake(
  opts: CodeConnectionsFakeOptions = {},
): Promise<CodeConnectionsFake> {
  const options: ResolvedOptions = {
    region: opts.region ?? 'us-east-1',
    accountId: opts.accountId ?? '123456789012',
    arnPrefix: opts.arnPrefix ?? 'codestar-connections',
    connectionQuota: opts.connectionQuota ?? 250,
    hostQuota: opts.hostQuota ?? 50,
    listPageSize: opts.listPageSize ?? 100,
    duplicateConnectionNames: opts.duplicateConnectionNames ?? 'allow',
    acceptCodeconnectionsHostArns: opts.acceptCodeconnectionsHostArns ?? true,
    vpcInitializationMs: opts.vpcInitializationMs ?? null,
    vpcDeletionMs: opts.vpcDeletionMs ?? 0,
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
  };
  const store = new Store({
    region: options.region,
    accountId: options.accountId,
    arnPrefix: options.arnPrefix,
  });
  const faults = new Faults();
  const requests: RecordedRequest[] = [];
  const server = await startProtocolServer({
    host: options.host,
    port: options.port,
    defaultRegion: () => options.region,
    handlers: createHandlers(store, options),
    faults,
    requests,
  });

  const mustConnection = (arn: string): ConnectionRecord => {
    const c = store.findConnection(arn);
    if (!c) throw new Error(`codeconnections fake: no connection ${arn}`);
    return c;
  };
  const mustHost = (arn: string): HostRecord => {
    const h = store.findHost(arn);
    if (!h) throw new Error(`codeconnections fake: no host ${arn}`);
    return h;
  };

  return {
    endpoint: server.endpoint,
    options,
    requests,
    callCount: (operation) =>
      requests.filter((r) => operation === undefined || r.operation === operation).length,
    faults,
    store,

    connections: () => store.sortedConnections().map((c) => structuredClone(c)),
    hosts: () => store.sortedHosts().map((h) => structuredClone(h)),
    connection: (arn) => store.findConnection(arn),
    host: (arn) => store.findHost(arn),
    tagsOf(arn) {
      const rec = store.findResource(arn);
      if (!rec) throw new Error(`codeconnections fake: no resource ${arn}`);
      return Object.fromEntries(rec.tags.map((t: Tag) => [t.Key, t.Value]));
    },

    plantConnection(p) {
      let host: HostRecord | undefined;
      if (p.hostArn !== undefined) host = mustHost(p.hostArn);
      const rec = store.addConnection({
        name: p.name,
        providerType: host?.providerType ?? p.providerType ?? 'GitLab',
        ...(host ? { hostArn: host.arn } : {}),
        status: p.status ?? 'PENDING',
        tags: toTagList(p.tags),
        region: p.region ?? options.region,
        ...(p.prefix ? { prefix: p.prefix } : {}),
      });
      return rec.arn;
    },
    plantHost(p) {
      const rec = store.addHost({
        name: p.name,
        providerType: p.providerType ?? 'GitLabSelfManaged',
        providerEndpoint: p.providerEndpoint ?? 'https://gitlab.example.com',
        ...(p.vpcConfiguration ? { vpcConfiguration: p.vpcConfiguration } : {}),
        status: p.status ?? 'PENDING',
        ...(p.statusMessage !== undefined ? { statusMessage: p.statusMessage } : {}),
        tags: toTagList(p.tags),
        region: p.region ?? options.region,
        ...(p.prefix ? { prefix: p.prefix } : {}),
      });
      return rec.arn;
    },
    removeConnection(arn) {
      store.connections.delete(mustConnection(arn).id);
    },
    removeHost(arn) {
      store.hosts.delete(mustHost(arn).id);
    },

    completeHandshake(arn) {
      const c = mustConnection(arn);
      if (c.status !== 'PENDING') throw new Error(`codeconnections fake: ${arn} is ${c.status}, not PENDING`);
      if (c.hostArn !== undefined) {
        // In the console a connection to an installed provider can only be completed once its
        // host has been set up (user guide, "Workflow to create or update a host").
        const h = store.findHost(c.hostArn);
        if (h?.status !== 'AVAILABLE') {
          throw new Error(
            `codeconnections fake: host ${c.hostArn} is ${h?.status ?? 'gone'}; set it up first`,
          );
        }
      }
      c.status = 'AVAILABLE';
    },
    breakConnection(arn) {
      mustConnection(arn).status = 'ERROR';
    },
    setConnectionStatus(arn, status) {
      mustConnection(arn).status = status;
    },
    setHostStatus(arn, status, statusMessage) {
      const h = mustHost(arn);
      delete h.transition;
      h.status = status;
      if (statusMessage === undefined) delete h.statusMessage;
      else h.statusMessage = statusMessage;
    },

    reset() {
      store.clear();
      requests.length = 0;
      faults.clear();
    },
    close: () => server.close(),
  };
}
