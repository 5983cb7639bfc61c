// The small slice of the Kubernetes API that the runtime needs, on top of
// @kubernetes/client-node. Custom resources are addressed by group, version
// and plural, so no discovery call is made.
import {
  ApiException,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface StatusWithConditions {
  observedGeneration?: number;
  conditions?: Condition[];
  [field: string]: unknown;
}

export interface CustomObject<Spec = unknown, Status extends StatusWithConditions = StatusWithConditions>
  extends KubernetesObject {
  spec: Spec;
  status?: Status;
}

export function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** The HTTP status of a failed API call, if it was one. */
export function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { statusCode?: unknown; code?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Kubernetes answers that the caller should retry (conflict, throttling, server trouble). */
export function isTransientApiError(err: unknown): boolean {
  const code = statusCodeOf(err);
  return code === undefined || code === 409 || code === 429 || code >= 500;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class CustomResourceClient<T extends KubernetesObject = CustomObject> {
  readonly type: ResourceType;
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig, type: ResourceType) {
    this.type = type;
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** The path a watch of this type uses, in one namespace or in all. */
  collectionPath(namespace?: string): string {
    const { group, version, plural } = this.type;
    return namespace
      ? `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
      : `/apis/${group}/${version}/${plural}`;
  }

  async get(namespace: string, name: string): Promise<T | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({ ...this.type, namespace, name })) as T;
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** One page of a list; the caller follows `continue`. */
  async listPage(options: {
    namespace?: string;
    labelSelector?: string;
    limit: number;
    continueToken?: string;
  }): Promise<{ items: T[]; resourceVersion: string; continueToken?: string }> {
    const common = {
      group: this.type.group,
      version: this.type.version,
      plural: this.type.plural,
      limit: options.limit,
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
      ...(options.continueToken ? { _continue: options.continueToken } : {}),
    };
    const list = options.namespace
      ? await this.api.listNamespacedCustomObject({ ...common, namespace: options.namespace })
      : await this.api.listClusterCustomObject(common);
    return {
      items: list.items as T[],
      resourceVersion: list.metadata?.resourceVersion ?? '',
      continueToken: list.metadata?.continue || undefined,
    };
  }

  /** JSON merge patch of the object (metadata and spec). */
  async patch(namespace: string, name: string, body: object): Promise<T> {
    return (await this.api.patchNamespacedCustomObject(
      { ...this.type, namespace, name, body },
      mergePatch,
    )) as T;
  }

  /** JSON merge patch of the status subresource. */
  async patchStatus(namespace: string, name: string, body: object): Promise<T> {
    return (await this.api.patchNamespacedCustomObjectStatus(
      { ...this.type, namespace, name, body },
      mergePatch,
    )) as T;
  }
}
