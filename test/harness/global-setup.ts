// One control plane (with the product CRDs and the runtime's test fixture CRD)
// and one moto server for the whole test run. They stop in teardown, and
// with the runner itself if it dies (see processes.ts).
import type { TestProject } from 'vitest/node';
import { type ControlPlane, startControlPlane } from '../../testbed/controlplane.ts';
import { type Moto, startMoto } from '../../testbed/moto.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';

let controlPlane: ControlPlane | undefined;
let moto: Moto | undefined;
let motoIamProxy: MotoIamProxy | undefined;

export async function setup(project: TestProject): Promise<void> {
  [controlPlane, moto] = await Promise.all([
    startControlPlane({ crdDirs: ['crds', 'test/fixtures/crds'] }),
    startMoto(),
  ]);
  project.provide('kubeconfig', controlPlane.kubeconfigPath);
  project.provide('kubectl', controlPlane.kubectlPath);
  project.provide('motoUrl', moto.url);
  // moto lacks Add/RemoveClientIDToOpenIDConnectProvider; this proxy supplies
  // them on top of moto's state (see moto-iam-proxy.ts). Point IAM clients at
  // motoIamUrl. Its recorded actions and faults live in this process: tests
  // that need them start a proxy of their own in front of motoUrl.
  motoIamProxy = await startMotoIamProxy(moto.url);
  project.provide('motoIamUrl', motoIamProxy.url);
}

export async function teardown(): Promise<void> {
  await motoIamProxy?.close();
  await Promise.all([controlPlane?.stop(), moto?.stop()]);
}

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubectl: string;
    motoUrl: string;
    /** moto behind the moto-iam-proxy (adds the OIDC client ID actions moto lacks). */
    motoIamUrl: string;
  }
}
