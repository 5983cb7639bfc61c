// The GitLab fake as an HTTP(S) server on 127.0.0.1: request parsing, the
// request log, fault injection, and dispatch to the API and OIDC endpoints.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { presentedToken } from './auth.ts';
import { type Fault, type FaultSpec, Faults, faultReply } from './faults.ts';
import { ApiError, type Params, parseNested, type Reply } from './http.ts';
import { createOidcKeys, discoveryDocument, jwks, type MintIdTokenOptions, mintIdToken } from './oidc.ts';
import { routeApi } from './router.ts';
import { FakeState } from './state.ts';
import { createTlsMaterial, type TlsMaterial } from './tls.ts';

export interface GitLabFakeOptions {
  /** Serve HTTPS with a certificate from a freshly generated private CA. */
  tls?: boolean;
  /** A relative URL root, e.g. `/gitlab` for a self-managed instance at `https://host/gitlab`. */
  pathPrefix?: string;
  /** Premium features (group environment scopes). Default true; false drops group `environment_scope` as Free does. */
  premium?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path below the base URL, still URL-encoded (outside the base only for a mirrored issuer document). */
  path: string;
  /** Parsed query; token parameters redacted. */
  query: Params;
  /** Parsed body, if any; a `value` attribute is redacted (variable values are secrets). */
  body?: unknown;
  /** Username of the presented token's owner, if the token exists (valid or not); never the token. */
  user: string | null;
  /** Status answered (0 while in flight). */
  status: number;
}

export interface OidcSettings {
  /**
   * `iss` of minted ID tokens: `ci_id_tokens.issuer_url`, which defaults to
   * the GitLab URL. If it points at another path on this server, the fake also
   * serves the discovery document and JWKS there (as a static host would).
   */
  issuerUrl: string;
  /** `issuer` in `<base>/.well-known/openid-configuration`; GitLab always reports its own URL. */
  discoveryIssuer: string;
  /**
   * `jwks_uri` in the discovery documents, when set; by default the keys of
   * the document's base (`<base>/oauth/discovery/keys`), as GitLab names them.
   * A document naming keys elsewhere (another host, plain http) is what a
   * client must refuse.
   */
  jwksUri?: string;
}

export interface GitLabFake {
  /** Base URL, e.g. `http://127.0.0.1:40123` or `https://127.0.0.1:40123/gitlab` (no trailing slash). */
  readonly url: string;
  readonly tls: TlsMaterial | undefined;
  readonly state: FakeState;
  readonly faults: Faults;
  /** Every request received since start or the last reset, in arrival order. */
  readonly requests: RecordedRequest[];
  readonly oidc: OidcSettings;
  /** The published JWKS, as `/oauth/discovery/keys` serves it. */
  readonly jwks: ReturnType<typeof jwks>;
  mintIdToken(opts: MintIdTokenOptions): Promise<string>;
  /** Empties state, faults and the request log and restores the OIDC settings; keys and certificates stay. */
  reset(): void;
  close(): Promise<void>;
}

export type { Fault, FaultSpec, MintIdTokenOptions, TlsMaterial };

