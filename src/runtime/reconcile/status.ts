// Status is written through the /status subresource as a JSON merge patch, and
// only when it differs from what the API server already has.
import { isDeepStrictEqual } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { type CustomResourceClient, isTransientApiError } from '../transport/kube.ts';
import { sleep } from '../watch/backoff.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** RFC 7386 merge patch that turns `from` into `to` (null deletes a field; arrays are replaced). */
export function mergePatch(from: unknown, to: unknown): Json | undefined {
  if (isDeepStrictEqual(from, to)) return undefined;
  if (!isPlainObject(from) || !isPlainObject(to)) return (to ?? null) as Json;
  const patch: Record<string, Json> = {};
  for (const key of Object.keys(from)) {
    if (!(key in to) || to[key] === undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined) continue;
    const sub = mergePatch(from[key], value);
    if (sub !== undefined) patch[key] = sub;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface StatusWriteResult<T> {
  written: boolean;
  object: T;
}

/**
 * Writes `status` if it differs from `current.status`. Transient failures
 * (conflict, throttling, server errors) are retried a few times here; what is
 * left is thrown, and the reconcile is retried with backoff.
 */
export async function writeStatus<T extends KubernetesObject & { status?: unknown }>(
  client: CustomResourceClient<T>,
  current: T,
  status: unknown,
  attempts = 4,
): Promise<StatusWriteResult<T>> {
  const patch = mergePatch(current.status ?? {}, status);
  if (patch === undefined) return { written: false, object: current };
  const { namespace = '', name = '' } = current.metadata ?? {};
  for (let attempt = 1; ; attempt++) {
    try {
      return { written: true, object: await client.patchStatus(namespace, name, { status: patch }) };
    } catch (err) {
      if (attempt >= attempts || !isTransientApiError(err)) throw err;
      await sleep(100 * 2 ** attempt);
    }
  }
}
