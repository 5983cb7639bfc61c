// Pure decisions of the GitLabConnection controller: the tags a resource should
// carry, which existing resource (if any) a name belongs to, and how a host
// status reads. No I/O; table-tested.
import { sameArn, type Tags } from '../../adapters/aws/connections.ts';
import { type Ownership, ownershipOf, ownerTags } from '../shared/ownership.ts';
import type { Resolved } from './defaults.ts';

/** Spec tags plus the owner tags (which win: the CRD refuses gitlab-aws.io/ keys anyway). */
export function desiredTags(r: Resolved, clusterId: string): Tags {
  return { ...r.specTags, ...ownerTags(r.owner, clusterId) };
}

export interface TagDelta {
  set: Tags;
  remove: string[];
}

/** What TagResource/UntagResource must do; `aws:` tags belong to AWS and are left alone. */
export function tagDelta(observed: Tags, desired: Tags): TagDelta {
  const set = Object.fromEntries(Object.entries(desired).filter(([k, v]) => observed[k] !== v));
  const remove = Object.keys(observed)
    .filter((k) => !(k in desired) && !k.startsWith('aws:'))
    .sort();
  return { set, remove };
}

export function describeTagDelta(delta: TagDelta): string[] {
  const out: string[] = [];
  const set = Object.keys(delta.set).sort();
  if (set.length) out.push(`set tags ${set.join(', ')}`);
  if (delta.remove.length) out.push(`removed tags ${delta.remove.join(', ')}`);
  return out;
}

export type HostPhase = 'provisioning' | 'pending' | 'available' | 'failed' | 'deleting' | 'unknown';

/** Host.Status is a free string; these are the documented values and their meaning to us. */
export function hostPhase(status: string): HostPhase {
  switch (status) {
    case 'AVAILABLE':
      return 'available';
    case 'PENDING':
      return 'pending';
    // The console guide spells some VPC states VPC_CONFIG_VPC_* (API-FACTS D).
    case 'VPC_CONFIG_INITIALIZING':
    case 'VPC_CONFIG_VPC_INITIALIZING':
      return 'provisioning';
    case 'VPC_CONFIG_FAILED_INITIALIZATION':
    case 'VPC_CONFIG_VPC_FAILED_INITIALIZATION':
    case 'ERROR':
      return 'failed';
    case 'VPC_CONFIG_DELETING':
    case 'VPC_CONFIG_VPC_DELETING':
      return 'deleting';
    default:
      return 'unknown';
  }
}

export interface Candidate {
  arn: string;
  /** undefined when the resource vanished between listing and reading its tags. */
  tags: Tags | undefined;
}

export type Pick =
  | { kind: 'none' }
  /** Ours (a crash between create and status write left it), or unmarked and adoption was asked for. */
  | { kind: 'adopt'; arn: string; ownership: Ownership; others: string[] }
  /** The name is taken by something that is not ours: it is never touched. */
  | { kind: 'conflict'; arn: string; tags: Tags; ownership: Ownership };

/** Which of the same-named resources this GitLabConnection may use. */
export function pickExisting(
  candidates: Candidate[],
  owner: string,
  clusterId: string,
  adopt: boolean,
): Pick {
  const present = candidates.filter((c): c is { arn: string; tags: Tags } => c.tags !== undefined);
  const judged = present.map((c) => ({ ...c, ownership: ownershipOf(c.tags, owner, clusterId) }));
  const ours = judged.filter((c) => c.ownership === 'ours');
  const first = ours[0];
  if (first)
    return { kind: 'adopt', arn: first.arn, ownership: 'ours', others: ours.slice(1).map((c) => c.arn) };
  const unmarked = judged.find((c) => c.ownership === 'unmarked');
  if (unmarked && adopt && judged.length === 1)
    return { kind: 'adopt', arn: unmarked.arn, ownership: 'unmarked', others: [] };
  const blocking = judged.find((c) => c.ownership === 'other') ?? unmarked;
  return blocking
    ? { kind: 'conflict', arn: blocking.arn, tags: blocking.tags, ownership: blocking.ownership }
    : { kind: 'none' };
}

/** Why an existing connection cannot serve this spec, or undefined when it can. */
export function connectionMismatch(
  c: { providerType: string | undefined; hostArn: string | undefined },
  hostArn: string | undefined,
): string | undefined {
  if (hostArn === undefined) {
    return c.providerType === 'GitLab' && !c.hostArn
      ? undefined
      : `it is a ${c.providerType ?? 'unknown'} connection${c.hostArn ? ` on host ${c.hostArn}` : ''}, not a GitLab.com one`;
  }
  return sameArn(c.hostArn, hostArn)
    ? undefined
    : `it uses ${c.hostArn ? `host ${c.hostArn}` : `provider ${c.providerType ?? 'unknown'}`}, not host ${hostArn}`;
}

/** Why an existing host cannot serve this spec, or undefined when it can. */
export function hostMismatch(h: { providerType: string | undefined }): string | undefined {
  return h.providerType === 'GitLabSelfManaged'
    ? undefined
    : `it is a ${h.providerType ?? 'unknown'} host, not a GitLabSelfManaged one`;
}
