// What the role (OIDC) and the IAM user (IAMUserAccessKeys) share: they
// belong to the federation by their owner tags, and their tags, permissions
// boundary, managed and inline policies converge exactly to the spec
// (documents compared by meaning). A boundary is never removed (that can raise
// the principal's permissions), only set or replaced.
//
// The order of the calls is what the restricted IAM policy in deploy/iam/
// needs (docs/aws-permissions.md): on an existing principal the tags come
// first (so an adopted one is marked before anything else is written to it),
// then the boundary (so every later write finds the boundary the policy
// requires); a new one carries both in its create call.
import type { IamPort, PrincipalRef, Tags } from '../../adapters/aws/iam.ts';
import { grantPolicies, needsRegion, scopeOf } from '../../policy/grants.ts';
import { type PolicyDocument, samePolicy } from '../../policy/iam-document.ts';
import { TerminalError } from '../../runtime/reconcile/outcome.ts';
import { describeOwner, type Ownership, ownershipOf } from '../shared/ownership.ts';
import { REASONS } from './conditions.ts';
import type { DesiredPolicies } from './desired.ts';

export interface CurrentPrincipal {
  arn: string;
  path: string;
  permissionsBoundaryArn?: string;
  tags: Tags;
}

const FIELD = { role: 'spec.role', user: 'spec.iamUser' } as const;
const NOUN = { role: 'IAM role', user: 'IAM user' } as const;

/**
 * Whose the existing principal is; a TerminalError when it is not this
 * federation's to change (marked by another, or unmarked without adoption).
 */
function claim(
  p: PrincipalRef,
  current: CurrentPrincipal,
  ownedBy: { owner: string; clusterId: string; adopt: boolean },
): Ownership {
  const ownership = ownershipOf(current.tags, ownedBy.owner, ownedBy.clusterId);
  if (ownership === 'other' || (ownership === 'unmarked' && !ownedBy.adopt)) {
    throw new TerminalError(
      p.kind === 'role' ? REASONS.roleOwnedElsewhere : REASONS.userOwnedElsewhere,
      `${NOUN[p.kind]} ${p.name} already exists and is not managed by this federation (${describeOwner(current.tags)}): set ${FIELD[p.kind]}.name to another name${ownership === 'unmarked' ? `, or annotate this resource with gitlab-aws.io/adopt: "true" to take the ${p.kind} over` : ''}`,
      { recheck: true },
    );
  }
  return ownership;
}

/** IAM cannot move a principal: one of ours is made anew, anyone else's is reported. */
function pathMismatch(p: PrincipalRef, current: CurrentPrincipal): TerminalError {
  return new TerminalError(
    p.kind === 'role' ? REASONS.rolePathMismatch : REASONS.userPathMismatch,
    `${NOUN[p.kind]} ${p.name} exists with path ${current.path}, and IAM cannot change the path of a ${p.kind}: set ${FIELD[p.kind]}.path to ${current.path}, or delete the ${p.kind}`,
  );
}

export interface Ensured {
  arn: string;
  created: boolean;
  /** What was changed, in words, for events. */
  changes: string[];
  /** The boundary the principal keeps although the spec names none (the operator never removes one). */
  keptBoundary?: string;
}

/** What differs between a role and a user, for ensurePrincipal. */
export interface PrincipalCalls<C extends CurrentPrincipal> {
  get(): Promise<C | undefined>;
  /** Makes it with its path, boundary and tags in one call; returns the ARN. */
  create(): Promise<string>;
  /** Deletes ours (with what IAM wants gone first), to make it again under another path. */
  remove(current: C): Promise<unknown>;
  /** Its own fields (a role's trust policy, description), after the marks and before the policies. */
  update?(current: C, changes: string[]): Promise<void>;
}

/**
 * The principal as `desired` says: claimed (ours, or adopted), made anew under
 * another path (IAM cannot move one, and names are unique whatever the path),
 * created, or converged: tags, boundary, its own fields, then the policies.
 */
export async function ensurePrincipal<C extends CurrentPrincipal>(
  iam: IamPort,
  p: PrincipalRef,
  desired: DesiredPolicies,
  ownedBy: { owner: string; clusterId: string; adopt: boolean },
  calls: PrincipalCalls<C>,
): Promise<Ensured> {
  checkInline(p, desired);
  let current = await calls.get();
  const changes: string[] = [];
  if (current) {
    const ownership = claim(p, current, ownedBy);
    if (current.path !== desired.path) {
      if (ownership !== 'ours') throw pathMismatch(p, current);
      await calls.remove(current);
      changes.push(
        `deleted ${NOUN[p.kind]} ${current.arn} to make it again under path ${desired.path} (IAM cannot move a ${p.kind})`,
      );
      current = undefined;
    } else if (ownership === 'unmarked') {
      changes.push(`adopted ${NOUN[p.kind]} ${current.arn}`);
    }
  }
  if (!current) {
    const arn = await calls.create();
    for (const policy of desired.managedPolicyArns) await iam.attachPolicy(p, policy);
    for (const [policyName, doc] of Object.entries(inlineOf(desired, arn))) {
      await iam.putInlinePolicy(p, policyName, JSON.stringify(doc));
    }
    return { arn, created: true, changes: [...changes, `created ${NOUN[p.kind]} ${arn}`] };
  }
  const keptBoundary = await convergeMarks(iam, p, current, desired, changes);
  await calls.update?.(current, changes);
  await convergePolicies(iam, p, current, desired, changes);
  return { arn: current.arn, created: false, changes, ...(keptBoundary ? { keptBoundary } : {}) };
}

/**
 * Tags, then the boundary, of an existing principal. Returns the boundary it
 * keeps although the spec names none.
 */
