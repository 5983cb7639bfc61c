// The testbed's pinned versions for TypeScript. They live in versions.json, not
// here, because testbed/setup/env.sh reads them too, before Node.js 24 (and so
// any .ts loader) exists: the machine's own node can read JSON.
import versions from './versions.json' with { type: 'json' };

export const VERSIONS: Readonly<{
  kubernetes: string;
  etcd: string;
  moto: string;
  awscli: string;
  helm: string;
  actionlint: string;
  prometheus: string;
}> = versions;
