// Signing a certificate request with a CA, as Kubernetes' CSR signer does (pkg/controller/certificates/authority):
// the subject and subjectAltNames come from the request, the key usages and validity from the signer, never from
// the request's own extensions. Made with `openssl ca`, the one openssl command that takes validity to the second
// (a CSR may ask for 10 minutes).
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CertificateAndKey } from "./certificates.js";
import { CertificateRequestError, parseCertificateRequest } from "./csr.js";

/** certificates.k8s.io key usages → openssl keyUsage names (Go's x509.KeyUsage). */
export const KEY_USAGES: Readonly<Record<string, string>> = {
  signing: "digitalSignature",
  "digital signature": "digitalSignature",
  "content commitment": "nonRepudiation",
  "key encipherment": "keyEncipherment",
  "key agreement": "keyAgreement",
  "data encipherment": "dataEncipherment",
  "cert sign": "keyCertSign",
  "crl sign": "cRLSign",
  "encipher only": "encipherOnly",
  "decipher only": "decipherOnly",
};

/** certificates.k8s.io extended key usages → openssl extendedKeyUsage names (Go's x509.ExtKeyUsage). */
export const EXTENDED_KEY_USAGES: Readonly<Record<string, string>> = {
  any: "anyExtendedKeyUsage",
  "server auth": "serverAuth",
  "client auth": "clientAuth",
  "code signing": "codeSigning",
  "email protection": "emailProtection",
  "s/mime": "emailProtection",
  "ipsec end system": "ipsecEndSystem",
  "ipsec tunnel": "ipsecTunnel",
  "ipsec user": "ipsecUser",
  timestamping: "timeStamping",
  "ocsp signing": "OCSPSigning",
  "microsoft sgc": "msSGC",
  "netscape sgc": "nsSGC",
};

export interface SignOptions {
  /** certificates.k8s.io usages ("digital signature", "client auth", ...). */
  usages: readonly string[];
  /** How long the certificate is valid from now; never past the CA's own notAfter. */
  durationSeconds: number;
  /** notBefore is this far before now, for clocks a little behind (Kubernetes' signer: 5 minutes). */
  backdateSeconds?: number;
  now?: Date;
}

/**
 * Signs the PEM request `csrPem` with `ca`. Throws CertificateRequestError for a request that cannot be signed
 * (unreadable, a bad signature, an unknown usage, a name openssl's config cannot carry); other errors are openssl's.
 */
export async function signCertificateRequest(ca: CertificateAndKey, csrPem: string, opts: SignOptions): Promise<string> {
  const request = parseCertificateRequest(csrPem);
  if (!request.signatureValid) throw new CertificateRequestError("the request's signature does not verify with its public key");
  const keyUsages = new Set<string>();
  const extendedUsages = new Set<string>();
  for (const usage of opts.usages) {
    const key = KEY_USAGES[usage];
    const extended = EXTENDED_KEY_USAGES[usage];
    if (key) keyUsages.add(key);
    else if (extended) extendedUsages.add(extended);
    else throw new CertificateRequestError(`unknown key usage ${JSON.stringify(usage)}`);
  }
  const sans = [
    ...request.dnsNames.map((v) => ["DNS", v] as const),
    ...request.ipAddresses.map((v) => ["IP", v] as const),
    ...request.emailAddresses.map((v) => ["email", v] as const),
    ...request.uris.map((v) => ["URI", v] as const),
  ];
  for (const [, value] of sans) {
    if (!/^[\x21-\x7e]+$/.test(value) || /[$"\\]/.test(value)) throw new CertificateRequestError(`subjectAltName ${JSON.stringify(value)} is not printable ASCII`);
  }
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - (opts.backdateSeconds ?? 0) * 1000);
  const caNotAfter = new Date(new X509Certificate(ca.certPem).validTo);
  const notAfter = new Date(Math.min(now.getTime() + opts.durationSeconds * 1000, caNotAfter.getTime()));

  const ext = [
    "basicConstraints = critical,CA:FALSE",
    ...(keyUsages.size > 0 ? [`keyUsage = critical,${[...keyUsages].join(",")}`] : []),
    ...(extendedUsages.size > 0 ? [`extendedKeyUsage = ${[...extendedUsages].join(",")}`] : []),
    "authorityKeyIdentifier = keyid",
    ...(sans.length > 0 ? ["subjectAltName = @alt_names", "[alt_names]", ...sans.map(([type, value], i) => `${type}.${i} = ${value}`)] : []),
    "",
  ].join("\n");

  const dir = mkdtempSync(join(tmpdir(), "kubelab-sign-"));
  try {
    const file = (name: string, text: string, mode = 0o644): string => {
      writeFileSync(join(dir, name), text, { mode });
      return join(dir, name);
    };
    // A throwaway `openssl ca` database: the lab's CA keeps no issuance records (neither does Kubernetes').
    const config = file(
      "ca.cnf",
      ["[ca]", "default_ca = signer", "[signer]", `database = ${join(dir, "index.txt")}`, `new_certs_dir = ${dir}`, `serial = ${join(dir, "serial")}`, "unique_subject = no", "policy = any_subject", "copy_extensions = none", "email_in_dn = no", "[any_subject]", ""].join("\n"),
    );
    file("index.txt", "");
    const args = [
      "ca", "-batch", "-notext", "-config", config,
      "-in", file("request.csr", csrPem),
      "-cert", file("ca.crt", ca.certPem),
      "-keyfile", file("ca.key", ca.keyPem, 0o600),
      "-md", "sha256", "-rand_serial", "-preserveDN",
      "-startdate", asn1Time(notBefore), "-enddate", asn1Time(notAfter),
      "-extfile", file("ext.cnf", ext),
      "-out", join(dir, "signed.crt"),
    ];
    await new Promise<void>((resolve, reject) => {
      execFile("openssl", args, (err, _stdout, stderr) => {
        if (err) reject(new Error(`openssl: ${stderr.trim().split("\n").slice(-3).join("; ") || err.message}`));
        else resolve();
      });
    });
    return readFileSync(join(dir, "signed.crt"), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ASN.1 UTCTime (YYMMDDHHMMSSZ) through 2049, GeneralizedTime after, as RFC 5280 asks. */
function asn1Time(d: Date): string {
  const iso = d.toISOString(); // 2026-12-06T15:20:00.000Z
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return d.getUTCFullYear() < 2050 ? digits.slice(2) : digits;
}
