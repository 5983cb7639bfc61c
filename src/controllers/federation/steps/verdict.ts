// The last word on access, after everything else has converged: an entry the
// trust policy could not express keeps the federation Stalled (the cause lives
// in GitLab, so it is looked at again every resync); refs that must be
// protected and are not keep it waiting for a person to protect them.
import { TerminalError, wait } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step, stop } from '../../../runtime/reconcile/steps.ts';
import { REASONS } from '../conditions.ts';
import type { FederationState } from '../state.ts';

export const verdictStep: Step<FederationState> = {
  name: 'verdict',
  async run(s) {
    const { refused, unprotected, unverified } = s.access!;
    const first = refused[0];
    if (first) {
      throw new TerminalError(first.reason, refused.map((r) => r.message).join('; '), { recheck: true });
    }
    if (s.fed.spec.requireProtectedRefs && (unprotected.length || unverified.length)) {
      const { first: firstMs, max } = s.deps.personPollMs;
      const left = [...unprotected, ...unverified.map((u) => `${u} (protection not checked)`)];
      return stop(
        wait(
          s.ctx.conditions.pollDelay('Ready', REASONS.unprotectedRefs, firstMs, max),
          REASONS.unprotectedRefs,
          `spec.requireProtectedRefs: left out of the trust policy until GitLab protects them: ${left.join('; ')}`,
        ),
      );
    }
    return next();
  },
};
