// The PKI's files: PEM written with the modes kubeadm uses (private keys 0600, certificates 0644) and a CA pair
// read back from its two files, checked to be a CA and to belong together.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { CertificateAndKey } from "./certificates.js";

/** A file holding a private key or other secret: owner read/write only. */
export const PRIVATE_FILE_MODE = 0o600;
/** A certificate or public key: readable by all. */
export const PUBLIC_FILE_MODE = 0o644;

/**
 * Writes `text` to `path` with `mode` (its directory made if missing), through a temporary file and a rename so a
 * reader never sees half a key; an existing file is replaced and takes the mode too.
 */
export function writePemFile(path: string, text: string, mode: number = PUBLIC_FILE_MODE): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, text, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, path);
}

/** Writes a private key (mode 0600). */
export function writeKeyFile(path: string, keyPem: string): void {
  writePemFile(path, keyPem, PRIVATE_FILE_MODE);
}

/** Writes a certificate and its key as `<base>.crt` and `<base>.key` (kubeadm's naming). */
export function writeCertificateAndKey(base: string, pair: CertificateAndKey): void {
  writePemFile(`${base}.crt`, pair.certPem);
  writeKeyFile(`${base}.key`, pair.keyPem);
}

/** A CA file pair that cannot serve as a signer; the message names the file. */
export class CertificateAuthorityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertificateAuthorityError";
  }
}

/** Reads a CA certificate and its key (e.g. --cluster-signing-cert-file/--cluster-signing-key-file). */
export function readCertificateAuthority(certFile: string, keyFile: string): CertificateAndKey {
  const read = (file: string): string => {
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      throw new CertificateAuthorityError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const certPem = read(certFile);
  const keyPem = read(keyFile);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new CertificateAuthorityError(`${certFile}: not a PEM certificate: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!cert.ca) throw new CertificateAuthorityError(`${certFile}: not a CA certificate (basicConstraints CA:FALSE)`);
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw new CertificateAuthorityError(`${keyFile}: not a PEM private key: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!matches) throw new CertificateAuthorityError(`${keyFile}: the key does not match ${certFile}`);
  return { certPem, keyPem };
}
