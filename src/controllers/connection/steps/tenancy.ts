// The connection under the GitLabAwsPolicies of its namespace (DESIGN.md 2.5):
// refused before anything is created in AWS.
import { evaluateConnection } from '../../../policy/tenancy.ts';
import { tenancyStep } from '../../shared/tenancy-step.ts';
import type { ConnectionState } from '../state.ts';

export const connectionTenancyStep = tenancyStep({
  evaluate: evaluateConnection,
  view: (s: ConnectionState) => ({
    obj: s.obj,
    conditions: s.ctx.conditions,
    tenancy: s.deps.tenancy,
    defaultRegion: s.deps.defaultRegion,
  }),
});
