// An HTTP proxy in front of the CodeConnections fake that forwards every request
// but can withhold the answer to some: the call has taken effect in "AWS", and
// the operator never learns its result. That is the window between
// CreateConnection and the status write in which a crash must not cause a duplicate.
import { createServer, request, type ServerResponse } from 'node:http';

export interface HoldingProxy {
  url: string;
  /** Requests whose answer was withheld so far. */
  held: () => number;
  close: () => Promise<void>;
}

export async function startHoldingProxy(target: string, holdOperation: string): Promise<HoldingProxy> {
  const upstream = new URL(target);
  const withheld: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', () => {
            if (String(req.headers['x-amz-target'] ?? '').endsWith(`.${holdOperation}`)) {
              withheld.push(res);
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    held: () => withheld.length,
    close: async () => {
      for (const res of withheld) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
