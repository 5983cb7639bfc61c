// GitLabConnection (DESIGN.md §2.3): host (self-managed only) → connection →
// tags → what AWS says about the connection. A create ends the reconcile at
// once, so the runtime writes the new ARN to status before anything else can
// fail; the next reconcile (immediately) continues from there.

import { type ConnectionsPort, type Host, regionOf } from '../../adapters/aws/connections.ts';
import type { GitLabConnection, GitLabConnectionStatus } from '../../api/v1alpha1/index.ts';
import type { ReconcileContext, Reconciler } from '../../runtime/reconcile/controller.ts';
import { done, type Outcome, TerminalError, wait } from '../../runtime/reconcile/outcome.ts';
import { type Condition, keyOf } from '../../runtime/transport/kube.ts';
import { ConditionWriter } from './condition-writer.ts';
import {
  AUTHORIZED,
  availableMessage,
  connectionErrorMessage,
  HOST_READY,
  hostDeletingMessage,
  hostFailedMessage,
  hostPendingMessage,
  hostProvisioningMessage,
  hostUnknownMessage,
  pendingAuthorizationMessage,
  REASONS,
} from './conditions.ts';
import { ConnectionListing, ensureConnection } from './connection.ts';
import { CreatedArns } from './created.ts';
import { authorizationUrl, type Resolved, resolve } from './defaults.ts';
import { finalizeConnection } from './delete.ts';
import { desiredTags, hostPhase } from './desired.ts';
import { ensureHost } from './host.ts';
import type { PendingConnections } from './metrics.ts';
import { convergeTags } from './tags.ts';

export type Ctx = ReconcileContext<GitLabConnection>;
export type Status = GitLabConnectionStatus & { conditions?: Condition[] };

export interface ConnectionDeps {
  aws: { connectionsFor(region: string | undefined, assumeRoleArn: string | undefined): ConnectionsPort };
  clusterId: string;
  defaultRegion: string | undefined;
  /** First re-check of something that waits for a person; the interval doubles up to pollMaxMs. */
  pollFirstMs: number;
  pollMaxMs: number;
  pending: PendingConnections;
  now?: () => Date;
}

// A create ends the reconcile so that its ARN is written at once; the next one starts right away.
const AFTER_CREATE_MS = 0;

export class ConnectionReconciler implements Reconciler<GitLabConnection> {
  private readonly deps: ConnectionDeps;
  private readonly created = new CreatedArns();
  private readonly listing = new ConnectionListing();
  private prunedAt = 0;

  constructor(deps: ConnectionDeps) {
    this.deps = deps;
  }

  async finalize(ctx: Ctx): Promise<Outcome> {
    this.deps.pending.set(ctx.key, false);
    const { connectionArn, hostArn } = this.created.recall(ctx.obj);
    if (connectionArn) ctx.status.connectionArn = connectionArn;
    if (hostArn) ctx.status.hostArn = hostArn;
    const outcome = await finalizeConnection(ctx, this.deps);
    if (outcome.kind === 'done') this.created.forget(ctx.obj);
    return outcome;
  }

