// X.509 certificates for the lab's PKI, made with Debian's openssl (the field's own tool; node:crypto makes keys
// but cannot write certificates). Keys are ECDSA P-256: small, fast to make, and accepted by Go's TLS (kubectl,
// the real control plane) and Node's.
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A PEM certificate and its PEM (PKCS#8) private key. */
export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

export interface CertificateRequest {
  /** The subject's CN: the user name an apiserver reads from a client certificate. */
  commonName: string;
  /** The subject's O entries: the groups an apiserver reads from a client certificate. */
  organizations?: readonly string[];
  /** subjectAltName DNS entries (serving certificates). */
  dnsNames?: readonly string[];
  /** subjectAltName IP entries (serving certificates). */
  ipAddresses?: readonly string[];
  /** extendedKeyUsage: serverAuth, clientAuth, or both. */
  usage: "server" | "client" | "server-and-client";
  /** Validity in days; 365 by default, as kubeadm's leaf certificates. */
  days?: number;
}

/** A self-signed CA (kubeadm's is valid 10 years). */
export async function createCertificateAuthority(commonName: string, days = 3650): Promise<CertificateAndKey> {
  const keyPem = newPrivateKey();
  const certPem = await openssl(keyPem, undefined, [
    "-subj", subjectOf(commonName, []),
    "-days", String(days),
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
    "-addext", "subjectKeyIdentifier=hash",
  ]);
  return { certPem, keyPem };
}

/** A leaf certificate signed by `ca`. */
export async function issueCertificate(ca: CertificateAndKey, request: CertificateRequest): Promise<CertificateAndKey> {
  const keyPem = newPrivateKey();
  const usages = { server: "serverAuth", client: "clientAuth", "server-and-client": "serverAuth,clientAuth" }[request.usage];
  const sans = [...(request.dnsNames ?? []).map((d) => `DNS:${d}`), ...(request.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
  const certPem = await openssl(keyPem, ca, [
    "-subj", subjectOf(request.commonName, request.organizations ?? []),
    "-days", String(request.days ?? 365),
    "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
    "-addext", `extendedKeyUsage=${usages}`,
    ...(sans.length > 0 ? ["-addext", `subjectAltName=${sans.join(",")}`] : []),
  ]);
  return { certPem, keyPem };
}

function newPrivateKey(): string {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** openssl's -subj form; `/`, `=` and `\` in values are escaped as openssl reads them. */
function subjectOf(commonName: string, organizations: readonly string[]): string {
  const escape = (v: string): string => v.replace(/[\\/=+]/g, (c) => `\\${c}`);
  return [...organizations.map((o) => `/O=${escape(o)}`), `/CN=${escape(commonName)}`].join("");
}

/** `openssl req -x509` with the subject key, self-signed or signed by `ca` (OpenSSL 3's -CA). */
async function openssl(keyPem: string, ca: CertificateAndKey | undefined, args: readonly string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "kubelab-pki-"));
  try {
    writeFileSync(join(dir, "subject.key"), keyPem, { mode: 0o600 });
    const caArgs: string[] = [];
    if (ca) {
      writeFileSync(join(dir, "ca.crt"), ca.certPem);
      writeFileSync(join(dir, "ca.key"), ca.keyPem, { mode: 0o600 });
      caArgs.push("-CA", join(dir, "ca.crt"), "-CAkey", join(dir, "ca.key"));
    }
    const serial = `0x${randomBytes(16).toString("hex").replace(/^[89a-f]/, "7")}`;
    return await new Promise<string>((resolve, reject) => {
      execFile("openssl", ["req", "-x509", "-new", "-sha256", "-key", join(dir, "subject.key"), "-set_serial", serial, ...caArgs, ...args], (err, stdout, stderr) => {
        if (err) reject(new Error(`openssl: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
