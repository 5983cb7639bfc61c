// What the bundle (scripts/build.ts) gives @kubernetes/client-node for the npm
// package undici. client-node imports it at the top of its KubeConfig module
// for the dispatchers of its generated API clients (applySecurityAuthentication),
// which the operator does not use: KubeApi takes applyToHTTPSOptions and calls
// over node:https (kube.ts). Bundled, undici was 925 KB of the 3 MB bundle,
// parsed and run at every start and never called. These classes refuse to be built,
// so a future caller of that path fails loudly instead of sending nothing.
class NotBundled {
  constructor() {
    throw new Error(
      'undici is not bundled with gitlab-aws-operator: call the Kubernetes API through KubeApi (src/runtime/kube.ts)',
    );
  }
}

export class Agent extends NotBundled {}
export class ProxyAgent extends NotBundled {}

export function fetch(): never {
  new NotBundled();
  throw new Error('unreachable');
}
