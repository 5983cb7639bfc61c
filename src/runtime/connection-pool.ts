// @kubernetes/client-node 2.0 gives every API request a new undici Agent, so
// every Kubernetes call opens a new TLS connection with a new secure context
// (kubernetes-client/javascript#2893 is the same for watches). Measured with
// `npm run bench` at 1,000 federations, that was most of the operator's CPU
// and a heap that kept growing. This keeps one Agent per cluster, user and TLS
// material, so calls share keep-alive connections as client-go's do.
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';

interface Closable {
  close(): Promise<void>;
}
type CreateDispatcher = (
  cluster: { name?: string; server?: string; proxyUrl?: string } | null,
  options: Record<string, unknown>,
) => Closable | undefined;

/** Agents kept at once; more only when credentials rotate, and the oldest is closed. */
const MAX_AGENTS = 4;

export function reuseConnections(kc: KubeConfig): KubeConfig {
  // createDispatcher is private in the typings; its contract (cluster, TLS options) → Agent is stable in 2.x.
  const target = kc as unknown as { createDispatcher: CreateDispatcher };
  const create = target.createDispatcher.bind(kc);
  const agents = new Map<string, Closable | undefined>();
  target.createDispatcher = (cluster, options) => {
    const hash = createHash('sha256');
    for (const part of [cluster?.name, cluster?.server, cluster?.proxyUrl]) hash.update(`${part ?? ''}\0`);
    for (const name of Object.keys(options).sort()) {
      const value = options[name];
      if (value !== undefined)
        hash.update(`${name}=${Buffer.isBuffer(value) ? value.toString('base64') : String(value)}\0`);
    }
    const key = hash.digest('hex');
    if (agents.has(key)) return agents.get(key);
    const agent = create(cluster, options);
    if (agents.size >= MAX_AGENTS) {
      const [oldest, old] = agents.entries().next().value!;
      agents.delete(oldest);
      void old?.close();
    }
    agents.set(key, agent);
    return agent;
  };
  return kc;
}
