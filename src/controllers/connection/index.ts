// Registration of the GitLabConnection controller.
import { connectionResource, type GitLabConnection } from '../../api/v1alpha1/index.ts';
import { controllerDefaults } from '../../runtime/process/registration.ts';
import { Controller } from '../../runtime/reconcile/controller.ts';
import type { ProductDeps } from '../shared/registration.ts';
import { PendingConnections, pendingSince } from './metrics.ts';
import { ConnectionReconciler } from './reconciler.ts';

export function connectionController(deps: ProductDeps): Controller<GitLabConnection> {
  const controller = new Controller<GitLabConnection>({
    ...controllerDefaults(deps.runtime),
    name: 'gitlabconnection',
    type: connectionResource,
    dependencies: [deps.tenancy],
    reconciler: new ConnectionReconciler({
      aws: deps.aws,
      tenancy: deps.tenancy,
      clusterId: deps.settings.clusterId,
      defaultRegion: deps.settings.awsRegion,
      pollFirstMs: deps.settings.connectionPollIntervalMs,
      pollMaxMs: deps.settings.connectionPollMaxIntervalMs,
      pending: new PendingConnections(deps.runtime.metrics.registry),
    }),
  });
  deps.runtime.metrics.resourceTimestamp(
    'gitlab_aws_operator_connection_pending_since_timestamp_seconds',
    'When each GitLabConnection that is PENDING started waiting for a GitLab Owner to authorize it (Unix time).',
    controller,
    pendingSince,
  );
  deps.tenancy.onChange((affected) => controller.requeue((c) => affected(c.metadata.namespace ?? '')));
  return controller;
}
