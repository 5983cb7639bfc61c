// The role. Its trust policy admits exactly the subjects the access
// step found; it is computed and measured before IAM sees it. The role
// belongs to the federation: its description and session duration converge
// here, its tags, boundary and policies as principal.ts says (in the order
// the restricted IAM policy needs: tags, boundary, then the rest). A role made
// under an earlier name or account is recorded as retiring, to be deleted once
// this one is Ready.
import type { IamPort } from '../../../adapters/aws/iam.ts';
import { samePolicy } from '../../../policy/iam-document.ts';
import { policySize, trustPolicy } from '../../../policy/trust-policy.ts';
import { TerminalError } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { deleteRole } from '../cleanup.ts';
import { REASONS, ROLE_READY } from '../conditions.ts';
import {
  compact,
  type DesiredRole,
  desiredRole,
  largestEntries,
  principalNameOf,
  withItem,
} from '../desired.ts';
import { ensurePrincipal, keptBoundaryMessage } from '../principal.ts';
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
    if (stored?.userArn) {
      // Method IAMUserAccessKeys before: the user, its keys and their variables go once this role is Ready.
      s.status.retiring = {
        ...s.status.retiring,
        users: withItem(
          s.status.retiring?.users,
          compact({ arn: stored.userArn, managedThrough: stored.managedThrough }),
        ),
      };
      delete s.status.userArn;
      delete s.status.accessKey;
    }
    if (stored?.roleArn) {
      const old = principalNameOf(stored.roleArn);
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
        keptBoundaryMessage(
          { kind: 'role', name: principalNameOf(role.arn).name },
          role.arn,
          role.keptBoundary,
        ),
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
  const { name } = desired;
  const trust = JSON.stringify(desired.trustPolicy);
  let trustChanged = false;
  const ensured = await ensurePrincipal(iam, { kind: 'role', name }, desired, ownedBy, {
    get: () => iam.getRole(name),
    create: () =>
      iam.createRole({
        name,
        path: desired.path,
        trustPolicy: trust,
        description: desired.description,
        maxSessionDuration: desired.maxSessionDuration,
        permissionsBoundaryArn: desired.permissionsBoundaryArn,
        tags: desired.tags,
      }),
    remove: (current) => deleteRole(iam, current.arn, ownedBy.owner, ownedBy.clusterId),
    async update(current, changes) {
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
    },
  });
  return { ...ensured, trustChanged: ensured.created || trustChanged };
}
