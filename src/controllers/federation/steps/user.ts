// The IAM user of method IAMUserAccessKeys. It belongs to the federation like
// a role does: owner tags, path, boundary, managed and inline policies
// converge as principal.ts says; adoption only with the annotation. What the
// OIDC method made (the role, the audience at the provider) and a user made
// under an earlier name, path or account are recorded as retiring, to go once
// this federation is Ready.
import type { IamPort } from '../../../adapters/aws/iam.ts';
import { TerminalError } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { ownerTags } from '../../shared/ownership.ts';
import { deleteUser } from '../cleanup.ts';
import { REASONS, USER_READY } from '../conditions.ts';
import { compact, type DesiredPolicies, principalNameOf, withItem } from '../desired.ts';
import { type Ensured, ensurePrincipal, keptBoundaryMessage } from '../principal.ts';
import type { FederationState, Status } from '../state.ts';

export const userStep: Step<FederationState> = {
  name: 'user',
  condition: USER_READY,
  async run(s) {
    const { r, deps } = s;
    const spec = s.fed.spec.iamUser ?? {};
    retireOidc(s.status, s.fed.status);
    const stored = s.fed.status;
    if (stored?.userArn) {
      const old = principalNameOf(stored.userArn);
      if (old.name !== r.userName || stored.managedThrough !== r.assumeRoleArn) {
        s.status.retiring = {
          ...s.status.retiring,
          users: withItem(
            s.status.retiring?.users,
            compact({ arn: stored.userArn, managedThrough: stored.managedThrough }),
          ),
        };
      }
    }
    const desired: DesiredPolicies & { name: string } = {
      name: r.userName,
      path: r.principalPath,
      permissionsBoundaryArn: r.permissionsBoundaryArn,
      managedPolicyArns: spec.managedPolicyArns ?? [],
      inlinePolicies: (spec.inlinePolicies ?? {}) as Record<string, object>,
      grants: spec.grants ?? [],
      region: r.region ?? '',
      tags: { ...(spec.tags ?? {}), ...ownerTags(r.owner, deps.clusterId) },
    };
    const { arn, created, changes, keptBoundary } = await ensureUser(s.iam, desired, {
      owner: r.owner,
      clusterId: deps.clusterId,
      adopt: r.adopt,
    });
    s.user = { name: r.userName, arn, created };
    s.created = created;
    s.status.userArn = arn;
    if (r.assumeRoleArn) s.status.managedThrough = r.assumeRoleArn;
    else delete s.status.managedThrough;
    if (created) s.changes.push(...changes);
    else if (changes.length) s.changes.push(`corrected IAM user ${arn}: ${changes.join(', ')}`);
    if (keptBoundary) {
      throw new TerminalError(
        REASONS.permissionsBoundaryKept,
        keptBoundaryMessage({ kind: 'user', name: r.userName }, arn, keptBoundary),
        { recheck: true },
      );
    }
    s.ctx.conditions.set(USER_READY, true, REASONS.ready, `IAM user ${arn} matches spec.iamUser`);
    return next();
  },
};

/**
 * A federation that changed from method OIDC: its role and its audience at
 * the provider retire (steps/retire.ts removes them, and ROLE_ARN goes with the
 * variables the spec no longer names), and the status forgets the OIDC facts.
 */
function retireOidc(status: Status, stored: Status | undefined): void {
  if (!stored?.roleArn && !stored?.identityProviderArn) return;
  const through = stored.managedThrough;
  status.retiring = {
    ...status.retiring,
    ...(stored.roleArn
      ? { roles: withItem(status.retiring?.roles, compact({ arn: stored.roleArn, managedThrough: through })) }
      : {}),
    ...(stored.identityProviderArn && stored.audience
      ? {
          audiences: withItem(
            status.retiring?.audiences,
            compact({
              providerArn: stored.identityProviderArn,
              audience: stored.audience,
              managedThrough: through,
            }),
          ),
        }
      : {}),
  };
  for (const field of [
    'roleArn',
    'identityProviderArn',
    'audience',
    'issuer',
    'thumbprints',
    'subjects',
    'projects',
  ] as const)
    delete status[field];
}

function ensureUser(
  iam: IamPort,
  desired: DesiredPolicies & { name: string },
  ownedBy: { owner: string; clusterId: string; adopt: boolean },
): Promise<Ensured> {
  const { name } = desired;
  return ensurePrincipal(iam, { kind: 'user', name }, desired, ownedBy, {
    get: () => iam.getUser(name),
    create: () =>
      iam.createUser({
        name,
        path: desired.path,
        permissionsBoundaryArn: desired.permissionsBoundaryArn,
        tags: desired.tags,
      }),
    // Its keys go with it; the access-key step then publishes a key of the new one.
    remove: (current) => deleteUser(iam, current.arn, ownedBy.owner, ownedBy.clusterId),
  });
}