  async reconcile(ctx: Ctx): Promise<Outcome> {
    const { obj } = ctx;
    const { clusterId } = this.deps;
    const r = resolve(obj, this.deps.defaultRegion);
    const port = this.deps.aws.connectionsFor(r.region, r.assumeRoleArn);
    const status = ctx.status as Status;
    const tags = desiredTags(r, clusterId);
    const ref = `glconn/${obj.metadata.name} -n ${obj.metadata.namespace}`;
    const conditions = new ConditionWriter(status, obj, this.deps);
    const recorded = this.created.recall(obj);
    // Pruning walks every cached object: once a minute, not on every reconcile (O(N²) per resync).
    if (Date.now() - this.prunedAt > 60_000) {
      this.prunedAt = Date.now();
      this.deps.pending.retain(ctx.cached().map(keyOf));
    }

    // 1. The host (self-managed GitLab only).
    let host: Host | undefined;
    if (r.host) {
      const step = await ensureHost(port, { ...r, host: r.host }, recorded.hostArn, clusterId, tags);
      if (step.missing) this.deletedOutside(ctx, 'host', step.missing);
      if (step.kind === 'created') {
        this.created.remember(obj, { hostArn: step.arn });
        status.hostArn = step.arn;
        delete status.hostStatus;
        ctx.log.info({ hostArn: step.arn }, 'created host');
        return wait(AFTER_CREATE_MS, REASONS.hostCreated, `Created host ${r.host.name} (${step.arn})`);
      }
      host = step.host;
      // Said now: the host may keep the reconcile from reaching the connection.
      if (step.changes.length) {
        ctx.events.event(obj, 'Normal', step.adopted ? 'Adopted' : 'Updated', step.changes.join('; '));
      }
      status.hostArn = host.arn;
      status.hostStatus = host.status;
      const waiting = this.hostOutcome(host, r, port, conditions, ref);
      if (waiting) return waiting;
    } else {
      delete status.hostArn;
      delete status.hostStatus;
      conditions.remove(HOST_READY);
    }

    // 2. The connection.
    const step = await ensureConnection(
      port,
      r,
      recorded.connectionArn,
      host?.arn,
      clusterId,
      tags,
      this.listing,
    );
    if (step.missing) this.deletedOutside(ctx, 'connection', step.missing);
    if (step.kind === 'created') {
      this.created.remember(obj, { connectionArn: step.arn });
      status.connectionArn = step.arn;
      delete status.connectionStatus;
      ctx.log.info({ connectionArn: step.arn }, 'created connection');
      return wait(
        AFTER_CREATE_MS,
        REASONS.connectionCreated,
        `Created connection ${r.connectionName} (${step.arn})`,
      );
    }
    const connection = step.connection;
    const changes = step.adopted ? [`adopted connection ${connection.name} (${connection.arn})`] : [];
    status.connectionArn = connection.arn;
    status.connectionStatus = connection.status;

    // 3. Tags on both.
    changes.push(...(await convergeTags(port, connection.arn, tags, `connection ${connection.name}`)));
    if (host) changes.push(...(await convergeTags(port, host.arn, tags, `host ${host.name}`)));
    if (changes.length) {
      ctx.events.event(obj, 'Normal', step.adopted ? 'Adopted' : 'Updated', changes.join('; '));
    }

    // 4. What AWS says about the connection.
    const url = authorizationUrl(regionOf(connection.arn) ?? port.region);
    this.deps.pending.set(ctx.key, connection.status === 'PENDING');
    switch (connection.status) {
      case 'AVAILABLE':
        delete status.authorizationUrl;
        conditions.set(
          AUTHORIZED,
          true,
          REASONS.authorized,
          'The handshake is complete: AWS reports AVAILABLE',
        );
        return done(REASONS.available, availableMessage(r.connectionName, connection.arn));
      case 'PENDING': {
        status.authorizationUrl = url;
        const message = pendingAuthorizationMessage(r.connectionName, url, this.deps.pollMaxMs);
        conditions.set(AUTHORIZED, false, REASONS.pendingAuthorization, message);
        // A host must be set up before its connection can be: say that first.
        if (host && hostPhase(host.status) === 'pending') {
          return wait(
            conditions.pollDelay(HOST_READY, REASONS.pendingHostSetup),
            REASONS.pendingHostSetup,
            hostPendingMessage(host.name, url, r.connectionName),
          );
        }
        return wait(
          conditions.pollDelay(AUTHORIZED, REASONS.pendingAuthorization),
          REASONS.pendingAuthorization,
          message,
        );
      }
      case 'ERROR': {
        // Needs a person (DESIGN: Stalled); the runtime then stops polling until the
        // object changes, which the message tells how to trigger.
        status.authorizationUrl = url;
        const message = connectionErrorMessage(r.connectionName, connection.arn, url, ref);
        conditions.set(AUTHORIZED, false, REASONS.connectionError, message);
        throw new TerminalError(REASONS.connectionError, message);
      }
      default:
        return wait(
          this.deps.pollMaxMs,
          REASONS.connectionUnknownStatus,
          `Connection ${r.connectionName} reports the status "${connection.status}", which the operator does not know; it checks again later`,
        );
    }
  }

  /** undefined to go on to the connection; an outcome (or a throw) when the host must come first. */
  private hostOutcome(
    host: Host,
    r: Resolved,
    port: ConnectionsPort,
    conditions: ConditionWriter,
    ref: string,
  ): Outcome | undefined {
    const waitFor = (reason: string, message: string, afterMs?: number) => {
      conditions.set(HOST_READY, false, reason, message);
      return wait(afterMs ?? conditions.pollDelay(HOST_READY, reason), reason, message);
    };
    switch (hostPhase(host.status)) {
      case 'available':
        conditions.set(
          HOST_READY,
          true,
          REASONS.hostAvailable,
          `Host ${host.name} (${host.arn}) is AVAILABLE`,
        );
        return undefined;
      case 'pending': {
        // The connection can be made on a PENDING host, so a person sets up both in one visit.
        const url = authorizationUrl(port.region);
        conditions.set(
          HOST_READY,
          false,
          REASONS.pendingHostSetup,
          hostPendingMessage(host.name, url, r.connectionName),
        );
        return undefined;
      }
      case 'provisioning':
        return waitFor(REASONS.hostProvisioning, hostProvisioningMessage(host));
      case 'deleting':
        return waitFor(REASONS.hostDeleting, hostDeletingMessage(host));
      case 'failed': {
        const message = hostFailedMessage(host, ref);
        conditions.set(HOST_READY, false, REASONS.hostFailed, message);
        throw new TerminalError(REASONS.hostFailed, message);
      }
      default:
        return waitFor(REASONS.hostUnknownStatus, hostUnknownMessage(host), this.deps.pollMaxMs);
    }
  }

  private deletedOutside(ctx: Ctx, what: 'connection' | 'host', arn: string): void {
    ctx.log.warn({ arn }, `${what} deleted outside the operator; making a new one`);
    ctx.events.event(
      ctx.obj,
      'Warning',
      what === 'connection' ? 'ConnectionDeleted' : 'HostDeleted',
      what === 'connection'
        ? `Connection ${arn} was deleted outside the operator; a new one is created, with a new ARN that pipelines must use and that needs the GitLab handshake again`
        : `Host ${arn} was deleted outside the operator; a new one is created and must be set up again`,
    );
  }
}
