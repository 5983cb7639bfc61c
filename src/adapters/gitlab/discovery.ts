// OIDC discovery as AWS performs it at job time: the issuer's
// /.well-known/openid-configuration, then its jwks_uri, each within 5 s.
// The IAM provider URL, ARN and condition-key prefix all come from the
// document's issuer, never from the configured GitLab URL.
//
// What the operator fetches here is named by a tenant (spec.gitlab.url) or by a
// document it serves, so: https only, the keys only on the issuer's own host
// (hostname and port), bodies of at most 1 MiB, an overall deadline per fetch,
// and connections only where the egress policy allows (runtime/transport/egress.ts).
// The thumbprint's TLS probe follows the same rules.
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:https';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { RetryableError, TerminalError } from '../../runtime/reconcile/outcome.ts';
import {
  assertHostAllowed,
  assertNameAllowed,
  type EgressPolicy,
  guardedLookup,
  isEgressRefused,
} from '../../runtime/transport/egress.ts';
import { type HttpResponse, send } from '../../runtime/transport/http-client.ts';
import { proxyAgentOptions, proxyFor } from '../../runtime/transport/proxy.ts';
import { addressNotAllowed } from './errors.ts';
import { type RetryGate, retryAfterMs } from './requester.ts';

export const DISCOVERY_TIMEOUT_MS = 5000;
/** The most of a discovery document or a JWKS read. */
export const MAX_DISCOVERY_BODY_BYTES = 1024 * 1024;

export interface Discovery {
  issuer: string;
  jwksUri: string;
}

export interface DiscoveryOptions {
  /** The CA bundle of spec.gitlab.caSecretRef. */
  caPem?: string | undefined;
  /** The instance's Retry-After pause for unauthenticated requests. */
  gate?: RetryGate | undefined;
  /** May the URLs resolve to loopback or private addresses (never link-local)? */
  allowPrivate: boolean;
}

/** `host:port`, the port spelled out (443 for https). */
function hostAndPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'http:' ? '80' : '443')}`;
}

function parseUrl(text: string, what: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new TerminalError('IssuerNotAllowed', `${what} "${text}" is not a URL`, { recheck: true });
  }
}

/** Refuses, before any request, a URL that is not https. */
function requireHttps(url: URL, what: string): void {
  if (url.protocol !== 'https:') {
    throw new TerminalError(
      'IssuerNotAllowed',
      `${what} ${url.href} is not an https URL: the operator fetches OIDC discovery documents and keys only over https (AWS, too, accepts only https issuers)`,
      { recheck: true },
    );
  }
}

async function getJson(url: URL, options: DiscoveryOptions, what: string): Promise<Record<string, unknown>> {
  requireHttps(url, what);
  const { caPem, gate } = options;
  await gate?.whenOpen();
  let res: HttpResponse;
  try {
    res = await send(url, {
      agent: caPem ? new Agent({ ca: caPem, ...proxyAgentOptions() }) : undefined,
      timeoutMs: DISCOVERY_TIMEOUT_MS,
      deadlineMs: DISCOVERY_TIMEOUT_MS,
      maxBodyBytes: MAX_DISCOVERY_BODY_BYTES,
      egress: { allowPrivate: options.allowPrivate },
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    });
  } catch (err) {
    if (isEgressRefused(err)) throw addressNotAllowed(err, `${what} ${url.href} was not fetched`);
    const name = (err as Error)?.name;
    const slow = name === 'TimeoutError' || name === 'AbortError';
    const large = name === 'BodyTooLargeError';
    throw new RetryableError(
      'IssuerUnreachable',
      `${what} ${url.href} ${slow ? `did not answer within ${DISCOVERY_TIMEOUT_MS / 1000} s` : large ? `is larger than ${MAX_DISCOVERY_BODY_BYTES / (1024 * 1024)} MiB, the most the operator reads` : `could not be fetched: ${(err as Error)?.message}`}; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
      { cause: err },
    );
  }
  if (res.status < 200 || res.status > 299) {
    const hinted =
      res.status === 429 || res.status === 503 ? retryAfterMs(res.headers['retry-after']) : undefined;
    if (hinted !== undefined) gate?.pause(hinted);
    throw new RetryableError(
      'IssuerUnreachable',
      `${what} ${url.href} answered HTTP ${res.status}; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
      { retryAfterMs: hinted },
    );
  }
  try {
    return JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    throw new RetryableError(
      'IssuerUnreachable',
      `${what} ${url.href} is not JSON; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
    );
  }
}

/**
 * Discovers the issuer of `gitlabUrl`, and checks that AWS can discover it from
 * the issuer itself. Nothing is fetched from a URL that is not https, nor keys
 * from a host other than the issuer's.
 */
