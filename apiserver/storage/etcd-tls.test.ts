import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate } from "../../component-base/pki/certificates.js";
import { writeCertificateAndKey } from "../../component-base/pki/files.js";
import { checkEtcdTls, etcdEndpoints, loadEtcdTls } from "./etcd-tls.js";

interface Pair {
  cert: string;
  key: string;
}
let dir: string;
/** kubeadm's etcd files, as far as these tests need them: etcd's CA and two client pairs. */
let pki: { ca: Pair; apiserverEtcdClient: Pair; peer: Pair };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "etcd-tls-test-"));
  const pair = (base: string): Pair => ({ cert: join(dir, `${base}.crt`), key: join(dir, `${base}.key`) });
  pki = { ca: pair("ca"), apiserverEtcdClient: pair("apiserver-etcd-client"), peer: pair("peer") };
  const ca = await createCertificateAuthority("etcd-ca");
  writeCertificateAndKey(join(dir, "ca"), ca);
  writeCertificateAndKey(join(dir, "apiserver-etcd-client"), await issueCertificate(ca, { commonName: "kube-apiserver-etcd-client", usage: "client" }));
  writeCertificateAndKey(join(dir, "peer"), await issueCertificate(ca, { commonName: "etcd", usage: "server-and-client" }));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const servers = "https://127.0.0.1:2379";

describe("loadEtcdTls (--etcd-cafile, --etcd-certfile, --etcd-keyfile)", () => {
  it("is nothing without the flags, and the files' PEM with them", () => {
    expect(loadEtcdTls({ etcdServers: servers })).toBeUndefined();
    const tls = loadEtcdTls({ etcdServers: servers, etcdCafile: pki.ca.cert, etcdCertfile: pki.apiserverEtcdClient.cert, etcdKeyfile: pki.apiserverEtcdClient.key });
    expect(tls?.ca?.toString()).toContain("BEGIN CERTIFICATE");
    expect(tls?.cert?.toString()).toContain("BEGIN CERTIFICATE");
    expect(tls?.key?.toString()).toContain("PRIVATE KEY");
    expect(Object.keys(loadEtcdTls({ etcdServers: servers, etcdCafile: pki.ca.cert }) ?? {})).toEqual(["ca"]);
  });

  it("names the flag and the file of what is wrong", () => {
    expect(() => loadEtcdTls({ etcdServers: servers, etcdCertfile: pki.apiserverEtcdClient.cert })).toThrow("--etcd-certfile and --etcd-keyfile must be given together");
    expect(() => loadEtcdTls({ etcdServers: servers, etcdCafile: join(dir, "missing.crt") })).toThrow(`--etcd-cafile: cannot read ${join(dir, "missing.crt")}: ENOENT`);
    const garbage = join(dir, "garbage.pem");
    writeFileSync(garbage, "not a certificate");
    expect(() => loadEtcdTls({ etcdServers: servers, etcdCafile: garbage })).toThrow(`--etcd-cafile: ${garbage} holds no PEM certificate`);
    expect(() => loadEtcdTls({ etcdServers: servers, etcdCertfile: pki.apiserverEtcdClient.cert, etcdKeyfile: garbage })).toThrow(`--etcd-keyfile: ${garbage} holds no PEM private key`);
    expect(() => loadEtcdTls({ etcdServers: servers, etcdCertfile: pki.apiserverEtcdClient.cert, etcdKeyfile: pki.peer.key })).toThrow(
      `--etcd-keyfile: ${pki.peer.key} is not the private key of --etcd-certfile ${pki.apiserverEtcdClient.cert}`,
    );
  });
});

describe("checkEtcdTls", () => {
  it("leaves plain and unreachable members to the storage's retries", async () => {
    // Port 1 on loopback refuses connections: not a TLS failure.
    await expect(checkEtcdTls(["http://127.0.0.1:1", "https://127.0.0.1:1"], {})).resolves.toBeUndefined();
  });

  it("splits --etcd-servers", () => {
    expect(etcdEndpoints(" https://a:2379, https://b:2379 ,")).toEqual(["https://a:2379", "https://b:2379"]);
  });
});
