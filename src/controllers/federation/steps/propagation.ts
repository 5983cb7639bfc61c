// IAM is eventually consistent. After a create or a trust change the
// federation says Ready=False (Propagating) for --propagation-delay, so that a
// pipeline triggered by Ready does not race IAM. Then RoleReady says whether
// the role trusts what the spec asks: an entry left out (a claim too coarse to
// express, a replaced project) keeps it False.

import { wait } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step, stop } from '../../../runtime/reconcile/steps.ts';
import { REASONS, ROLE_READY } from '../conditions.ts';
import type { FederationState } from '../state.ts';

export const propagationStep: Step<FederationState> = {
  name: 'propagation',
  condition: ROLE_READY,
  async run(s) {
    const role = s.role!;
    const conditions = s.ctx.conditions;
    const previous = conditions.previous(ROLE_READY);
    const now = s.deps.now();
    const sinceMs = role.trustChanged
      ? 0
      : previous?.reason === REASONS.propagating
        ? now.getTime() - Date.parse(previous.lastTransitionTime)
        : Number.POSITIVE_INFINITY;
    if (sinceMs < s.deps.propagationDelayMs) {
      const remaining = s.deps.propagationDelayMs - sinceMs;
      if (role.trustChanged) {
        conditions.set(
          ROLE_READY,
          false,
          REASONS.propagating,
          `trust policy of ${role.arn} changed at ${now.toISOString()}; IAM needs a moment to propagate it`,
        );
      }
      return stop(
        wait(
          remaining,
          REASONS.propagating,
          `waiting ${Math.ceil(remaining / 1000)} s for IAM to propagate the changes to ${role.arn}`,
        ),
      );
    }
    const refused = s.access!.refused;
    const first = refused[0];
    if (first) {
      conditions.set(ROLE_READY, false, first.reason, refused.map((r) => r.message).join('; '));
    } else {
      const entries = (s.fed.spec.access ?? []).length;
      conditions.set(
        ROLE_READY,
        true,
        REASONS.ready,
        `${role.arn} trusts ${s.status.subjects?.length ?? 0} subject pattern(s) of ${entries} access ${entries === 1 ? 'entry' : 'entries'}`,
      );
    }
    return next();
  },
};
