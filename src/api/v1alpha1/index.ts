// The gitlab-aws.io/v1alpha1 API: names, schemas and types. The CRDs in crds/
// are generated from these schemas (scripts/generate-crds.ts).
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { GitLabConnectionSpec, GitLabConnectionStatus } from './connection.ts';
import type { GitLabAwsFederationSpec, GitLabAwsFederationStatus } from './federation.ts';
import type { GitLabAwsPolicySpec } from './policy.ts';

export * from './common.ts';
export * from './connection.ts';
export * from './federation.ts';
export * from './grants.ts';
export * from './policy.ts';

export const GROUP = 'gitlab-aws.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const CATEGORY = 'gitlab-aws';

export const FEDERATION_KIND = 'GitLabAwsFederation';
export const FEDERATION_PLURAL = 'gitlabawsfederations';
export const FEDERATION_SINGULAR = 'gitlabawsfederation';
export const FEDERATION_SHORT_NAMES = ['glaf'];

export const CONNECTION_KIND = 'GitLabConnection';
export const CONNECTION_PLURAL = 'gitlabconnections';
export const CONNECTION_SINGULAR = 'gitlabconnection';
export const CONNECTION_SHORT_NAMES = ['glconn'];

export const POLICY_KIND = 'GitLabAwsPolicy';
export const POLICY_PLURAL = 'gitlabawspolicies';
export const POLICY_SINGULAR = 'gitlabawspolicy';
export const POLICY_SHORT_NAMES = ['glpol'];

/** Group/version/plural/kind, the shape src/runtime's ResourceType expects. */
export const federationResource = {
  group: GROUP,
  version: VERSION,
  plural: FEDERATION_PLURAL,
  kind: FEDERATION_KIND,
} as const;
export const policyResource = {
  group: GROUP,
  version: VERSION,
  plural: POLICY_PLURAL,
  kind: POLICY_KIND,
} as const;
export const connectionResource = {
  group: GROUP,
  version: VERSION,
  plural: CONNECTION_PLURAL,
  kind: CONNECTION_KIND,
} as const;

export interface GitLabAwsFederation {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: GitLabAwsFederationSpec;
  status?: GitLabAwsFederationStatus;
}

export interface GitLabConnection {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: GitLabConnectionSpec;
  status?: GitLabConnectionStatus;
}

/** Cluster-scoped: metadata.namespace is empty. */
export interface GitLabAwsPolicy {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: GitLabAwsPolicySpec;
}
