// The federation under the GitLabAwsPolicies of its namespace (DESIGN.md 2.5):
// refused before anything is written, and given the policy's role path and
// permissions boundary where the spec is silent.
import { evaluateFederation } from '../../../policy/tenancy.ts';
import { tenancyStep } from '../../shared/tenancy-step.ts';
import type { FederationState } from '../state.ts';

export const federationTenancyStep = tenancyStep({
  evaluate: evaluateFederation,
  view: (s: FederationState) => ({
    obj: s.fed,
    conditions: s.ctx.conditions,
    tenancy: s.deps.tenancy,
    defaultRegion: s.deps.defaultRegion,
  }),
  apply: (s, defaults) => {
    if (defaults.rolePath) s.r.principalPath = defaults.rolePath;
    if (defaults.permissionsBoundaryArn) s.r.permissionsBoundaryArn = defaults.permissionsBoundaryArn;
  },
});
