// Where the testbed's binaries come from. Lookup follows controller-runtime's
// envtest convention so that existing envtest assets are reused:
// TEST_ASSET_<NAME>, then $KUBEBUILDER_ASSETS/<name>, then the project's cache,
// which testbed/setup/env.sh fills by building from the Go module proxy.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { VERSIONS } from './versions.ts';

export function cacheDir(): string {
  return (
    process.env.GITLAB_AWS_OPERATOR_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gitlab-aws-operator')
  );
}

export type AssetName = 'etcd' | 'kube-apiserver' | 'kubectl';

export function assetPath(name: AssetName): string {
  const envName = `TEST_ASSET_${name.toUpperCase().replace('-', '_')}`;
  const candidates = [
    process.env[envName],
    process.env.KUBEBUILDER_ASSETS ? join(process.env.KUBEBUILDER_ASSETS, name) : undefined,
    join(cacheDir(), 'k8s', VERSIONS.kubernetes, name),
  ].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `${name} not found (looked in ${candidates.join(', ')}). Run \`npm test\` once: testbed/setup/env.sh builds it.`,
    );
  }
  return found;
}

export function motoServerPath(): string {
  const p = process.env.TEST_ASSET_MOTO_SERVER ?? join(cacheDir(), 'moto-venv', 'bin', 'moto_server');
  if (!existsSync(p)) {
    throw new Error(
      `moto_server not found at ${p}. Run \`npm test\` once: testbed/setup/env.sh installs it.`,
    );
  }
  return p;
}

/**
 * The AWS CLI (v1, from PyPI) that test/jobs runs the example jobs with:
 * TEST_ASSET_AWS, else the cache (testbed/setup/env.sh ensure_awscli installs it).
 */
export function awsCliPath(): string {
  const p = process.env.TEST_ASSET_AWS ?? join(cacheDir(), 'awscli-venv', 'bin', 'aws');
  if (!existsSync(p)) {
    throw new Error(
      `aws not found at ${p}. Run \`npm test\` once: testbed/setup/env.sh (ensure_awscli) installs it.`,
    );
  }
  return p;
}

/** The python of moto's venv, which runs testbed/moto_scoped.py (moto with resource-level authorisation). */
export function motoPythonPath(): string {
  const p = join(dirname(motoServerPath()), 'python');
  if (!existsSync(p)) {
    throw new Error(`moto's python not found at ${p}, next to moto_server. Run \`npm test\` once.`);
  }
  return p;
}

/** helm for the chart tests: TEST_ASSET_HELM, else the cache (testbed/setup/env.sh ensure_helm builds it). */
export function helmPath(): string {
  const p = process.env.TEST_ASSET_HELM ?? join(cacheDir(), 'helm', `v${VERSIONS.helm}`, 'helm');
  if (!existsSync(p)) {
    throw new Error(
      `helm not found at ${p}. Run \`npm test\` once: testbed/setup/env.sh (ensure_helm) builds it.`,
    );
  }
  return p;
}

/** actionlint for test/release: TEST_ASSET_ACTIONLINT, else the cache (testbed/setup/env.sh ensure_actionlint builds it). */
export function actionlintPath(): string {
  const p =
    process.env.TEST_ASSET_ACTIONLINT ??
    join(cacheDir(), 'actionlint', `v${VERSIONS.actionlint}`, 'actionlint');
  if (!existsSync(p)) {
    throw new Error(
      `actionlint not found at ${p}. Run \`npm test\` once: testbed/setup/env.sh (ensure_actionlint) builds it.`,
    );
  }
  return p;
}

/** promtool for test/observability: TEST_ASSET_PROMTOOL, else the cache (testbed/setup/env.sh ensure_promtool builds it). */
export function promtoolPath(): string {
  const p =
    process.env.TEST_ASSET_PROMTOOL ?? join(cacheDir(), 'promtool', `v${VERSIONS.prometheus}`, 'promtool');
  if (!existsSync(p)) {
    throw new Error(
      `promtool not found at ${p}. Run \`npm test\` once: testbed/setup/env.sh (ensure_promtool) builds it.`,
    );
  }
  return p;
}
