import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Node } from "../api/types/index.js";
import { parseFlags } from "../component-base/flags.js";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "../component-base/pki/certificates.js";
import { scraperOptions } from "./app.js";
import { metricsServerFlags } from "./options.js";
import { scrapeNodes, type ScraperOptions } from "./scraper.js";

const METRICS = "node_cpu_usage_seconds_total 10 1700000000000\nnode_memory_working_set_bytes 2048 1700000000000\n";

describe("scraping a kubelet that requires client credentials", () => {
  let ca: CertificateAndKey;
  let client: CertificateAndKey;
  let port = 0;
  const seen: { user: string; authorization: string }[] = [];
  let server: Server;

  beforeAll(async () => {
    ca = await createCertificateAuthority("kubeletauth-ms-ca");
    const serving = await issueCertificate(ca, { commonName: "node-1", ipAddresses: ["127.0.0.1"], usage: "server" });
    client = await issueCertificate(ca, { commonName: "system:kubelab:metrics-server", usage: "client" });
    server = createHttpsServer({ cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false });
    // A stand-in for a secure kubelet: a verified client certificate or a bearer token, else 401.
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      const user = socket instanceof TLSSocket && socket.authorized ? String(socket.getPeerCertificate().subject.CN) : "";
      const authorization = req.headers.authorization ?? "";
      seen.push({ user, authorization });
      if (user === "" && authorization === "") {
        res.writeHead(401).end("Unauthorized");
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" }).end(METRICS);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  });

  const node: Node = { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" }, status: { addresses: [{ type: "InternalIP", address: "127.0.0.1" }] } };
  const base = (): ScraperOptions => ({ preferredAddressTypes: ["InternalIP"], kubeletPort: port, useNodeStatusPort: false, scheme: "https", insecureTls: false, timeoutMs: 5000 });

  it("presents its kubeconfig's client certificate, verifying the kubelet against --kubelet-certificate-authority", async () => {
    seen.length = 0;
    const ok = await scrapeNodes([node], { ...base(), caPem: ca.certPem, credentials: { certPem: client.certPem, keyPem: client.keyPem } });
    expect(ok.failures).toEqual(new Map());
    expect(ok.scrapes.get("node-1")?.node?.memoryWorkingSetBytes).toBe(2048);
    expect(seen).toEqual([{ user: "system:kubelab:metrics-server", authorization: "" }]);
  });

  it("fails without credentials (401) and against an unknown serving certificate, unless --kubelet-insecure-tls", async () => {
    const anonymous = await scrapeNodes([node], { ...base(), caPem: ca.certPem });
    expect(anonymous.failures.get("node-1")).toBe('request failed, status: "401"');
    const unverified = await scrapeNodes([node], { ...base(), credentials: { token: "t0k" } });
    expect(unverified.failures.get("node-1")).toMatch(/certificate/);
    seen.length = 0;
    const insecure = await scrapeNodes([node], { ...base(), insecureTls: true, credentials: { token: "t0k" } });
    expect(insecure.failures).toEqual(new Map());
    expect(seen).toEqual([{ user: "", authorization: "Bearer t0k" }]);
  });

  it("takes the CA from --kubelet-certificate-authority, else the kubeconfig, and its identity from the kubeconfig", () => {
    const flags = parseFlags(metricsServerFlags, ["--kubelet-scheme=https"], { command: "metrics-server" });
    const options = scraperOptions(flags, { server: "https://127.0.0.1:6443", namespace: "default", caData: "KUBECONFIG-CA", clientCertData: "CERT", clientKeyData: "KEY" });
    expect(options).toMatchObject({ scheme: "https", caPem: "KUBECONFIG-CA", credentials: { certPem: "CERT", keyPem: "KEY" } });
  });
});