async function convergeMarks(
  iam: IamPort,
  p: PrincipalRef,
  current: CurrentPrincipal,
  desired: DesiredPolicies,
  changes: string[],
): Promise<string | undefined> {
  const tagUpdates = Object.fromEntries(
    Object.entries(desired.tags).filter(([k, v]) => current.tags[k] !== v),
  );
  if (Object.keys(tagUpdates).length) {
    await iam.tag(p, tagUpdates);
    changes.push(`tags ${Object.keys(tagUpdates).join(', ')}`);
  }
  if (desired.permissionsBoundaryArn) {
    if (current.permissionsBoundaryArn !== desired.permissionsBoundaryArn) {
      await iam.setPermissionsBoundary(p, desired.permissionsBoundaryArn);
      changes.push('permissions boundary');
    }
    return undefined;
  }
  return current.permissionsBoundaryArn;
}

/** Tags the spec does not name go; managed and inline policies converge. */
async function convergePolicies(
  iam: IamPort,
  p: PrincipalRef,
  current: CurrentPrincipal,
  desired: DesiredPolicies,
  changes: string[],
): Promise<void> {
  const extraTags = Object.keys(current.tags).filter((k) => !(k in desired.tags) && !k.startsWith('aws:'));
  if (extraTags.length) {
    await iam.untag(p, extraTags);
    changes.push(`removed tags ${extraTags.join(', ')}`);
  }
  const attached = await iam.attachedPolicies(p);
  for (const policy of desired.managedPolicyArns.filter((a) => !attached.includes(a))) {
    await iam.attachPolicy(p, policy);
    changes.push(`attached ${policy}`);
  }
  for (const policy of attached.filter((a) => !desired.managedPolicyArns.includes(a))) {
    await iam.detachPolicy(p, policy);
    changes.push(`detached ${policy}, which the spec does not list`);
  }
  const inline = await iam.inlinePolicies(p);
  const wanted = inlineOf(desired, current.arn);
  for (const [policyName, doc] of Object.entries(wanted)) {
    const have = inline[policyName];
    if (have === undefined || !samePolicy(have, doc as PolicyDocument)) {
      await iam.putInlinePolicy(p, policyName, JSON.stringify(doc));
      changes.push(`inline policy ${policyName}`);
    }
  }
  for (const policyName of Object.keys(inline).filter((n) => !(n in wanted))) {
    await iam.deleteInlinePolicy(p, policyName);
    changes.push(`removed inline policy ${policyName}, which the spec does not list`);
  }
}

/**
 * The spec's inline policies and the grant presets' (named in the
 * principal's account and partition, so known once its ARN is).
 */
function inlineOf(desired: DesiredPolicies, arn: string): Record<string, object> {
  if (!desired.grants.length) return desired.inlinePolicies;
  return { ...desired.inlinePolicies, ...grantPolicies(desired.grants, scopeOf(arn, desired.region)) };
}

/** IAM's limit on the inline policies of a role or user together, white space not counted. */
const INLINE_POLICY_LIMIT = { role: 10240, user: 2048 } as const;

/** What IAM would refuse, or what a preset cannot name, said before anything is written. */
function checkInline(p: PrincipalRef, desired: DesiredPolicies): void {
  if (!desired.region && needsRegion(desired.grants)) {
    throw new TerminalError(
      REASONS.regionRequired,
      `${FIELD[p.kind]}.grants name resources of a region, and none is known: set spec.aws.region, or run the operator with --aws-region`,
    );
  }
  // JSON.stringify leaves no white space outside strings; the account does not change the size.
  const docs = inlineOf(desired, 'arn:aws:iam::000000000000:x');
  const size = Object.values(docs).reduce((n, doc) => n + JSON.stringify(doc).length, 0);
  if (size > INLINE_POLICY_LIMIT[p.kind]) {
    throw new TerminalError(
      REASONS.inlinePoliciesTooLarge,
      `the inline policies of ${NOUN[p.kind]} ${p.name} (${FIELD[p.kind]}.inlinePolicies and .grants) would be ${size} characters together, over the ${INLINE_POLICY_LIMIT[p.kind]} that IAM allows for a ${p.kind}: name fewer resources (a trailing * covers a prefix), or move a policy to a managed policy in ${FIELD[p.kind]}.managedPolicyArns`,
    );
  }
}

/** Detaches and deletes every policy, as IAM wants before a role or user is deleted. */
export async function stripPolicies(iam: IamPort, p: PrincipalRef): Promise<void> {
  for (const policy of await iam.attachedPolicies(p)) await iam.detachPolicy(p, policy);
  // The names are enough: no document is read only to be deleted.
  for (const policyName of await iam.inlinePolicyNames(p)) await iam.deleteInlinePolicy(p, policyName);
}

/** The condition message for a boundary the principal keeps. */
export function keptBoundaryMessage(p: PrincipalRef, arn: string, kept: string): string {
  const cli =
    p.kind === 'role'
      ? 'delete-role-permissions-boundary --role-name'
      : 'delete-user-permissions-boundary --user-name';
  return `${NOUN[p.kind]} ${arn} keeps its permissions boundary ${kept}, which ${FIELD[p.kind]}.permissionsBoundaryArn no longer names: the operator never removes a permissions boundary (that can raise the ${p.kind}'s permissions, so its IAM policy does not grant iam:Delete${p.kind === 'role' ? 'Role' : 'User'}PermissionsBoundary). The ${p.kind} is otherwise up to date. Name a boundary in ${FIELD[p.kind]}.permissionsBoundaryArn, or have an administrator remove it (aws iam ${cli} ${p.name})`;
}
