// The role. Its trust policy admits exactly the subjects the access
// step found; it is computed and measured before IAM sees it. The role
// belongs to the federation: description, session duration, boundary, tags,
// managed and inline policies converge exactly to the spec (documents compared
// by meaning), with one exception: a permissions boundary is never removed
// (that can raise the role's permissions), only set or replaced. A role made
// under an earlier name or account is recorded as retiring, to be deleted once
// this one is Ready.
//
// The order of the calls is what the restricted IAM policy in deploy/iam/
// needs (docs/aws-permissions.md): CreateRole carries the boundary and the
// owner tags in the same call; on an existing role the tags come first (so an
// adopted role is marked before anything else is written to it), then the
// boundary (so every later write finds the boundary the policy requires).
import type { IamPort } from '../../../adapters/aws/iam.ts';
import { type PolicyDocument, samePolicy } from '../../../policy/iam-document.ts';
import { policySize, trustPolicy } from '../../../policy/trust-policy.ts';
import { TerminalError } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { describeOwner, ownershipOf } from '../../shared/ownership.ts';
import { deleteRole } from '../cleanup.ts';
import { REASONS, ROLE_READY } from '../conditions.ts';
import { compact, type DesiredRole, desiredRole, largestEntries, roleNameOf, withItem } from '../desired.ts';
import type { FederationState, RoleResult } from '../state.ts';

export const roleStep: Step<FederationState> = {
  name: 'role',
  condition: ROLE_READY,
  async run(s) {
    const { r, deps } = s;
    const wanted = s.access!.subjects;
    const trustFor = (subjects: string[]) =>
      trustPolicy({
        providerArn: s.providerArn!,
        providerUrl: s.providerUrl!,
        audiences: [r.audience],
        subjects,
      });
    let subjects = wanted;
    let tooLarge: TerminalError | undefined;
    const size = policySize(trustFor(wanted));
    if (size > deps.maxTrustPolicySize) {
      tooLarge = new TerminalError(
        REASONS.trustPolicyTooLarge,
        `the trust policy would be ${size} characters, over the ${deps.maxTrustPolicySize} that IAM allows (its default quota is 2,048, raisable to 4,096 by a quota request and --max-trust-policy-size). It needs ${wanted.length} sub patterns; the largest entries are ${largestEntries(s.fed.spec.access ?? [])}. Merge refs into globs (release/* for every release branch) or projects into a group entry. Until then the role keeps only the patterns it had that the spec still names`,
      );
      // Nothing the spec no longer names stays trusted meanwhile.
      const before = new Set(s.fed.status?.subjects ?? []);
      subjects = wanted.filter((x) => before.has(x));
      if (!s.fed.status?.roleArn) throw tooLarge;
    }

    const stored = s.fed.status;
    if (stored?.roleArn) {
      const old = roleNameOf(stored.roleArn);
      if (old.name !== r.roleName || stored.managedThrough !== r.assumeRoleArn) {
        s.status.retiring = {
          ...s.status.retiring,
          roles: withItem(
            s.status.retiring?.roles,
            compact({ arn: stored.roleArn, managedThrough: stored.managedThrough }),
          ),
        };
      }
    }

    const role = await ensureRole(s.iam, desiredRole(s.fed.spec, r, deps.clusterId, trustFor(subjects)), {
      owner: r.owner,
      clusterId: deps.clusterId,
      adopt: r.adopt,
    });
    s.role = role;
    s.created = role.created;
    s.status.roleArn = role.arn;
    if (r.assumeRoleArn) s.status.managedThrough = r.assumeRoleArn;
    else delete s.status.managedThrough;
    s.status.subjects = subjects;
    if (role.created) s.changes.push(...role.changes);
    else if (role.changes.length)
      s.changes.push(`corrected IAM role ${role.arn}: ${role.changes.join(', ')}`);
    if (tooLarge) throw tooLarge;
    if (role.keptBoundary) {
      throw new TerminalError(
        REASONS.permissionsBoundaryKept,
        `IAM role ${role.arn} keeps its permissions boundary ${role.keptBoundary}, which spec.role.permissionsBoundaryArn no longer names: the operator never removes a permissions boundary (that can raise the role's permissions, so its IAM policy does not grant iam:DeleteRolePermissionsBoundary). The role is otherwise up to date. Name a boundary in spec.role.permissionsBoundaryArn, or have an administrator remove it (aws iam delete-role-permissions-boundary --role-name ${roleNameOf(role.arn).name})`,
        { recheck: true },
      );
    }
    return next();
  },
};

