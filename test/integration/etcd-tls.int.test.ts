// etcd as kubeadm runs it: https with client certificates from etcd's own CA (--client-cert-auth), and the apiserver
// with --etcd-cafile/--etcd-certfile/--etcd-keyfile. Real etcd, real apiserver processes.
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distEntry } from "../../lab/components/entries.js";
import { EtcdStorage } from "../../apiserver/storage/etcd-storage.js";
import { checkEtcdTls, loadEtcdTls } from "../../apiserver/storage/etcd-tls.js";
import { startApiServerProcess, waitFor, type ApiServerProcess } from "../support/apiserver.js";
import { startEtcd, freePort, type EtcdHandle } from "../support/etcd.js";
import { call, etcdctl, openWatch } from "../support/http.js";
import { testPki, type TestPki } from "../support/pki.js";

let pki: TestPki;
let etcd: EtcdHandle;

beforeAll(async () => {
  pki = await testPki();
  etcd = await startEtcd({ tls: true });
});
afterAll(async () => {
  await etcd?.destroy();
});

/** Runs the apiserver's entry point until it exits by itself; its exit code and output. */
function runApiserverToExit(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [distEntry("apiserver"), ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe("etcd with TLS and client certificates", () => {
  it("serves its clients over https and refuses a client without a certificate, or with one another CA issued", async () => {
    expect(etcd.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const etcdPki = pki.paths.etcd;
    // kubeadm's health-check client is let in.
    await etcdctl(etcd.endpoint, ["put", "/kubelab-tls-probe", "ok"], etcdPki);
    expect((await etcdctl(etcd.endpoint, ["get", "--print-value-only", "/kubelab-tls-probe"], etcdPki)).trim()).toBe("ok");
    // etcdctl with the CA but no certificate: the handshake is refused.
    await expect(etcdctl(etcd.endpoint, ["--cacert", etcdPki.ca.cert, "--dial-timeout=2s", "--command-timeout=3s", "get", "/kubelab-tls-probe"])).rejects.toThrow(/certificate|deadline|context/i);
    // The apiserver's own client: the start-up check names the refusal, the storage cannot read.
    await expect(checkEtcdTls([etcd.endpoint], { ...loadEtcdTls({ etcdServers: etcd.endpoint, etcdCafile: etcdPki.ca.cert }) })).rejects.toThrow(/refused the TLS connection \(alert "(bad certificate|certificate required)".*--etcd-certfile/);
    // The cluster CA's admin (system:masters to the apiserver) is nobody to etcd, which trusts only its own CA.
    const asAdmin = loadEtcdTls({ etcdServers: etcd.endpoint, etcdCafile: etcdPki.ca.cert, etcdCertfile: pki.paths.admin.cert, etcdKeyfile: pki.paths.admin.key });
    await expect(checkEtcdTls([etcd.endpoint], asAdmin ?? {})).rejects.toThrow(/refused the TLS connection \(alert "(bad certificate|unknown ca)"/);
    const without = new EtcdStorage({ endpoints: [etcd.endpoint], tls: { ...loadEtcdTls({ etcdServers: etcd.endpoint, etcdCafile: etcdPki.ca.cert }) } });
    const withCert = new EtcdStorage({ endpoints: [etcd.endpoint], tls: loadEtcdTls({ etcdServers: etcd.endpoint, etcdCafile: etcdPki.ca.cert, etcdCertfile: etcdPki.apiserverEtcdClient.cert, etcdKeyfile: etcdPki.apiserverEtcdClient.key }) ?? {} });
    try {
      expect(await without.healthy()).toBe(false);
      expect(await withCert.healthy()).toBe(true);
      await checkEtcdTls([etcd.endpoint], { ...loadEtcdTls({ etcdServers: etcd.endpoint, etcdCafile: etcdPki.ca.cert, etcdCertfile: etcdPki.apiserverEtcdClient.cert, etcdKeyfile: etcdPki.apiserverEtcdClient.key }) });
    } finally {
      await without.close();
      await withCert.close();
    }
  });

  describe("an apiserver with --etcd-cafile, --etcd-certfile, --etcd-keyfile", () => {
    let apiserver: ApiServerProcess;
    beforeAll(async () => {
      apiserver = await startApiServerProcess(etcd.endpoint, [], { etcdPki: pki.paths.etcd });
    });
    afterAll(async () => {
      await apiserver?.stop("SIGKILL");
    });

    it("creates, reads, updates, deletes and watches through it", async () => {
      const api = apiserver.api;
      const path = "/api/v1/namespaces/default/configmaps";
      const list = await call<{ metadata: { resourceVersion: string } }>(api, "GET", path);
      expect(list.status).toBe(200);
      const watch = await openWatch(api, `${path}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`);
      try {
        const created = await call<{ metadata: { resourceVersion: string } }>(api, "POST", path, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "over-tls" }, data: { a: "1" } });
        expect(created.status).toBe(201);
        expect((await call<{ data: Record<string, string> }>(api, "GET", `${path}/over-tls`)).body.data).toEqual({ a: "1" });
        const updated = await call(api, "PUT", `${path}/over-tls`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "over-tls", resourceVersion: created.body.metadata.resourceVersion }, data: { a: "2" } });
        expect(updated.status).toBe(200);
        expect((await call(api, "DELETE", `${path}/over-tls`)).status).toBe(200);
        const events = await watch.waitFor("ADDED, MODIFIED, DELETED of over-tls", (evs) => evs.filter((e) => e.object.metadata.name === "over-tls").length >= 3);
        expect(events.filter((e) => e.object.metadata.name === "over-tls").map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
      } finally {
        watch.close();
      }
      // The object went through this etcd (read directly, as kubeadm's health-check client).
      expect(await etcdctl(etcd.endpoint, ["get", "--keys-only", "/registry/namespaces/default"], pki.paths.etcd)).toContain("/registry/namespaces/default");
    });

    it("connects again over TLS after etcd restarts, and its watches carry on", async () => {
      const api = apiserver.api;
      const path = "/api/v1/namespaces/default/configmaps";
      const list = await call<{ metadata: { resourceVersion: string } }>(api, "GET", path);
      const watch = await openWatch(api, `${path}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`);
      try {
        await etcd.restart();
        await waitFor("a create through the apiserver after etcd's restart", async () => {
          const res = await call(api, "POST", path, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "after-restart" } });
          return res.status === 201 || res.status === 409 ? true : undefined;
        });
        await watch.waitFor("ADDED after-restart", (evs) => evs.some((e) => e.type === "ADDED" && e.object.metadata.name === "after-restart"));
      } finally {
        watch.close();
      }
    });
  });

  it("refuses to start with a CA that did not sign etcd's certificate, saying so (also as a --workers primary)", async () => {
    const etcdPki = pki.paths.etcd;
    const args = [
      `--etcd-servers=${etcd.endpoint}`,
      // The cluster CA, not etcd's.
      `--etcd-cafile=${pki.paths.caCert}`,
      `--etcd-certfile=${etcdPki.apiserverEtcdClient.cert}`,
      `--etcd-keyfile=${etcdPki.apiserverEtcdClient.key}`,
      "--secure-port=0",
      `--insecure-port=${await freePort()}`,
    ];
    for (const extra of [[], ["--workers=2"]]) {
      const started = Date.now();
      const { code, output } = await runApiserverToExit([...args, ...extra]);
      expect(code, output).toBe(1);
      expect(output).toMatch(/etcd at https:\/\/127\.0\.0\.1:\d+: its serving certificate does not verify with --etcd-cafile: unable to verify the first certificate/);
      expect(Date.now() - started).toBeLessThan(20_000);
    }
  });

  it("refuses to start with a key that is not the certificate's", async () => {
    const etcdPki = pki.paths.etcd;
    const { code, output } = await runApiserverToExit([
      `--etcd-servers=${etcd.endpoint}`,
      `--etcd-cafile=${etcdPki.ca.cert}`,
      `--etcd-certfile=${etcdPki.apiserverEtcdClient.cert}`,
      `--etcd-keyfile=${etcdPki.healthcheckClient.key}`,
      "--secure-port=0",
      `--insecure-port=${await freePort()}`,
    ]);
    expect(code, output).toBe(1);
    expect(output).toContain(`--etcd-keyfile: ${etcdPki.healthcheckClient.key} is not the private key of --etcd-certfile ${etcdPki.apiserverEtcdClient.cert}`);
  });
});
