// The twelve connection, host and tagging operations, on top of the Store.
//
// Errors per operation, from the model (botocore codestar-connections 2019-12-01):
//   CreateConnection: LimitExceeded, ResourceNotFound, ResourceUnavailable
//   CreateHost: LimitExceeded            DeleteConnection: ResourceNotFound
//   DeleteHost: ResourceNotFound, ResourceUnavailable
//   GetConnection / GetHost: ResourceNotFound, ResourceUnavailable
//   ListConnections: ResourceNotFound    ListHosts: none
//   TagResource: ResourceNotFound, LimitExceeded   UntagResource / ListTagsForResource: ResourceNotFound
//   UpdateHost: Conflict, ResourceNotFound, ResourceUnavailable, UnsupportedOperation
// plus the framework's ValidationException (see validation.ts). Where the documents do not say
// which of these a situation gets, the choice is marked GUESS and listed in docs/fakes.md.
import type { ResolvedOptions } from './options.ts';
import {
  type Handler,
  limitExceeded,
  notFound,
  type RequestContext,
  ServiceError,
  unavailable,
} from './protocol.ts';
import { type ConnectionRecord, type HostRecord, mergeTags, type Store } from './state.ts';
import {
  HOST_PROVIDER_TYPES,
  invalid,
  PATTERNS,
  PROVIDER_TYPES,
  type ProviderType,
  Validator,
} from './validation.ts';

const TRANSITIONAL = new Set(['VPC_CONFIG_INITIALIZING', 'VPC_CONFIG_DELETING']);

