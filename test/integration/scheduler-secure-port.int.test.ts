// kube-scheduler's secure port with real processes: etcd, the secure test apiserver (Node,RBAC), and the scheduler
// (dist/scheduler/main.js, build first) with --secure-port on loopback. A Prometheus-like ServiceAccount bound to a
// ClusterRole that allows nonResourceURLs /metrics scrapes https://127.0.0.1:<port>/metrics with its token; another
// ServiceAccount, anonymous callers and a made-up token are refused as Kubernetes refuses them; /healthz stays open;
// the admin's client certificate (system:masters) is verified against --client-ca-file.
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../lab/process/ports.js";
import { startTestCluster, waitFor, type TestCluster } from "../support/apiserver.js";
import { startComponentOnFreePort, type ComponentProcess } from "../support/components.js";
import { testPki } from "../support/pki.js";

interface Reply {
  code: number;
  body: string;
}

function get(port: number, path: string, ca: string, opts: { token?: string; cert?: string; key?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        ca,
        servername: "localhost",
        headers: opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {},
        ...(opts.cert !== undefined && opts.key !== undefined ? { cert: opts.cert, key: opts.key } : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          resolve({ code: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const RBAC = `
apiVersion: v1
kind: ServiceAccount
metadata: { name: prometheus, namespace: default }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: nobody, namespace: default }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: scrape-metrics }
rules:
- nonResourceURLs: ["/metrics"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: prometheus-scrape-metrics }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: scrape-metrics }
subjects:
- { kind: ServiceAccount, name: prometheus, namespace: default }
`;

describe("kube-scheduler's secure port against a real apiserver", () => {
  let cluster: TestCluster;
  let scheduler: ComponentProcess;
  let port: number;
  let ca: string;
  let prometheusToken: string;
  let nobodyToken: string;

  beforeAll(async () => {
    cluster = await startTestCluster();
    const applied = await cluster.kubectl(["apply", "-f", "-"], { stdin: RBAC });
    expect(applied.code, applied.stderr).toBe(0);
    const token = async (sa: string): Promise<string> => {
      const created = await cluster.kubectl(["create", "token", sa]);
      expect(created.code, created.stderr).toBe(0);
      return created.stdout.trim();
    };
    prometheusToken = await token("prometheus");
    nobodyToken = await token("nobody");
    port = await freePort();
    const pki = await testPki();
    const certDir = join(cluster.workDir, "scheduler-certs");
    scheduler = await startComponentOnFreePort("kube-scheduler", [
      "--kubeconfig", cluster.kubeconfig, "--leader-elect=false",
      `--secure-port=${port}`, "--bind-address=127.0.0.1", `--cert-dir=${certDir}`, `--client-ca-file=${pki.paths.caCert}`,
    ]);
    await waitFor("the secure port to listen", () => (scheduler.logs().includes("Serving securely") ? true : undefined), 20_000);
    // The self-signed pair in --cert-dir: the serving certificate followed by the CA that signed it.
    ca = readFileSync(join(certDir, "kube-scheduler.crt"), "utf8");
  }, 60_000);

  afterAll(async () => {
    await scheduler?.kill("SIGTERM");
    await cluster?.destroy();
  });

  it("serves /healthz, /readyz and /livez to anonymous callers", async () => {
    await waitFor("/readyz", async () => ((await get(port, "/readyz", ca)).code === 200 ? true : undefined), 20_000);
    expect(await get(port, "/healthz", ca)).toEqual({ code: 200, body: "ok" });
    expect(await get(port, "/livez", ca)).toEqual({ code: 200, body: "ok" });
  });

  it("forbids /metrics to system:anonymous and to a ServiceAccount RBAC does not allow, and refuses an unknown token", async () => {
    const anonymous = await get(port, "/metrics", ca);
    expect(anonymous.code).toBe(403);
    expect(JSON.parse(anonymous.body)).toMatchObject({ kind: "Status", reason: "Forbidden", message: 'forbidden: User "system:anonymous" cannot get path "/metrics"', code: 403 });
    const nobody = await get(port, "/metrics", ca, { token: nobodyToken });
    expect(nobody.code).toBe(403);
    expect(JSON.parse(nobody.body)).toMatchObject({ message: 'forbidden: User "system:serviceaccount:default:nobody" cannot get path "/metrics"' });
    const unknown = await get(port, "/metrics", ca, { token: "not-a-token" });
    expect(unknown.code).toBe(401);
    expect(JSON.parse(unknown.body)).toMatchObject({ reason: "Unauthorized", code: 401 });
  });

  it("serves /metrics to a ServiceAccount bound to nonResourceURLs /metrics, and to the admin's client certificate", async () => {
    const scrape = await get(port, "/metrics", ca, { token: prometheusToken });
    expect(scrape.code).toBe(200);
    expect(scrape.body).toContain("scheduler_pending_pods");
    const pki = await testPki();
    const admin = await get(port, "/metrics", ca, { cert: readFileSync(pki.paths.admin.cert, "utf8"), key: readFileSync(pki.paths.admin.key, "utf8") });
    expect(admin.code).toBe(200);
  });
});
