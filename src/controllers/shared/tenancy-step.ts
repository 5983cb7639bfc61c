// The first step of both kinds under --tenancy restricted: the resource must
// satisfy every GitLabAwsPolicy that selects its namespace, or nothing is
// written for it (DESIGN.md 2.5). With --tenancy open the step does nothing
// and its condition is removed.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { PolicyDefaults, TenancyInput, Verdict } from '../../policy/tenancy.ts';
import type { ConditionWriter } from '../../runtime/reconcile/condition-writer.ts';
import { TerminalError } from '../../runtime/reconcile/outcome.ts';
import { next, type Step } from '../../runtime/reconcile/steps.ts';
import type { Tenancy } from './tenancy.ts';

/** The step's condition; False with the verdict's reason, PolicyViolation or NoPolicy. */
const POLICY_ALLOWED = 'PolicyAllowed';

/** What the step reads of a kind's reconcile state. */
export interface TenancyView<Spec> {
  obj: { metadata: V1ObjectMeta; spec: Spec };
  conditions: ConditionWriter;
  tenancy: Pick<Tenancy, 'judge'>;
  defaultRegion: string | undefined;
}

export function tenancyStep<S, Spec>(kind: {
  /** The evaluator of the kind (src/policy/tenancy.ts). */
  evaluate: (input: TenancyInput<Spec>) => Verdict;
  view: (s: S) => TenancyView<Spec>;
  /** What the policies fill in where the spec is silent. */
  apply?: (s: S, defaults: PolicyDefaults) => void;
}): Step<S> {
  return {
    name: 'tenancy',
    condition: POLICY_ALLOWED,
    async run(s) {
      const { obj, conditions, tenancy, defaultRegion } = kind.view(s);
      const { namespace = '', name = '', annotations } = obj.metadata;
      const verdict = tenancy.judge(
        kind.evaluate,
        { namespace, name, annotations, spec: obj.spec },
        defaultRegion,
      );
      if (!verdict) {
        conditions.remove(POLICY_ALLOWED);
        return next();
      }
      // A violation is fixed by a change of the spec or of a policy, and both
      // queue the resource again: no periodic recheck is needed.
      if (!verdict.allowed) throw new TerminalError(verdict.reason, verdict.message);
      kind.apply?.(s, verdict.defaults);
      conditions.set(
        POLICY_ALLOWED,
        true,
        'Allowed',
        `allowed by GitLabAwsPolicy ${verdict.policies.join(', ')}`,
      );
      return next();
    },
  };
}
