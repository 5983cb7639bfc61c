// The defaults DESIGN.md §2.3 gives for what a GitLabConnection leaves out, in one place.
import { GITLAB_COM, type GitLabConnection, type VpcConfiguration } from '../../api/v1alpha1/index.ts';
import { type Tags, wantsAdoption } from '../shared/ownership.ts';

export interface ResolvedHost {
  name: string;
  /** The GitLab URL, which is the host's ProviderEndpoint. */
  endpoint: string;
  vpc: VpcConfiguration | undefined;
}

export interface Resolved {
  /** `<namespace>/<name>`, the value of the owner tag. */
  owner: string;
  connectionName: string;
  url: string;
  /** Only for a self-managed or Dedicated instance (any URL but exactly https://gitlab.com). */
  host: ResolvedHost | undefined;
  region: string | undefined;
  assumeRoleArn: string | undefined;
  specTags: Tags;
  deletionPolicy: 'Delete' | 'Orphan';
  adopt: boolean;
}

export function resolve(conn: GitLabConnection, defaultRegion: string | undefined): Resolved {
  const { namespace = '', name = '' } = conn.metadata;
  const spec = conn.spec ?? {};
  const url = (spec.gitlab?.url ?? GITLAB_COM).replace(/\/+$/, '');
  const connectionName = spec.connectionName ?? name;
  return {
    owner: `${namespace}/${name}`,
    connectionName,
    url,
    host:
      url === GITLAB_COM
        ? undefined
        : { name: spec.host?.name ?? connectionName, endpoint: url, vpc: spec.host?.vpcConfiguration },
    region: spec.aws?.region ?? defaultRegion,
    assumeRoleArn: spec.aws?.assumeRoleArn,
    specTags: spec.tags ?? {},
    deletionPolicy: spec.deletionPolicy ?? 'Delete',
    adopt: wantsAdoption(conn.metadata.annotations),
  };
}

/**
 * The documented console entry point for pending connections and hosts
 * (API-FACTS D). Deep links to one connection exist but are not an official format.
 */
export function authorizationUrl(region: string): string {
  return `https://console.aws.amazon.com/codesuite/settings/connections?region=${encodeURIComponent(region)}`;
}
