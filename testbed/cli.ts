// Starts a control plane and keeps it running until this process ends:
// `node testbed/cli.ts`. It prints one JSON line with the
// kubeconfig, the server and the pids. Used by the no-orphans test, and handy
// for poking at the testbed by hand (KUBECONFIG=<printed path> kubectl ...).
import { fileURLToPath } from 'node:url';
import { startControlPlane } from './controlplane.ts';

const crds = [fileURLToPath(new URL('../crds', import.meta.url))];
const cp = await startControlPlane({
  crdDirs: process.argv.includes('--no-crds') ? [] : crds,
  log: () => {},
});
process.stdout.write(
  `${JSON.stringify({ kubeconfig: cp.kubeconfigPath, server: cp.server, dir: cp.dir, pids: cp.pids() })}\n`,
);
setInterval(() => {}, 1 << 30);
