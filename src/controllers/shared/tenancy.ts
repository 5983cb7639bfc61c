// The GitLabAwsPolicies and the namespaces' labels, cached by two watches and
// shared by both controllers (DESIGN.md 2.5). A change of either queues the
// resources it may concern again, so a tightened policy stops them within
// seconds. What a policy allows is decided in src/policy/tenancy.ts.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { type GitLabAwsPolicy, policyResource } from '../../api/v1alpha1/index.ts';
import {
  type NamedPolicy,
  privateAddressAllowed,
  selects,
  type TenancyInput,
  type Verdict,
} from '../../policy/tenancy.ts';
import type { Logger } from '../../runtime/process/logger.ts';
import type { Dependency } from '../../runtime/reconcile/controller.ts';
import { CustomResourceClient } from '../../runtime/transport/kube.ts';
import { Informer } from '../../runtime/watch/informer.ts';

export type TenancyMode = 'restricted' | 'open';

type Namespace = KubernetesObject;
const namespaceResource = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' } as const;

/** Which namespaces a change may concern. */
export type Affected = (namespace: string) => boolean;

export class Tenancy implements Dependency {
  readonly mode: TenancyMode;
  private readonly policies: Informer<GitLabAwsPolicy> | undefined;
  private readonly namespaces: Informer<Namespace> | undefined;
  private readonly listeners: ((affected: Affected) => void)[] = [];
  private started = false;
  private stopped: Promise<void> | undefined;

  constructor(options: { mode: TenancyMode; kubeConfig: KubeConfig; log: Logger }) {
    this.mode = options.mode;
    if (options.mode === 'open') return;
    const { kubeConfig, log } = options;
    this.policies = new Informer<GitLabAwsPolicy>({
      kubeConfig,
      client: new CustomResourceClient<GitLabAwsPolicy>(kubeConfig, policyResource),
      log,
    });
    this.namespaces = new Informer<Namespace>({
      kubeConfig,
      client: new CustomResourceClient<Namespace>(kubeConfig, namespaceResource),
      log,
    });
    // A policy that changes concerns the namespaces it selected and those it selects now.
    const policyChanged = (...versions: (GitLabAwsPolicy | undefined)[]) =>
      this.notify((ns) => versions.some((p) => p && selects(p.spec.namespaceSelector, this.labelsOf(ns))));
    this.policies.on({
      add: (p) => policyChanged(p),
      update: (a, b) => policyChanged(a, b),
      delete: (p) => policyChanged(p),
    });
    const namespaceChanged = (a: Namespace, b: Namespace) => {
      if (JSON.stringify(a.metadata?.labels ?? {}) === JSON.stringify(b.metadata?.labels ?? {})) return;
      const name = b.metadata?.name;
      this.notify((ns) => ns === name);
    };
    this.namespaces.on({
      // A namespace made just before its resources may be seen after them.
      add: (n) => this.notify((ns) => ns === n.metadata?.name),
      update: namespaceChanged,
    });
  }

  /** Called with the namespaces a change concerns, once the caches are loaded. */
  onChange(listener: (affected: Affected) => void): void {
    this.listeners.push(listener);
  }

  private notify(affected: Affected): void {
    if (!this.synced) return; // the first reconciles read the loaded caches anyway
    for (const listener of this.listeners) listener(affected);
  }

  get synced(): boolean {
    return (this.policies?.synced ?? true) && (this.namespaces?.synced ?? true);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.policies?.start();
    this.namespaces?.start();
  }

  async whenSynced(): Promise<void> {
    await Promise.all([this.policies?.whenSynced(), this.namespaces?.whenSynced()]);
  }

  stop(): Promise<void> {
    this.stopped ??= Promise.all([this.policies?.stop(), this.namespaces?.stop()]).then(() => {});
    return this.stopped;
  }

  private labelsOf(namespace: string): Record<string, string> {
    return this.namespaces?.get(`/${namespace}`)?.metadata?.labels ?? {};
  }

  private named(): NamedPolicy[] {
    return (this.policies?.list() ?? []).map((p) => ({ name: p.metadata.name ?? '', spec: p.spec }));
  }

  /**
   * What the policies say of a resource; undefined with --tenancy open, where
   * nothing is limited.
   */
  judge<S>(
    evaluate: (input: TenancyInput<S>) => Verdict,
    resource: TenancyInput<S>['resource'],
    defaultRegion: string | undefined,
  ): Verdict | undefined {
    if (this.mode === 'open') return undefined;
    return evaluate({
      resource,
      namespaceLabels: this.labelsOf(resource.namespace),
      policies: this.named(),
      defaultRegion,
    });
  }

  /** May this namespace's GitLab URL resolve to a loopback or private address? */
  privateAddressAllowed(namespace: string, url: string): boolean {
    if (this.mode === 'open') return true;
    return privateAddressAllowed(this.named(), this.labelsOf(namespace), url);
  }
}
