// The fake's account: connections, hosts, their tags, and the ARNs it has handed out.
//
// ARN formats, as the service makes them:
//   connection: arn:aws:codestar-connections:<region>:<account>:connection/<uuid>
//   host:       arn:aws:codestar-connections:<region>:<account>:host/<name>-<8 hex>
// (API reference examples and the AWS CLI examples, e.g. `host/My-Host-28aef605`). Since the
// 2024 rename new resources may carry `codeconnections` instead; which prefix this fake issues
// is an option, and both prefixes name the same resource wherever an ARN is read.
//
// Connections are global (listed from every Region, usable everywhere; the ARN keeps the Region
// it was made in); hosts are Regional (dtconsole user guide, "How connections work globally").
import { randomBytes, randomUUID } from 'node:crypto';
import type { ProviderType, Tag, VpcConfiguration } from './validation.ts';

export type ArnPrefix = 'codestar-connections' | 'codeconnections';
export type ConnectionStatus = 'PENDING' | 'AVAILABLE' | 'ERROR';
/** Free-form in the model (HostStatus: string 1..64); these are the documented values. */
export type HostStatus =
  | 'PENDING'
  | 'AVAILABLE'
  | 'ERROR'
  | 'VPC_CONFIG_INITIALIZING'
  | 'VPC_CONFIG_FAILED_INITIALIZATION'
  | 'VPC_CONFIG_DELETING'
  | (string & {});

export interface ParsedArn {
  partition: string;
  prefix: ArnPrefix;
  region: string;
  account: string;
  kind: 'connection' | 'host';
  id: string;
}

const ARN_RE =
  /^arn:(aws(?:-[\w]+)*):(codestar-connections|codeconnections):([^:]+):([0-9]{12}):(connection|host)\/(.+)$/;

/** Parses a connection or host ARN under either prefix; undefined for anything else. */
export function parseArn(arn: string): ParsedArn | undefined {
  const m = ARN_RE.exec(arn);
  if (!m) return undefined;
  return {
    partition: m[1]!,
    prefix: m[2] as ArnPrefix,
    region: m[3]!,
    account: m[4]!,
    kind: m[5] as 'connection' | 'host',
    id: m[6]!,
  };
}

export function formatArn(a: Omit<ParsedArn, 'partition'> & { partition?: string }): string {
  return `arn:${a.partition ?? 'aws'}:${a.prefix}:${a.region}:${a.account}:${a.kind}/${a.id}`;
}

export interface ConnectionRecord {
  arn: string;
  id: string;
  name: string;
  providerType: ProviderType;
  /** The host's own ARN (as issued), when the connection is to an installed provider. */
  hostArn?: string;
  status: ConnectionStatus;
  ownerAccountId: string;
  region: string;
  account: string;
  tags: Tag[];
  createdAt: number;
  /** Creation order; pagination tokens point into it. */
  seq: number;
}

export interface HostRecord {
  arn: string;
  id: string;
  name: string;
  providerType: ProviderType;
  providerEndpoint: string;
  vpcConfiguration?: VpcConfiguration;
  status: HostStatus;
  statusMessage?: string;
  region: string;
  account: string;
  tags: Tag[];
  createdAt: number;
  seq: number;
  /** A status change the fake applies by itself at a given time (VPC set-up and tear-down). */
  transition?: { at: number; to: HostStatus | 'deleted' };
}

export interface PlantConnection {
  name: string;
  providerType?: ProviderType;
  hostArn?: string;
  status?: ConnectionStatus;
  tags?: Record<string, string> | Tag[];
  region?: string;
  account?: string;
  prefix?: ArnPrefix;
}

export interface PlantHost {
  name: string;
  providerType?: ProviderType;
  providerEndpoint?: string;
  vpcConfiguration?: VpcConfiguration;
  status?: HostStatus;
  statusMessage?: string;
  tags?: Record<string, string> | Tag[];
  region?: string;
  account?: string;
  prefix?: ArnPrefix;
}

export interface StoreDefaults {
  region: string;
  accountId: string;
  arnPrefix: ArnPrefix;
}

