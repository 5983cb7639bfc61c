// Finalizers are changed with a merge patch that carries the resourceVersion,
// so a concurrent change by someone else is a conflict (retried on fresh data)
// rather than a silently dropped finalizer.
import type { KubernetesObject } from '@kubernetes/client-node';
import { type CustomResourceClient, statusCodeOf } from '../transport/kube.ts';

export const CLEANUP_FINALIZER = 'gitlab-aws.io/cleanup';

export function hasFinalizer(obj: KubernetesObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

export function isBeingDeleted(obj: KubernetesObject): boolean {
  return Boolean(obj.metadata?.deletionTimestamp);
}

async function changeFinalizers<T extends KubernetesObject>(
  client: CustomResourceClient<T>,
  obj: T,
  change: (finalizers: string[]) => string[],
): Promise<T | undefined> {
  let current: T | undefined = obj;
  for (let attempt = 1; current; attempt++) {
    const before = current.metadata?.finalizers ?? [];
    const after = change(before);
    if (after.length === before.length && after.every((f, i) => f === before[i])) return current;
    const { namespace = '', name = '', resourceVersion } = current.metadata ?? {};
    try {
      return await client.patch(namespace, name, { metadata: { finalizers: after, resourceVersion } });
    } catch (err) {
      const code = statusCodeOf(err);
      if (code === 404) return undefined;
      if (code !== 409 || attempt >= 5) throw err;
      current = await client.get(namespace, name);
    }
  }
  return undefined;
}

/** Adds the finalizer; returns the updated object (undefined if it is gone). */
export function addFinalizer<T extends KubernetesObject>(
  client: CustomResourceClient<T>,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  return changeFinalizers(client, obj, (fs) => (fs.includes(finalizer) ? fs : [...fs, finalizer]));
}

export function removeFinalizer<T extends KubernetesObject>(
  client: CustomResourceClient<T>,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  return changeFinalizers(client, obj, (fs) => fs.filter((f) => f !== finalizer));
}
