// PKCS#10 certificate requests: what a signer reads from one (subject, subjectAltNames, public key) and whether it
// was signed by the key it carries (Go's x509.ParseCertificateRequest + CheckSignature). node:crypto reads keys and
// certificates but not requests, so the request's DER is read here; a request is made with openssl.
import { execFile } from "node:child_process";
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A request that is not a PEM CERTIFICATE REQUEST a signer can read; the message says what is wrong. */
export class CertificateRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertificateRequestError";
  }
}

/** One attribute of the subject, in the request's order: `type` is CN, O, OU, C, ST, L, or the dotted OID. */
export interface NameAttribute {
  type: string;
  value: string;
}

export interface ParsedCertificateRequest {
  subject: NameAttribute[];
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
  publicKey: KeyObject;
  /** Whether the request's signature verifies with its own public key. */
  signatureValid: boolean;
}

const NAME_TYPES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.5": "serialNumber",
};
const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
const SUBJECT_ALT_NAME = "2.5.29.17";
/** Signature algorithm OID → digest for crypto.verify (null: the key type fixes it, Ed25519). */
const SIGNATURE_DIGESTS: Readonly<Record<string, string | null>> = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.2.840.113549.1.1.5": "sha1",
  "1.3.101.112": null,
};

interface Tlv {
  tag: number;
  /** The whole element (header + content). */
  start: number;
  contentStart: number;
  end: number;
}

function readTlv(der: Buffer, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new CertificateRequestError("truncated DER");
  const tag = der[offset] ?? 0;
  let length = der[offset + 1] ?? 0;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || contentStart + bytes > limit) throw new CertificateRequestError("bad DER length");
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + (der[contentStart + i] ?? 0);
    contentStart += bytes;
  }
  const end = contentStart + length;
  if (end > limit) throw new CertificateRequestError("truncated DER");
  return { tag, start: offset, contentStart, end };
}

/** The elements inside a constructed element. */
function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const child = readTlv(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t?.tag !== tag) throw new CertificateRequestError(`malformed certificate request: ${what}`);
  return t;
}

function oidOf(der: Buffer, t: Tlv): string {
  const bytes = der.subarray(t.contentStart, t.end);
  const first = bytes[0] ?? 0;
  const parts = [Math.floor(first / 40), first % 40];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

function stringOf(der: Buffer, t: Tlv): string {
  const bytes = der.subarray(t.contentStart, t.end);
  if (t.tag === 0x1e) return Buffer.from(bytes).swap16().toString("utf16le"); // BMPString (copied: swap16 works in place)
  return bytes.toString(t.tag === 0x0c ? "utf8" : "latin1");
}

function ipOf(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join(".");
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    // The shortest form, as Go's net.IP.String (the longest run of zero groups becomes ::).
    let best = -1;
    let bestLen = 0;
    for (let i = 0; i < 8; ) {
      let j = i;
      while (j < 8 && groups[j] === "0") j++;
      if (j - i > bestLen && j - i > 1) {
        best = i;
        bestLen = j - i;
      }
      i = j === i ? i + 1 : j;
    }
    if (best < 0) return groups.join(":");
    return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
  }
  throw new CertificateRequestError(`an IP subjectAltName of ${bytes.length} bytes`);
}

/** The DER of the first CERTIFICATE REQUEST block of `pem`. */
export function certificateRequestDer(pem: string): Buffer {
  const match = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!match) throw new CertificateRequestError("PEM block type must be CERTIFICATE REQUEST");
  return Buffer.from((match[2] ?? "").replace(/\s+/g, ""), "base64");
}

