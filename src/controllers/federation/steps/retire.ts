// Once the current role (or user) is Ready, what an earlier spec made goes: a
// role or user made under another name, path, account or method (a user with
// its keys, and after a change to method OIDC the key variables too), and an
// audience added under another audience, GitLab instance or account. Nothing
// the federation made is left behind usable; an audience stays while another
// federation uses it.

import { describeTarget } from '../../../adapters/gitlab/client.ts';
import type { GitLabAwsFederation } from '../../../api/v1alpha1/index.ts';
import { providerUrlOf } from '../../../policy/trust-policy.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { deleteOwnedVariables, deleteRole, deleteUser, releaseAudience } from '../cleanup.ts';
import { CI_VARIABLES_READY, REASONS } from '../conditions.ts';
import { resolve } from '../defaults.ts';
import { KEY_VARIABLES } from '../rotation.ts';
import { type FederationState, gitlabOf, providerKey } from '../state.ts';

export const retireStep: Step<FederationState> = {
  name: 'retire',
  async run(s) {
    const retiring = s.status.retiring;
    if (!retiring) return next();
    for (const old of retiring.roles ?? []) {
      // An ARN names the account too: the same ARN is the role in use (renamed back, say).
      if (old.arn === s.status.roleArn) continue;
      const iam = s.deps.aws.iamFor(s.r.region, old.managedThrough, s.r.namespace);
      const deleted = await deleteRole(iam, old.arn, s.r.owner, s.deps.clusterId);
      if (deleted) s.changes.push(`deleted IAM role ${deleted}, which an earlier spec named`);
    }
    for (const old of retiring.users ?? []) {
      if (old.arn === s.status.userArn) continue;
      const iam = s.deps.aws.iamFor(s.r.region, old.managedThrough, s.r.namespace);
      const deleted = await deleteUser(iam, old.arn, s.r.owner, s.deps.clusterId);
      if (deleted)
        s.changes.push(`deleted IAM user ${deleted} and its access keys, which an earlier spec named`);
    }
    if (retiring.users?.length && !s.r.keys && s.variables) {
      // Method OIDC now: the key variables went out of use with the user.
      const gitlab = (await gitlabOf(s))!;
      const { target } = s.variables;
      s.changes.push(...(await deleteOwnedVariables(gitlab, target, s.r.owner, KEY_VARIABLES)));
      s.status.ciVariables = s.status.ciVariables?.filter((v) => !KEY_VARIABLES.includes(v.key));
      if (s.ctx.conditions.current(CI_VARIABLES_READY)?.status === 'True') {
        s.ctx.conditions.set(
          CI_VARIABLES_READY,
          true,
          REASONS.written,
          `${(s.status.ciVariables ?? []).map((v) => v.key).join(', ')} written to ${describeTarget(target)}`,
        );
      }
    }
    for (const old of retiring.audiences ?? []) {
      const inUse = old.providerArn === s.status.identityProviderArn && old.audience === s.status.audience;
      if (!inUse) s.changes.push(...(await releaseRetired(s, old)));
    }
    delete s.status.retiring;
    return next();
  },
};

/** Releases an audience at a provider, unless another live federation of this cluster uses it there. */
export async function releaseRetired(
  s: FederationState,
  old: { providerArn: string; audience: string; managedThrough?: string },
): Promise<string[]> {
  const url = old.providerArn.slice(old.providerArn.indexOf(':oidc-provider/') + ':oidc-provider/'.length);
  const users = othersAt(s.ctx.cached(), s.ctx.obj, { ...old, url }, s.deps.defaultRegion);
  // A federation that only changed its audience is still at this provider, with the new one.
  const stillHere =
    !s.fed.metadata.deletionTimestamp && s.status.identityProviderArn === old.providerArn && s.status.audience
      ? [s.status.audience]
      : [];
  const iam = s.deps.aws.iamFor(s.r.region, old.managedThrough, s.r.namespace);
  const key = providerKey(old.managedThrough, url);
  return s.shared.providerLocks.run(key, async () => {
    s.shared.providers.delete(key);
    return releaseAudience(iam, {
      providerArn: old.providerArn,
      audience: old.audience,
      stillWanted: [...users.audiences, ...stillHere],
      anyUser: users.any || stillHere.length > 0,
      clusterId: s.deps.clusterId,
      viewTag: s.deps.viewTag,
    });
  });
}

/**
 * The other live federations of this cluster at a provider, and the audiences
 * they use there: those whose status names it (an ARN names the account, so
 * whatever credentials reached it), and, to be safe, those not yet that far
 * whose GitLab URL would lead there (the issuer is usually the URL).
 */
function othersAt(
  cached: GitLabAwsFederation[],
  self: GitLabAwsFederation,
  at: { providerArn: string; url: string },
  defaultRegion: string | undefined,
): { any: boolean; audiences: string[] } {
  const others = cached.filter((f) => {
    if (f.metadata.uid === self.metadata.uid || f.metadata.deletionTimestamp) return false;
    return f.status?.identityProviderArn
      ? f.status.identityProviderArn === at.providerArn
      : providerUrlOf(resolve(f, defaultRegion).url) === at.url;
  });
  return {
    any: others.length > 0,
    audiences: others.flatMap((f) => [
      resolve(f, defaultRegion).audience,
      ...(f.status?.audience ? [f.status.audience] : []),
    ]),
  };
}
