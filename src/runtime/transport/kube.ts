// The small slice of the Kubernetes API that the operator needs, on top of
// @kubernetes/client-node. The client's KubeConfig loads the configuration and
// authenticates every request (tokens, exec plugins, client certificates);
// the requests themselves are plain JSON over node:https, on keep-alive
// connections (connection-pool.ts). The client's generated API classes are
// not used: each pulls in its object serializer and with it all 758 generated
// models, which cost the operator about 15 MB of memory for objects it never
// builds; nor is its Watch, whose undici cost about 10 MB more (docs/bench.md).
// Custom resources are addressed by group, version and plural, so no
// discovery call is made.
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { agentFor, type KubeTlsOptions } from './connection-pool.ts';
import { type HttpRequest, send, streamLines } from './http-client.ts';

/** --kubeconfig if given, else the in-cluster service account, else ~/.kube/config. */
export function loadKubeConfig(
  path: string | undefined,
  env: Record<string, string | undefined>,
): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/** The UID of a namespace (kube-system's names the cluster); undefined when it has none. */
export async function namespaceUid(kubeConfig: KubeConfig, name: string): Promise<string | undefined> {
  const ns = await new KubeApi(kubeConfig).get<{ metadata?: { uid?: string } }>(
    `/api/v1/namespaces/${encodeURIComponent(name)}`,
  );
  return ns.metadata?.uid;
}

export interface ResourceType {
  /** '' for the core group (namespaces, secrets). */
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
  const code = (err as { statusCode?: unknown; code?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Kubernetes answers that the caller should retry (conflict, throttling, server trouble). */
export function isTransientApiError(err: unknown): boolean {
  const code = statusCodeOf(err);
  return code === undefined || code === 409 || code === 429 || code >= 500;
}

/** A Kubernetes API call answered with an error status; the message is the API's own. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string | undefined;
  constructor(
    method: string,
    path: string,
    statusCode: number,
    status: { reason?: string; message?: string },
  ) {
    super(`${method} ${path}: ${statusCode}${status.message ? ` ${status.message}` : ''}`);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = status.reason;
  }
}

export const MERGE_PATCH = 'application/merge-patch+json';

/** Longest a call may wait for the headers, or between body chunks; a stalled connection then fails as a transient error. */
const REQUEST_TIMEOUT_MS = 30_000;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Of the body; JSON unless a patch says otherwise. */
  contentType?: string;
}

export interface WatchOptions {
  query: Record<string, string | number | boolean | undefined>;
  /** A stream that sends nothing (no event, no bookmark) for this long fails with a TimeoutError. */
  idleTimeoutMs: number;
  signal: AbortSignal;
}

export class KubeApi {
  private readonly kubeConfig: KubeConfig;

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
  }

  get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request('GET', path, { query });
  }

  async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const { url, request } = await this.prepare(method, path, options.query);
    if (options.body !== undefined) {
      request.headers!['content-type'] = options.contentType ?? 'application/json';
      request.body = JSON.stringify(options.body);
    }
    const response = await send(url, { ...request, timeoutMs: REQUEST_TIMEOUT_MS });
    if (response.status < 200 || response.status > 299)
      throw new KubeApiError(method, path, response.status, parseStatus(response.text));
    return (response.text ? JSON.parse(response.text) : undefined) as T;
  }

  /**
   * A watch of `path`: each event goes to `onEvent` as it arrives. Resolves
   * when the server ends the stream; rejects on an error status, a stalled
   * stream (TimeoutError) or an abort.
   */
  async watch<T>(
    path: string,
    options: WatchOptions,
    onEvent: (type: string, object: T) => void,
  ): Promise<void> {
    const { url, request } = await this.prepare('GET', path, { ...options.query, watch: 'true' });
    const response = await streamLines(
      url,
      { ...request, timeoutMs: options.idleTimeoutMs, signal: options.signal },
      (line) => {
        const event = JSON.parse(line) as { type: string; object: T };
        onEvent(event.type, event.object);
      },
    );
    if (response.status < 200 || response.status > 299)
      throw new KubeApiError('WATCH', path, response.status, parseStatus(response.text));
  }

  /** The URL and the client's own authentication: headers (bearer token, exec plugin) and TLS material. */
  private async prepare(
    method: HttpMethod,
    path: string,
    query: RequestOptions['query'] = {},
  ): Promise<{ url: URL; request: Omit<HttpRequest, 'timeoutMs'> }> {
    const server = this.kubeConfig.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(server.replace(/\/+$/, '') + path);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
    }
    const credentials = await credentialsFor(this.kubeConfig, server);
    return {
      url,
      request: {
        method,
        headers: { ...credentials.headers, accept: 'application/json' },
        auth: credentials.auth,
        agent: credentials.agent,
      },
    };
  }
}