async function ensureRole(
  iam: IamPort,
  desired: DesiredRole,
  ownedBy: { owner: string; clusterId: string; adopt: boolean },
): Promise<RoleResult> {
  const { owner, clusterId, adopt } = ownedBy;
  const { name } = desired;
  let current = await iam.getRole(name);
  const changes: string[] = [];
  if (current) {
    const ownership = ownershipOf(current.tags, owner, clusterId);
    if (ownership === 'other' || (ownership === 'unmarked' && !adopt)) {
      throw new TerminalError(
        REASONS.roleOwnedElsewhere,
        `IAM role ${name} already exists and is not managed by this federation (${describeOwner(current.tags)}): set spec.role.name to another name${ownership === 'unmarked' ? ', or annotate this resource with gitlab-aws.io/adopt: "true" to take the role over' : ''}`,
        { recheck: true },
      );
    }
    if (current.path !== desired.path) {
      // IAM cannot move a role, and names are unique whatever the path: ours is made anew.
      if (ownership !== 'ours') {
        throw new TerminalError(
          REASONS.rolePathMismatch,
          `IAM role ${name} exists with path ${current.path}, and IAM cannot change a role's path: set spec.role.path to ${current.path}, or delete the role`,
        );
      }
      await deleteRole(iam, current.arn, owner, clusterId);
      changes.push(
        `deleted IAM role ${current.arn} to make it again under path ${desired.path} (IAM cannot move a role)`,
      );
      current = undefined;
    } else if (ownership === 'unmarked') {
      changes.push(`adopted IAM role ${current.arn}`);
    }
  }
  const trust = JSON.stringify(desired.trustPolicy);
  if (!current) {
    const arn = await iam.createRole({
      name,
      path: desired.path,
      trustPolicy: trust,
      description: desired.description,
      maxSessionDuration: desired.maxSessionDuration,
      permissionsBoundaryArn: desired.permissionsBoundaryArn,
      tags: desired.tags,
    });
    for (const policy of desired.managedPolicyArns) await iam.attachPolicy(name, policy);
    for (const [policyName, doc] of Object.entries(desired.inlinePolicies)) {
      await iam.putInlinePolicy(name, policyName, JSON.stringify(doc));
    }
    return { arn, created: true, trustChanged: true, changes: [...changes, `created IAM role ${arn}`] };
  }

  // Tags first: an adopted role gets the owner tags before any other write.
  const tagUpdates = Object.fromEntries(
    Object.entries(desired.tags).filter(([k, v]) => current.tags[k] !== v),
  );
  if (Object.keys(tagUpdates).length) {
    await iam.tagRole(name, tagUpdates);
    changes.push(`tags ${Object.keys(tagUpdates).join(', ')}`);
  }
  // Then the boundary, so every later write finds it in place. Set or
  // replaced, never removed.
  let keptBoundary: string | undefined;
  if (desired.permissionsBoundaryArn) {
    if (current.permissionsBoundaryArn !== desired.permissionsBoundaryArn) {
      await iam.setPermissionsBoundary(name, desired.permissionsBoundaryArn);
      changes.push('permissions boundary');
    }
  } else if (current.permissionsBoundaryArn) {
    keptBoundary = current.permissionsBoundaryArn;
  }
  let trustChanged = false;
  if (!samePolicy(current.trustPolicy, desired.trustPolicy)) {
    await iam.updateTrustPolicy(name, trust);
    trustChanged = true;
    changes.push('trust policy');
  }
  if (
    current.description !== desired.description ||
    current.maxSessionDuration !== desired.maxSessionDuration
  ) {
    await iam.updateRole(name, desired.description, desired.maxSessionDuration);
    changes.push('description or maximum session duration');
  }
  const extraTags = Object.keys(current.tags).filter((k) => !(k in desired.tags) && !k.startsWith('aws:'));
  if (extraTags.length) {
    await iam.untagRole(name, extraTags);
    changes.push(`removed tags ${extraTags.join(', ')}`);
  }

  const attached = await iam.attachedPolicies(name);
  for (const policy of desired.managedPolicyArns.filter((p) => !attached.includes(p))) {
    await iam.attachPolicy(name, policy);
    changes.push(`attached ${policy}`);
  }
  for (const policy of attached.filter((p) => !desired.managedPolicyArns.includes(p))) {
    await iam.detachPolicy(name, policy);
    changes.push(`detached ${policy}, which the spec does not list`);
  }
  const inline = await iam.inlinePolicies(name);
  for (const [policyName, doc] of Object.entries(desired.inlinePolicies)) {
    const have = inline[policyName];
    if (have === undefined || !samePolicy(have, doc as PolicyDocument)) {
      await iam.putInlinePolicy(name, policyName, JSON.stringify(doc));
      changes.push(`inline policy ${policyName}`);
    }
  }
  for (const policyName of Object.keys(inline).filter((n) => !(n in desired.inlinePolicies))) {
    await iam.deleteInlinePolicy(name, policyName);
    changes.push(`removed inline policy ${policyName}, which the spec does not list`);
  }
  return {
    arn: current.arn,
    created: false,
    trustChanged,
    changes,
    ...(keptBoundary ? { keptBoundary } : {}),
  };
}
