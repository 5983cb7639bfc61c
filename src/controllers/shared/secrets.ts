// Reads one key of a Secret in the resource's own namespace: a resource can
// never name a Secret elsewhere. The value is returned to the caller only; it
// is never logged or put into a status, event or error.
import type { KubeConfig } from '@kubernetes/client-node';
import { RetryableError, WaitError } from '../../runtime/reconcile/outcome.ts';
import { KubeApi, statusCodeOf } from '../../runtime/transport/kube.ts';

export const SECRET_NOT_FOUND = 'SecretNotFound';

/** A person must create the Secret or its key: a wait, which the Secret watch ends early. */
const secretNotReady = (message: string) => new WaitError(60_000, SECRET_NOT_FOUND, message);

export class SecretReader {
  private readonly api: KubeApi;
  constructor(kubeConfig: KubeConfig) {
    this.api = new KubeApi(kubeConfig);
  }

  /** The decoded value; a WaitError (a person must create it) when the Secret or key is missing. */
  async read(namespace: string, ref: { name: string; key: string }, field: string): Promise<string> {
    let data: Record<string, string> | undefined;
    try {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(ref.name)}`;
      data = (await this.api.get<{ data?: Record<string, string> }>(path)).data;
    } catch (err) {
      const code = statusCodeOf(err);
      if (code === 404) {
        throw secretNotReady(
          `Secret ${namespace}/${ref.name} (${field}) does not exist: create it with the key ${ref.key}`,
        );
      }
      if (code === 403) {
        throw new RetryableError(
          'SecretForbidden',
          `the operator may not read Secret ${namespace}/${ref.name} (${field}): grant it get on secrets in ${namespace}`,
        );
      }
      throw new RetryableError(
        'KubernetesUnavailable',
        `could not read Secret ${namespace}/${ref.name}: ${(err as Error).message}`,
      );
    }
    const value = data?.[ref.key];
    if (!value) {
      throw secretNotReady(
        `Secret ${namespace}/${ref.name} (${field}) has no key ${ref.key}: add it, or point ${field}.key at the right key`,
      );
    }
    return Buffer.from(value, 'base64').toString('utf8').trim();
  }
}
