// Deletion (finalizer gitlab-aws.io/cleanup). Delete: the connection, then the
// host once no connection uses it; a host that AWS deletes slowly (VPC) is
// waited for. Orphan: both stay. What carries another owner's tag is never
// deleted. Any AWS error keeps the finalizer and is retried with backoff.
import { type ConnectionsPort, type Host, sameArn } from '../../adapters/aws/connections.ts';
import { done, type Outcome, wait } from '../../runtime/reconcile/outcome.ts';
import { describeOwner, ownershipOf } from '../shared/ownership.ts';
import { REASONS } from './conditions.ts';
import type { Resolved } from './defaults.ts';
import { hostPhase } from './desired.ts';
import { pickByName } from './lookup.ts';
import { type ConnectionState, pollDelay } from './state.ts';
import { findByName } from './steps/connection.ts';

export async function finalizeConnection(s: ConnectionState): Promise<Outcome> {
  const { obj, ctx, status, r, deps } = s;
  if (r.deletionPolicy === 'Orphan') {
    const left = [status.connectionArn, status.hostArn].filter(Boolean);
    if (left.length) {
      ctx.events.event(obj, 'Normal', 'Orphaned', `deletionPolicy Orphan: left ${left.join(' and ')} in AWS`);
    }
    return done();
  }

  const { port } = s;
  const changes: string[] = [];
  const report = () => {
    if (changes.length) ctx.events.event(obj, 'Normal', 'Deleted', changes.join('; '));
  };

  // 1. The connection: the one in status, else ours by name (a crash may have kept its ARN out of status).
  const connectionArn = status.connectionArn ?? (await ownConnectionByName(port, r, deps.clusterId));
  if (connectionArn) {
    const tags = await port.tags(connectionArn);
    if (tags && ownershipOf(tags, r.owner, deps.clusterId) === 'other') {
      leftInPlace(ctx, `connection ${connectionArn}`, describeOwner(tags));
    } else if (tags && (await port.deleteConnection(connectionArn))) {
      changes.push(`deleted connection ${r.connectionName} (${connectionArn})`);
    }
    delete status.connectionArn;
    delete status.connectionStatus;
    delete status.authorizationUrl;
  }

  // 2. The host, once nothing uses it.
  if (r.host) {
    const hosts = await port.listHosts();
    const host = status.hostArn
      ? hosts.find((h) => sameArn(h.arn, status.hostArn))
      : await ownHostByName(port, hosts, r.host.name, r.owner, deps.clusterId);
    if (host) {
      const outcome = await deleteHost(s, host, changes);
      if (outcome) {
        report();
        return outcome;
      }
    }
    delete status.hostArn;
    delete status.hostStatus;
  }
  report();
  return done();
}

/** undefined when the host is gone or left in place; a wait while it cannot be deleted yet. */
async function deleteHost(s: ConnectionState, host: Host, changes: string[]): Promise<Outcome | undefined> {
  const { ctx, port, r, deps, status } = s;
  const tags = await port.tags(host.arn);
  if (!tags) return undefined;
  if (ownershipOf(tags, r.owner, deps.clusterId) === 'other') {
    leftInPlace(ctx, `host ${host.arn}`, describeOwner(tags));
    return undefined;
  }
  const waitAs = (reason: string, message: string) => {
    status.hostStatus = host.status;
    return wait(pollDelay(s, 'Ready', reason), reason, message);
  };
  if (hostPhase(host.status) === 'deleting') {
    return waitAs(
      REASONS.hostDeleting,
      `Waiting for AWS to delete host ${host.name} (${host.arn}, ${host.status})`,
    );
  }
  const users = await port.listConnections({ hostArn: host.arn });
  if (users.length) {
    return waitAs(
      REASONS.hostInUse,
      `Host ${host.name} (${host.arn}) is still used by ${users.map((c) => `${c.name} (${c.arn})`).join(', ')}, which this GitLabConnection does not manage: delete them, or set spec.deletionPolicy: Orphan to leave the host in place`,
    );
  }
  if (await port.deleteHost(host.arn)) changes.push(`deleted host ${host.name} (${host.arn})`);
  // A host with a VPC is torn down asynchronously (VPC_CONFIG_DELETING): keep the finalizer until it is gone.
  const after = (await port.listHosts()).find((h) => sameArn(h.arn, host.arn));
  if (after) {
    host.status = after.status;
    return waitAs(
      REASONS.hostDeleting,
      `Waiting for AWS to delete host ${host.name} (${host.arn}, ${after.status})`,
    );
  }
  return undefined;
}

async function ownConnectionByName(
  port: ConnectionsPort,
  r: Resolved,
  clusterId: string,
): Promise<string | undefined> {
  const found = await findByName(port, r, clusterId, false);
  return found.kind === 'adopt' && found.ownership === 'ours' ? found.connection.arn : undefined;
}

async function ownHostByName(
  port: ConnectionsPort,
  hosts: Host[],
  name: string,
  owner: string,
  clusterId: string,
): Promise<Host | undefined> {
  const sameNamed = hosts.filter((h) => h.name === name);
  const pick = await pickByName(port, sameNamed, owner, clusterId, false);
  return pick.kind === 'adopt' && pick.ownership === 'ours'
    ? hosts.find((h) => h.arn === pick.arn)
    : undefined;
}

function leftInPlace(ctx: ConnectionState['ctx'], what: string, owner: string): void {
  ctx.log.warn({ what }, 'not deleting what belongs to someone else');
  ctx.events.event(
    ctx.obj,
    'Warning',
    'NotDeleted',
    `Left ${what} in place: ${owner}, so it is not this resource's`,
  );
}