export function toTagList(tags: Record<string, string> | Tag[] | undefined): Tag[] {
  if (!tags) return [];
  if (Array.isArray(tags)) return tags.map((t) => ({ Key: t.Key, Value: t.Value }));
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** Merges tags into a list: same key replaces the value (TagResource "adds or modifies"). */
export function mergeTags(existing: Tag[], add: Tag[]): Tag[] {
  const byKey = new Map(existing.map((t) => [t.Key, t.Value]));
  for (const t of add) byKey.set(t.Key, t.Value);
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}

export class Store {
  readonly connections = new Map<string, ConnectionRecord>(); // key: id
  readonly hosts = new Map<string, HostRecord>(); // key: id
  /** Every id ever issued, kept across reset(): a deleted ARN is never handed out again. */
  private readonly issued = new Set<string>();
  private seq = 0;
  private readonly defaults: StoreDefaults;

  constructor(defaults: StoreDefaults) {
    this.defaults = defaults;
  }

  clear(): void {
    this.connections.clear();
    this.hosts.clear();
  }

  private newId(kind: 'connection' | 'host', name: string): string {
    for (;;) {
      const id = kind === 'connection' ? randomUUID() : `${name}-${randomBytes(4).toString('hex')}`;
      const key = `${kind}/${id}`;
      if (!this.issued.has(key)) {
        this.issued.add(key);
        return id;
      }
    }
  }

  addConnection(p: {
    name: string;
    providerType: ProviderType;
    hostArn?: string;
    status?: ConnectionStatus;
    tags: Tag[];
    region: string;
    account?: string;
    prefix?: ArnPrefix;
  }): ConnectionRecord {
    const account = p.account ?? this.defaults.accountId;
    const id = this.newId('connection', p.name);
    const rec: ConnectionRecord = {
      arn: formatArn({
        prefix: p.prefix ?? this.defaults.arnPrefix,
        region: p.region,
        account,
        kind: 'connection',
        id,
      }),
      id,
      name: p.name,
      providerType: p.providerType,
      status: p.status ?? 'PENDING',
      ownerAccountId: account,
      region: p.region,
      account,
      tags: p.tags,
      createdAt: Date.now(),
      seq: ++this.seq,
    };
    if (p.hostArn !== undefined) rec.hostArn = p.hostArn;
    this.connections.set(id, rec);
    return rec;
  }

  addHost(p: {
    name: string;
    providerType: ProviderType;
    providerEndpoint: string;
    vpcConfiguration?: VpcConfiguration;
    status: HostStatus;
    statusMessage?: string;
    tags: Tag[];
    region: string;
    account?: string;
    prefix?: ArnPrefix;
  }): HostRecord {
    const account = p.account ?? this.defaults.accountId;
    const id = this.newId('host', p.name);
    const rec: HostRecord = {
      arn: formatArn({
        prefix: p.prefix ?? this.defaults.arnPrefix,
        region: p.region,
        account,
        kind: 'host',
        id,
      }),
      id,
      name: p.name,
      providerType: p.providerType,
      providerEndpoint: p.providerEndpoint,
      status: p.status,
      region: p.region,
      account,
      tags: p.tags,
      createdAt: Date.now(),
      seq: ++this.seq,
    };
    if (p.vpcConfiguration) rec.vpcConfiguration = p.vpcConfiguration;
    if (p.statusMessage !== undefined) rec.statusMessage = p.statusMessage;
    this.hosts.set(id, rec);
    return rec;
  }

  /** The connection an ARN names (either prefix), if it exists in this account. */
  findConnection(arn: string): ConnectionRecord | undefined {
    const a = parseArn(arn);
    if (a?.kind !== 'connection') return undefined;
    const rec = this.connections.get(a.id);
    return rec && rec.account === a.account && rec.region === a.region && a.partition === 'aws'
      ? rec
      : undefined;
  }

  /** The host an ARN names (either prefix), if it exists; applies due VPC transitions first. */
  findHost(arn: string): HostRecord | undefined {
    this.applyTransitions();
    const a = parseArn(arn);
    if (a?.kind !== 'host') return undefined;
    const rec = this.hosts.get(a.id);
    return rec && rec.account === a.account && rec.region === a.region && a.partition === 'aws'
      ? rec
      : undefined;
  }

  /** Either kind of resource, for the tagging operations. */
  findResource(arn: string): ConnectionRecord | HostRecord | undefined {
    return this.findConnection(arn) ?? this.findHost(arn);
  }

  connectionsOfHost(host: HostRecord): ConnectionRecord[] {
    return [...this.connections.values()].filter((c) => c.hostArn === host.arn);
  }

  /** Applies the timed host transitions that are due (VPC initialization / deletion). */
  applyTransitions(now = Date.now()): void {
    for (const host of this.hosts.values()) {
      const t = host.transition;
      if (!t || t.at > now) continue;
      delete host.transition;
      if (t.to === 'deleted') this.hosts.delete(host.id);
      else host.status = t.to;
    }
  }

  sortedConnections(): ConnectionRecord[] {
    return [...this.connections.values()].sort((a, b) => a.seq - b.seq);
  }

  sortedHosts(): HostRecord[] {
    this.applyTransitions();
    return [...this.hosts.values()].sort((a, b) => a.seq - b.seq);
  }
}
