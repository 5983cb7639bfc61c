// testbed/versions.json is the one place the testbed's versions are pinned: the
// bash set-up (which runs before Node.js 24 exists) and the TypeScript testbed
// must read the same values from it.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { VERSIONS } from '../../testbed/versions.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('testbed/versions.json', () => {
  it('gives testbed/setup/env.sh and testbed/versions.ts the same versions', async () => {
    const script =
      'set -euo pipefail; source testbed/setup/env.sh; ' +
      'echo "$GAO_K8S_VERSION $GAO_ETCD_VERSION $GAO_MOTO_VERSION $GAO_HELM_VERSION $GAO_AWSCLI_VERSION $GAO_ACTIONLINT_VERSION"';
    const { stdout } = await promisify(execFile)('bash', ['-c', script], { cwd: ROOT });
    expect(stdout.trim().split(' ')).toEqual([
      VERSIONS.kubernetes,
      VERSIONS.etcd,
      VERSIONS.moto,
      VERSIONS.helm,
      VERSIONS.awscli,
      VERSIONS.actionlint,
    ]);
  });
});
