// The defaults DESIGN.md gives for what a spec leaves out, in one place.

import type { Target } from '../../adapters/gitlab/client.ts';
import type { GitLabAwsFederation } from '../../api/v1alpha1/index.ts';
import { wantsAdoption } from '../shared/ownership.ts';

export const GITLAB_COM = 'https://gitlab.com';

export interface Resolved {
  owner: string;
  namespace: string;
  url: string;
  audience: string;
  keys: boolean;
  roleName: string;
  userName: string;
  /** The path of the role (OIDC) or of the user (IAMUserAccessKeys). */
  principalPath: string;
  /** The permissions boundary of the role or of the user. */
  permissionsBoundaryArn: string | undefined;
  region: string | undefined;
  assumeRoleArn: string | undefined;
  adopt: boolean;
}

export function resolve(fed: GitLabAwsFederation, defaultRegion: string | undefined): Resolved {
  const { namespace = '', name = '' } = fed.metadata;
  const url = (fed.spec.gitlab?.url ?? GITLAB_COM).replace(/\/+$/, '');
  const keys = fed.spec.method === 'IAMUserAccessKeys';
  const principal = keys ? fed.spec.iamUser : fed.spec.role;
  return {
    owner: `${namespace}/${name}`,
    namespace,
    url,
    audience: fed.spec.audience ?? url,
    keys,
    roleName: fed.spec.role?.name ?? `${namespace}-${name}`.slice(0, 64),
    userName: fed.spec.iamUser?.name ?? `${namespace}-${name}`.slice(0, 64),
    // A GitLabAwsPolicy may give other defaults for these two (steps/tenancy.ts).
    principalPath: principal?.path ?? '/',
    permissionsBoundaryArn: principal?.permissionsBoundaryArn,
    region: fed.spec.aws?.region ?? defaultRegion,
    assumeRoleArn: fed.spec.aws?.assumeRoleArn,
    adopt: wantsAdoption(fed.metadata.annotations),
  };
}

export function targetOf(target: { project?: string; group?: string }): Target {
  return target.project
    ? { kind: 'project', path: target.project }
    : { kind: 'group', path: target.group ?? '' };
}

export function ownerMarker(owner: string): string {
  return `managed by gitlab-aws-operator: ${owner}`;
}
