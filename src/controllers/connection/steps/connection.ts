// Step 2: the connection itself. Found by the ARN in status, else by name (ours,
// or unmarked with the adopt annotation), else created: on the host's ARN for
// self-managed GitLab, with ProviderType GitLab for GitLab.com. A same-named
// connection of someone else is never touched; it stalls with what to do. A
// create ends the reconcile, as the host's does.
import type { Connection, ConnectionsPort, Tags } from '../../../adapters/aws/connections.ts';
import { TerminalError, wait } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step, stop } from '../../../runtime/reconcile/steps.ts';
import { describeOwner, OWNER_TAG } from '../../shared/ownership.ts';
import { REASONS } from '../conditions.ts';
import type { Resolved } from '../defaults.ts';
import { connectionMismatch } from '../desired.ts';
import type { ConnectionListing } from '../listing.ts';
import { pickByName } from '../lookup.ts';
import { type ConnectionState, deletedOutside } from '../state.ts';
import { AFTER_CREATE_MS } from './host.ts';

export const connectionStep: Step<ConnectionState> = {
  name: 'connection',
  async run(s) {
    const { r, status, ctx } = s;
    const step = await ensureConnection(
      s.port,
      r,
      s.recorded.connectionArn,
      s.host?.arn,
      s.deps.clusterId,
      s.tags,
      s.listing,
    );
    if (step.missing) deletedOutside(s, 'connection', step.missing);
    if (step.kind === 'created') {
      s.created.remember(s.obj, { connectionArn: step.arn });
      status.connectionArn = step.arn;
      delete status.connectionStatus;
      ctx.log.info({ connectionArn: step.arn }, 'created connection');
      return stop(
        wait(
          AFTER_CREATE_MS,
          REASONS.connectionCreated,
          `Created connection ${r.connectionName} (${step.arn})`,
        ),
      );
    }
    s.connection = step.connection;
    if (step.adopted) {
      s.adopted = true;
      s.changes.push(`adopted connection ${step.connection.name} (${step.connection.arn})`);
    }
    status.connectionArn = step.connection.arn;
    status.connectionStatus = step.connection.status;
    return next();
  },
};

export type ConnectionStep =
  | { kind: 'created'; arn: string; missing: string | undefined }
  | { kind: 'observed'; connection: Connection; adopted: boolean; missing: string | undefined };

export async function ensureConnection(
  port: ConnectionsPort,
  r: Resolved,
  recordedArn: string | undefined,
  hostArn: string | undefined,
  clusterId: string,
  tags: Tags,
  listing: ConnectionListing,
): Promise<ConnectionStep> {
  let missing: string | undefined;
  if (recordedArn) {
    const recorded = await port.getConnection(recordedArn);
    if (recorded) return { kind: 'observed', connection: recorded, adopted: false, missing };
    missing = recordedArn;
  }

  const existing = await findByName(port, r, clusterId, r.adopt, await listing.list(port));
  if (existing.kind === 'conflict') {
    const { pick, sameNamed } = existing;
    throw new TerminalError(
      REASONS.nameInUse,
      `A connection named ${r.connectionName} already exists (${pick.arn}) and is not managed by this GitLabConnection: ${describeOwner(pick.tags)}. The operator leaves it untouched. Delete and recreate this GitLabConnection with another spec.connectionName (names are unique in the account)${
        pick.ownership === 'unmarked' && sameNamed === 1
          ? ', or annotate this GitLabConnection with gitlab-aws.io/adopt: "true" to take that connection over'
          : sameNamed > 1
            ? ` (${sameNamed} connections have that name, so none can be adopted)`
            : ''
      }`,
    );
  }
  if (existing.kind === 'adopt') {
    const { connection, ownership } = existing;
    const mismatch = connectionMismatch(connection, hostArn);
    if (mismatch) {
      throw new TerminalError(
        REASONS.nameInUse,
        `Connection ${connection.name} (${connection.arn}) ${ownership === 'ours' ? `carries this resource's ${OWNER_TAG} tag (left by an earlier GitLabConnection with deletionPolicy Orphan?)` : 'exists'}, but ${mismatch}: delete it in the AWS console, or recreate this GitLabConnection with another spec.connectionName`,
      );
    }
    return { kind: 'observed', connection, adopted: ownership === 'unmarked', missing };
  }

  const arn = await port.createConnection({
    name: r.connectionName,
    ...(hostArn ? { hostArn } : { providerType: 'GitLab' as const }),
    tags,
  });
  listing.added(port, {
    arn,
    name: r.connectionName,
    providerType: hostArn ? undefined : 'GitLab',
    status: 'PENDING',
    hostArn,
  });
  return { kind: 'created', arn, missing };
}

type Found =
  | { kind: 'none' }
  | { kind: 'adopt'; connection: Connection; ownership: 'ours' | 'unmarked' | 'other' }
  | {
      kind: 'conflict';
      pick: { arn: string; tags: Tags; ownership: 'ours' | 'unmarked' | 'other' };
      sameNamed: number;
    };

/**
 * Every connection of that name, whatever its provider: names are unique in the
 * account (connections are global), so a GitHub connection of that name blocks too.
 */
export async function findByName(
  port: ConnectionsPort,
  r: Resolved,
  clusterId: string,
  adopt: boolean,
  all?: Connection[],
): Promise<Found> {
  const sameNamed = (all ?? (await port.listConnections())).filter((c) => c.name === r.connectionName);
  const pick = await pickByName(port, sameNamed, r.owner, clusterId, adopt);
  if (pick.kind === 'conflict') return { kind: 'conflict', pick, sameNamed: sameNamed.length };
  if (pick.kind === 'adopt') {
    return {
      kind: 'adopt',
      connection: sameNamed.find((c) => c.arn === pick.arn)!,
      ownership: pick.ownership,
    };
  }
  return { kind: 'none' };
}
