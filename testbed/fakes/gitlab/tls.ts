// A private CA and a server certificate for the HTTPS variant of the fake, made
// fresh per instance with @peculiar/x509 on node:crypto's WebCrypto.
import { createHash } from 'node:crypto';
// @peculiar/x509 depends on tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export interface TlsMaterial {
  /** The private CA's certificate (PEM): what a client must trust. */
  caPem: string;
  /** The server (leaf) certificate (PEM). */
  certPem: string;
  /** What the server sends: leaf, then CA. */
  chainPem: string;
  /** The leaf's private key (PKCS#8 PEM). */
  keyPem: string;
  /**
   * SHA-1 of the DER of the top certificate of the served chain (here the CA),
   * 40 lowercase hex characters: what the AWS console computes for an IAM OIDC
   * provider thumbprint ("the last certificate" the server presents).
   */
  thumbprint: string;
  /** SHA-1 of the leaf, lowercase hex (for tests of a leaf-only chain). */
  leafThumbprint: string;
}

// Node's global WebCrypto (node:crypto's webcrypto).
const crypto = globalThis.crypto;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

const sha1 = (der: ArrayBuffer) => createHash('sha1').update(Buffer.from(der)).digest('hex');

export async function createTlsMaterial(
  hostnames: string[] = ['localhost', '127.0.0.1'],
): Promise<TlsMaterial> {
  const caKeys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const leafKeys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: 'CN=gitlab-fake test CA',
      keys: caKeys,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const leaf = await x509.X509CertificateGenerator.create(
    {
      subject: 'CN=gitlab-fake',
      issuer: ca.subject,
      publicKey: leafKeys.publicKey,
      signingKey: caKeys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          hostnames.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 'ip', value: h } : { type: 'dns', value: h })),
        ),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
  const caPem = ca.toString('pem');
  const certPem = leaf.toString('pem');
  return {
    caPem,
    certPem,
    chainPem: `${certPem}\n${caPem}\n`,
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    thumbprint: sha1(ca.rawData),
    leafThumbprint: sha1(leaf.rawData),
  };
}
