// HTTP requests on Node's own http/https modules, for the Kubernetes API and
// GitLab (the AWS SDK brings its own handler on the same modules). Not undici:
// its HTTP parser is WebAssembly, and compiling it cost the operator about
// 10 MB of RSS that node:http's built-in parser does not (docs/bench.md).
import http from 'node:http';
import https from 'node:https';

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

function exchange(
  url: URL,
  request: HttpRequest,
  onChunk: (chunk: string, status: number) => void,
): Promise<Omit<HttpResponse, 'text'>> {
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const headers = { ...request.headers };
    // Node sends no length of its own for a DELETE with a body (GitLab takes
    // a variable's environment scope filter in one).
    if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
    const req = transport.request(url, {
      method: request.method ?? 'GET',
      headers,
      agent: request.agent,
      auth: request.auth,
      signal: request.signal,
    });
    // An idle socket: no response headers yet, or no body chunk for that long.
    req.setTimeout(request.timeoutMs, () => req.destroy(new HttpTimeoutError(url, request.timeoutMs)));
    req.on('error', reject);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        try {
          onChunk(chunk, status);
        } catch (err) {
          req.destroy(err as Error);
        }
      });
      res.on('error', reject);
      res.on('end', () => resolve({ status, headers: flatten(res.headers) }));
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
