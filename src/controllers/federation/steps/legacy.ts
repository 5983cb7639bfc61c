// The legacy-credentials audit: long-lived AWS keys in the target's variables
// that the operator did not write are listed in the status (key and scope,
// never values) with a Warning event; with removeWhenReady they are deleted
// once the federation is Ready (the last step before it is).
import { describeTarget, type Target, type Variable } from '../../../adapters/gitlab/client.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { ownerMarker } from '../defaults.ts';
import { type FederationState, gitlabOf } from '../state.ts';

export const LEGACY_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

export const legacyAuditStep: Step<FederationState> = {
  name: 'legacy-audit',
  async run(s) {
    const spec = s.fed.spec;
    if (!s.variables || !s.existingVariables || !(spec.legacyCredentials?.audit ?? true)) {
      delete s.status.legacyCredentials;
      return next();
    }
    const legacy = legacyCredentials(s.existingVariables, s.variables.target, s.r.owner);
    const before = JSON.stringify(s.fed.status?.legacyCredentials ?? []);
    if (legacy.length) s.status.legacyCredentials = legacy;
    else delete s.status.legacyCredentials;
    if (legacy.length && JSON.stringify(legacy) !== before) {
      s.ctx.events.event(
        s.fed,
        'Warning',
        'LegacyCredentialsFound',
        `long-lived AWS keys found in ${legacy.map((l) => `${l.target} ${l.key} (scope ${l.environmentScope})`).join(', ')}: remove them once jobs use ${spec.ciVariables?.roleArnVariable ?? 'ROLE_ARN'}, or set spec.legacyCredentials.removeWhenReady`,
      );
    }
    return next();
  },
};

export const legacyRemovalStep: Step<FederationState> = {
  name: 'legacy-removal',
  async run(s) {
    const legacy = s.status.legacyCredentials;
    if (!s.variables || !s.fed.spec.legacyCredentials?.removeWhenReady || !legacy?.length) return next();
    const gitlab = (await gitlabOf(s))!;
    for (const l of legacy) await gitlab.deleteVariable(s.variables.target, l.key, l.environmentScope);
    s.ctx.events.event(
      s.fed,
      'Normal',
      'LegacyCredentialsRemoved',
      `removed ${legacy.map((l) => `${l.key} (scope ${l.environmentScope})`).join(', ')} from ${legacy[0]?.target}`,
    );
    delete s.status.legacyCredentials;
    return next();
  },
};

/** Long-lived AWS keys in the target that we did not write: key and scope only, never values. */
export function legacyCredentials(existing: Variable[], target: Target, owner: string) {
  const marker = ownerMarker(owner);
  return existing
    .filter((v) => LEGACY_KEYS.includes(v.key) && v.description !== marker)
    .map((v) => ({ target: describeTarget(target), key: v.key, environmentScope: v.environmentScope }))
    .sort((a, b) => `${a.key}|${a.environmentScope}`.localeCompare(`${b.key}|${b.environmentScope}`));
}
