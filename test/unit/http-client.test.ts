// The HTTP client under the Kubernetes and GitLab calls, against a real
// node:http server: bodies arrive whole, stalls fail as TimeoutError, and a
// watch stream is cut into lines wherever its chunks break.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { addressClass } from '../../src/runtime/transport/egress.ts';
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

  it('cuts a body longer than maxBodyBytes, announced or streamed, with a clear error', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/announced') {
        res.writeHead(200, { 'Content-Length': String(2 * 1024 * 1024) });
        res.write('x'.repeat(1024));
        return;
      }
      // No length: 64 KiB chunks without end.
      const more = () => {
        if (res.destroyed) return;
        if (res.write('y'.repeat(65536))) setImmediate(more);
        else res.once('drain', more);
      };
      more();
    });
    for (const path of ['/announced', '/streamed']) {
      const err = await send(new URL(path, url), { timeoutMs: 5000, maxBodyBytes: 1024 * 1024 }).catch(
        (e: Error) => e,
      );
      expect(err).toMatchObject({
        name: 'BodyTooLargeError',
        message: `${url.origin}${path} sent a response body larger than 1 MiB, the most the operator reads`,
      });
    }
  });

  it('reads a body of exactly maxBodyBytes, multi-byte characters across chunks included', async () => {
    const text = `${'é'.repeat(511)}ab`; // 1024 bytes
    const url = await serve((_req, res) => {
      const bytes = Buffer.from(text);
      res.write(bytes.subarray(0, 1)); // half of the first é
      res.end(bytes.subarray(1));
    });
    expect((await send(url, { timeoutMs: 5000, maxBodyBytes: 1024 })).text).toBe(text);
  });

  it('cuts an exchange that outlasts its deadline although bytes keep coming', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 20);
    });
    const err = await send(new URL('/trickle', url), { timeoutMs: 5000, deadlineMs: 300 }).catch(
      (e: Error) => e,
    );
    expect(err).toMatchObject({
      name: 'TimeoutError',
      message: `${url.origin}/trickle did not answer in full within 0.3 s`,
    });
  });

  it('refuses, under an egress policy, loopback literals and names unless private addresses are allowed', async () => {
    const arrived: string[] = [];
    const url = await serve((req, res) => {
      arrived.push(req.url ?? '');
      res.end('ok');
    });
    const { port } = url;
    for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]']) {
      const target = new URL(`http://${host}:${port}/refused`);
      const err = await send(target, { timeoutMs: 5000, egress: { allowPrivate: false } }).catch(
        (e: Error) => e,
      );
      expect(err).toMatchObject({
        name: 'EgressRefusedError',
        message: `${target.hostname} resolves to an address that is not allowed (loopback)`,
      });
    }
    expect(arrived).toEqual([]);
    const ok = await send(new URL(`http://localhost:${port}/allowed`), {
      timeoutMs: 5000,
      egress: { allowPrivate: true },
    });
    expect(ok.text).toBe('ok');
    expect(arrived).toEqual(['/allowed']);
  });

  it('never connects to link-local or metadata addresses, in any spelling, even with private allowed', async () => {
    for (const host of [
      '169.254.169.254',
      '2852039166', // decimal
      '0xa9fea9fe', // hex
      '0251.0376.0251.0376', // octal
      '169.254.43518',
      '[::ffff:169.254.169.254]',
      '[::ffff:a9fe:a9fe]',
      '[64:ff9b::a9fe:a9fe]',
      '[fe80::1]',
      '[fd00:ec2::254]',
      '100.100.100.200',
    ]) {
      const url = new URL(`http://${host}/latest/meta-data/`);
      const err = await send(url, { timeoutMs: 5000, egress: { allowPrivate: true } }).catch((e: Error) => e);
      expect(err, host).toMatchObject({ name: 'EgressRefusedError', addressClass: 'link-local' });
      expect((err as Error).message).toMatch(/resolves to an address that is not allowed \(link-local\)$/);
    }
  });

  it('classifies addresses by the class a refusal names', () => {
    const classes = Object.fromEntries(
      [
        '10.0.0.1',
        '172.16.0.1',
        '172.32.0.1',
        '192.168.0.1',
        '100.64.0.1',
        '0.0.0.0',
        '127.9.9.9',
        '::1',
        '::',
        'fd12:3456::1',
        'fe80::1%eth0',
        '::ffff:10.0.0.1',
        '::127.0.0.1',
        '2002:a9fe:0101::1',
        '8.8.8.8',
        '2001:db8::1',
        '64:ff9b::8.8.8.8',
        'gitlab.com',
      ].map((a) => [a, addressClass(a)]),
    );
    expect(classes).toEqual({
      '10.0.0.1': 'private',
      '172.16.0.1': 'private',
      '172.32.0.1': 'public',
      '192.168.0.1': 'private',
      '100.64.0.1': 'private',
      '0.0.0.0': 'private',
      '127.9.9.9': 'loopback',
      '::1': 'loopback',
      '::': 'private',
      'fd12:3456::1': 'private',
      'fe80::1%eth0': 'link-local',
      '::ffff:10.0.0.1': 'private',
      '::127.0.0.1': 'loopback',
      '2002:a9fe:0101::1': 'link-local',
      '8.8.8.8': 'public',
      '2001:db8::1': 'public',
      '64:ff9b::8.8.8.8': 'public',
      'gitlab.com': undefined,
    });
  });
});
