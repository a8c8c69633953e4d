// The lab's PKI against the real kubectl (Go's TLS): the admin kubeconfig verifies an HTTPS server holding
// apiserver.crt at its addresses and presents the admin's certificate, which the server checks against ca.crt.
import { createServer, type Server } from "node:https";
import { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKubectl } from "../../test/support/apiserver.js";
import { ensureLabPki, type LabPkiPaths } from "./pki.js";

describe("the lab's PKI with the real kubectl", () => {
  let dir: string;
  let server: Server;
  let port: number;
  let paths: LabPkiPaths;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pki-int-"));
    // The port is only known once listening; the kubeconfigs are rewritten for it (the PKI is kept).
    paths = (await ensureLabPki({ dir, serviceIp: "10.96.0.1", apiserverAddresses: ["127.0.0.1"], server: "https://127.0.0.1:1", nodes: [{ name: "node-1", addresses: ["127.0.0.1"] }] })).paths;
    server = createServer(
      { cert: readFileSync(paths.apiserverCert), key: readFileSync(paths.apiserverKey), ca: readFileSync(paths.caCert), requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const socket = req.socket;
        if (!(socket instanceof TLSSocket)) throw new Error("not TLS");
        const peer = socket.getPeerCertificate();
        const user = socket.authorized ? { username: peer.subject.CN, groups: [peer.subject.O].flat().filter(Boolean) } : { unauthorized: String(socket.authorizationError) };
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(user));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    const again = await ensureLabPki({ dir, serviceIp: "10.96.0.1", apiserverAddresses: ["127.0.0.1"], server: `https://127.0.0.1:${port}`, nodes: [{ name: "node-1", addresses: ["127.0.0.1"] }] });
    expect(again.written.every((f) => f.endsWith(".conf"))).toBe(true);
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const whoami = async (kubeconfig: string, ...extra: string[]): Promise<unknown> =>
    JSON.parse((await runKubectl(["--kubeconfig", kubeconfig, "--cache-dir", join(dir, "cache"), ...extra, "get", "--raw", "/whoami"])).stdout);

  it("kubectl trusts the apiserver certificate at its IP and at localhost and presents each identity's certificate", async () => {
    expect(await whoami(paths.admin.kubeconfig)).toEqual({ username: "kubernetes-admin", groups: ["system:masters"] });
    expect(await whoami(paths.admin.kubeconfig, "--server", `https://localhost:${port}`)).toEqual({ username: "kubernetes-admin", groups: ["system:masters"] });
    expect(await whoami(paths.node("node-1").client.kubeconfig)).toEqual({ username: "system:node:node-1", groups: ["system:nodes"] });
    expect(await whoami(paths.scheduler.kubeconfig)).toEqual({ username: "system:kube-scheduler", groups: [] });
  });

  it("kubectl refuses the apiserver at a name its certificate does not carry", async () => {
    const result = await runKubectl(["--kubeconfig", paths.admin.kubeconfig, "--tls-server-name", "not-the-apiserver.example", "get", "--raw", "/whoami"], { allowFailure: true, timeoutMs: 20_000 });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/x509: certificate is valid for .*not not-the-apiserver\.example/);
  });
});
