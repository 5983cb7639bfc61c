// The HTTP proxy of the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY; the
// lower-case spellings win, as in curl and Node.js) for every call that leaves
// the cluster: AWS's IAM, STS and CodeConnections (adapters/aws/clients.ts),
// the GitLab API and OIDC discovery (http-client.ts and its callers).
//
// Node.js 24 tunnels through a proxy itself (CONNECT for https, absolute-form
// requests for http) in any agent made with the `proxyEnv` option.
// NODE_USE_ENV_PROXY=1 would give that only to Node's global agents, and every
// agent of the operator is its own (keep-alive pools, CAs, egress policies), so
// each is made with proxyAgentOptions(). The Kubernetes API is not proxied by
// these variables: it follows its kubeconfig (proxy-url), and in a cluster it
// is the service next door.
//
// A proxy must not become a way around the address rules (egress.ts). Through
// a proxy the socket connects to the proxy, and the guarded lookup of the
// socket never sees the target; so a request under an egress policy resolves
// the target's name itself and checks every address before it is sent to a
// proxy (http-client.ts). The proxy resolves the name again when it connects:
// a proxy that also refuses link-local and private destinations closes that
// last gap (docs/network.md).
import { UsageError } from '../process/flags.ts';

type Env = Record<string, string | undefined>;

const variable = (env: Env, name: string) => env[name.toLowerCase()] || env[name] || undefined;

/** The proxy URL a request of this protocol goes through, ignoring NO_PROXY; undefined for none. */
export function proxyFor(protocol: string, env: Env = process.env): string | undefined {
  return variable(env, protocol === 'http:' ? 'HTTP_PROXY' : 'HTTPS_PROXY');
}

/** Options for a new http.Agent or https.Agent: the environment's proxy, if one is set. */
export function proxyAgentOptions(env: Env = process.env): { proxyEnv?: Env } {
  return proxyFor('https:', env) || proxyFor('http:', env) ? { proxyEnv: env } : {};
}

/** A proxy URL that Node.js would refuse when the first agent is made: a UsageError at start instead. */
export function checkProxyEnv(env: Env): void {
  for (const name of ['HTTPS_PROXY', 'HTTP_PROXY']) {
    const value = variable(env, name);
    if (value === undefined) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {}
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new UsageError(`invalid value for ${name}: use http://host:port or https://host:port`);
  }
}
