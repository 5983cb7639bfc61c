// OIDC discovery as AWS performs it at job time: the issuer's
// /.well-known/openid-configuration, then its jwks_uri, each within 5 s.
// The IAM provider URL, ARN and condition-key prefix all come from the
// document's issuer, never from the configured GitLab URL.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { Agent, fetch } from 'undici';
import { RetryableError } from '../runtime/outcome.ts';
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
  const dispatcher = caPem ? new Agent({ connect: { ca: caPem } }) : undefined;
  let res: Awaited<ReturnType<typeof fetch>>;
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
      ...(dispatcher ? { dispatcher } : {}),
    });
  } catch (err) {
    const slow = (err as Error)?.name === 'TimeoutError';
    throw new RetryableError(
      'IssuerUnreachable',
      `${what} ${url} ${slow ? `did not answer within ${DISCOVERY_TIMEOUT_MS / 1000} s` : `could not be fetched: ${(err as Error)?.cause ?? (err as Error)?.message}`}; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
      { cause: err },
    );
  } finally {
    void dispatcher?.close();
  }
  if (!res.ok) {
    const hinted = res.status === 429 || res.status === 503 ? retryAfterMs(res) : undefined;
    if (hinted !== undefined) gate?.pause(hinted);
    await res.body?.cancel();
    throw new RetryableError(
      'IssuerUnreachable',
      `${what} ${url} answered HTTP ${res.status}; AWS fetches it the same way at job time and would refuse the ID tokens (InvalidIdentityToken)`,
      { retryAfterMs: hinted },
    );
  }
  return (await res.json()) as Record<string, unknown>;
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
