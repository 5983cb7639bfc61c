// One control plane (with the product CRDs and the runtime's test fixture CRD)
// and one moto server for the whole test run. They stop in teardown, and
// with the runner itself if it dies (see processes.ts).
import type { TestProject } from 'vitest/node';
import { type ControlPlane, startControlPlane } from './controlplane.ts';
import { type Moto, startMoto } from './moto.ts';

let controlPlane: ControlPlane | undefined;
let moto: Moto | undefined;

export async function setup(project: TestProject): Promise<void> {
  [controlPlane, moto] = await Promise.all([
    startControlPlane({ crdDirs: ['crds', 'test/fixtures/crds'] }),
    startMoto(),
  ]);
  project.provide('kubeconfig', controlPlane.kubeconfigPath);
  project.provide('kubectl', controlPlane.kubectlPath);
  project.provide('motoUrl', moto.url);
}

export async function teardown(): Promise<void> {
  await Promise.all([controlPlane?.stop(), moto?.stop()]);
}

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubectl: string;
    motoUrl: string;
  }
}
