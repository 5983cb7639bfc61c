// Registration of the GitLabConnection controller.

import { AwsClients } from '../../adapters/aws/clients.ts';
import { connectionResource, type GitLabConnection } from '../../api/v1alpha1/index.ts';
import { type ControllerRegistration, controllerDefaults } from '../../operator.ts';
import { Controller } from '../../runtime/reconcile/controller.ts';
import { PendingConnections } from './metrics.ts';
import { ConnectionReconciler } from './reconciler.ts';

export const connectionController: ControllerRegistration = (deps) =>
  new Controller<GitLabConnection>({
    ...controllerDefaults(deps),
    name: 'gitlabconnection',
    type: connectionResource,
    reconciler: new ConnectionReconciler({
      aws: new AwsClients({
        defaultRegion: deps.config.awsRegion,
        clusterId: deps.config.clusterId,
        metrics: deps.metrics,
        rateLimit: deps.config.awsRateLimit,
      }),
      clusterId: deps.config.clusterId,
      defaultRegion: deps.config.awsRegion,
      pollFirstMs: deps.config.connectionPollIntervalMs,
      pollMaxMs: deps.config.connectionPollMaxIntervalMs,
      pending: new PendingConnections(deps.metrics.registry),
    }),
  });
