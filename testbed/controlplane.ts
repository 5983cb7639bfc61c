// etcd + kube-apiserver, the way controller-runtime's envtest runs them: real
// binaries on free loopback ports, no controller-manager (so no garbage
// collection and namespaces never finish terminating).
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { assetPath } from './assets.ts';
import { freePort, removeOnExit, type Started, startProcess, waitFor } from './processes.ts';

const run = promisify(execFile);

export interface ControlPlane {
  dir: string;
  server: string;
  kubeconfigPath: string;
  kubectlPath: string;
  adminToken: string;
  caData: string;
  pids: () => number[];
  restartApiServer: () => Promise<void>;
  stop: () => Promise<void>;
}

export interface ControlPlaneOptions {
  crdDirs?: string[];
  log?: (line: string) => void;
}

function httpsGet(url: string, ca: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? ((line: string) => console.log(line));
  const began = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'gao-controlplane-'));
  const keepDir = removeOnExit(dir);
  const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];

  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  const etcd = startProcess('etcd', assetPath('etcd'), [
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ]);
  await waitFor(
    'etcd /health',
    async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok ? true : undefined;
    },
    { diagnostics: etcd.output },
  );

  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), `${adminToken},admin,admin-uid,"system:masters"\n`);

  const server = `https://127.0.0.1:${apiPort}`;
  const apiArgs = [
    `--etcd-servers=${etcdUrl}`,
    `--cert-dir=${join(dir, 'certs')}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--authorization-mode=RBAC',
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--disable-admission-plugins=ServiceAccount',
    `--service-account-issuer=${server}`,
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--v=0',
  ];
  let apiserver: Started = startProcess('kube-apiserver', assetPath('kube-apiserver'), apiArgs);

  // kube-apiserver writes a self-signed serving certificate (SANs localhost and
  // 127.0.0.1) plus its CA into --cert-dir; the bundle is the kubeconfig's CA.
  const caData = await waitFor(
    'kube-apiserver serving certificate',
    async () => {
      try {
        return readFileSync(join(dir, 'certs', 'apiserver.crt'), 'utf8');
      } catch {
        return undefined;
      }
    },
    { diagnostics: () => apiserver.output() },
  );
  const waitReady = async () => {
    await waitFor(
      'kube-apiserver /readyz',
      async () =>
        (await httpsGet(`${server}/readyz`, caData, adminToken)).status === 200 ? true : undefined,
      { timeoutMs: 120_000, intervalMs: 250, diagnostics: () => apiserver.output() },
    );
    await waitFor('namespace default', async () =>
      (await httpsGet(`${server}/api/v1/namespaces/default`, caData, adminToken)).status === 200
        ? true
        : undefined,
    );
  };
  await waitReady();

  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'testbed',
          cluster: { server, 'certificate-authority-data': Buffer.from(caData).toString('base64') },
        },
      ],
      users: [{ name: 'admin', user: { token: adminToken } }],
      contexts: [{ name: 'testbed', context: { cluster: 'testbed', user: 'admin', namespace: 'default' } }],
      'current-context': 'testbed',
    }),
    { mode: 0o600 },
  );
  const kubectlPath = assetPath('kubectl');
  for (const crdDir of options.crdDirs ?? []) {
    await run(kubectlPath, ['--kubeconfig', kubeconfigPath, 'apply', '--server-side', '-f', crdDir]);
  }
  if ((options.crdDirs ?? []).length > 0) {
    await run(kubectlPath, [
      '--kubeconfig',
      kubeconfigPath,
      'wait',
      '--for=condition=Established',
      'crd',
      '--all',
      '--timeout=60s',
    ]);
  }
  log(`[testbed] etcd + kube-apiserver ready at ${server} in ${((Date.now() - began) / 1000).toFixed(1)} s`);

  return {
    dir,
    server,
    kubeconfigPath,
    kubectlPath,
    adminToken,
    caData,
    pids: () => [etcd.child.pid, apiserver.child.pid].filter((p): p is number => typeof p === 'number'),
    restartApiServer: async () => {
      await apiserver.stop();
      apiserver = startProcess('kube-apiserver', assetPath('kube-apiserver'), apiArgs);
      await waitReady();
    },
    stop: async () => {
      await apiserver.stop();
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
      keepDir();
    },
  };
}
