import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLabPki } from "../pki/pki.js";
import { labClientConfig, labCreate, labGet, labRequest } from "./api.js";
import type { LabConfig } from "./config.js";
import { TEST_CONFIG } from "./testing.js";

/** A stand-in apiserver: 409 for POSTs, an object for GET /ok, a Status 404 for anything else. */
let server: Server;
let config: LabConfig;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.method === "POST") {
      res.writeHead(409);
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "AlreadyExists", code: 409, message: "exists" }));
    } else if (req.url === "/ok") {
      res.end(JSON.stringify({ kind: "Thing", metadata: { name: "t" } }));
    } else {
      res.writeHead(404);
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404, message: "nope" }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  config = { ...TEST_CONFIG, container: { apiserver: `http://127.0.0.1:${port}`, dnsReplicas: 1 } };
});

afterAll(() => {
  server.close();
});

describe("the lab's own requests", () => {
  it("hands back an answer of any status for the caller to judge, and GET's body only when it is 2xx", async () => {
    expect(await labRequest(config, "DELETE", "/missing")).toMatchObject({ code: 404, ok: false });
    expect(await labGet(config, "/ok")).toEqual({ kind: "Thing", metadata: { name: "t" } });
    expect(await labGet(config, "/missing")).toBeUndefined();
    expect(await labCreate(config, "/things", { kind: "Thing" })).toBe("exists");
  });

  it("throws only when nothing answers", async () => {
    const nowhere: LabConfig = { ...TEST_CONFIG, container: { apiserver: "http://127.0.0.1:1", dnsReplicas: 1 } };
    await expect(labRequest(nowhere, "GET", "/version")).rejects.toThrow();
    expect(await labGet(nowhere, "/version")).toBeUndefined();
  });

  it("is the admin over HTTPS in a secure lab, and the bare URL in the 0.18 lab", async () => {
    const home = mkdtempSync(join(tmpdir(), "lab-secure-api-"));
    try {
      const secure: LabConfig = { ...TEST_CONFIG, home, secure: true, securePort: 6443 };
      await ensureLabPki({ dir: join(home, "pki"), serviceIp: "10.96.0.1", apiserverAddresses: ["172.30.0.1"], server: "https://172.30.0.1:6443", nodes: [] });
      const client = labClientConfig(secure);
      expect(client.server).toBe("https://172.30.0.1:6443");
      expect(client.caData).toContain("BEGIN CERTIFICATE");
      expect(client.clientCertData).toContain("BEGIN CERTIFICATE");
      expect(client.clientKeyData).toContain("PRIVATE KEY");
      expect(labClientConfig(TEST_CONFIG)).toEqual({ server: "http://172.30.0.1:8080", namespace: "default" });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
