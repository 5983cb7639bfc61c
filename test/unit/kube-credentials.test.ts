// KubeApi reuses the KubeConfig's credentials for a second (kube.ts): a token
// that changes (a rotated service-account token, an exec plugin's new one) is
// used by the calls that start a second later, not later than that.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../src/runtime/transport/kube.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

describe('KubeApi credentials', () => {
  it('follows a changed token within a second', async () => {
    const seen: string[] = [];
    server = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    const user = { name: 'u', token: 'first' };
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [user],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const api = new KubeApi(kc);
    await api.get('/api');
    user.token = 'second';
    await api.get('/api');
    await new Promise((r) => setTimeout(r, 1100));
    await api.get('/api');
    expect(seen).toEqual(['Bearer first', 'Bearer first', 'Bearer second']);
  });
});
