import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { CertificateSigningRequest } from "../../../api/types/index.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { createCertificateAuthority, type CertificateAndKey } from "../../../component-base/pki/certificates.js";
import { createCertificateRequest, type CertificateRequestOptions } from "../../../component-base/pki/csr.js";
import { CSRS, CSRSigningController, KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING, LEGACY_UNKNOWN, SIGNER_VALIDATION_FAILURE } from "./csrsigning-controller.js";

let ca: CertificateAndKey;
beforeAll(async () => {
  ca = await createCertificateAuthority("csrsigning-test-ca");
});

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

async function newCSR(name: string, signerName: string, usages: string[], subject: CertificateRequestOptions, opts: { approved?: boolean; denied?: boolean; expirationSeconds?: number } = {}): Promise<CertificateSigningRequest> {
  const { csrPem } = await createCertificateRequest(subject);
  const conditions = [...(opts.approved ?? true ? [{ type: "Approved", status: "True", reason: "Test" }] : []), ...(opts.denied ? [{ type: "Denied", status: "True", reason: "Test" }] : [])];
  return {
    apiVersion: "certificates.k8s.io/v1",
    kind: "CertificateSigningRequest",
    metadata: { name },
    spec: { request: Buffer.from(csrPem).toString("base64"), signerName, usages, ...(opts.expirationSeconds !== undefined ? { expirationSeconds: opts.expirationSeconds } : {}) },
    status: { conditions },
  };
}

function setup(csrs: CertificateSigningRequest[], signingDurationMs?: number): { fake: FakeClient; clock: FakeClock; drain: () => Promise<string[]> } {
  const clock = new FakeClock(Date.UTC(2026, 11, 6, 12));
  const fake = new FakeClient({ clock, objects: csrs });
  const controller = new CSRSigningController({ client: fake, csrs: fake.informer<CertificateSigningRequest>(CSRS), ca: () => ca, clock, ...(signingDurationMs !== undefined ? { signingDurationMs } : {}) });
  return { fake, clock, drain: () => drainQueue(controller.queue, (key) => controller.sync(key)) };
}

function issued(fake: FakeClient, name: string): X509Certificate | undefined {
  const cert = fake.object<CertificateSigningRequest>(CSRS, undefined, name)?.status?.certificate;
  return cert ? new X509Certificate(Buffer.from(cert, "base64").toString("utf8")) : undefined;
}

function failure(fake: FakeClient, name: string): string | undefined {
  const failed = fake.object<CertificateSigningRequest>(CSRS, undefined, name)?.status?.conditions?.find((c) => c.type === "Failed");
  if (!failed) return undefined;
  expect(failed).toMatchObject({ status: "True", reason: SIGNER_VALIDATION_FAILURE });
  return failed.message;
}

const node = { commonName: "system:node:n1", organizations: ["system:nodes"] };

