// HTTP requests on Node's own http/https modules, for the Kubernetes API and
// GitLab (the AWS SDK brings its own handler on the same modules). Not undici:
// its HTTP parser is WebAssembly, and compiling it cost the operator about
// 10 MB of RSS that node:http's built-in parser does not (docs/bench.md).
import http from 'node:http';
import https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import {
  assertHostAllowed,
  assertNameAllowed,
  defaultEgressAgent,
  type EgressPolicy,
  guardedLookup,
} from './egress.ts';
import { proxyFor } from './proxy.ts';

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The connection pool (with the TLS settings); Node's global agent of the URL's protocol when left out. */
  agent?: http.Agent;
  /** Basic auth, user:password. */
  auth?: string;
  /** Longest wait for the response's headers, and between two chunks of its body. */
  timeoutMs: number;
  /**
   * Longest the whole exchange may take, headers and body: a server that
   * trickles an endless body is cut off. None when left out (a watch).
   */
  deadlineMs?: number;
  /** The most bytes of body read; a longer body (or Content-Length) fails with BodyTooLargeError. */
  maxBodyBytes?: number;
  /**
   * For a URL a tenant supplied: which addresses the connection may reach
   * (egress.ts), checked on IP literals before connecting and in the socket's
   * own DNS lookup. Without an `agent`, a pool of this policy's own is used.
   */
  egress?: EgressPolicy;
  signal?: AbortSignal;
  /**
   * Awaited once the request has its connection, just before it is written;
   * if it throws, the request is not sent and fails with that error. A
   * Retry-After pause that began while a new connection was being made is
   * honoured this way (requester.ts).
   */
  ready?: () => Promise<void>;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  text: string;
}

/** The error of a request that stalled longer than its `timeoutMs`; its name is TimeoutError. */
export class HttpTimeoutError extends Error {
  constructor(url: URL, timeoutMs: number) {
    super(`${url.origin}${url.pathname} sent nothing for ${timeoutMs / 1000} s`);
    this.name = 'TimeoutError';
  }
}

/** The error of an exchange that took longer than its `deadlineMs`; its name is TimeoutError. */
export class HttpDeadlineError extends Error {
  constructor(url: URL, deadlineMs: number) {
    super(`${url.origin}${url.pathname} did not answer in full within ${deadlineMs / 1000} s`);
    this.name = 'TimeoutError';
  }
}

/** The error of a response whose body is longer than `maxBodyBytes`; its name is BodyTooLargeError. */
export class HttpBodyTooLargeError extends Error {
  readonly limitBytes: number;
  constructor(url: URL, limitBytes: number) {
    super(
      `${url.origin}${url.pathname} sent a response body larger than ${formatBytes(limitBytes)}, the most the operator reads`,
    );
    this.name = 'BodyTooLargeError';
    this.limitBytes = limitBytes;
  }
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0
    ? `${n / (1024 * 1024)} MiB`
    : n % 1024 === 0
      ? `${n / 1024} KiB`
      : `${n} bytes`;
}

/** Sends a request and reads the whole response body as text. */
export async function send(url: URL, request: HttpRequest): Promise<HttpResponse> {
  let text = '';
  const response = await exchange(url, request, (chunk) => {
    text += chunk;
  });
  const result = { ...response, text };
  // A keep-alive socket can hold on to its last request and, through it, this
  // closure: it must not keep the body too (a list page is 600 KB).
  text = '';
  return result;
}

/**
 * Sends a request and hands over the response body line by line as it
 * arrives (a Kubernetes watch). A non-2xx response is returned whole instead,
 * with no line handed over.
 */
export async function streamLines(
  url: URL,
  request: HttpRequest,
  onLine: (line: string) => void,
): Promise<HttpResponse> {
  let partial = '';
  let errorText = '';
  const response = await exchange(url, request, (chunk, status) => {
    if (status < 200 || status > 299) {
      errorText += chunk;
      return;
    }
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
  if (partial.trim() && response.status >= 200 && response.status <= 299) onLine(partial);
  const result = { ...response, text: errorText };
  partial = errorText = '';
  return result;
}

async function exchange(
  url: URL,
  request: HttpRequest,
  onChunk: (chunk: string, status: number) => void,
): Promise<Omit<HttpResponse, 'text'>> {
  // Through a proxy the socket's guarded lookup sees only the proxy: the
  // target's addresses are checked here first (proxy.ts says why). Whether
  // NO_PROXY sends this one direct does not matter: then the lookup checks again.
  if (request.egress && proxyFor(url.protocol)) await assertNameAllowed(url.hostname, request.egress);
  return exchangeOnce(url, request, onChunk);
}

function exchangeOnce(
  url: URL,
  request: HttpRequest,
  onChunk: (chunk: string, status: number) => void,
): Promise<Omit<HttpResponse, 'text'>> {
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const { egress, maxBodyBytes, deadlineMs } = request;
    if (egress) {
      try {
        assertHostAllowed(url.hostname, egress);
      } catch (err) {
        reject(err);
        return;
      }
    }
    const headers = { ...request.headers };
    // Node sends no length of its own for a DELETE with a body (GitLab takes
    // a variable's environment scope filter in one).
    if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
    const req = transport.request(url, {
      method: request.method ?? 'GET',
      headers,
      agent: request.agent ?? (egress ? defaultEgressAgent(url.protocol, egress) : undefined),
      auth: request.auth,
      signal: request.signal,
      ...(egress ? { lookup: guardedLookup(egress) } : {}),
    });
    let deadline: NodeJS.Timeout | undefined;
    const fail = (err: Error) => {
      clearTimeout(deadline);
      reject(err);
    };
    if (deadlineMs !== undefined) {
      deadline = setTimeout(() => req.destroy(new HttpDeadlineError(url, deadlineMs)), deadlineMs);
    }
    // An idle socket: no response headers yet, or no body chunk for that long.
    req.setTimeout(request.timeoutMs, () => req.destroy(new HttpTimeoutError(url, request.timeoutMs)));
    req.on('error', fail);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const tooLarge = () => req.destroy(new HttpBodyTooLargeError(url, maxBodyBytes!));
      if (maxBodyBytes !== undefined && Number(res.headers['content-length'] ?? 0) > maxBodyBytes) {
        tooLarge();
        return;
      }
      const decoder = new StringDecoder('utf8');
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (maxBodyBytes !== undefined && received > maxBodyBytes) {
          tooLarge();
          return;
        }
        try {
          onChunk(decoder.write(chunk), status);
        } catch (err) {
          req.destroy(err as Error);
        }
      });
      // A destroyed request (deadline, size, abort) ends its response with an error too.
      res.on('error', (err) => fail((req.errored as Error | null) ?? err));
      res.on('end', () => {
        const rest = decoder.end();
        if (rest) onChunk(rest, status);
        clearTimeout(deadline);
        resolve({ status, headers: flatten(res.headers) });
      });
    });
    const { ready } = request;
    if (!ready) {
      req.end(request.body);
      return;
    }
    req.once('socket', (socket) => {
      const write = () =>
        ready().then(
          () => {
            if (!req.destroyed) req.end(request.body);
          },
          (err) => req.destroy(err as Error),
        );
      if (!socket.connecting) write();
      else socket.once('encrypted' in socket ? 'secureConnect' : 'connect', write);
    });
  });
}

function flatten(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
