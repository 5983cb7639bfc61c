// What the steps of one GitLabConnection reconcile share, and what the
// controller keeps between reconciles (ARNs it created, a shared listing).
import type { Connection, ConnectionsPort, Host, Tags } from '../../adapters/aws/connections.ts';
import type { GitLabConnection, GitLabConnectionStatus } from '../../api/v1alpha1/index.ts';
import type { ReconcileContext } from '../../runtime/reconcile/controller.ts';
import type { Condition } from '../../runtime/transport/kube.ts';
import type { Tenancy } from '../shared/tenancy.ts';
import type { Arns, CreatedArns } from './created.ts';
import { type Resolved, resolve } from './defaults.ts';
import { desiredTags } from './desired.ts';
import type { ConnectionListing } from './listing.ts';
import type { PendingConnections } from './metrics.ts';

export type Ctx = ReconcileContext<GitLabConnection>;
export type Status = GitLabConnectionStatus & { conditions?: Condition[] };

export interface ConnectionDeps {
  aws: {
    connectionsFor(
      region: string | undefined,
      assumeRoleArn: string | undefined,
      namespace: string,
    ): ConnectionsPort;
  };
  clusterId: string;
  defaultRegion: string | undefined;
  /** The GitLabAwsPolicies of the namespaces (--tenancy). */
  tenancy: Pick<Tenancy, 'judge'>;
  /** First re-check of something that waits for a person; the interval doubles up to pollMaxMs. */
  pollFirstMs: number;
  pollMaxMs: number;
  pending: PendingConnections;
}

export interface ConnectionState {
  ctx: Ctx;
  obj: GitLabConnection;
  status: Status;
  deps: ConnectionDeps;
  r: Resolved;
  port: ConnectionsPort;
  tags: Tags;
  /** How a person names this resource to kubectl. */
  ref: string;
  /** What this process created last, else what the status records. */
  recorded: Arns;
  created: CreatedArns;
  listing: ConnectionListing;
  host?: Host;
  connection?: Connection;
  /** What was changed in AWS, in words, for one event. */
  changes: string[];
  /** The connection was taken over (gitlab-aws.io/adopt) in this reconcile. */
  adopted: boolean;
}

export function newState(
  ctx: Ctx,
  deps: ConnectionDeps,
  kept: { created: CreatedArns; listing: ConnectionListing },
): ConnectionState {
  const { obj } = ctx;
  const r = resolve(obj, deps.defaultRegion);
  return {
    ctx,
    obj,
    status: ctx.status as Status,
    deps,
    r,
    port: deps.aws.connectionsFor(r.region, r.assumeRoleArn, obj.metadata.namespace ?? ''),
    tags: desiredTags(r, deps.clusterId),
    ref: `glconn/${obj.metadata.name} -n ${obj.metadata.namespace}`,
    recorded: kept.created.recall(obj),
    ...kept,
    changes: [],
    adopted: false,
  };
}

/** The backoff for a wait that condition `type` has been in with `reason`. */
export function pollDelay(s: { ctx: Ctx; deps: ConnectionDeps }, type: string, reason: string): number {
  return s.ctx.conditions.pollDelay(type, reason, s.deps.pollFirstMs, s.deps.pollMaxMs);
}

/** Said when AWS no longer has what the status records: a new one is made. */
export function deletedOutside(s: ConnectionState, what: 'connection' | 'host', arn: string): void {
  s.ctx.log.warn({ arn }, `${what} deleted outside the operator; making a new one`);
  s.ctx.events.event(
    s.obj,
    'Warning',
    what === 'connection' ? 'ConnectionDeleted' : 'HostDeleted',
    what === 'connection'
      ? `Connection ${arn} was deleted outside the operator; a new one is created, with a new ARN that pipelines must use and that needs the GitLab handshake again`
      : `Host ${arn} was deleted outside the operator; a new one is created and must be set up again`,
  );
}