interface Credentials {
  headers: Record<string, string>;
  auth: string | undefined;
  agent: HttpRequest['agent'];
}

/**
 * client-node's applyToHTTPSOptions reads the CA and key files and resolves the
 * token on every call, and the agent's key hashes that material: about 4 % of
 * the operator's CPU in a cold start (npm run bench). Its result is reused for
 * a second, far less than any credential lives; concurrent calls share one.
 */
const CREDENTIALS_REUSE_MS = 1000;
const credentials = new WeakMap<KubeConfig, { at: number; server: string; value: Promise<Credentials> }>();

function credentialsFor(kubeConfig: KubeConfig, server: string): Promise<Credentials> {
  const now = performance.now();
  const kept = credentials.get(kubeConfig);
  if (kept && kept.server === server && now - kept.at < CREDENTIALS_REUSE_MS) return kept.value;
  const value = (async () => {
    const options: KubeTlsOptions & { headers?: Record<string, string>; auth?: string } = {};
    await kubeConfig.applyToHTTPSOptions(options as never);
    return {
      headers: { ...options.headers },
      auth: options.auth,
      agent: agentFor(kubeConfig, server, options),
    };
  })();
  credentials.set(kubeConfig, { at: now, server, value });
  // A failure (an exec plugin that did not answer, say) is not kept.
  value.catch(() => {
    if (credentials.get(kubeConfig)?.value === value) credentials.delete(kubeConfig);
  });
  return value;
}

function parseStatus(text: string): { reason?: string; message?: string } {
  try {
    const status = JSON.parse(text) as { kind?: string; reason?: unknown; message?: unknown };
    return {
      reason: typeof status.reason === 'string' ? status.reason : undefined,
      message: typeof status.message === 'string' ? status.message : undefined,
    };
  } catch {
    // Not a Status (a proxy's error page, say): its first line is the best message there is.
    return { message: text.split('\n', 1)[0]?.slice(0, 200) || undefined };
  }
}

export class CustomResourceClient<T extends KubernetesObject = CustomObject> {
  readonly type: ResourceType;
  private readonly api: KubeApi;

  constructor(kubeConfig: KubeConfig, type: ResourceType) {
    this.type = type;
    this.api = new KubeApi(kubeConfig);
  }

  /** The path a watch of this type uses, in one namespace or in all. */
  collectionPath(namespace?: string): string {
    const { group, version, plural } = this.type;
    // The core group ('') lives under /api, every other under /apis.
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`;
  }

  private objectPath(namespace: string, name: string): string {
    return `${this.collectionPath(namespace)}/${encodeURIComponent(name)}`;
  }

  async get(namespace: string, name: string): Promise<T | undefined> {
    try {
      return await this.api.get<T>(this.objectPath(namespace, name));
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
    const list = await this.api.get<{
      items: T[];
      metadata?: { resourceVersion?: string; continue?: string };
    }>(this.collectionPath(options.namespace), {
      limit: options.limit,
      labelSelector: options.labelSelector,
      continue: options.continueToken,
    });
    return {
      items: list.items ?? [],
      resourceVersion: list.metadata?.resourceVersion ?? '',
      continueToken: list.metadata?.continue || undefined,
    };
  }

  /** JSON merge patch of the object (metadata and spec). */
  patch(namespace: string, name: string, body: object): Promise<T> {
    return this.api.request('PATCH', this.objectPath(namespace, name), { body, contentType: MERGE_PATCH });
  }

  /** JSON merge patch of the status subresource. */
  patchStatus(namespace: string, name: string, body: object): Promise<T> {
    return this.api.request('PATCH', `${this.objectPath(namespace, name)}/status`, {
      body,
      contentType: MERGE_PATCH,
    });
  }
}