describe("CSRSigningController", () => {
  it("signs approved CSRs of every built-in signer with the request's subject and the usages asked for", async () => {
    const { fake, drain } = setup([
      await newCSR("alice", KUBE_APISERVER_CLIENT, ["client auth"], { commonName: "alice", organizations: ["devs"] }),
      await newCSR("kubelet-client", KUBE_APISERVER_CLIENT_KUBELET, ["digital signature", "client auth"], node),
      await newCSR("kubelet-serving", KUBELET_SERVING, ["digital signature", "key encipherment", "server auth"], { ...node, dnsNames: ["n1"], ipAddresses: ["10.0.0.5"] }),
      await newCSR("legacy", LEGACY_UNKNOWN, ["server auth", "client auth"], { commonName: "anything" }),
    ]);
    await drain();
    const caCert = new X509Certificate(ca.certPem);
    for (const name of ["alice", "kubelet-client", "kubelet-serving", "legacy"]) {
      const cert = issued(fake, name);
      expect(cert?.verify(caCert.publicKey), name).toBe(true);
      expect(failure(fake, name)).toBeUndefined();
    }
    expect(issued(fake, "alice")?.subject.split("\n")).toEqual(["O=devs", "CN=alice"]);
    expect(issued(fake, "alice")?.keyUsage).toEqual([CLIENT_AUTH]);
    expect(issued(fake, "kubelet-serving")?.subjectAltName).toBe("DNS:n1, IP Address:10.0.0.5");
    expect(issued(fake, "kubelet-serving")?.keyUsage).toEqual([SERVER_AUTH]);
    expect(issued(fake, "legacy")?.keyUsage).toEqual([SERVER_AUTH, CLIENT_AUTH]);
    expect(fake.actionsFor("update", "certificatesigningrequests", "status")).toHaveLength(4);
  });

  it.each([
    ["a client certificate asking for server auth", KUBE_APISERVER_CLIENT, ["client auth", "server auth"], { commonName: "bob" }, "invalid usage for client certificate: server auth"],
    ["a client certificate without client auth", KUBE_APISERVER_CLIENT, ["digital signature"], { commonName: "bob" }, "missing required usage for client certificate: client auth"],
    ["a kubelet client outside system:nodes", KUBE_APISERVER_CLIENT_KUBELET, ["digital signature", "client auth"], { commonName: "system:node:n1", organizations: ["system:masters"] }, "subject organization is not system:nodes"],
    ["a kubelet client not named system:node:", KUBE_APISERVER_CLIENT_KUBELET, ["digital signature", "client auth"], { commonName: "n1", organizations: ["system:nodes"] }, "subject common name does not begin with system:node:"],
    ["a kubelet client with a SAN", KUBE_APISERVER_CLIENT_KUBELET, ["digital signature", "client auth"], { ...node, dnsNames: ["n1"] }, "dnsNames subjectAltName extension is forbidden"],
    ["a kubelet client asking for server auth", KUBE_APISERVER_CLIENT_KUBELET, ["digital signature", "client auth", "server auth"], node, "usages did not match [client auth digital signature key encipherment]"],
    ["a kubelet serving certificate without SANs", KUBELET_SERVING, ["digital signature", "server auth"], node, "DNS or IP subjectAltName is required"],
    ["a kubelet serving certificate asking for client auth", KUBELET_SERVING, ["digital signature", "server auth", "client auth"], { ...node, dnsNames: ["n1"] }, "usages did not match [digital signature key encipherment server auth]"],
  ])("fails %s with SignerValidationFailure and signs nothing", async (_what, signer, usages, subject, message) => {
    const { fake, drain } = setup([await newCSR("bad", signer, usages, subject)]);
    await drain();
    expect(failure(fake, "bad")).toBe(message);
    expect(issued(fake, "bad")).toBeUndefined();
    await drain();
    expect(fake.actionsFor("update", "certificatesigningrequests", "status")).toHaveLength(1);
  });

  it("leaves pending, denied, other signers' and already signed CSRs alone", async () => {
    const signed = await newCSR("signed", KUBE_APISERVER_CLIENT, ["client auth"], { commonName: "x" });
    signed.status = { ...signed.status, certificate: Buffer.from("already").toString("base64") };
    const { fake, drain } = setup([
      await newCSR("pending", KUBE_APISERVER_CLIENT, ["client auth"], { commonName: "x" }, { approved: false }),
      await newCSR("denied", KUBE_APISERVER_CLIENT, ["client auth"], { commonName: "x" }, { approved: false, denied: true }),
      await newCSR("other", "example.com/my-signer", ["client auth"], { commonName: "x" }),
      signed,
    ]);
    await drain();
    expect(fake.actionsFor("update")).toHaveLength(0);
  });

  it("signs for spec.expirationSeconds, at least 10 minutes and at most --cluster-signing-duration, backdated 5 minutes", async () => {
    const { fake, clock, drain } = setup(
      [
        await newCSR("short", KUBE_APISERVER_CLIENT, ["client auth"], { commonName: "s" }, { expirationSeconds: 60 }),
        await newCSR("hour", KUBE_APISERVER_CLIENT, ["client auth"], { commonName: "h" }, { expirationSeconds: 3600 }),
        await newCSR("long", KUBE_APISERVER_CLIENT, ["client auth"], { commonName: "l" }, { expirationSeconds: 30 * 86400 }),
        await newCSR("default", KUBE_APISERVER_CLIENT, ["client auth"], { commonName: "d" }),
      ],
      2 * 86400 * 1000,
    );
    await drain();
    const now = clock.now();
    const lifetime = (name: string): number => (new Date(issued(fake, name)?.validTo ?? 0).getTime() - now) / 1000;
    expect(new Date(issued(fake, "hour")?.validFrom ?? 0).getTime()).toBe(now - 300_000);
    expect(lifetime("short")).toBe(600);
    expect(lifetime("hour")).toBe(3600);
    expect(lifetime("long")).toBe(2 * 86400);
    expect(lifetime("default")).toBe(2 * 86400);
  });

  it("fails a request whose signature does not verify", async () => {
    const csr = await newCSR("forged", KUBE_APISERVER_CLIENT, ["client auth"], { commonName: "mallory" });
    const der = Buffer.from(Buffer.from(csr.spec?.request ?? "", "base64").toString("utf8").replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    der[der.indexOf(Buffer.from("mallory"))] = "w".charCodeAt(0);
    csr.spec = { ...csr.spec, request: Buffer.from(`-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`).toString("base64") };
    const { fake, drain } = setup([csr]);
    await drain();
    expect(failure(fake, "forged")).toMatch(/signature/);
    expect(issued(fake, "forged")).toBeUndefined();
  });
});