export function createHandlers(store: Store, options: ResolvedOptions): Record<string, Handler> {
  const hostArnPattern = options.acceptCodeconnectionsHostArns
    ? PATTERNS.hostArnBoth
    : PATTERNS.hostArnCodestarOnly;
  const arnRule = (required: boolean) => ({ required, min: 0, max: 256, pattern: PATTERNS.arn });
  const hostArnRule = (required: boolean) => ({ required, min: 0, max: 256, pattern: hostArnPattern });
  const resourceArnRule = { required: true, min: 1, max: 1011, pattern: PATTERNS.arn };

  const connection = (arn: string): ConnectionRecord => {
    const rec = store.findConnection(arn);
    if (!rec) throw notFound(`Connection ${arn} does not exist`);
    return rec;
  };
  // Hosts are Regional: a host is found only through its own Region's endpoint.
  const host = (arn: string, ctx: RequestContext): HostRecord => {
    const rec = store.findHost(arn);
    if (!rec || rec.region !== ctx.region) throw notFound(`Host ${arn} does not exist`);
    return rec;
  };

  const page = <T extends { seq: number }>(
    items: T[],
    maxResults: number | undefined,
    nextToken: string | undefined,
  ) => {
    let after = 0;
    if (nextToken !== undefined) {
      const decoded = decodeToken(nextToken);
      if (decoded === undefined) throw invalid('Invalid NextToken'); // GUESS: error name
      after = decoded;
    }
    const size = maxResults || options.listPageSize; // MaxResults 0 (allowed by the model) = default
    const rest = items.filter((i) => i.seq > after);
    const out = rest.slice(0, size);
    const last = out.at(-1);
    return { items: out, next: rest.length > size && last ? encodeToken(last.seq) : undefined };
  };

  return {
    CreateConnection(body, ctx) {
      const v = new Validator();
      const name = v.string('connectionName', body.ConnectionName, {
        required: true,
        min: 1,
        max: 32,
        pattern: PATTERNS.anything,
      });
      const providerType = v.string('providerType', body.ProviderType, { enum: PROVIDER_TYPES }) as
        | ProviderType
        | undefined;
      const hostArn = v.string('hostArn', body.HostArn, hostArnRule(false));
      const tags = v.tags('tags', body.Tags) ?? [];
      v.check();

      // "You must specify either a ProviderType or a HostArn" (CloudFormation resource docs).
      // GUESS: neither is a ValidationException; both is accepted when they agree (AWS's own
      // CloudFormation example passes GitHubEnterpriseServer together with a host ARN).
      let type: ProviderType;
      let hostRec: HostRecord | undefined;
      if (hostArn !== undefined) {
        // GUESS: an unknown host is ResourceNotFoundException (the brief's choice; the model's
        // ResourceUnavailableException text, "Verify the ARN for the host", would also fit).
        hostRec = host(hostArn, ctx);
        if (hostRec.status === 'VPC_CONFIG_DELETING') {
          throw unavailable(`Host ${hostRec.arn} is being deleted`); // GUESS
        }
        if (providerType !== undefined && providerType !== hostRec.providerType) {
          throw invalid(
            `ProviderType ${providerType} does not match the host's provider type ${hostRec.providerType}`,
          );
        }
        type = hostRec.providerType;
      } else if (providerType !== undefined) {
        if (HOST_PROVIDER_TYPES.includes(providerType)) {
          throw invalid(`A HostArn is required to create a connection of provider type ${providerType}`); // GUESS
        }
        type = providerType;
      } else {
        throw invalid('Either ProviderType or HostArn must be specified');
      }

      // Quota: 250 connections, "per Region" on the quotas page (dtconsole limits-connections).
      const inRegion = [...store.connections.values()].filter((c) => c.region === ctx.region).length;
      if (inRegion >= options.connectionQuota) {
        throw limitExceeded('Exceeded the maximum limit for connections');
      }
      // No client token and no uniqueness error in the model: duplicates are allowed by default.
      if (
        options.duplicateConnectionNames === 'reject' &&
        [...store.connections.values()].some((c) => c.name === name)
      ) {
        throw new ServiceError(
          'ResourceAlreadyExistsException',
          `Connection with name ${name} already exists`,
        );
      }
      const rec = store.addConnection({
        name: name!,
        providerType: type,
        ...(hostRec ? { hostArn: hostRec.arn } : {}),
        tags: mergeTags([], tags),
        region: ctx.region,
      });
      return { ConnectionArn: rec.arn, ...(rec.tags.length ? { Tags: rec.tags } : {}) };
    },

    GetConnection(body) {
      const v = new Validator();
      const arn = v.string('connectionArn', body.ConnectionArn, arnRule(true));
      v.check();
      return { Connection: connectionView(connection(arn!)) };
    },

    ListConnections(body) {
      const v = new Validator();
      const providerType = v.string('providerTypeFilter', body.ProviderTypeFilter, { enum: PROVIDER_TYPES });
      const hostArn = v.string('hostArnFilter', body.HostArnFilter, hostArnRule(false));
      const maxResults = v.integer('maxResults', body.MaxResults, { min: 0, max: 100 });
      const nextToken = v.string('nextToken', body.NextToken, {
        min: 1,
        max: 1024,
        pattern: PATTERNS.nextToken,
      });
      v.check();
      let items = store.sortedConnections(); // connections are global: every Region's
      if (providerType !== undefined) items = items.filter((c) => c.providerType === providerType);
      if (hostArn !== undefined) {
        // GUESS: the model's only error for ListConnections is ResourceNotFoundException; a host
        // filter naming no host is the one case that could raise it.
        const h = store.findHost(hostArn);
        if (!h) throw notFound(`Host ${hostArn} does not exist`);
        items = items.filter((c) => c.hostArn === h.arn);
      }
      const { items: out, next } = page(items, maxResults, nextToken);
      return { Connections: out.map(connectionView), ...(next ? { NextToken: next } : {}) };
    },

    DeleteConnection(body) {
      const v = new Validator();
      const arn = v.string('connectionArn', body.ConnectionArn, arnRule(true));
      v.check();
      store.connections.delete(connection(arn!).id);
      return {};
    },

    CreateHost(body, ctx) {
      const v = new Validator();
      const name = v.string('name', body.Name, {
        required: true,
        min: 1,
        max: 64,
        pattern: PATTERNS.dotStar,
      });
      const providerType = v.string('providerType', body.ProviderType, {
        required: true,
        enum: PROVIDER_TYPES,
      }) as ProviderType | undefined;
      const endpoint = v.string('providerEndpoint', body.ProviderEndpoint, {
        required: true,
        min: 1,
        max: 512,
        pattern: PATTERNS.dotStar,
      });
      const vpc = v.vpcConfiguration('vpcConfiguration', body.VpcConfiguration);
      const tags = v.tags('tags', body.Tags) ?? [];
      v.check();
      // Hosts stand for installed providers only (API reference, CreateHost; user guide).
      // GUESS: another provider type is a ValidationException.
      if (!HOST_PROVIDER_TYPES.includes(providerType!)) {
        throw invalid(`Provider type ${providerType} is not supported for hosts`);
      }
      if (!isHttpUrl(endpoint!)) throw invalid(`ProviderEndpoint ${endpoint} is not a valid URL`); // GUESS
      // 50 hosts per account, fixed (dtconsole limits-connections).
      if (store.hosts.size >= options.hostQuota) throw limitExceeded('Exceeded the maximum limit for hosts');
      const rec = store.addHost({
        name: name!,
        providerType: providerType!,
        providerEndpoint: endpoint!,
        ...(vpc ? { vpcConfiguration: vpc } : {}),
        // "A host created through the CLI or the SDK is in PENDING status by default" (CreateHost);
        // with a VPC it first provisions the VPC side (VPC_CONFIG_INITIALIZING), then waits for
        // set-up in the console (PENDING) or fails (VPC_CONFIG_FAILED_INITIALIZATION).
        status: vpc ? 'VPC_CONFIG_INITIALIZING' : 'PENDING',
        tags: mergeTags([], tags),
        region: ctx.region,
      });
      if (vpc) scheduleVpcInit(rec, options);
      return { HostArn: rec.arn, ...(rec.tags.length ? { Tags: rec.tags } : {}) };
    },

    GetHost(body, ctx) {
      const v = new Validator();
      const arn = v.string('hostArn', body.HostArn, hostArnRule(true));
      v.check();
      const h = host(arn!, ctx);
      // GetHostOutput has no HostArn and no StatusMessage (model); ListHosts has both.
      return {
        Name: h.name,
        Status: h.status,
        ProviderType: h.providerType,
        ProviderEndpoint: h.providerEndpoint,
        ...(h.vpcConfiguration ? { VpcConfiguration: h.vpcConfiguration } : {}),
      };
    },

    ListHosts(body, ctx) {
      const v = new Validator();
      const maxResults = v.integer('maxResults', body.MaxResults, { min: 0, max: 100 });
      const nextToken = v.string('nextToken', body.NextToken, {
        min: 1,
        max: 1024,
        pattern: PATTERNS.nextToken,
      });
      v.check();
      const items = store.sortedHosts().filter((h) => h.region === ctx.region);
      const { items: out, next } = page(items, maxResults, nextToken);
      return { Hosts: out.map(hostView), ...(next ? { NextToken: next } : {}) };
    },

    UpdateHost(body, ctx) {
      const v = new Validator();
      const arn = v.string('hostArn', body.HostArn, hostArnRule(true));
      const endpoint = v.string('providerEndpoint', body.ProviderEndpoint, {
        min: 1,
        max: 512,
        pattern: PATTERNS.dotStar,
      });
      const vpc = v.vpcConfiguration('vpcConfiguration', body.VpcConfiguration);
      v.check();
      const h = host(arn!, ctx);
      // ConflictException: "Two conflicting operations have been made on the same resource" —
      // GUESS: an update while the VPC side is still being set up or torn down.
      if (TRANSITIONAL.has(h.status))
        throw new ServiceError('ConflictException', `Host ${h.arn} is ${h.status}`);
      if (endpoint !== undefined) {
        if (!isHttpUrl(endpoint)) throw invalid(`ProviderEndpoint ${endpoint} is not a valid URL`);
        h.providerEndpoint = endpoint;
      }
      if (vpc) {
        // GUESS: a new VPC configuration is provisioned again and then needs set-up (PENDING).
        h.vpcConfiguration = vpc;
        h.status = 'VPC_CONFIG_INITIALIZING';
        delete h.statusMessage;
        scheduleVpcInit(h, options);
      }
      return {};
    },

    DeleteHost(body, ctx) {
      const v = new Validator();
      const arn = v.string('hostArn', body.HostArn, hostArnRule(true));
      v.check();
      const h = host(arn!, ctx);
      // "Before you delete a host, all connections associated to the host must be deleted. A host
      // cannot be deleted if it is in the VPC_CONFIG_INITIALIZING or VPC_CONFIG_DELETING state."
      // (DeleteHost). GUESS: both refusals are ResourceUnavailableException, the one DeleteHost
      // error besides ResourceNotFoundException in the model.
      if (TRANSITIONAL.has(h.status)) throw unavailable(`Host ${h.arn} cannot be deleted while ${h.status}`);
      const users = store.connectionsOfHost(h);
      if (users.length > 0) {
        throw unavailable(`Host ${h.arn} is used by ${users.length} connection(s); delete them first`);
      }
      if (h.vpcConfiguration && options.vpcDeletionMs > 0) {
        h.status = 'VPC_CONFIG_DELETING';
        h.transition = { at: Date.now() + options.vpcDeletionMs, to: 'deleted' };
      } else {
        store.hosts.delete(h.id);
      }
      return {};
    },

    TagResource(body) {
      const v = new Validator();
      const arn = v.string('resourceArn', body.ResourceArn, resourceArnRule);
      const tags = v.tags('tags', body.Tags, true) ?? [];
      v.check();
      const rec = store.findResource(arn!);
      if (!rec) throw notFound(`Resource ${arn} does not exist`);
      const merged = mergeTags(rec.tags, tags);
      if (merged.length > 200)
        throw limitExceeded('Exceeded the maximum number of tags (200) for the resource'); // GUESS: text
      rec.tags = merged;
      return {};
    },

    UntagResource(body) {
      const v = new Validator();
      const arn = v.string('resourceArn', body.ResourceArn, resourceArnRule);
      const keys = v.list('tagKeys', body.TagKeys, { required: true, min: 0, max: 200 }) ?? [];
      keys.forEach((k, i) => {
        v.string(`tagKeys.${i + 1}.member`, k, {
          required: true,
          min: 1,
          max: 128,
          pattern: PATTERNS.dotStar,
        });
      });
      v.check();
      const rec = store.findResource(arn!);
      if (!rec) throw notFound(`Resource ${arn} does not exist`);
      rec.tags = rec.tags.filter((t) => !keys.includes(t.Key));
      return {};
    },

    ListTagsForResource(body) {
      const v = new Validator();
      const arn = v.string('resourceArn', body.ResourceArn, resourceArnRule);
      v.check();
      const rec = store.findResource(arn!);
      if (!rec) throw notFound(`Resource ${arn} does not exist`);
      return { Tags: rec.tags };
    },
  };
}

