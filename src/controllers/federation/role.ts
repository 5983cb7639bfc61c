// The role belongs to its federation: trust policy, description, session
// duration, boundary, tags, managed and inline policies converge exactly to
// the spec. Policy documents are compared by meaning (IAM rewrites them).
import type { IamPort, Tags } from '../../adapters/aws/iam.ts';
import { type PolicyDocument, samePolicy } from '../../policy/iam-document.ts';
import { TerminalError } from '../../runtime/reconcile/outcome.ts';
import { describeOwner, ownershipOf } from '../shared/ownership.ts';

export interface DesiredRole {
  name: string;
  path: string;
  trustPolicy: PolicyDocument;
  description: string;
  maxSessionDuration: number;
  permissionsBoundaryArn?: string;
  managedPolicyArns: string[];
  inlinePolicies: Record<string, object>;
  /** Spec tags plus the owner tags. */
  tags: Tags;
}

export interface RoleResult {
  arn: string;
  created: boolean;
  trustChanged: boolean;
  /** What was changed, in words, for events. */
  changes: string[];
}

export async function ensureRole(
  iam: IamPort,
  desired: DesiredRole,
  ownedBy: { owner: string; clusterId: string; adopt: boolean },
): Promise<RoleResult> {
  const { owner, clusterId, adopt } = ownedBy;
  const { name } = desired;
  const trust = JSON.stringify(desired.trustPolicy);
  const current = await iam.getRole(name);
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
    return { arn, created: true, trustChanged: true, changes: [`created IAM role ${arn}`] };
  }

  const changes: string[] = [];
  const ownership = ownershipOf(current.tags, owner, clusterId);
  if (ownership === 'other' || (ownership === 'unmarked' && !adopt)) {
    throw new TerminalError(
      'RoleOwnedElsewhere',
      `IAM role ${name} already exists and is not managed by this federation (${describeOwner(current.tags)}): set spec.role.name to another name${ownership === 'unmarked' ? ', or annotate this resource with gitlab-aws.io/adopt: "true" to take the role over' : ''}`,
    );
  }
  if (ownership === 'unmarked') changes.push(`adopted IAM role ${current.arn}`);
  if (current.path !== desired.path) {
    throw new TerminalError(
      'RolePathMismatch',
      `IAM role ${name} exists with path ${current.path}, and IAM cannot change a role's path: set spec.role.path to ${current.path}, or delete the role`,
    );
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
  if ((current.permissionsBoundaryArn ?? '') !== (desired.permissionsBoundaryArn ?? '')) {
    await iam.setPermissionsBoundary(name, desired.permissionsBoundaryArn);
    changes.push('permissions boundary');
  }
  const tagUpdates = Object.fromEntries(
    Object.entries(desired.tags).filter(([k, v]) => current.tags[k] !== v),
  );
  if (Object.keys(tagUpdates).length) {
    await iam.tagRole(name, tagUpdates);
    changes.push(`tags ${Object.keys(tagUpdates).join(', ')}`);
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
  return { arn: current.arn, created: false, trustChanged, changes };
}

/** Deletes the role if it is this federation's; IAM wants its policies gone first. */
export async function deleteRole(
  iam: IamPort,
  name: string,
  owner: string,
  clusterId: string,
): Promise<string | undefined> {
  const current = await iam.getRole(name);
  if (!current || ownershipOf(current.tags, owner, clusterId) !== 'ours') return undefined;
  for (const policy of await iam.attachedPolicies(name)) await iam.detachPolicy(name, policy);
  for (const policyName of Object.keys(await iam.inlinePolicies(name)))
    await iam.deleteInlinePolicy(name, policyName);
  await iam.deleteRole(name);
  return current.arn;
}