/** Reads a PEM certificate request; throws CertificateRequestError for anything unreadable. */
export function parseCertificateRequest(pem: string): ParsedCertificateRequest {
  const der = certificateRequestDer(pem);
  const top = expect(readTlv(der, 0, der.length), 0x30, "not a SEQUENCE");
  const [info, sigAlg, sig] = children(der, top);
  expect(info, 0x30, "certificationRequestInfo");
  expect(sigAlg, 0x30, "signatureAlgorithm");
  expect(sig, 0x03, "signature");
  if (!info || !sigAlg || !sig) throw new CertificateRequestError("malformed certificate request");
  const [, name, spki, attributes] = children(der, info);
  expect(name, 0x30, "subject");
  expect(spki, 0x30, "subjectPKInfo");
  if (!name || !spki) throw new CertificateRequestError("malformed certificate request");

  const subject: NameAttribute[] = [];
  for (const rdn of children(der, name)) {
    for (const atv of children(der, expect(rdn, 0x31, "subject RDN"))) {
      const [oid, value] = children(der, expect(atv, 0x30, "subject attribute"));
      if (!oid || !value) throw new CertificateRequestError("malformed certificate request: subject attribute");
      const type = oidOf(der, expect(oid, 0x06, "subject attribute type"));
      subject.push({ type: NAME_TYPES[type] ?? type, value: stringOf(der, value) });
    }
  }

  const sans = { dnsNames: [] as string[], ipAddresses: [] as string[], emailAddresses: [] as string[], uris: [] as string[] };
  if (attributes?.tag === 0xa0) {
    for (const attribute of children(der, attributes)) {
      const [oid, values] = children(der, expect(attribute, 0x30, "attribute"));
      if (!oid || !values || oidOf(der, oid) !== EXTENSION_REQUEST) continue;
      for (const extensions of children(der, values)) {
        for (const extension of children(der, expect(extensions, 0x30, "extensions"))) {
          const parts = children(der, expect(extension, 0x30, "extension"));
          const extOid = parts[0];
          const octets = parts[parts.length - 1];
          if (!extOid || octets?.tag !== 0x04 || oidOf(der, extOid) !== SUBJECT_ALT_NAME) continue;
          const names = expect(readTlv(der, octets.contentStart, octets.end), 0x30, "subjectAltName");
          for (const general of children(der, names)) {
            const bytes = der.subarray(general.contentStart, general.end);
            if (general.tag === 0x82) sans.dnsNames.push(bytes.toString("latin1"));
            else if (general.tag === 0x87) sans.ipAddresses.push(ipOf(bytes));
            else if (general.tag === 0x81) sans.emailAddresses.push(bytes.toString("latin1"));
            else if (general.tag === 0x86) sans.uris.push(bytes.toString("latin1"));
          }
        }
      }
    }
  }

  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: der.subarray(spki.start, spki.end), format: "der", type: "spki" });
  } catch (err) {
    throw new CertificateRequestError(`unreadable public key: ${err instanceof Error ? err.message : String(err)}`);
  }
  const algOid = children(der, sigAlg)[0];
  const digest = algOid ? SIGNATURE_DIGESTS[oidOf(der, algOid)] : undefined;
  let signatureValid = false;
  if (digest !== undefined) {
    // A BIT STRING's first content byte counts unused bits (0 for signatures).
    const signature = der.subarray(sig.contentStart + 1, sig.end);
    try {
      signatureValid = verify(digest, der.subarray(info.start, info.end), publicKey, signature);
    } catch {
      signatureValid = false;
    }
  }
  return {
    subject,
    commonName: subject.find((a) => a.type === "CN")?.value ?? "",
    organizations: subject.filter((a) => a.type === "O").map((a) => a.value),
    ...sans,
    publicKey,
    signatureValid,
  };
}

export interface CertificateRequestOptions {
  commonName: string;
  organizations?: readonly string[];
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
}

/** A new ECDSA P-256 key and a PEM request for it (what a kubelet or `openssl req -new` sends). */
export async function createCertificateRequest(opts: CertificateRequestOptions): Promise<{ csrPem: string; keyPem: string }> {
  const keyPem = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const dir = mkdtempSync(join(tmpdir(), "kubelab-csr-"));
  try {
    writeFileSync(join(dir, "key.pem"), keyPem, { mode: 0o600 });
    const escape = (v: string): string => v.replace(/[\\/=+]/g, (c) => `\\${c}`);
    const subj = [...(opts.organizations ?? []).map((o) => `/O=${escape(o)}`), `/CN=${escape(opts.commonName)}`].join("");
    const sans = [...(opts.dnsNames ?? []).map((d) => `DNS:${d}`), ...(opts.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
    const args = ["req", "-new", "-sha256", "-key", join(dir, "key.pem"), "-subj", subj, ...(sans.length > 0 ? ["-addext", `subjectAltName=${sans.join(",")}`] : [])];
    const csrPem = await new Promise<string>((resolve, reject) => {
      execFile("openssl", args, (err, stdout, stderr) => {
        if (err) reject(new Error(`openssl: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
    return { csrPem, keyPem };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
