// The secure port's serving certificate: --tls-cert-file/--tls-private-key-file, or, as Kubernetes does without
// them, a self-signed pair kept in --cert-dir (apiserver.crt, apiserver.key) and made there when missing: a CA of its
// own and a serving certificate for the apiserver's names and addresses.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "../component-base/pki/certificates.js";

export interface ServingOptions {
  tlsCertFile: string | undefined;
  tlsPrivateKeyFile: string | undefined;
  certDir: string;
  /** Addresses the self-signed certificate names besides loopback: the advertise address, the `kubernetes` Service IP. */
  ipAddresses: readonly string[];
}

export const SERVICE_DNS_NAMES = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"] as const;

/** The certificate (chain) and key to serve HTTPS with, and where they came from. */
export async function servingCertificate(options: ServingOptions): Promise<CertificateAndKey & { source: string; generated: boolean }> {
  if ((options.tlsCertFile === undefined) !== (options.tlsPrivateKeyFile === undefined)) {
    throw new Error("--tls-cert-file and --tls-private-key-file must be given together");
  }
  if (options.tlsCertFile !== undefined && options.tlsPrivateKeyFile !== undefined) {
    return { certPem: readFileSync(options.tlsCertFile, "utf8"), keyPem: readFileSync(options.tlsPrivateKeyFile, "utf8"), source: options.tlsCertFile, generated: false };
  }
  const certFile = join(options.certDir, "apiserver.crt");
  const keyFile = join(options.certDir, "apiserver.key");
  if (existsSync(certFile) && existsSync(keyFile)) {
    return { certPem: readFileSync(certFile, "utf8"), keyPem: readFileSync(keyFile, "utf8"), source: certFile, generated: false };
  }
  const host = hostname();
  const stamp = Math.floor(Date.now() / 1000);
  const ca = await createCertificateAuthority(`${host}-ca@${stamp}`, 365);
  const leaf = await issueCertificate(ca, {
    commonName: `${host}@${stamp}`,
    usage: "server",
    dnsNames: ["localhost", host, ...SERVICE_DNS_NAMES],
    ipAddresses: [...new Set(["127.0.0.1", ...options.ipAddresses])],
  });
  mkdirSync(options.certDir, { recursive: true, mode: 0o755 });
  const certPem = `${leaf.certPem.trimEnd()}\n${ca.certPem.trimEnd()}\n`;
  writeFileSync(certFile, certPem, { mode: 0o644 });
  writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  return { certPem, keyPem: leaf.keyPem, source: certFile, generated: true };
}
