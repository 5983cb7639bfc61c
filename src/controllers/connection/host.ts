// Step 1 for self-managed GitLab: the CodeConnections host that stands for the
// instance. Found by the ARN in status, else by name (ours, or unmarked with the
// adopt annotation), else created. Its endpoint follows spec.gitlab.url; its VPC
// configuration is set at creation only (the CRD makes it immutable).
import { type ConnectionsPort, type Host, sameArn, type Tags } from '../../adapters/aws/connections.ts';
import { TerminalError } from '../../runtime/reconcile/outcome.ts';
import { describeOwner, OWNER_TAG } from '../shared/ownership.ts';
import { REASONS } from './conditions.ts';
import type { Resolved, ResolvedHost } from './defaults.ts';
import { hostMismatch, hostPhase } from './desired.ts';
import { pickByName } from './lookup.ts';

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
