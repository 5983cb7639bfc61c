// Registration of the GitLabAwsFederation controller.

import { AwsClients } from '../../adapters/aws/clients.ts';
import { federationResource, type GitLabAwsFederation } from '../../api/v1alpha1/index.ts';
import { type ControllerRegistration, controllerDefaults } from '../../operator.ts';
import { Controller } from '../../runtime/reconcile/controller.ts';
import { ExternalSystem } from '../../runtime/transport/external.ts';
import { SecretReader } from '../shared/secrets.ts';
import { FederationReconciler } from './reconciler.ts';

/** One rate limit per GitLab instance: gitlab.com limits each user, one slow instance must not hold up another. */
function perInstance(make: () => ExternalSystem): (url: string) => ExternalSystem {
  const systems = new Map<string, ExternalSystem>();
  return (url) => {
    let system = systems.get(url);
    if (!system) {
      system = make();
      systems.set(url, system);
    }
    return system;
  };
}

export const federationController: ControllerRegistration = (deps) =>
  new Controller<GitLabAwsFederation>({
    ...controllerDefaults(deps),
    name: 'gitlabawsfederation',
    type: federationResource,
    reconciler: new FederationReconciler({
      aws: new AwsClients({
        defaultRegion: deps.config.awsRegion,
        clusterId: deps.config.clusterId,
        metrics: deps.metrics,
        rateLimit: deps.config.awsRateLimit,
      }),
      secrets: new SecretReader(deps.kubeConfig),
      gitlabSystemFor: perInstance(
        () => new ExternalSystem('gitlab', deps.metrics, deps.config.gitlabRateLimit),
      ),
      clusterId: deps.config.clusterId,
      defaultRegion: deps.config.awsRegion,
      propagationDelayMs: deps.config.propagationDelayMs,
    }),
  });
