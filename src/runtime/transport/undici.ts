// What the bundle (scripts/build.ts) gives @kubernetes/client-node for the npm
// package undici. client-node imports it at the top of its KubeConfig module
// for the dispatchers of its generated API clients (applySecurityAuthentication),
// which the operator does not use: KubeApi takes applyToHTTPSOptions and calls
// over node:https (kube.ts). Bundled, undici was 925 KB of the 3 MB bundle,
// parsed and run at every start and never called. Nothing here can be used,
// so a future caller of that path fails loudly instead of sending nothing.
const NOT_BUNDLED =
  'undici is not bundled with gitlab-aws-operator: call the Kubernetes API through KubeApi (src/runtime/kube.ts)';

export class Agent {
  constructor() {
    throw new Error(NOT_BUNDLED);
  }
}

export class ProxyAgent extends Agent {}

export function fetch(): never {
  throw new Error(NOT_BUNDLED);
}
