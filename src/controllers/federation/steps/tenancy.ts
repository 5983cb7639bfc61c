// The federation under the GitLabAwsPolicies of its namespace (DESIGN.md 2.5):
// refused before anything is written, and given the policy's role path and
// permissions boundary where the spec is silent.
import { evaluateFederation } from '../../../policy/tenancy.ts';
import { tenancyStep } from '../../shared/tenancy-step.ts';
import type { FederationState } from '../state.ts';

export const federationTenancyStep = tenancyStep<FederationState>({
  conditions: (s) => s.ctx.conditions,
  judge: (s) =>
    s.deps.tenancy.judge(
      evaluateFederation,
      {
        namespace: s.fed.metadata.namespace ?? '',
        name: s.fed.metadata.name ?? '',
        annotations: s.fed.metadata.annotations,
        spec: s.fed.spec,
      },
      s.deps.defaultRegion,
    ),
  apply: (s, defaults) => {
    if (defaults.rolePath) s.r.rolePath = defaults.rolePath;
    if (defaults.permissionsBoundaryArn) s.r.permissionsBoundaryArn = defaults.permissionsBoundaryArn;
  },
});
