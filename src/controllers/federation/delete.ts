// Deletion (finalizer gitlab-aws.io/cleanup), the steps undone in reverse: the
// CI/CD variables, the IAM user with its keys, the role (and any role or user
// an earlier spec left retiring), then
// the audiences this federation added (and the provider, when the operator
// made it and no federation uses it). Orphan leaves all of it. What carries
// another owner's marks is never removed. Any failure keeps the finalizer.
import { describeTarget } from '../../adapters/gitlab/client.ts';
import { done, type Outcome, WaitError } from '../../runtime/reconcile/outcome.ts';
import { SECRET_NOT_FOUND } from '../shared/secrets.ts';
import { deleteOwnedVariables, deleteRole, deleteUser, parseTarget } from './cleanup.ts';
import { targetOf } from './defaults.ts';
import { compact } from './desired.ts';
import { type FederationState, gitlabOf } from './state.ts';
import { releaseRetired } from './steps/retire.ts';

export async function finalizeFederation(s: FederationState): Promise<Outcome> {
  const { fed, ctx } = s;
  if (fed.spec.deletionPolicy === 'Orphan') {
    ctx.log.info('deletionPolicy Orphan: leaving the role, provider and variables in place');
    return done();
  }
  const stored = fed.status ?? {};
  try {
    // 1. Variables, wherever the spec or the status says they were written.
    const targets = [
      ...new Set([
        ...(fed.spec.ciVariables ? [describeTarget(targetOf(fed.spec.ciVariables.target))] : []),
        ...(stored.ciVariables ?? []).map((v) => v.target),
      ]),
    ];
    if (targets.length) {
      const gitlab = await gitlabOrWarn(s, targets);
      for (const text of gitlab ? targets : []) {
        const target = parseTarget(text);
        if (target) s.changes.push(...(await deleteOwnedVariables(gitlab!, target, s.r.owner)));
      }
    }

    // 2. IAM users, keys first: the one the spec names, the one the status records, and any retiring.
    const users = [
      ...(s.r.keys ? [compact({ arn: s.r.userName, managedThrough: s.r.assumeRoleArn })] : []),
      ...(stored.userArn ? [compact({ arn: stored.userArn, managedThrough: stored.managedThrough })] : []),
      ...(stored.retiring?.users ?? []),
    ];
    for (const user of users) {
      const deleted = await deleteUser(
        s.deps.aws.iamFor(s.r.region, user.managedThrough, s.r.namespace),
        user.arn,
        s.r.owner,
        s.deps.clusterId,
      );
      if (deleted) s.changes.push(`deleted IAM user ${deleted} and its access keys`);
    }

    // 3. Roles: the one the spec names (made, perhaps, by a reconcile that died before
    //    its status write), the one the status records, and any retiring.
    const roles = [
      compact({ arn: s.r.roleName, managedThrough: s.r.assumeRoleArn }),
      ...(stored.roleArn ? [compact({ arn: stored.roleArn, managedThrough: stored.managedThrough })] : []),
      ...(stored.retiring?.roles ?? []),
    ];
    for (const role of roles) {
      const deleted = await deleteRole(
        s.deps.aws.iamFor(s.r.region, role.managedThrough, s.r.namespace),
        role.arn,
        s.r.owner,
        s.deps.clusterId,
      );
      if (deleted) s.changes.push(`deleted IAM role ${deleted}`);
    }

    // 4. Audiences this federation added, then the provider if nothing uses it.
    const audiences = [
      ...(stored.identityProviderArn
        ? [
            compact({
              providerArn: stored.identityProviderArn,
              audience: stored.audience ?? s.r.audience,
              managedThrough: stored.managedThrough,
            }),
          ]
        : []),
      ...(stored.retiring?.audiences ?? []),
    ];
    for (const audience of audiences) s.changes.push(...(await releaseRetired(s, audience)));
  } finally {
    if (s.changes.length) ctx.events.event(fed, 'Normal', 'Deleted', s.changes.join('; '));
  }
  return done();
}

/** The GitLab client, or undefined (and a Warning) when its Secret is gone with the namespace. */
async function gitlabOrWarn(s: FederationState, targets: string[]) {
  try {
    return await gitlabOf(s);
  } catch (err) {
    if (!(err instanceof WaitError && err.reason === SECRET_NOT_FOUND)) throw err;
    // Deleting a namespace removes its Secrets too; waiting for them would block it forever.
    s.ctx.events.event(
      s.fed,
      'Warning',
      'VariablesLeftBehind',
      `${err.message}; the CI/CD variables this federation wrote in ${targets.join(', ')} were not removed`,
    );
    return undefined;
  }
}
