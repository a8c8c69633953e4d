// The csrsigning controller in a real kube-controller-manager process (dist/), against a real apiserver and etcd,
// driven with the real kubectl: a CSR made from an openssl key is approved with `kubectl certificate approve` and
// signed with the CA from --cluster-signing-cert-file; a denied one stays unsigned.
import { X509Certificate } from "node:crypto";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateSigningRequest } from "../../../api/types/index.js";
import { createCertificateAuthority, type CertificateAndKey } from "../../../component-base/pki/certificates.js";
import { writeCertificateAndKey } from "../../../component-base/pki/files.js";
import { startTestCluster, waitFor, type TestCluster } from "../../../test/support/apiserver.js";
import { startComponent, type ComponentProcess } from "../../../test/support/components.js";
import { freePort } from "../../../test/support/etcd.js";

describe("csrsigning (real controller-manager, real kubectl)", () => {
  let cluster: TestCluster;
  let manager: ComponentProcess;
  let ca: CertificateAndKey;

  beforeAll(async () => {
    cluster = await startTestCluster();
    ca = await createCertificateAuthority("pki-int-ca");
    writeCertificateAndKey(join(cluster.workDir, "ca"), ca);
    const port = await freePort();
    manager = startComponent("kube-controller-manager", [
      "--kubeconfig", cluster.kubeconfig, "--port", String(port), "--leader-elect=false", "--controllers=csrsigning",
      `--cluster-signing-cert-file=${join(cluster.workDir, "ca.crt")}`, `--cluster-signing-key-file=${join(cluster.workDir, "ca.key")}`,
      "--cluster-signing-duration=48h",
    ]);
    await waitFor("controller-manager /healthz", async () => {
      if (!manager.running) throw new Error(`controller-manager exited: ${manager.logs().slice(-2000)}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) || undefined;
    }, 20_000);
  }, 60_000);

  afterAll(async () => {
    await manager?.kill("SIGTERM");
    await cluster?.destroy();
  });

  /** A key and CSR made by openssl itself, as a user following the Kubernetes docs would. */
  function opensslRequest(name: string, subject: string): string {
    const key = join(cluster.workDir, `${name}.key`);
    execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
    return execFileSync("openssl", ["req", "-new", "-key", key, "-subj", subject]).toString();
  }

  const csrManifest = (name: string, request: string, usages: string[], expirationSeconds: number): string =>
    JSON.stringify({
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name },
      spec: { request: Buffer.from(request).toString("base64"), signerName: "kubernetes.io/kube-apiserver-client", usages, expirationSeconds },
    });

  const getCSR = async (name: string): Promise<CertificateSigningRequest> => JSON.parse((await cluster.kubectl(["get", "csr", name, "-o", "json"])).stdout) as CertificateSigningRequest;

  it("signs an approved CSR with the cluster CA, keeping its subject, for its expirationSeconds", async () => {
    await cluster.kubectl(["create", "-f", "-"], { stdin: csrManifest("pki-alice", opensslRequest("alice", "/O=devs/CN=alice"), ["client auth"], 3600) });
    expect((await getCSR("pki-alice")).status?.certificate).toBeUndefined();
    await cluster.kubectl(["certificate", "approve", "pki-alice"]);
    const encoded = await waitFor("status.certificate", async () => (await getCSR("pki-alice")).status?.certificate, 30_000, 200);
    const cert = new X509Certificate(Buffer.from(encoded, "base64").toString("utf8"));
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.subject.split("\n")).toEqual(["O=devs", "CN=alice"]);
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    const lifetime = (new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()) / 1000;
    expect(lifetime).toBeGreaterThanOrEqual(3600);
    expect(lifetime).toBeLessThanOrEqual(3600 + 300 + 5);
    // kubectl reads the certificate back the way the docs show.
    const shown = (await cluster.kubectl(["get", "csr", "pki-alice", "-o", "jsonpath={.status.certificate}"])).stdout;
    expect(Buffer.from(shown, "base64").toString("utf8")).toContain("BEGIN CERTIFICATE");
    expect((await cluster.kubectl(["get", "csr", "pki-alice"])).stdout).toMatch(/Approved,Issued/);
  });

  it("fails an approved CSR asking for usages its signer forbids, and leaves a denied one unsigned", async () => {
    await cluster.kubectl(["create", "-f", "-"], { stdin: csrManifest("pki-server", opensslRequest("server", "/CN=bob"), ["client auth", "server auth"], 3600) });
    await cluster.kubectl(["create", "-f", "-"], { stdin: csrManifest("pki-denied", opensslRequest("denied", "/CN=carol"), ["client auth"], 3600) });
    await cluster.kubectl(["certificate", "deny", "pki-denied"]);
    await cluster.kubectl(["certificate", "approve", "pki-server"]);
    const failed = await waitFor("a Failed condition", async () => (await getCSR("pki-server")).status?.conditions?.find((c) => c.type === "Failed"), 30_000, 200);
    expect(failed).toMatchObject({ status: "True", reason: "SignerValidationFailure", message: "invalid usage for client certificate: server auth" });
    expect((await getCSR("pki-server")).status?.certificate).toBeUndefined();
    // The watch delivered the denial before the later approval, so the controller has seen it by now.
    const denied = await getCSR("pki-denied");
    expect(denied.status?.conditions?.map((c) => c.type)).toEqual(["Denied"]);
    expect(denied.status?.certificate).toBeUndefined();
  });
});