function scheduleVpcInit(h: HostRecord, options: ResolvedOptions): void {
  if (options.vpcInitializationMs === null) delete h.transition;
  else h.transition = { at: Date.now() + options.vpcInitializationMs, to: 'PENDING' };
}

export function connectionView(c: ConnectionRecord) {
  return {
    ConnectionName: c.name,
    ConnectionArn: c.arn,
    ProviderType: c.providerType,
    OwnerAccountId: c.ownerAccountId,
    ConnectionStatus: c.status,
    ...(c.hostArn ? { HostArn: c.hostArn } : {}),
  };
}

export function hostView(h: HostRecord) {
  return {
    Name: h.name,
    HostArn: h.arn,
    ProviderType: h.providerType,
    ProviderEndpoint: h.providerEndpoint,
    ...(h.vpcConfiguration ? { VpcConfiguration: h.vpcConfiguration } : {}),
    Status: h.status,
    ...(h.statusMessage !== undefined ? { StatusMessage: h.statusMessage } : {}),
  };
}

function encodeToken(seq: number): string {
  return Buffer.from(JSON.stringify({ after: seq })).toString('base64url');
}

function decodeToken(token: string): number | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const after = (v as { after?: unknown })?.after;
    return typeof after === 'number' && Number.isInteger(after) && after >= 0 ? after : undefined;
  } catch {
    return undefined;
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}
