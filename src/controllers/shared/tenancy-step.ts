// The first step of both kinds under --tenancy restricted: the resource must
// satisfy every GitLabAwsPolicy that selects its namespace, or nothing is
// written for it (DESIGN.md 2.5). With --tenancy open the step does nothing
// and its condition is removed.
import type { PolicyDefaults, Verdict } from '../../policy/tenancy.ts';
import type { ConditionWriter } from '../../runtime/reconcile/condition-writer.ts';
import { TerminalError } from '../../runtime/reconcile/outcome.ts';
import { next, type Step } from '../../runtime/reconcile/steps.ts';

export const POLICY_ALLOWED = 'PolicyAllowed';
export const TENANCY_REASONS = {
  allowed: 'Allowed',
  policyViolation: 'PolicyViolation',
  noPolicy: 'NoPolicy',
} as const;

export function tenancyStep<S>(hooks: {
  conditions: (s: S) => ConditionWriter;
  /** The verdict of the policies; undefined with --tenancy open. */
  judge: (s: S) => Verdict | undefined;
  /** What the policies fill in where the spec is silent. */
  apply?: (s: S, defaults: PolicyDefaults) => void;
}): Step<S> {
  return {
    name: 'tenancy',
    condition: POLICY_ALLOWED,
    async run(s) {
      const verdict = hooks.judge(s);
      const conditions = hooks.conditions(s);
      if (!verdict) {
        conditions.remove(POLICY_ALLOWED);
        return next();
      }
      // A violation is fixed by a change of the spec or of a policy, and both
      // queue the resource again: no periodic recheck is needed.
      if (!verdict.allowed) throw new TerminalError(verdict.reason, verdict.message);
      hooks.apply?.(s, verdict.defaults);
      conditions.set(
        POLICY_ALLOWED,
        true,
        TENANCY_REASONS.allowed,
        `allowed by GitLabAwsPolicy ${verdict.policies.join(', ')}`,
      );
      return next();
    },
  };
}