export async function discoverIssuer(gitlabUrl: string, options: DiscoveryOptions): Promise<Discovery> {
  requireHttps(parseUrl(gitlabUrl, 'the GitLab URL'), 'the GitLab URL');
  const doc = await getJson(
    new URL(`${gitlabUrl}/.well-known/openid-configuration`),
    options,
    'the OIDC discovery document',
  );
  const issuer = String(doc.issuer ?? '').replace(/\/+$/, '');
  if (!issuer.startsWith('https://')) {
    throw new RetryableError(
      'IssuerMismatch',
      `the discovery document of ${gitlabUrl} names issuer "${doc.issuer ?? ''}", which is not an https URL; AWS accepts only https issuers`,
    );
  }
  let final = doc;
  if (issuer !== gitlabUrl) {
    // AWS looks the issuer up at the issuer, not at the URL we were given.
    final = await getJson(
      new URL(`${issuer}/.well-known/openid-configuration`),
      options,
      "the issuer's own discovery document",
    );
    if (String(final.issuer ?? '').replace(/\/+$/, '') !== issuer) {
      throw new RetryableError(
        'IssuerMismatch',
        `${gitlabUrl} names issuer ${issuer}, but ${issuer}/.well-known/openid-configuration names "${final.issuer ?? ''}"; AWS would refuse the ID tokens. Fix the GitLab setting ci_id_tokens.issuer_url`,
      );
    }
  }
  const jwksUri = String(final.jwks_uri ?? '');
  const jwks = parseUrl(jwksUri, `the jwks_uri of issuer ${issuer}`);
  requireHttps(jwks, `the jwks_uri of issuer ${issuer}`);
  const issuerUrl = new URL(issuer);
  if (hostAndPort(jwks) !== hostAndPort(issuerUrl)) {
    throw new TerminalError(
      'IssuerNotAllowed',
      `the discovery document of issuer ${issuer} names jwks_uri ${jwksUri}, on host ${hostAndPort(jwks)}; the operator fetches keys only from the issuer's own host ${hostAndPort(issuerUrl)}. Serve the keys from the issuer's host`,
      { recheck: true },
    );
  }
  await getJson(jwks, options, 'the JWKS');
  return { issuer, jwksUri };
}

/**
 * The SHA-1 thumbprint IAM wants for a provider whose certificate is not
 * publicly trusted: that of the top certificate of the chain the JWKS host
 * serves, as the AWS console computes it. Lower-case hex.
 */
export function serverThumbprint(url: string, caPem: string, egress: EgressPolicy): Promise<string> {
  const target = new URL(url);
  requireHttps(target, 'the JWKS host');
  const { hostname, port } = target;
  const host = hostname.replace(/^\[|\]$/g, '');
  try {
    assertHostAllowed(host, egress);
  } catch (err) {
    if (isEgressRefused(err))
      return Promise.reject(addressNotAllowed(err, `the TLS certificate of ${hostname} was not read`));
    throw err;
  }
  const failed = (err: Error) =>
    isEgressRefused(err)
      ? addressNotAllowed(err, `the TLS certificate of ${hostname} was not read`)
      : new RetryableError(
          'IssuerUnreachable',
          `could not read the TLS certificate of ${hostname}: ${err.message}`,
        );
  if (proxyFor('https:'))
    return proxiedThumbprint(target, host, caPem, egress).catch((err) => Promise.reject(failed(err)));
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host,
        port: Number(port || 443),
        ca: caPem,
        timeout: DISCOVERY_TIMEOUT_MS,
        lookup: guardedLookup(egress),
        ...(isIP(host) ? {} : { servername: host }),
      },
      () => {
        socket.end();
        resolve(topThumbprint(socket));
      },
    );
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
    socket.on('error', (err) => reject(failed(err)));
  });
}

/** SHA-1 of the top certificate of the verified chain the socket's peer sent. */
function topThumbprint(socket: TLSSocket): string {
  let peer = socket.getPeerCertificate(true);
  while (peer.issuerCertificate && peer.issuerCertificate.fingerprint256 !== peer.fingerprint256) {
    peer = peer.issuerCertificate;
  }
  return createHash('sha1').update(peer.raw).digest('hex');
}

/**
 * Through HTTPS_PROXY a bare TLS handshake cannot be made: a HEAD request to
 * the JWKS URL goes through the proxy's tunnel (or direct, by NO_PROXY), and
 * the chain is read from its socket. The target's addresses are checked first,
 * as for every proxied request (runtime/transport/proxy.ts).
 */
async function proxiedThumbprint(
  target: URL,
  host: string,
  caPem: string,
  egress: EgressPolicy,
): Promise<string> {
  await assertNameAllowed(host, egress);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'HEAD',
        agent: new Agent({ ca: caPem, ...proxyAgentOptions() }),
        lookup: guardedLookup(egress),
        timeout: DISCOVERY_TIMEOUT_MS,
      },
      (res) => {
        const thumbprint = topThumbprint(res.socket as TLSSocket);
        res.resume();
        req.destroy();
        resolve(thumbprint);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
