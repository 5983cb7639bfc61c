// The connection under the GitLabAwsPolicies of its namespace (DESIGN.md 2.5):
// refused before anything is created in AWS.
import { evaluateConnection } from '../../../policy/tenancy.ts';
import { tenancyStep } from '../../shared/tenancy-step.ts';
import type { ConnectionState } from '../state.ts';

export const connectionTenancyStep = tenancyStep<ConnectionState>({
  conditions: (s) => s.ctx.conditions,
  judge: (s) =>
    s.deps.tenancy.judge(
      evaluateConnection,
      {
        namespace: s.obj.metadata.namespace ?? '',
        name: s.obj.metadata.name ?? '',
        annotations: s.obj.metadata.annotations,
        spec: s.obj.spec,
      },
      s.deps.defaultRegion,
    ),
});
