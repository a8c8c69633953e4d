// --authentication-config on a real apiserver process: with the file `kubelab up` and compose use (lab/pki's
// AUTHENTICATION_CONFIG_YAML, written next to the test run's PKI: anonymous on /healthz, /livez, /readyz, /version), a
// request without credentials is answered on those paths and is 401 on every other one (the API, discovery, /metrics,
// /livez's sub-checks); a credential still works everywhere. A bad file, or the file's section beside
// --anonymous-auth, stops the apiserver at start with a non-zero exit and the reason.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startApiServerProcess, type ApiServerProcess } from "../../test/support/apiserver.js";
import { startEtcd, type EtcdHandle } from "../../test/support/etcd.js";
import { call } from "../../test/support/http.js";
import { testPki, type TestPki } from "../../test/support/pki.js";
import { testProcesses } from "../../test/support/processes.js";

let etcd: EtcdHandle | undefined;
let api: ApiServerProcess | undefined;
let pki: TestPki;
let work: string;

async function get(path: string, token?: string): Promise<number> {
  const server = api!;
  return (await call({ url: server.url, caFile: pki.paths.caCert, ...(token !== undefined ? { token } : {}) }, "GET", path)).status;
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
  pki = await testPki();
  api = await startApiServerProcess(etcd.endpoint, [`--authentication-config=${pki.paths.authenticationConfig}`]);
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
    expect(await get("/api/v1/namespaces/default/pods", pki.adminToken)).toBe(200);
  });

  it("stops at start on a bad file, and on the anonymous section beside --anonymous-auth", async () => {
    const bad = join(work, "bad.yaml");
    writeFileSync(bad, readFileSync(pki.paths.authenticationConfig, "utf8").replace("enabled: true", "enabled: false"));
    const invalid = await runApiserver([`--authentication-config=${bad}`, "--secure-port=0", "--insecure-port=1"]);
    expect(invalid.code).not.toBe(0);
    expect(invalid.output).toContain("invalid authentication configuration: anonymous.conditions: Invalid value: enabled should be set to true when conditions are defined");
    const missing = await runApiserver([`--authentication-config=${join(work, "none.yaml")}`, "--secure-port=0", "--insecure-port=1"]);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain("failed to read authentication-config file");
    const both = await runApiserver([`--authentication-config=${pki.paths.authenticationConfig}`, "--anonymous-auth=true", "--secure-port=0", "--insecure-port=1"]);
    expect(both.code).not.toBe(0);
    expect(both.output).toContain("--anonymous-auth flag cannot be set when anonymous field is configured in authentication configuration file");
  });
});
