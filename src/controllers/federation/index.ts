// Registration of the GitLabAwsFederation controller.
import { federationResource, type GitLabAwsFederation } from '../../api/v1alpha1/index.ts';
import { AwsClients } from '../../aws/clients.ts';
import { type ControllerRegistration, controllerDefaults } from '../../operator.ts';
import { Controller } from '../../runtime/controller.ts';
import { ExternalSystem } from '../../runtime/external.ts';
import { SecretReader } from '../shared/secrets.ts';
import { FederationReconciler } from './reconciler.ts';

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
      }),
      secrets: new SecretReader(deps.kubeConfig),
      gitlabSystem: new ExternalSystem('gitlab', deps.metrics, { qps: 5, burst: 20 }),
      clusterId: deps.config.clusterId,
      defaultRegion: deps.config.awsRegion,
      propagationDelayMs: deps.config.propagationDelayMs,
    }),
  });
