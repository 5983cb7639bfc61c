// Removing what a federation made: its CI/CD variables, its roles, the
// audiences it added to a provider (and the provider itself when the operator
// made it and nothing uses it any more). Used by the steps that retire what an
// earlier spec made and by deletion. Something that carries another owner's
// marks is never removed.
import { createHash } from 'node:crypto';
import type { IamPort, OidcProvider } from '../../adapters/aws/iam.ts';
import { describeTarget, type GitLabPort, type Target } from '../../adapters/gitlab/client.ts';
import { CLUSTER_TAG, ownershipOf } from '../shared/ownership.ts';
import { ownerMarker } from './defaults.ts';
import { roleNameOf } from './desired.ts';

export const MANAGED_BY_TAG = 'gitlab-aws.io/managed-by';
export const MANAGED_BY = 'gitlab-aws-operator';
const AUDIENCE_TAG_PREFIX = 'gitlab-aws.io/audience-';
export const THUMBPRINTS_TAG = 'gitlab-aws.io/thumbprints';

/** The tag that says the operator added `audience` to a provider (and may remove it). */
export const audienceTag = (audience: string) =>
  `${AUDIENCE_TAG_PREFIX}${createHash('sha256').update(audience).digest('hex').slice(0, 12)}`;

export function audiencesWeAdded(p: OidcProvider): string[] {
  return Object.entries(p.tags)
    .filter(([k]) => k.startsWith(AUDIENCE_TAG_PREFIX))
    .map(([, v]) => v);
}

export function createdByUs(p: OidcProvider, clusterId: string): boolean {
  return p.tags[MANAGED_BY_TAG] === MANAGED_BY && p.tags[CLUSTER_TAG] === clusterId;
}

/**
 * Deletes the role if it is this federation's; IAM wants its policies gone
 * first. `role` is an ARN, or the name the spec gives (any path).
 */
export async function deleteRole(
  iam: IamPort,
  role: string,
  owner: string,
  clusterId: string,
): Promise<string | undefined> {
  const { name, path } = role.startsWith('arn:') ? roleNameOf(role) : { name: role, path: undefined };
  const current = await iam.getRole(name);
  if (!current || (path !== undefined && current.path !== path)) return undefined;
  if (ownershipOf(current.tags, owner, clusterId) !== 'ours') return undefined;
  for (const policy of await iam.attachedPolicies(name)) await iam.detachPolicy(name, policy);
  for (const policyName of Object.keys(await iam.inlinePolicies(name)))
    await iam.deleteInlinePolicy(name, policyName);
  await iam.deleteRole(name);
  return current.arn;
}

/**
 * Removes `audience` from the provider at `providerArn` if the operator added it
 * and no federation in `stillWanted` uses it; deletes the provider when the
 * operator created it and no federation of this cluster uses it at all.
 */
export async function releaseAudience(
  iam: IamPort,
  input: {
    providerArn: string;
    audience: string;
    stillWanted: string[];
    anyUser: boolean;
    clusterId: string;
  },
): Promise<string[]> {
  const p = await iam.getOidcProvider(input.providerArn);
  if (!p) return [];
  if (!input.anyUser && createdByUs(p, input.clusterId)) {
    await iam.deleteOidcProvider(p.arn);
    return [`deleted IAM OIDC provider ${p.arn}`];
  }
  if (input.stillWanted.includes(input.audience) || !audiencesWeAdded(p).includes(input.audience)) return [];
  const changes: string[] = [];
  if (p.clientIds.includes(input.audience)) {
    await iam.removeClientId(p.arn, input.audience);
    changes.push(`removed audience ${input.audience} from ${p.arn}`);
  }
  // Also the tag of an audience whose adding failed after the tag was written.
  await iam.untagOidcProvider(p.arn, [audienceTag(input.audience)]);
  return changes;
}

/** The target of a status entry ("project payments/api"). */
export function parseTarget(text: string): Target | undefined {
  const [kind, path] = text.split(' ');
  return (kind === 'project' || kind === 'group') && path ? { kind, path } : undefined;
}

/** Deletes the variables that carry our marker; others are left alone. */
export async function deleteOwnedVariables(
  gitlab: GitLabPort,
  target: Target,
  owner: string,
): Promise<string[]> {
  const marker = ownerMarker(owner);
  const ours = (await gitlab.variables(target)).filter((v) => v.description === marker);
  for (const v of ours) await gitlab.deleteVariable(target, v.key, v.environmentScope);
  return ours.map(
    (v) => `deleted variable ${v.key} (scope ${v.environmentScope}) in ${describeTarget(target)}`,
  );
}
