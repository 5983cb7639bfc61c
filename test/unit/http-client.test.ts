// The HTTP client under the Kubernetes and GitLab calls, against a real
// node:http server: bodies arrive whole, stalls fail as TimeoutError, and a
// watch stream is cut into lines wherever its chunks break.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { send, streamLines } from '../../src/runtime/transport/http-client.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<URL> {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return new URL(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/`);
}

describe('http-client', () => {
  it('sends the body of a DELETE with its length (GitLab reads a scope filter from it)', async () => {
    const url = await serve((req, res, body) =>
      res.end(JSON.stringify({ method: req.method, length: req.headers['content-length'], body })),
    );
    const body = JSON.stringify({ filter: { environment_scope: 'prod' } });
    const res = await send(url, { method: 'DELETE', body, timeoutMs: 5000 });
    expect(JSON.parse(res.text)).toEqual({ method: 'DELETE', length: String(body.length), body });
  });

  it('answers status, lower-case headers and the whole text, whatever the chunks', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(404, { 'Retry-After': '7', 'Content-Type': 'application/json' });
      res.write('{"message":');
      setTimeout(() => res.end('"404 Not found"}'), 20);
    });
    const res = await send(url, { timeoutMs: 5000 });
    expect(res).toMatchObject({ status: 404, text: '{"message":"404 Not found"}' });
    expect(res.headers['retry-after']).toBe('7');
  });

  it('writes a request only once `ready` has resolved on its connection, and not at all if it throws', async () => {
    const arrived: string[] = [];
    const url = await serve((req, res) => {
      arrived.push(req.url ?? '');
      res.end('ok');
    });
    const order: string[] = [];
    const res = await send(new URL('/after', url), {
      timeoutMs: 5000,
      ready: async () => {
        order.push(`ready called, ${arrived.length} arrived`);
        await new Promise((r) => setTimeout(r, 100));
        // Connected for 100 ms by now: a request written early would have arrived.
        order.push(`ready done, ${arrived.length} arrived`);
      },
    });
    expect(res.text).toBe('ok');
    expect(order).toEqual(['ready called, 0 arrived', 'ready done, 0 arrived']);

    const refused = new Error('paused for 30 s by a Retry-After');
    const err = await send(new URL('/never', url), {
      timeoutMs: 5000,
      ready: () => Promise.reject(refused),
    }).catch((e: unknown) => e);
    expect(err).toBe(refused);
    await new Promise((r) => setTimeout(r, 100));
    expect(arrived).toEqual(['/after']);
  });

  it('fails a stalled response with a TimeoutError naming the URL', async () => {
    const url = await serve((_req, res) => res.write('{"partial":'));
    const err = await send(new URL('/stuck', url), { timeoutMs: 200 }).catch((e: Error) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect((err as Error).message).toBe(`${url.origin}/stuck sent nothing for 0.2 s`);
  });

  it('hands over a stream line by line across chunk boundaries', async () => {
    const url = await serve((_req, res) => {
      res.write('{"type":"ADDED","n":1}\n{"type":"MOD');
      setTimeout(() => res.end('IFIED","n":2}\n{"type":"DELETED","n":3}'), 20);
    });
    const lines: string[] = [];
    const res = await streamLines(url, { timeoutMs: 5000 }, (line) => lines.push(line));
    expect(res.status).toBe(200);
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
  });

  it('returns an error status of a stream with its text and no lines', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end('{"kind":"Status","code":410}\n');
    });
    const lines: string[] = [];
    const res = await streamLines(url, { timeoutMs: 5000 }, (line) => lines.push(line));
    expect({ status: res.status, text: res.text, lines }).toEqual({
      status: 410,
      text: '{"kind":"Status","code":410}\n',
      lines: [],
    });
  });

  it('stops a stream when its signal aborts', async () => {
    const url = await serve((_req, res) => res.write('{"type":"ADDED"}\n'));
    const controller = new AbortController();
    const lines: string[] = [];
    const done = streamLines(url, { timeoutMs: 5000, signal: controller.signal }, (line) => {
      lines.push(line);
      controller.abort();
    });
    await expect(done).rejects.toMatchObject({ name: 'AbortError' });
    expect(lines).toHaveLength(1);
  });
});
