// Registration of the GitLabAwsFederation controller.
import { federationResource, type GitLabAwsFederation } from '../../api/v1alpha1/index.ts';
import { AwsClients } from '../../aws/clients.ts';
import type { ControllerRegistration } from '../../operator.ts';
import { Controller } from '../../runtime/controller.ts';
import { ExternalSystem } from '../../runtime/external.ts';
import { CLEANUP_FINALIZER } from '../../runtime/finalizers.ts';
import { SecretReader } from '../shared/secrets.ts';
import { FederationReconciler } from './reconciler.ts';

export const federationController: ControllerRegistration = ({ config, kubeConfig, log, metrics, events }) =>
  new Controller<GitLabAwsFederation>({
    name: 'gitlabawsfederation',
    type: federationResource,
    reconciler: new FederationReconciler({
      aws: new AwsClients({ defaultRegion: config.awsRegion, clusterId: config.clusterId, metrics }),
      secrets: new SecretReader(kubeConfig),
      gitlabSystem: new ExternalSystem('gitlab', metrics, { qps: 5, burst: 20 }),
      clusterId: config.clusterId,
      defaultRegion: config.awsRegion,
      propagationDelayMs: config.propagationDelayMs,
    }),
    kubeConfig,
    log,
    metrics,
    events,
    namespaces: config.namespaces,
    labelSelector: config.labelSelector,
    concurrency: config.maxConcurrentReconciles,
    resyncMs: config.resyncIntervalMs,
    finalizer: CLEANUP_FINALIZER,
  });
