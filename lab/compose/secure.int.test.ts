// `kubelab pki` with the real openssl, and what a node container's supervisor then finds (lab/up/supervisor.ts asks
// lab/pki for its node, the node network's first address and the nodes' apiserver URL): nothing to write for a
// node in the list, its own files only for one that is not. The add-ons' relay against an HTTPS server that checks
// client certificates as the apiserver does.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TLSSocket } from "node:tls";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadKubeconfig, writeKubeconfigFile } from "../../client/kubeconfig.js";
import type { CommandIO } from "../../component-base/command-io.js";
import { ensureLabPki, labPkiPaths, toolUser } from "../pki/pki.js";
import { pkiCommand } from "./commands.js";
import { credentialRelay } from "./secure.js";

const SERVER = "https://172.30.0.3:6443";

function capture(): { io: CommandIO; out: string[] } {
  const out: string[] = [];
  const io: CommandIO = {
    stdout: (text) => { out.push(text); },
    stderr: (text) => { out.push(text); },
    exit: (code) => { throw new Error(`exit ${code}: ${out.join("")}`); },
  };
  return { io, out };
}

describe("kubelab pki", () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "compose-secure-pki-"));
    await pkiCommand([`--dir=${dir}`, `--server=${SERVER}`, "--node-network=172.30.0.0/16"], capture().io);
  }, 60_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes kubeadm's layout with the compose addresses in the apiserver's certificate", () => {
    const paths = labPkiPaths(dir);
    const sans = new X509Certificate(readFileSync(paths.apiserverCert)).subjectAltName ?? "";
    for (const san of ["IP Address:172.30.0.3", "IP Address:172.30.0.10", "IP Address:127.0.0.1", "IP Address:10.96.0.1", "DNS:apiserver", "DNS:apiserver-lb", "DNS:localhost"]) expect(sans).toContain(san);
    expect(new X509Certificate(readFileSync(paths.node("node-2").servingCert)).subjectAltName).toContain("IP Address:172.30.0.12");
    expect(loadKubeconfig(paths.scheduler.kubeconfig).server).toBe(SERVER);
    expect(statSync(paths.caKey).mode & 0o777).toBe(0o600);
    // Prometheus' pair is the lab's `prometheus` tool's, its key handed to prom/prometheus' user (nobody) to read.
    expect(new X509Certificate(readFileSync(paths.tools.prometheus.cert)).subject).toContain(`CN=${toolUser("prometheus")}`);
    expect(statSync(paths.tools.prometheus.key).uid).toBe(65_534);
  });

  it("writes nothing the second time", async () => {
    const { io, out } = capture();
    await pkiCommand([`--dir=${dir}`, `--server=${SERVER}`, "--node-network=172.30.0.0/16"], io);
    expect(out.join("")).toContain("every file was there and right");
  });

  it("leaves a listed node's supervisor nothing to write, and an unlisted one only its own files", async () => {
    const asNode = (name: string, ip: string) => ensureLabPki({ dir, serviceIp: "10.96.0.1", apiserverAddresses: ["172.30.0.1"], server: SERVER, nodes: [{ name, addresses: [ip] }] });
    expect((await asNode("node-2", "172.30.0.12")).written).toEqual([]);
    expect((await asNode("node-247", "172.30.1.1")).written.sort()).toEqual(["nodes/node-247/kubelet-client.crt", "nodes/node-247/kubelet-client.key", "nodes/node-247/kubelet.conf", "nodes/node-247/kubelet.crt", "nodes/node-247/kubelet.key"]);
  });

  it("refuses a plain-HTTP server URL", async () => {
    await expect(pkiCommand([`--dir=${dir}`, "--server=http://172.30.0.3:8080"], capture().io)).rejects.toThrow(/must be an https:\/\/ URL/);
  });

  describe("the add-ons' credential relay", () => {
    let server: Server;
    let kubeconfig: string;

    beforeAll(async () => {
      const paths = labPkiPaths(dir);
      server = createServer({ cert: readFileSync(paths.apiserverCert), key: readFileSync(paths.apiserverKey), ca: readFileSync(paths.caCert), requestCert: true, rejectUnauthorized: false }, (req, res) => {
        const socket = req.socket;
        if (!(socket instanceof TLSSocket)) throw new Error("not TLS");
        let body = "";
        req.on("data", (chunk: Buffer) => (body += chunk.toString()));
        req.on("end", () => {
          res.writeHead(socket.authorized ? 201 : 401, { "content-type": "application/json" });
          res.end(JSON.stringify({ user: socket.authorized ? socket.getPeerCertificate().subject.CN : undefined, method: req.method, path: req.url, body }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      kubeconfig = join(dir, "relay.conf");
      writeKubeconfigFile(kubeconfig, { ...loadKubeconfig(paths.admin.kubeconfig), server: `https://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    });

    it("sends requests on with the kubeconfig's client certificate, verifying the server with its CA", async () => {
      const relay = await credentialRelay(kubeconfig);
      try {
        const response = await fetch(`${relay.url}/api/v1/namespaces?x=1`, { method: "POST", body: '{"kind":"Namespace"}', headers: { "content-type": "application/json" } });
        expect(response.status).toBe(201);
        expect(await response.json()).toEqual({ user: "kubernetes-admin", method: "POST", path: "/api/v1/namespaces?x=1", body: '{"kind":"Namespace"}' });
      } finally {
        await relay.close();
      }
    });
  });
});
