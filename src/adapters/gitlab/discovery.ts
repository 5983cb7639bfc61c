// OIDC discovery as AWS performs it at job time: the issuer's
// /.well-known/openid-configuration, then its jwks_uri, each within 5 s.
// The IAM provider URL, ARN and condition-key prefix all come from the
// document's issuer, never from the configured GitLab URL.
import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { RetryableError } from '../../runtime/reconcile/outcome.ts';
import { type HttpResponse, send } from '../../runtime/transport/http-client.ts';
import { type RetryGate, retryAfterMs } from './requester.ts';

export const DISCOVERY_TIMEOUT_MS = 5000;

export interface Discovery {
  issuer: string;
  jwksUri: string;
}

async function getJson(
  url: string,
  caPem: string | undefined,
  what: string,
  gate: RetryGate | undefined,
): Promise<Record<string, unknown>> {
  await gate?.whenOpen();
  let res: HttpResponse;
  try {
    res = await send(new URL(url), {
      agent: caPem ? new Agent({ ca: caPem }) : undefined,
      timeoutMs: DISCOVERY_TIMEOUT_MS,
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    });
  } catch (err) {
    const name = (err as Error)?.name;
    const slow = name === 'TimeoutError' || name === 'AbortError';
    throw new RetryableError(
      'IssuerUnreachable',
      `${what} ${url} ${slow ? `did not answer within ${DISCOVERY_TIMEOUT_MS / 1000} s` : `could not be fetched: ${(err as Error)?.message}`}; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
      { cause: err },
    );
  }
  if (res.status < 200 || res.status > 299) {
    const hinted =
      res.status === 429 || res.status === 503 ? retryAfterMs(res.headers['retry-after']) : undefined;
    if (hinted !== undefined) gate?.pause(hinted);
    throw new RetryableError(
      'IssuerUnreachable',
      `${what} ${url} answered HTTP ${res.status}; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
      { retryAfterMs: hinted },
    );
  }
  try {
    return JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    throw new RetryableError(
      'IssuerUnreachable',
      `${what} ${url} is not JSON; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
    );
  }
}

/**
 * Discovers the issuer of `gitlabUrl`, and checks that AWS can discover it from
 * the issuer itself. `gate`: the instance's Retry-After pause, shared with its API calls.
 */
export async function discoverIssuer(
  gitlabUrl: string,
  caPem?: string,
  gate?: RetryGate,
): Promise<Discovery> {
  const doc = await getJson(
    `${gitlabUrl}/.well-known/openid-configuration`,
    caPem,
    'the OIDC discovery document',
    gate,
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
      `${issuer}/.well-known/openid-configuration`,
      caPem,
      "the issuer's own discovery document",
      gate,
    );
    if (String(final.issuer ?? '').replace(/\/+$/, '') !== issuer) {
      throw new RetryableError(
        'IssuerMismatch',
        `${gitlabUrl} names issuer ${issuer}, but ${issuer}/.well-known/openid-configuration names "${final.issuer ?? ''}"; AWS would refuse the ID tokens. Fix the GitLab setting ci_id_tokens.issuer_url`,
      );
    }
  }
  const jwksUri = String(final.jwks_uri ?? '');
  await getJson(jwksUri, caPem, 'the JWKS', gate);
  return { issuer, jwksUri };
}

/**
 * The SHA-1 thumbprint IAM wants for a provider whose certificate is not
 * publicly trusted: that of the top certificate of the chain the JWKS host
 * serves, as the AWS console computes it. Lower-case hex.
 */
export function serverThumbprint(url: string, caPem: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: hostname,
        port: Number(port || 443),
        ca: caPem,
        timeout: DISCOVERY_TIMEOUT_MS,
        ...(isIP(hostname) ? {} : { servername: hostname }),
      },
      () => {
        // Walk up the verified chain to its top certificate.
        let peer = socket.getPeerCertificate(true);
        while (peer.issuerCertificate && peer.issuerCertificate.fingerprint256 !== peer.fingerprint256) {
          peer = peer.issuerCertificate;
        }
        socket.end();
        resolve(createHash('sha1').update(peer.raw).digest('hex'));
      },
    );
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
    socket.on('error', (err) =>
      reject(
        new RetryableError(
          'IssuerUnreachable',
          `could not read the TLS certificate of ${hostname}: ${err.message}`,
        ),
      ),
    );
  });
}
