// The testbed the bench runs on, started and stopped as one: etcd +
// kube-apiserver, moto behind the IAM proxy, the GitLab fake over TLS (its CA
// through NODE_EXTRA_CA_CERTS, as a publicly trusted instance) and the
// CodeConnections fake, plus what runs against it while the bench measures.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ControlPlane, startControlPlane } from '../../testbed/controlplane.ts';
import {
  type CodeConnectionsFake,
  startCodeConnectionsFake,
} from '../../testbed/fakes/codeconnections/index.ts';
import { type GitLabFake, startGitLabFake } from '../../testbed/fakes/gitlab/index.ts';
import { type Moto, startMoto } from '../../testbed/moto.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import type { OperatorProcess } from '../../testbed/operator-process.ts';
import { REGION, ROOT } from './options.ts';
import type { ReadyTracker } from './ready.ts';
import { sleep } from './util.ts';

export interface BenchTestbed {
  cp: ControlPlane;
  moto: Moto;
  proxy: MotoIamProxy;
  gitlab: GitLabFake;
  cc: CodeConnectionsFake;
  /** The GitLab fake's CA, for the operator's NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** A token of a Maintainer of every bench project. */
  token: string;
}

/** Everything that may need stopping, filled in as it starts (so an interrupted start-up stops too). */
export interface Running {
  cp?: ControlPlane;
  moto?: Moto;
  proxy?: MotoIamProxy;
  gitlab?: GitLabFake;
  cc?: CodeConnectionsFake;
  operator?: OperatorProcess;
  trackers: ReadyTracker[];
  handshakes?: NodeJS.Timeout;
}

/**
 * Starts the testbed with `projects` GitLab projects (bench/p0, ...), `keyProjects` more for the
 * key step (bench/k0, ...), and one Maintainer token for them all.
 */
export async function startTestbed(
  running: Running,
  opts: { n: number; projects: number; keyProjects: number },
): Promise<BenchTestbed> {
  const [cp, moto] = await Promise.all([startControlPlane({ crdDirs: [join(ROOT, 'crds')] }), startMoto()]);
  Object.assign(running, { cp, moto });
  const proxy = await startMotoIamProxy(moto.url);
  running.proxy = proxy;
  const [gitlab, cc] = await Promise.all([
    startGitLabFake({ tls: true }),
    startCodeConnectionsFake({ region: REGION, connectionQuota: 2 * opts.n + 1000 }),
  ]);
  Object.assign(running, { gitlab, cc });
  const caFile = join(ROOT, '.tmp', 'bench', 'gitlab-ca.pem');
  mkdirSync(join(ROOT, '.tmp', 'bench'), { recursive: true });
  writeFileSync(caFile, gitlab.tls!.caPem);
  // GitLab protects a new project's default branch unless an admin turned that off.
  const paths = [
    ...Array.from({ length: opts.projects }, (_, i) => `bench/p${i}`),
    ...Array.from({ length: opts.keyProjects }, (_, i) => `bench/k${i}`),
  ];
  for (const path of paths) {
    gitlab.state.addProject(path);
    gitlab.state.protectBranch(path, 'main');
  }
  gitlab.state.addMember({ group: 'bench' }, 'deployer', 'maintainer');
  const token = gitlab.state.addToken('deployer', { scopes: ['api'] });
  return { cp, moto, proxy, gitlab, cc, caFile, token };
}

/** A person authorises every new connection at once (PENDING → AVAILABLE); the operator sees it at its next poll. */
export function authoriseConnections(running: Running, cc: CodeConnectionsFake): void {
  running.handshakes = setInterval(() => {
    for (const c of cc.connections()) if (c.status === 'PENDING') cc.completeHandshake(c.arn);
  }, 200);
}

export async function stopAll(running: Running): Promise<void> {
  const { operator: op } = running;
  clearInterval(running.handshakes);
  for (const t of running.trackers) t.stop();
  if (op) await Promise.race([op.stop('SIGTERM'), sleep(10_000)]).then(() => op.stop('SIGKILL'));
  await Promise.allSettled([running.gitlab?.close(), running.cc?.close(), running.proxy?.close()]);
  await Promise.allSettled([running.moto?.stop(), running.cp?.stop()]);
}
