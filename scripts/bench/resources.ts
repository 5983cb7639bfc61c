// The resources the bench applies: N GitLabAwsFederations (one per GitLab
// project) and N GitLabConnections, spread over NAMESPACES namespaces that
// each hold the GitLab token Secret, under one GitLabAwsPolicy (the operator
// runs --tenancy restricted, the chart's default), which allows both methods;
// and for the key step, K federations of method IAMUserAccessKeys.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { NAMESPACES, REGION } from './options.ts';
import { log, pool, round } from './util.ts';

export const GROUP = 'gitlab-aws.io';
export const VERSION = 'v1alpha1';

export class BenchResources {
  readonly namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`);
  private readonly api: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly gitlabUrl: string;

  constructor(kc: KubeConfig, gitlabUrl: string) {
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.gitlabUrl = gitlabUrl;
  }

  /** The namespaces, each with the Secret `gitlab-token` the federations name, and their policy. */
  async createNamespaces(token: string): Promise<void> {
    await this.api.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'gitlabawspolicies',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'GitLabAwsPolicy',
        metadata: { name: 'bench' },
        spec: {
          namespaceSelector: { matchLabels: { 'gitlab-aws.io/bench': 'true' } },
          gitlab: { urls: [this.gitlabUrl, 'https://gitlab.com'], paths: ['bench'] },
          aws: { regions: [REGION] },
          // The key step (keys.ts) applies federations of the second method.
          methods: ['OIDC', 'IAMUserAccessKeys'],
        },
      },
    });
    for (const ns of this.namespaces) {
      await this.core.createNamespace({
        body: { metadata: { name: ns, labels: { 'gitlab-aws.io/bench': 'true' } } },
      });
      await this.core.createNamespacedSecret({
        namespace: ns,
        body: { metadata: { name: 'gitlab-token' }, stringData: { token } },
      });
    }
  }

  federation(i: number) {
    return {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'GitLabAwsFederation',
      metadata: { name: `fed-${i}`, namespace: this.namespaces[i % NAMESPACES]! },
      spec: {
        gitlab: { url: this.gitlabUrl, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        access: [{ project: `bench/p${i}`, refs: ['main'] }],
        ciVariables: { target: { project: `bench/p${i}` } },
      },
    };
  }

  /** Key federation i (method IAMUserAccessKeys): its own user, and its key in project bench/k<i>. */
  keyFederation(i: number) {
    return {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'GitLabAwsFederation',
      metadata: { name: `keys-${i}`, namespace: this.namespaces[i % NAMESPACES]! },
      spec: {
        gitlab: { url: this.gitlabUrl, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        method: 'IAMUserAccessKeys',
        iamUser: {},
        ciVariables: { target: { project: `bench/k${i}` } },
      },
    };
  }

  connection(i: number) {
    return {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'GitLabConnection',
      metadata: { name: `conn-${i}`, namespace: this.namespaces[i % NAMESPACES]! },
      spec: { gitlab: { url: 'https://gitlab.com' }, aws: { region: REGION } },
    };
  }

  create(plural: string, body: { metadata: { namespace: string } }) {
    return this.api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: body.metadata.namespace,
      plural,
      body,
    });
  }

  /** A JSON merge patch of one object (the key step's annotation and rotation spec). */
  patch(plural: string, namespace: string, name: string, body: object) {
    return this.api.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Every object of a kind, in every namespace. */
  async list<T>(plural: string): Promise<T[]> {
    const list = (await this.api.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as {
      items: T[];
    };
    return list.items;
  }

  /** Applies federation and connection 0..n-1, 32 at a time, before any operator runs. */
  async applyAll(n: number): Promise<void> {
    const applyStart = Date.now();
    const indices = Array.from({ length: n }, (_, i) => i);
    await pool(indices, 32, async (i) => {
      await this.create('gitlabawsfederations', this.federation(i));
      await this.create('gitlabconnections', this.connection(i));
    });
    log(`applied ${2 * n} resources in ${round((Date.now() - applyStart) / 1000)} s`);
  }
}
