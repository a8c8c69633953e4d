import { X509Certificate, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "./certificates.js";
import { CertificateRequestError, createCertificateRequest, parseCertificateRequest } from "./csr.js";
import { CertificateAuthorityError, readCertificateAuthority, writeCertificateAndKey } from "./files.js";
import { signCertificateRequest } from "./sign.js";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "pki-test-"));
  dirs.push(d);
  return d;
}

let caPromise: Promise<CertificateAndKey> | undefined;
const ca = (): Promise<CertificateAndKey> => (caPromise ??= createCertificateAuthority("pki-test-ca"));

describe("parseCertificateRequest", () => {
  it("reads the subject, subjectAltNames and public key of an openssl request and checks its signature", async () => {
    const { csrPem, keyPem } = await createCertificateRequest({ commonName: "system:node:n1", organizations: ["system:nodes"], dnsNames: ["n1.example"], ipAddresses: ["10.0.0.7", "fd00::1"] });
    const parsed = parseCertificateRequest(csrPem);
    expect(parsed.commonName).toBe("system:node:n1");
    expect(parsed.organizations).toEqual(["system:nodes"]);
    expect(parsed.subject).toEqual([{ type: "O", value: "system:nodes" }, { type: "CN", value: "system:node:n1" }]);
    expect(parsed.dnsNames).toEqual(["n1.example"]);
    expect(parsed.ipAddresses).toEqual(["10.0.0.7", "fd00::1"]);
    expect(parsed.signatureValid).toBe(true);
    const { createPublicKey } = await import("node:crypto");
    expect(parsed.publicKey.export({ type: "spki", format: "pem" })).toBe(createPublicKey(keyPem).export({ type: "spki", format: "pem" }));
  });

  it("says the signature is bad when the signed bytes were changed", async () => {
    const { csrPem } = await createCertificateRequest({ commonName: "alice" });
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    const at = der.indexOf(Buffer.from("alice"));
    der[at] = "b".charCodeAt(0);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    const parsed = parseCertificateRequest(tampered);
    expect(parsed.commonName).toBe("blice");
    expect(parsed.signatureValid).toBe(false);
  });

  it.each([
    ["not PEM", "hello"],
    ["a certificate, not a request", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"],
    ["garbage DER", "-----BEGIN CERTIFICATE REQUEST-----\nMIIBAAAA\n-----END CERTIFICATE REQUEST-----"],
  ])("refuses %s with CertificateRequestError", (_what, pem) => {
    expect(() => parseCertificateRequest(pem)).toThrow(CertificateRequestError);
  });
});

describe("signCertificateRequest", () => {
  it("signs with the request's subject and SANs, the usages given and a duration to the second", async () => {
    const authority = await ca();
    const { csrPem, keyPem } = await createCertificateRequest({ commonName: "system:node:n1", organizations: ["system:nodes"], dnsNames: ["n1"], ipAddresses: ["10.0.0.7"] });
    const now = new Date("2026-12-06T12:00:00Z");
    const pem = await signCertificateRequest(authority, csrPem, { usages: ["digital signature", "server auth"], durationSeconds: 600, backdateSeconds: 300, now });
    const cert = new X509Certificate(pem);
    expect(cert.verify(new X509Certificate(authority.certPem).publicKey)).toBe(true);
    expect(cert.subject.split("\n")).toEqual(["O=system:nodes", "CN=system:node:n1"]);
    expect(cert.subjectAltName).toBe("DNS:n1, IP Address:10.0.0.7");
    expect(cert.keyUsage).toEqual([SERVER_AUTH]);
    expect(cert.ca).toBe(false);
    expect(new Date(cert.validFrom).toISOString()).toBe("2026-12-06T11:55:00.000Z");
    expect(new Date(cert.validTo).toISOString()).toBe("2026-12-06T12:10:00.000Z");
    expect(cert.checkPrivateKey((await import("node:crypto")).createPrivateKey(keyPem))).toBe(true);
  });

  it("takes no extension from the request: a request for CA:TRUE still gets a leaf", async () => {
    const authority = await ca();
    const dir = tempDir();
    writeFileSync(join(dir, "k"), generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const { execFileSync } = await import("node:child_process");
    const csrPem = execFileSync("openssl", ["req", "-new", "-key", join(dir, "k"), "-subj", "/CN=sneaky", "-addext", "basicConstraints=critical,CA:TRUE"]).toString();
    const cert = new X509Certificate(await signCertificateRequest(authority, csrPem, { usages: ["client auth"], durationSeconds: 3600 }));
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
  });

  it("never outlives the CA", async () => {
    const shortCa = await createCertificateAuthority("short-ca", 1);
    const { csrPem } = await createCertificateRequest({ commonName: "bob" });
    const cert = new X509Certificate(await signCertificateRequest(shortCa, csrPem, { usages: ["client auth"], durationSeconds: 365 * 86400 }));
    expect(cert.validTo).toBe(new X509Certificate(shortCa.certPem).validTo);
  });

  it("refuses an unknown usage and a request whose signature is bad", async () => {
    const authority = await ca();
    const { csrPem } = await createCertificateRequest({ commonName: "carol" });
    await expect(signCertificateRequest(authority, csrPem, { usages: ["flying"], durationSeconds: 600 })).rejects.toThrow(CertificateRequestError);
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    der[der.indexOf(Buffer.from("carol"))] = "k".charCodeAt(0);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(signCertificateRequest(authority, tampered, { usages: ["client auth"], durationSeconds: 600 })).rejects.toThrow(/signature/);
  });
});

describe("PEM files", () => {
  it("writes keys 0600 and certificates 0644, and reads the CA pair back", async () => {
    const authority = await ca();
    const dir = tempDir();
    writeCertificateAndKey(join(dir, "sub", "ca"), authority);
    expect(statSync(join(dir, "sub", "ca.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "sub", "ca.crt")).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(dir, "sub", "ca.crt"), "utf8")).toBe(authority.certPem);
    expect(readCertificateAuthority(join(dir, "sub", "ca.crt"), join(dir, "sub", "ca.key"))).toEqual(authority);
  });

  it("refuses a leaf as a CA, a key of another pair, and a missing file, naming the file", async () => {
    const authority = await ca();
    const leaf = await issueCertificate(authority, { commonName: "leaf", usage: "client" });
    const dir = tempDir();
    writeCertificateAndKey(join(dir, "leaf"), leaf);
    writeCertificateAndKey(join(dir, "ca"), authority);
    expect(() => readCertificateAuthority(join(dir, "leaf.crt"), join(dir, "leaf.key"))).toThrow(/leaf\.crt: not a CA/);
    expect(() => readCertificateAuthority(join(dir, "ca.crt"), join(dir, "leaf.key"))).toThrow(/does not match/);
    expect(() => readCertificateAuthority(join(dir, "nope.crt"), join(dir, "ca.key"))).toThrow(CertificateAuthorityError);
  });
});
