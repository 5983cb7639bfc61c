// A TCP proxy that can go silent: `freeze()` stops forwarding bytes on the
// connections it holds without closing them, as a half-open connection or a
// stuck middlebox does. New connections after a freeze pass normally.
import { connect, createServer, type Socket } from 'node:net';

export interface FreezingProxy {
  port: number;
  freeze: () => void;
  close: () => Promise<void>;
}

export async function startFreezingProxy(targetPort: number): Promise<FreezingProxy> {
  const live = new Set<[Socket, Socket]>();
  const frozen = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    live.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!frozen.has(from)) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    freeze: () => {
      for (const [client, upstream] of live) {
        frozen.add(client);
        frozen.add(upstream);
      }
    },
    close: async () => {
      for (const [client, upstream] of live) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
