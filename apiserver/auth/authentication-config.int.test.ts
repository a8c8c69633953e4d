// --authentication-config on a real apiserver process: with the anonymous section the lab uses (/healthz, /livez,
// /readyz, /version), a request without credentials is answered on those paths and is 401 on every other one (the
// API, discovery, /metrics, /livez's sub-checks); a credential still works everywhere. A bad file, or the file's
// section beside --anonymous-auth, stops the apiserver at start with a non-zero exit and the reason.
import { execFile } from "node:child_process";
import { request } from "node:https";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate } from "../../component-base/pki/certificates.js";
import { REPO_ROOT, startApiServerProcess, type ApiServerProcess } from "../../test/support/apiserver.js";
import { freePort, startEtcd, type EtcdHandle } from "../../test/support/etcd.js";
import { testProcesses } from "../../test/support/processes.js";

const TOKEN = "authn-rbac-anon-token";
const CONFIG = [
  "apiVersion: apiserver.config.k8s.io/v1beta1",
  "kind: AuthenticationConfiguration",
  "jwt: []",
  "anonymous:",
  "  enabled: true",
  "  conditions:",
  "  - path: /healthz",
  "  - path: /livez",
  "  - path: /readyz",
  "  - path: /version",
  "",
].join("\n");

let etcd: EtcdHandle | undefined;
let api: ApiServerProcess | undefined;
let work: string;
let url: string;
let caPem: string;

function get(path: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { ca: caPem, headers: token ? { Authorization: `Bearer ${token}` } : {}, agent: false }, (res) => {
      res.resume();
      res.on("end", () => { resolve(res.statusCode ?? 0); });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Runs the apiserver's main with `args` until it exits (it should, at start): exit code and stderr+stdout. */
function runApiserver(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, "dist", "apiserver", "main.js"), ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, output: `${stderr}${stdout}` });
    });
  });
}

beforeAll(async () => {
  etcd = await startEtcd();
  work = testProcesses.tempDir("authn-rbac-anon-", tmpdir());
  const ca = await createCertificateAuthority("authn-rbac-anon-ca");
  caPem = ca.certPem;
  const serving = await issueCertificate(ca, { commonName: "kube-apiserver", usage: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  for (const [file, text] of [["apiserver.crt", serving.certPem], ["apiserver.key", serving.keyPem], ["tokens.csv", `${TOKEN},authn-rbac-admin,1,"system:masters"\n`], ["authn.yaml", CONFIG]] as const) {
    writeFileSync(join(work, file), text, { mode: 0o600 });
  }
  const port = await freePort();
  api = await startApiServerProcess(etcd.endpoint, [
    `--secure-port=${port}`,
    "--bind-address=127.0.0.1",
    "--authorization-mode=Node,RBAC",
    `--authentication-config=${join(work, "authn.yaml")}`,
    `--token-auth-file=${join(work, "tokens.csv")}`,
    `--tls-cert-file=${join(work, "apiserver.crt")}`,
    `--tls-private-key-file=${join(work, "apiserver.key")}`,
  ]);
  url = `https://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await api?.stop("SIGKILL");
  await etcd?.destroy();
});

describe("anonymous requests limited by --authentication-config", () => {
  it("answers the public health endpoints and /version without credentials, and 401 on every other path", async () => {
    for (const path of ["/healthz", "/livez", "/readyz", "/version"]) expect([path, await get(path)]).toEqual([path, 200]);
    for (const path of ["/api", "/apis", "/api/v1/namespaces/default/pods", "/apis/rbac.authorization.k8s.io/v1/clusterroles", "/openapi/v2", "/metrics", "/livez/ping", "/healthz/etcd", "/version/", "/"]) {
      expect([path, await get(path)]).toEqual([path, 401]);
    }
    expect(await get("/api/v1/namespaces/default/pods", TOKEN)).toBe(200);
  });

  it("stops at start on a bad file, and on the anonymous section beside --anonymous-auth", async () => {
    const bad = join(work, "bad.yaml");
    writeFileSync(bad, CONFIG.replace("enabled: true", "enabled: false"));
    const invalid = await runApiserver([`--authentication-config=${bad}`, "--secure-port=0", "--insecure-port=1"]);
    expect(invalid.code).not.toBe(0);
    expect(invalid.output).toContain("invalid authentication configuration: anonymous.conditions: Invalid value: enabled should be set to true when conditions are defined");
    const missing = await runApiserver([`--authentication-config=${join(work, "none.yaml")}`, "--secure-port=0", "--insecure-port=1"]);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain("failed to read authentication-config file");
    const both = await runApiserver([`--authentication-config=${join(work, "authn.yaml")}`, "--anonymous-auth=true", "--secure-port=0", "--insecure-port=1"]);
    expect(both.code).not.toBe(0);
    expect(both.output).toContain("--anonymous-auth flag cannot be set when anonymous field is configured in authentication configuration file");
  });
});
