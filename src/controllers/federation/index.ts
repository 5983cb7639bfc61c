// Registration of the GitLabAwsFederation controller.
import { federationResource, type GitLabAwsFederation } from '../../api/v1alpha1/index.ts';
import { controllerDefaults } from '../../runtime/process/registration.ts';
import { Controller } from '../../runtime/reconcile/controller.ts';
import type { ProductDeps } from '../shared/registration.ts';
import { viewTag } from './cleanup.ts';
import { FederationReconciler } from './reconciler.ts';

export function federationController(deps: ProductDeps): Controller<GitLabAwsFederation> {
  const controller = new Controller<GitLabAwsFederation>({
    ...controllerDefaults(deps.runtime),
    name: 'gitlabawsfederation',
    type: federationResource,
    dependencies: [deps.tenancy],
    reconciler: new FederationReconciler({
      aws: deps.aws,
      secrets: deps.secrets,
      tenancy: deps.tenancy,
      gitlabSystemFor: deps.gitlabSystemFor,
      egressFor: deps.egressFor,
      clusterId: deps.settings.clusterId,
      viewTag: viewTag(
        deps.settings.clusterId,
        deps.runtime.scope.namespaces ?? [],
        deps.runtime.scope.labelSelector,
      ),
      defaultRegion: deps.settings.awsRegion,
      propagationDelayMs: deps.settings.propagationDelayMs,
      maxTrustPolicySize: deps.settings.maxTrustPolicySize,
      personPollMs: {
        first: deps.settings.connectionPollIntervalMs,
        max: deps.settings.connectionPollMaxIntervalMs,
      },
      resyncMs: deps.runtime.scope.resyncMs,
      now: () => new Date(),
    }),
  });
  // The rotation is due then; well past it, something keeps the operator from rotating.
  deps.runtime.metrics.resourceTimestamp(
    'gitlab_aws_operator_access_key_next_rotation_timestamp_seconds',
    'When the access key of each GitLabAwsFederation with method IAMUserAccessKeys is due to be replaced (Unix time).',
    controller,
    (f) => f.status?.accessKey?.nextRotationAt,
  );
  deps.tenancy.onChange((affected) => controller.requeue((f) => affected(f.metadata.namespace ?? '')));
  return controller;
}
