// The probe and metrics endpoints.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Routes = Record<string, () => Promise<{ status: number; body: string; contentType?: string }>>;

export function parseListenAddress(address: string): { host: string | undefined; port: number } {
  const colon = address.lastIndexOf(':');
  const host = colon > 0 ? address.slice(0, colon).replace(/^\[|\]$/g, '') : undefined;
  const port = Number(address.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid listen address "${address}": use host:port or :port`);
  }
  return { host, port };
}

/** Starts an HTTP server for `routes`; resolves with the bound address (port 0 picks one). */
export async function serve(address: string, routes: Routes): Promise<{ server: Server; address: string }> {
  const { host, port } = parseListenAddress(address);
  const server = createServer((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0] ?? '/'];
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end('not found\n');
      return;
    }
    route().then(
      ({ status, body, contentType }) =>
        res.writeHead(status, { 'content-type': contentType ?? 'text/plain' }).end(body),
      (err) => res.writeHead(500).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return { server, address: `${bound.address}:${bound.port}` };
}
