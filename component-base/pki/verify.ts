// Which authority a TLS client's certificate chains to. A server that takes client certificates from two
// authorities (the cluster CA for users, the front-proxy CA for the aggregation layer's proxy, as Kubernetes'
// apiserver does) gives node:tls the union of both, so node's `authorized` only says "one of them"; each
// authenticator then checks the chain against its own bundle, as Kubernetes' x509 verifiers each hold their own
// pool: the chain the client presented (leaf first) must reach a certificate of the bundle, each link signed by
// the next, each within its validity, and the leaf must allow client authentication.
import { X509Certificate } from "node:crypto";
import type { DetailedPeerCertificate, TLSSocket } from "node:tls";

const CLIENT_AUTH_USAGE = "1.3.6.1.5.5.7.3.2";
const MAX_CHAIN = 10;

/** The certificates of a PEM bundle (a CA file may hold several). */
export function parseCertificateBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/** The chain a TLS peer presented, leaf first (node adds the issuers it found in the server's CA list); empty without one. */
export function peerCertificateChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (current !== undefined && Buffer.isBuffer(current.raw) && chain.length < MAX_CHAIN) {
    const certificate = new X509Certificate(current.raw);
    if (chain.some((c) => c.raw.equals(certificate.raw))) break; // a self-signed root names itself as its issuer
    chain.push(certificate);
    current = current.issuerCertificate;
  }
  return chain;
}

/**
 * Undefined when `chain` (leaf first) is anchored in `roots` and fit for client authentication; otherwise the
 * reason, in Go's x509 words as Kubernetes logs them.
 */
export function verifyClientChain(chain: readonly X509Certificate[], roots: readonly X509Certificate[], now: Date = new Date()): string | undefined {
  const leaf = chain[0];
  if (leaf === undefined) return "no client certificate";
  const usages = leaf.keyUsage as string[] | undefined; // node: the extended key usages, undefined when any is allowed
  if (usages !== undefined && !usages.includes(CLIENT_AUTH_USAGE)) return "x509: certificate specifies an incompatible key usage";
  for (let i = 0; i < chain.length; i++) {
    const certificate = chain[i]!;
    const notBefore = new Date(certificate.validFrom);
    const notAfter = new Date(certificate.validTo);
    if (now < notBefore || now > notAfter) {
      return `x509: certificate has expired or is not yet valid: current time ${now.toISOString()} is ${now > notAfter ? `after ${notAfter.toISOString()}` : `before ${notBefore.toISOString()}`}`;
    }
    if (roots.some((root) => root.raw.equals(certificate.raw) || (certificate.checkIssued(root) && certificate.verify(root.publicKey)))) return undefined;
    const issuer = chain[i + 1];
    if (issuer === undefined || !issuer.ca || !certificate.checkIssued(issuer) || !certificate.verify(issuer.publicKey)) break;
  }
  return "x509: certificate signed by unknown authority";
}
