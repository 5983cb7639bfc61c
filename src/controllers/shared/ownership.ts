// Ownership marks on what the operator creates outside the cluster (DESIGN.md §3):
// an owner tag naming the resource and a cluster tag naming the cluster. Something
// that carries another owner's marks is never changed or deleted; something without
// marks is taken over only when the resource asks for it with the adopt annotation.

export const OWNER_TAG = 'gitlab-aws.io/owner';
export const CLUSTER_TAG = 'gitlab-aws.io/cluster';
export const ADOPT_ANNOTATION = 'gitlab-aws.io/adopt';

import type { Tags } from '../../adapters/aws/tags.ts';

export type { Tags };

/** `ours`: both marks match; `unmarked`: no owner tag; `other`: marked by another resource or cluster. */
export type Ownership = 'ours' | 'unmarked' | 'other';

export function ownerTags(owner: string, clusterId: string): Tags {
  return { [OWNER_TAG]: owner, [CLUSTER_TAG]: clusterId };
}

export function ownershipOf(tags: Tags, owner: string, clusterId: string): Ownership {
  const taggedOwner = tags[OWNER_TAG];
  if (taggedOwner === undefined) return 'unmarked';
  // A resource made by the same namespace/name in another cluster is not ours:
  // two clusters would otherwise fight over it (and delete it from under each other).
  return taggedOwner === owner && (tags[CLUSTER_TAG] ?? clusterId) === clusterId ? 'ours' : 'other';
}

/** Who a resource belongs to, in words, for conditions. */
export function describeOwner(tags: Tags): string {
  const owner = tags[OWNER_TAG];
  if (owner === undefined) return `it has no ${OWNER_TAG} tag`;
  const cluster = tags[CLUSTER_TAG];
  return `its ${OWNER_TAG} tag is "${owner}"${cluster !== undefined ? ` in cluster "${cluster}"` : ''}`;
}

export function wantsAdoption(annotations: Record<string, string> | undefined): boolean {
  return annotations?.[ADOPT_ANNOTATION] === 'true';
}