export async function startGitLabFake(options: GitLabFakeOptions = {}): Promise<GitLabFake> {
  const prefix = (options.pathPrefix ?? '').replace(/\/+$/, '');
  if (prefix && !prefix.startsWith('/')) throw new Error('pathPrefix must start with /');
  const [tls, keys] = await Promise.all([options.tls ? createTlsMaterial() : undefined, createOidcKeys()]);
  const state = new FakeState();
  const faults = new Faults();
  const requests: RecordedRequest[] = [];
  const timers = new Set<{ timer: NodeJS.Timeout; done: () => void }>();
  let base = '';
  const oidc: OidcSettings = { issuerUrl: '', discoveryIssuer: '' };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = { timer: setTimeout(() => done(), ms), done: () => done() };
      const done = () => {
        clearTimeout(entry.timer);
        timers.delete(entry);
        resolve();
      };
      timers.add(entry);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const requestUrl = new URL(req.url ?? '/', base);
    const pathname = requestUrl.pathname;
    const query = parseNested(requestUrl.searchParams);
    const raw = await readBody(req);
    const mirror = mirroredIssuerPath(oidc.issuerUrl, base, pathname);
    const inBase = pathname === prefix || pathname.startsWith(`${prefix}/`);
    const path = mirror !== undefined || !inBase ? pathname : pathname.slice(prefix.length) || '/';
    const token = presentedToken(req.headers, query);
    const record: RecordedRequest = {
      method,
      path,
      query: redact(query, ['private_token', 'access_token']),
      user: token ? (state.user(state.token(token)?.userId ?? -1)?.username ?? null) : null,
      status: 0,
    };
    requests.push(record);
    let reply: Reply;
    try {
      // Grape reads a body for POST, PUT, PATCH and DELETE only (Formatter#read_body_input?).
      const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)
        ? parseBody(raw, req.headers['content-type'])
        : undefined;
      if (body !== undefined) record.body = isPlainObject(body) ? redact(body, ['value']) : body;
      const fault = faults.take(method, path, record.user);
      if (fault?.spec.delayMs) await sleep(fault.spec.delayMs);
      if (fault?.spec.streamBody) {
        record.status = fault.spec.status ?? 200;
        await streamBody(res, record.status, fault.spec.streamBody, sleep);
        return;
      }
      if (fault?.spec.status !== undefined) {
        reply = faultReply({ ...fault.spec, status: fault.spec.status });
      } else if (mirror !== undefined) {
        const issuer = oidc.issuerUrl.replace(/\/+$/, '');
        reply = oidcReply(mirror, issuer, issuer)!;
      } else if (!inBase) {
        reply = { status: 404, body: 'Not Found\n', contentType: 'text/html' };
      } else if (path === '/api/v4' || path.startsWith('/api/v4/')) {
        const params = isPlainObject(body) ? { ...query, ...body } : query;
        reply = routeApi({
          state,
          method,
          segments: path.slice('/api/v4/'.length).split('/').filter(Boolean).map(decodeSegment),
          params,
          token,
          baseUrl: base,
          requestUrl,
          premium: options.premium ?? true,
        });
      } else {
        reply = oidcReply(path, oidc.discoveryIssuer, base) ?? {
          status: 404,
          body: 'Not Found\n',
          contentType: 'text/html',
        };
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      reply = err.reply;
    }
    record.status = reply.status;
    send(res, reply);
  }

  function oidcReply(path: string, issuer: string, jwksBase: string): Reply | undefined {
    if (path === '/.well-known/openid-configuration') {
      const doc = discoveryDocument(base, issuer, jwksBase);
      return { status: 200, body: oidc.jwksUri ? { ...doc, jwks_uri: oidc.jwksUri } : doc };
    }
    if (path === '/oauth/discovery/keys') {
      return {
        status: 200,
        body: jwks(keys),
        headers: { 'Cache-Control': 'max-age=86400, public, must-revalidate, no-transform' },
      };
    }
    return undefined;
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    res.on('error', () => {}); // the client may have gone (timeouts in tests)
    handle(req, res).catch((err: unknown) => {
      send(res, { status: 500, body: { message: '500 Internal Server Error', fake_error: String(err) } });
    });
  };
  const server = tls
    ? createHttpsServer({ key: tls.keyPem, cert: tls.chainPem }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  base = `${tls ? 'https' : 'http'}://127.0.0.1:${port}${prefix}`;
  const defaults = () => {
    Object.assign(oidc, { issuerUrl: base, discoveryIssuer: base });
    delete oidc.jwksUri;
  };
  defaults();

  return {
    url: base,
    tls,
    state,
    faults,
    requests,
    oidc,
    jwks: jwks(keys),
    mintIdToken: (opts) => mintIdToken(state, keys, oidc.issuerUrl, base, opts),
    reset: () => {
      state.reset();
      faults.clear();
      requests.length = 0;
      defaults();
    },
    close: async () => {
      for (const t of [...timers]) t.done();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** If `issuerUrl` is another path on this server, the issuer-relative path of `pathname` there. */
function mirroredIssuerPath(issuerUrl: string, base: string, pathname: string): string | undefined {
  if (!issuerUrl || issuerUrl.replace(/\/+$/, '') === base) return undefined;
  const issuer = new URL(issuerUrl);
  if (issuer.origin !== new URL(base).origin) return undefined;
  const root = issuer.pathname.replace(/\/+$/, '');
  const rest = pathname.startsWith(`${root}/`) ? pathname.slice(root.length) : undefined;
  return rest === '/.well-known/openid-configuration' || rest === '/oauth/discovery/keys' ? rest : undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(400, { error: '400 Bad Request' });
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** JSON and form bodies, as Grape's formatter parses them (for POST, PUT, PATCH and DELETE alike). */
function parseBody(raw: string, contentType: string | undefined): unknown {
  if (!raw) return undefined;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return parseNested(new URLSearchParams(raw));
  if (type === 'application/json' || type === '') {
    try {
      return JSON.parse(raw);
    } catch (err) {
      throw new ApiError(400, { error: (err as Error).message });
    }
  }
  return undefined;
}

function isPlainObject(v: unknown): v is Params {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function redact(params: Params, names: string[]): Params {
  const out: Params = { ...params };
  for (const n of names) if (n in out) out[n] = '[redacted]';
  return out;
}

/** A body of spaces in chunks, as a fault's `streamBody` asks; ends early when the client goes. */
async function streamBody(
  res: ServerResponse,
  status: number,
  spec: { chunkBytes?: number; intervalMs?: number; totalBytes?: number },
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const chunk = Buffer.alloc(spec.chunkBytes ?? 65536, ' ');
  const total = spec.totalBytes ?? Number.POSITIVE_INFINITY;
  res.writeHead(status, { 'Content-Type': 'application/json' });
  let sent = 0;
  while (sent < total && !res.destroyed) {
    const part = total - sent < chunk.length ? chunk.subarray(0, total - sent) : chunk;
    sent += part.length;
    if (!res.write(part) && !res.destroyed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    if (spec.intervalMs) await sleep(spec.intervalMs);
  }
  if (!res.destroyed) res.end();
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...reply.headers };
  let payload: string | undefined;
  if (reply.status !== 204 && reply.body !== undefined) {
    const text = typeof reply.body === 'string';
    payload = text ? (reply.body as string) : JSON.stringify(reply.body);
    headers['Content-Type'] = text ? (reply.contentType ?? 'text/plain') : 'application/json';
  }
  res.writeHead(reply.status, headers).end(payload);
}
