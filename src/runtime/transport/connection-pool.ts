// Keep-alive connections to the Kubernetes API. client-node's own agent for a
// cluster keeps no connection alive, so every call would open a new TLS
// connection with a new secure context; measured with `npm run bench` at 1,000
// federations, that was most of the operator's CPU. This keeps one keep-alive
// agent per cluster and TLS material (a rotated client certificate gets a new
// one), so calls share connections as client-go's do.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** What KubeConfig.applyToHTTPSOptions fills in. */
export interface KubeTlsOptions {
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  pfx?: Buffer | string;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  agent?: http.Agent;
}

/** Agents kept per KubeConfig; more only when credentials rotate, and the oldest is closed. */
const MAX_AGENTS = 4;
const pools = new WeakMap<KubeConfig, Map<string, http.Agent>>();

export function agentFor(kc: KubeConfig, server: string, options: KubeTlsOptions): http.Agent {
  // Through a proxy: client-node's agent for it (HTTP CONNECT or SOCKS).
  if (kc.getCurrentCluster()?.proxyUrl && options.agent) return options.agent;
  const secure = !server.startsWith('http:');
  const tls = {
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    pfx: options.pfx,
    passphrase: options.passphrase,
    rejectUnauthorized: options.rejectUnauthorized,
    servername: options.servername,
  };
  const hash = createHash('sha256').update(`${server}\0`);
  for (const [name, value] of Object.entries(tls)) {
    if (value !== undefined)
      hash.update(`${name}=${Buffer.isBuffer(value) ? value.toString('base64') : String(value)}\0`);
  }
  const key = hash.digest('hex');
  const pool = pools.get(kc) ?? new Map<string, http.Agent>();
  pools.set(kc, pool);
  const cached = pool.get(key);
  if (cached) return cached;
  const agent = secure ? new https.Agent({ keepAlive: true, ...tls }) : new http.Agent({ keepAlive: true });
  if (pool.size >= MAX_AGENTS) {
    const [oldest, old] = pool.entries().next().value!;
    pool.delete(oldest);
    retire(old);
  }
  pool.set(key, agent);
  return agent;
}

/** Closes an agent's idle connections, and each busy one once its call is done (a watch, say). */
function retire(agent: http.Agent): void {
  for (const sockets of Object.values(agent.freeSockets))
    for (const socket of sockets ?? []) socket.destroy();
  agent.on('free', (socket) => socket.destroy());
}
