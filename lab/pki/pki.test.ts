import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadKubeconfig } from "../../client/kubeconfig.js";
import { ensureLabPki, LAB_TOOLS, labPkiPaths, type LabPkiOptions } from "./pki.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pki-lab-test-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const options = (nodes: string[]): LabPkiOptions => ({
  dir,
  serviceIp: "10.96.0.1",
  apiserverAddresses: ["172.30.0.1"],
  server: "https://172.30.0.1:6443",
  nodes: nodes.map((name, i) => ({ name, addresses: [`172.30.0.${11 + i}`] })),
});

const cert = (path: string): X509Certificate => new X509Certificate(readFileSync(path, "utf8"));
const subject = (path: string): string[] => cert(path).subject.split("\n");
const mode = (path: string): number => statSync(path).mode & 0o777;

describe("ensureLabPki", () => {
  it("makes kubeadm's layout for a 3-node lab: identities, SANs, kubeconfigs, modes", async () => {
    const result = await ensureLabPki(options(["node-1", "node-2", "node-3"]));
    console.log(`bench: lab PKI for 3 nodes made in ${result.elapsedMs.toFixed(0)} ms (${result.written.length} files)`);
    const p = result.paths;
    const ca = cert(p.caCert);
    expect(ca.ca).toBe(true);
    const apiserver = cert(p.apiserverCert);
    expect(apiserver.checkIssued(ca)).toBe(true);
    expect(apiserver.subjectAltName?.split(", ").sort()).toEqual(
      ["DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local", "DNS:localhost", "IP Address:10.96.0.1", "IP Address:127.0.0.1", "IP Address:172.30.0.1"].sort(),
    );
    expect(apiserver.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(subject(p.apiserverKubeletClientCert)).toEqual(["O=system:masters", "CN=kube-apiserver-kubelet-client"]);
    expect(subject(p.admin.cert)).toEqual(["O=system:masters", "CN=kubernetes-admin"]);
    expect(subject(p.scheduler.cert)).toEqual(["CN=system:kube-scheduler"]);
    expect(subject(p.controllerManager.cert)).toEqual(["CN=system:kube-controller-manager"]);
    expect(subject(p.kubeProxy.cert)).toEqual(["CN=system:kube-proxy"]);
    for (const tool of LAB_TOOLS) expect(subject(p.tools[tool].cert)).toEqual([`CN=system:kubelab:${tool}`]);
    const node2 = p.node("node-2");
    expect(subject(node2.client.cert)).toEqual(["O=system:nodes", "CN=system:node:node-2"]);
    expect(cert(node2.client.cert).keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(cert(node2.servingCert).subjectAltName).toBe("DNS:node-2, IP Address:172.30.0.12");
    expect(readFileSync(p.saPub, "utf8")).toContain("BEGIN PUBLIC KEY");

    const admin = loadKubeconfig(p.admin.kubeconfig);
    expect(admin).toMatchObject({ server: "https://172.30.0.1:6443", caData: readFileSync(p.caCert, "utf8"), clientCertData: readFileSync(p.admin.cert, "utf8"), clientKeyData: readFileSync(p.admin.key, "utf8") });
    expect(loadKubeconfig(node2.client.kubeconfig).clientCertData).toBe(readFileSync(node2.client.cert, "utf8"));

    for (const key of [p.caKey, p.apiserverKey, p.apiserverKubeletClientKey, p.saKey, p.admin.key, p.admin.kubeconfig, node2.client.key, node2.client.kubeconfig, node2.servingKey]) expect(mode(key), key).toBe(0o600);
    for (const crt of [p.caCert, p.apiserverCert, p.saPub, node2.servingCert]) expect(mode(crt), crt).toBe(0o644);
  });

  it("reuses what exists and makes only what is missing: a new node, a new apiserver address, a deleted key", async () => {
    const first = await ensureLabPki(options(["node-1"]));
    const caPem = readFileSync(first.paths.caCert, "utf8");
    const adminPem = readFileSync(first.paths.admin.cert, "utf8");
    expect((await ensureLabPki(options(["node-1"]))).written).toEqual([]);

    const added = await ensureLabPki(options(["node-1", "node-2"]));
    expect(added.written.sort()).toEqual(["nodes/node-2/kubelet-client.crt", "nodes/node-2/kubelet-client.key", "nodes/node-2/kubelet.conf", "nodes/node-2/kubelet.crt", "nodes/node-2/kubelet.key"]);

    const moved = await ensureLabPki({ ...options(["node-1", "node-2"]), apiserverAddresses: ["172.30.0.1", "192.168.5.5"] });
    expect(moved.written.sort()).toEqual(["apiserver.crt", "apiserver.key"]);
    expect(cert(moved.paths.apiserverCert).subjectAltName).toContain("IP Address:192.168.5.5");

    rmSync(first.paths.scheduler.key);
    expect((await ensureLabPki(options(["node-1", "node-2"]))).written.sort()).toEqual(["scheduler.conf", "scheduler.crt", "scheduler.key"]);
    expect(readFileSync(first.paths.caCert, "utf8")).toBe(caPem);
    expect(readFileSync(first.paths.admin.cert, "utf8")).toBe(adminPem);
  });

  it("replaces certificates another CA issued when the CA is made anew", async () => {
    const first = await ensureLabPki(options(["node-1"]));
    const adminPem = readFileSync(first.paths.admin.cert, "utf8");
    rmSync(first.paths.caKey);
    const again = await ensureLabPki(options(["node-1"]));
    expect(again.written).toContain("admin.crt");
    expect(readFileSync(again.paths.admin.cert, "utf8")).not.toBe(adminPem);
    expect(cert(again.paths.admin.cert).checkIssued(cert(again.paths.caCert))).toBe(true);
    // A certificate file replaced by hand with garbage is remade too.
    writeFileSync(again.paths.kubeProxy.cert, "garbage");
    expect((await ensureLabPki(options(["node-1"]))).written).toContain("kube-proxy.crt");
  });

  it("computes the same paths from the directory alone", () => {
    expect(labPkiPaths("/x").node("node-9").servingKey).toBe("/x/nodes/node-9/kubelet.key");
    expect(labPkiPaths("/x").tools["metrics-server"].kubeconfig).toBe("/x/metrics-server.conf");
  });
});

describe("ensureLabPki: etcd's files (kubeadm's etcd/ CA and certificates)", () => {
  it("makes etcd's own CA and issues etcd's serving, peer and client certificates from it, not from the cluster CA", async () => {
    const result = await ensureLabPki(options([]));
    const etcd = result.paths.etcd;
    expect(etcd.ca.cert).toBe(join(dir, "etcd", "ca.crt"));
    expect(etcd.apiserverEtcdClient.key).toBe(join(dir, "apiserver-etcd-client.key"));
    const etcdCa = cert(etcd.ca.cert);
    expect(etcdCa.ca).toBe(true);
    expect(subject(etcd.ca.cert)).toEqual(["CN=etcd-ca"]);
    for (const pair of [etcd.server, etcd.peer, etcd.healthcheckClient, etcd.apiserverEtcdClient]) {
      expect(cert(pair.cert).checkIssued(etcdCa), pair.cert).toBe(true);
      expect(cert(pair.cert).checkIssued(cert(result.paths.caCert)), pair.cert).toBe(false);
      expect(mode(pair.key)).toBe(0o600);
    }
    for (const member of [etcd.server, etcd.peer]) {
      expect(cert(member.cert).subjectAltName).toBe("DNS:etcd, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
      expect(cert(member.cert).keyUsage?.sort()).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    }
    expect(subject(etcd.healthcheckClient.cert)).toEqual(["O=system:masters", "CN=kube-etcd-healthcheck-client"]);
    expect(subject(etcd.apiserverEtcdClient.cert)).toEqual(["O=system:masters", "CN=kube-apiserver-etcd-client"]);
    expect(cert(etcd.apiserverEtcdClient.cert).keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);

    // Kept when right; all remade with a new etcd CA; the cluster CA's files untouched.
    expect((await ensureLabPki(options([]))).written).toEqual([]);
    rmSync(etcd.ca.key);
    expect((await ensureLabPki(options([]))).written.sort()).toEqual(
      ["apiserver-etcd-client.crt", "apiserver-etcd-client.key", "etcd/ca.crt", "etcd/ca.key", "etcd/healthcheck-client.crt", "etcd/healthcheck-client.key", "etcd/peer.crt", "etcd/peer.key", "etcd/server.crt", "etcd/server.key"],
    );
  });
});
