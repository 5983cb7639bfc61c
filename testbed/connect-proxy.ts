// An HTTP proxy as a corporate egress proxy is seen by its clients: CONNECT
// tunnels for https, absolute-form requests (`POST http://host/ HTTP/1.1`)
// forwarded for http. It records every request by target (host:port as the
// client named it) and can route a target elsewhere: a test names a host:port
// where nothing listens and routes it to the real server, so a connection that
// did not go through the proxy fails.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ProxiedRequest {
  /** CONNECT for a tunnel; the method of a forwarded http request. */
  method: string;
  /** host:port as the client named it. */
  target: string;
  /** The path of a forwarded http request; empty for a tunnel. */
  path: string;
  /** The body of a forwarded http request (AWS's Query API names its Action there). */
  body: string;
}

export interface ConnectProxy {
  url: string;
  port: number;
  requests: ProxiedRequest[];
  /** How many requests (tunnels and forwarded) named each target. */
  counts: () => Record<string, number>;
  /** Sends what the clients name `from` (host:port) to `to` (host:port). */
  route: (from: string, to: string) => void;
  close: () => Promise<void>;
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const requests: ProxiedRequest[] = [];
  const routes = new Map<string, string>();
  const sockets = new Set<Socket>();
  const upstreamOf = (target: string) => {
    const to = routes.get(target) ?? target;
    const i = to.lastIndexOf(':');
    return { host: to.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(to.slice(i + 1)) };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // Forwarded http: the request line holds the absolute URL.
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form request expected\n');
      return;
    }
    const target = `${url.hostname}:${url.port || 80}`;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? 'GET',
        target,
        path: url.pathname + url.search,
        body: String(body),
      });
      const { host, port } = upstreamOf(target);
      const headers = { ...req.headers };
      delete headers['proxy-connection'];
      delete headers['proxy-authorization'];
      const upstream = httpRequest(
        { host, port, method: req.method, path: url.pathname + url.search, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    requests.push({ method: 'CONNECT', target, path: '', body: '' });
    const { host, port } = upstreamOf(target);
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    upstream.on('error', () => {
      if (client.writable) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      client.destroy();
    });
    client.on('error', () => upstream.destroy());
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    counts: () => {
      const counts: Record<string, number> = {};
      for (const r of requests) counts[r.target] = (counts[r.target] ?? 0) + 1;
      return counts;
    },
    route: (from, to) => {
      routes.set(from, to);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
