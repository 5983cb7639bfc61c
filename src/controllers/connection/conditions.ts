// The condition types and reasons a GitLabConnection carries besides Ready,
// Reconciling and Stalled, and the messages a person reads in them. Messages
// must be stable from one poll to the next: a changed message would move
// lastTransitionTime (from which the poll backoff is computed) and write status.
import type { Host } from '../../adapters/aws/connections.ts';
import { formatDelay } from '../../runtime/reconcile/poll.ts';

/** The GitLab side of the connection: True once the handshake is done (AVAILABLE). */
export const AUTHORIZED = 'Authorized';
/** Self-managed GitLab only: the CodeConnections host is provisioned and set up. */
export const HOST_READY = 'HostReady';

export const REASONS = {
  pendingAuthorization: 'PendingGitLabAuthorization',
  connectionError: 'ConnectionError',
  authorized: 'Authorized',
  available: 'Available',
  connectionCreated: 'ConnectionCreated',
  hostCreated: 'HostCreated',
  hostProvisioning: 'HostProvisioning',
  pendingHostSetup: 'PendingHostSetup',
  hostFailed: 'HostFailed',
  hostDeleting: 'HostDeleting',
  hostUnknownStatus: 'HostStatusUnknown',
  hostAvailable: 'HostAvailable',
  nameInUse: 'ConnectionNameInUse',
  hostNameInUse: 'HostNameInUse',
  hostInUse: 'HostInUse',
  connectionUnknownStatus: 'ConnectionStatusUnknown',
} as const;

const recheck = (kind: string) =>
  `then change any annotation of this GitLabConnection (for example kubectl annotate ${kind} recheck="$(date +%s)" --overwrite) so the operator looks again`;

export function pendingAuthorizationMessage(name: string, url: string, maxPollMs: number): string {
  return `Connection ${name} is PENDING: a user with the Owner role in GitLab must complete the handshake at ${url} (select ${name}, choose Update pending connection, and authorize AWS in GitLab). The operator checks again with backoff, at least every ${formatDelay(maxPollMs)}, and turns Ready when AWS reports AVAILABLE`;
}

export function connectionErrorMessage(name: string, arn: string, url: string, ref: string): string {
  return `Connection ${name} (${arn}) is in ERROR: AWS can no longer use its GitLab authorization (for example, the authorizing user lost the Owner role or the AWS app was removed from GitLab). Check it at ${url}; to start over, delete and recreate this GitLabConnection (the new connection needs the handshake again). After fixing it in the console, ${recheck(ref)}`;
}

export function availableMessage(name: string, arn: string): string {
  return `Connection ${name} is AVAILABLE: use ${arn} as ConnectionArn in CodePipeline's CodeStarSourceConnection action (the pipeline role needs UseConnection)`;
}

export function hostPendingMessage(host: string, url: string, connection: string): string {
  return `Host ${host} is PENDING: a person must set it up at ${url} (Hosts tab, select ${host}, Set up host; this needs a GitLab personal access token with the api scope). Then a user with the Owner role in GitLab completes the handshake of connection ${connection} there`;
}

export function hostProvisioningMessage(host: Host): string {
  return `Host ${host.name} is ${host.status}: AWS is setting up its VPC configuration (this takes a few minutes); the connection is created once that is done`;
}

export function hostFailedMessage(host: Host, ref: string): string {
  const why = host.statusMessage ? ` (${host.statusMessage})` : '';
  const vpc = host.vpc
    ? `Check that the subnets ${host.vpc.subnetIds.join(', ')} and security groups ${host.vpc.securityGroupIds.join(', ')} exist in ${host.vpc.vpcId} and let AWS reach ${host.endpoint} over HTTPS, and that the TLS certificate is the instance's. `
    : '';
  return `Host ${host.name} (${host.arn}) is ${host.status}${why}. ${vpc}Fix the host in the AWS console, ${recheck(ref)}; or delete and recreate this GitLabConnection (host.vpcConfiguration is immutable)`;
}

export function hostDeletingMessage(host: Host): string {
  return `Host ${host.name} (${host.arn}) is ${host.status}: someone is deleting it outside the operator; it is created again once it is gone`;
}

export function hostUnknownMessage(host: Host): string {
  return `Host ${host.name} (${host.arn}) reports the status ${host.status}, which the operator does not know; it checks again later`;
}
