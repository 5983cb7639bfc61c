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
import { principalNameOf } from './desired.ts';
import { stripPolicies } from './principal.ts';

export const MANAGED_BY_TAG = 'gitlab-aws.io/managed-by';
export const MANAGED_BY = 'gitlab-aws-operator';
const AUDIENCE_TAG_PREFIX = 'gitlab-aws.io/audience-';
export const THUMBPRINTS_TAG = 'gitlab-aws.io/thumbprints';

const audienceHash = (audience: string) => createHash('sha256').update(audience).digest('hex').slice(0, 12);

/** The tag that says the operator added `audience` to a provider (and may remove it). */
export const audienceTag = (audience: string) => `${AUDIENCE_TAG_PREFIX}${audienceHash(audience)}`;

// Which audiences each operator's view (a shard: --namespaces, --label-selector)
// still uses at a provider. An operator sees only its own federations; before it
// removes an audience or deletes the provider it reads the other views' records
// on the provider itself, so a sharded or namespace-scoped operator never removes
// what a federation outside its view uses (DESIGN.md §2.5). One tag per view,
// written only by that view's (leading) process: `gitlab-aws.io/view-<hash of
// cluster ID, namespaces, label selector>`, its value the hashes of the
// audiences, space-separated, or `*` (all) when more than fit in 256 characters.
const VIEW_TAG_PREFIX = 'gitlab-aws.io/view-';
const ALL_AUDIENCES = '*';
const HASHES_PER_TAG = 19; // 19 × 12 + 18 spaces = 246 ≤ 256

/** The tag key of this process's view. */
export function viewTag(clusterId: string, namespaces: string[], labelSelector: string | undefined): string {
  const view = `${clusterId}\n${[...namespaces].sort().join(',')}\n${labelSelector ?? ''}`;
  return `${VIEW_TAG_PREFIX}${createHash('sha256').update(view).digest('hex').slice(0, 16)}`;
}

/** The value of a view tag for these audiences; undefined for none. */
export function viewRecord(audiences: string[]): string | undefined {
  const hashes = [...new Set(audiences.map(audienceHash))].sort();
  if (hashes.length === 0) return undefined;
  return hashes.length > HASHES_PER_TAG ? ALL_AUDIENCES : hashes.join(' ');
}

/** Does the view tag's value record `audience`? */
export function viewRecords(value: string | undefined, audience: string): boolean {
  if (value === undefined) return false;
  const hashes = value.split(' ');
  return hashes.includes(ALL_AUDIENCES) || hashes.includes(audienceHash(audience));
}

/** The value with `audience` added to it. */
export function withAudience(value: string | undefined, audience: string): string {
  if (viewRecords(value, audience)) return value!;
  const hashes = [...(value ? value.split(' ') : []), audienceHash(audience)].sort();
  return hashes.length > HASHES_PER_TAG ? ALL_AUDIENCES : hashes.join(' ');
}

/** The views other than `mine` that recorded themselves on the provider. */
function otherViews(p: OidcProvider, mine: string): string[] {
  return Object.keys(p.tags).filter((k) => k.startsWith(VIEW_TAG_PREFIX) && k !== mine);
}

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
  const { name, path } = role.startsWith('arn:') ? principalNameOf(role) : { name: role, path: undefined };
  const current = await iam.getRole(name);
  if (!current || (path !== undefined && current.path !== path)) return undefined;
  if (ownershipOf(current.tags, owner, clusterId) !== 'ours') return undefined;
  await stripPolicies(iam, { kind: 'role', name });
  await iam.deleteRole(name);
  return current.arn;
}

/**
 * Deletes the IAM user if it is this federation's: its access keys first (a
 * user's keys die with it, so nothing it held stays usable), then its
 * policies, as IAM wants. `user` is an ARN, or the name the spec gives.
 */
export async function deleteUser(
  iam: IamPort,
  user: string,
  owner: string,
  clusterId: string,
): Promise<string | undefined> {
  const { name, path } = user.startsWith('arn:') ? principalNameOf(user) : { name: user, path: undefined };
  const current = await iam.getUser(name);
  if (!current || (path !== undefined && current.path !== path)) return undefined;
  if (ownershipOf(current.tags, owner, clusterId) !== 'ours') return undefined;
  for (const key of await iam.accessKeys(name)) await iam.deleteAccessKey(name, key.id);
  await stripPolicies(iam, { kind: 'user', name });
  await iam.deleteUser(name);
  return current.arn;
}

/**
 * Removes `audience` from the provider at `providerArn` if the operator added it
 * and no federation uses it: none in `stillWanted` (this view's, from its cache)
 * and none that another view records on the provider. Deletes the provider when
 * the operator created it and no federation uses it at all: none in this view
 * (`anyUser`) and no other view recorded. Then rewrites this view's record.
 */
export async function releaseAudience(
  iam: IamPort,
  input: {
    providerArn: string;
    audience: string;
    stillWanted: string[];
    anyUser: boolean;
    clusterId: string;
    viewTag: string;
  },
): Promise<string[]> {
  const p = await iam.getOidcProvider(input.providerArn);
  if (!p) return [];
  const others = otherViews(p, input.viewTag);
  if (!input.anyUser && others.length === 0 && createdByUs(p, input.clusterId)) {
    await iam.deleteOidcProvider(p.arn);
    return [`deleted IAM OIDC provider ${p.arn}`];
  }
  const changes: string[] = [];
  const elsewhere = others.some((k) => viewRecords(p.tags[k], input.audience));
  if (
    !input.stillWanted.includes(input.audience) &&
    !elsewhere &&
    audiencesWeAdded(p).includes(input.audience)
  ) {
    if (p.clientIds.includes(input.audience)) {
      await iam.removeClientId(p.arn, input.audience);
      changes.push(`removed audience ${input.audience} from ${p.arn}`);
    }
    // Also the tag of an audience whose adding failed after the tag was written.
    await iam.untagOidcProvider(p.arn, [audienceTag(input.audience)]);
  }
  // Last, so that a failure above leaves the record for the retry.
  const record = input.anyUser ? viewRecord(input.stillWanted) : undefined;
  if (record === undefined) {
    if (p.tags[input.viewTag] !== undefined) await iam.untagOidcProvider(p.arn, [input.viewTag]);
  } else if (p.tags[input.viewTag] !== record) {
    await iam.tagOidcProvider(p.arn, { [input.viewTag]: record });
  }
  return changes;
}

/** The target of a status entry ("project payments/api"). */
export function parseTarget(text: string): Target | undefined {
  const [kind, path] = text.split(' ');
  return (kind === 'project' || kind === 'group') && path ? { kind, path } : undefined;
}

/** Deletes the variables that carry our marker (only those of `keys`, when given); others are left alone. */
export async function deleteOwnedVariables(
  gitlab: GitLabPort,
  target: Target,
  owner: string,
  keys?: string[],
): Promise<string[]> {
  const marker = ownerMarker(owner);
  const ours = (await gitlab.variables(target)).filter(
    (v) => v.description === marker && (!keys || keys.includes(v.key)),
  );
  for (const v of ours) await gitlab.deleteVariable(target, v.key, v.environmentScope);
  return ours.map(
    (v) => `deleted variable ${v.key} (scope ${v.environmentScope}) in ${describeTarget(target)}`,
  );
}
