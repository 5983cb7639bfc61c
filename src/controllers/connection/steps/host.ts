// Step 1 for self-managed GitLab: the CodeConnections host that stands for the
// instance. Found by the ARN in status, else by name (ours, or unmarked with the
// adopt annotation), else created. Its endpoint follows spec.gitlab.url; its VPC
// configuration is set at creation only (the CRD makes it immutable). A create
// ends the reconcile, so the runtime writes the new ARN to status before
// anything else can fail; the next reconcile (at once) goes on from there.
import { type ConnectionsPort, type Host, sameArn, type Tags } from '../../../adapters/aws/connections.ts';
import { type Outcome, TerminalError, wait } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step, stop } from '../../../runtime/reconcile/steps.ts';
import { describeOwner, OWNER_TAG } from '../../shared/ownership.ts';
import {
  HOST_READY,
  hostDeletingMessage,
  hostFailedMessage,
  hostPendingMessage,
  hostProvisioningMessage,
  hostUnknownMessage,
  REASONS,
} from '../conditions.ts';
import type { Resolved, ResolvedHost } from '../defaults.ts';
import { authorizationUrl } from '../defaults.ts';
import { hostMismatch, hostPhase } from '../desired.ts';
import { pickByName } from '../lookup.ts';
import { type ConnectionState, deletedOutside, pollDelay } from '../state.ts';

// A create ends the reconcile so that its ARN is written at once; the next one starts right away.
export const AFTER_CREATE_MS = 0;

export const hostStep: Step<ConnectionState> = {
  name: 'host',
  condition: HOST_READY,
  async run(s) {
    const { r, status, ctx } = s;
    if (!r.host) {
      delete status.hostArn;
      delete status.hostStatus;
      ctx.conditions.remove(HOST_READY);
      return next();
    }
    const step = await ensureHost(
      s.port,
      { ...r, host: r.host },
      s.recorded.hostArn,
      s.deps.clusterId,
      s.tags,
    );
    if (step.missing) deletedOutside(s, 'host', step.missing);
    if (step.kind === 'created') {
      s.created.remember(s.obj, { hostArn: step.arn });
      status.hostArn = step.arn;
      delete status.hostStatus;
      ctx.log.info({ hostArn: step.arn }, 'created host');
      return stop(wait(AFTER_CREATE_MS, REASONS.hostCreated, `Created host ${r.host.name} (${step.arn})`));
    }
    const host = step.host;
    s.host = host;
    // Said now: the host may keep the reconcile from reaching the connection.
    if (step.changes.length) {
      ctx.events.event(s.obj, 'Normal', step.adopted ? 'Adopted' : 'Updated', step.changes.join('; '));
    }
    status.hostArn = host.arn;
    status.hostStatus = host.status;
    const waiting = hostOutcome(s, host);
    return waiting ? stop(waiting) : next();
  },
};

/** undefined to go on to the connection; an outcome (or a throw) when the host must come first. */
function hostOutcome(s: ConnectionState, host: Host): Outcome | undefined {
  const conditions = s.ctx.conditions;
  const waitFor = (reason: string, message: string, afterMs?: number) => {
    conditions.set(HOST_READY, false, reason, message);
    return wait(afterMs ?? pollDelay(s, HOST_READY, reason), reason, message);
  };
  switch (hostPhase(host.status)) {
    case 'available':
      conditions.set(HOST_READY, true, REASONS.hostAvailable, `Host ${host.name} (${host.arn}) is AVAILABLE`);
      return undefined;
    case 'pending': {
      // The connection can be made on a PENDING host, so a person sets up both in one visit.
      const url = authorizationUrl(s.port.region);
      conditions.set(
        HOST_READY,
        false,
        REASONS.pendingHostSetup,
        hostPendingMessage(host.name, url, s.r.connectionName),
      );
      return undefined;
    }
    case 'provisioning':
      return waitFor(REASONS.hostProvisioning, hostProvisioningMessage(host));
    case 'deleting':
      return waitFor(REASONS.hostDeleting, hostDeletingMessage(host));
    case 'failed': {
      const message = hostFailedMessage(host, s.ref);
      conditions.set(HOST_READY, false, REASONS.hostFailed, message);
      throw new TerminalError(REASONS.hostFailed, message, { recheck: true });
    }
    default:
      return waitFor(REASONS.hostUnknownStatus, hostUnknownMessage(host), s.deps.pollMaxMs);
  }
}

export type HostStep =
  | { kind: 'created'; arn: string; missing: string | undefined }
  | { kind: 'observed'; host: Host; adopted: boolean; changes: string[]; missing: string | undefined };

export async function ensureHost(
  port: ConnectionsPort,
  r: Resolved & { host: ResolvedHost },
  recordedArn: string | undefined,
  clusterId: string,
  tags: Tags,
): Promise<HostStep> {
  const hosts = await port.listHosts();
  let missing: string | undefined;
  if (recordedArn) {
    const recorded = hosts.find((h) => sameArn(h.arn, recordedArn));
    if (recorded)
      return {
        kind: 'observed',
        host: recorded,
        adopted: false,
        changes: await convergeEndpoint(port, recorded, r),
        missing,
      };
    missing = recordedArn;
  }

  const sameNamed = hosts.filter((h) => h.name === r.host.name);
  const pick = await pickByName(port, sameNamed, r.owner, clusterId, r.adopt);
  if (pick.kind === 'conflict') {
    const several = sameNamed.length > 1;
    throw new TerminalError(
      REASONS.hostNameInUse,
      `A host named ${r.host.name} already exists in ${port.region} (${pick.arn}) and is not managed by this GitLabConnection: ${describeOwner(pick.tags)}. The operator leaves it untouched. Delete and recreate this GitLabConnection with another spec.host.name${
        pick.ownership === 'unmarked' && !several
          ? ', or annotate this GitLabConnection with gitlab-aws.io/adopt: "true" to take that host over'
          : several
            ? ` (${sameNamed.length} hosts have that name, so none can be adopted)`
            : ''
      }`,
    );
  }
  if (pick.kind === 'adopt') {
    const host = hosts.find((h) => h.arn === pick.arn)!;
    const mismatch = hostMismatch(host);
    if (mismatch) {
      throw new TerminalError(
        REASONS.hostNameInUse,
        `Host ${host.name} (${host.arn}) ${pick.ownership === 'ours' ? `carries this resource's ${OWNER_TAG} tag` : 'exists'}, but ${mismatch}: delete it in the AWS console, or recreate this GitLabConnection with another spec.host.name`,
      );
    }
    const changes = await convergeEndpoint(port, host, r);
    if (pick.ownership === 'unmarked') changes.unshift(`adopted host ${host.name} (${host.arn})`);
    return { kind: 'observed', host, adopted: pick.ownership === 'unmarked', changes, missing };
  }

  const arn = await port.createHost({ name: r.host.name, endpoint: r.host.endpoint, vpc: r.host.vpc, tags });
  return { kind: 'created', arn, missing };
}

/** spec.gitlab.url may move between self-managed URLs; the host follows (not while AWS is busy with it). */
async function convergeEndpoint(
  port: ConnectionsPort,
  host: Host,
  r: { host: ResolvedHost },
): Promise<string[]> {
  const current = host.endpoint.replace(/\/+$/, '');
  if (current === r.host.endpoint) return [];
  const phase = hostPhase(host.status);
  if (phase === 'provisioning' || phase === 'deleting') return [];
  await port.updateHostEndpoint(host.arn, r.host.endpoint);
  host.endpoint = r.host.endpoint;
  return [`host ${host.name} endpoint ${current} -> ${r.host.endpoint}`];
}
