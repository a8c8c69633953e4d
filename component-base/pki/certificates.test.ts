import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate } from "./certificates.js";

describe("certificates", () => {
  it("issues a leaf signed by the CA with the subject, SANs and usages asked for", async () => {
    const ca = await createCertificateAuthority("kubelab-ca");
    const leaf = await issueCertificate(ca, { commonName: "system:node:n1", organizations: ["system:nodes", "a/b"], ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"], usage: "server-and-client" });
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(leaf.certPem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.subject.split("\n")).toEqual(["O=system:nodes", "O=a/b", "CN=system:node:n1"]);
    expect(cert.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1");
    expect(cert.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]));
    expect(cert.checkPrivateKey((await import("node:crypto")).createPrivateKey(leaf.keyPem))).toBe(true);
  });

  it("refuses a request openssl cannot make, with openssl's reason", async () => {
    const ca = await createCertificateAuthority("kubelab-ca");
    await expect(issueCertificate(ca, { commonName: "x", ipAddresses: ["not-an-ip"], usage: "server" })).rejects.toThrow(/openssl/);
  });
});
