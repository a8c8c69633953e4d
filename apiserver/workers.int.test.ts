// kube-apiserver --workers=2 on a real etcd, secure, driven over fresh connections (the primary hands connections to
// its workers round-robin, so consecutive ones land on different workers): a write read back through the other
// worker (GET, LIST, and a watch from the write's resourceVersion), one `kubernetes` Endpoints address, /metrics
// summed across workers, a CRD served by every worker, kubectl, and a worker killed by PID replaced with nothing
// acknowledged lost. Then the primary's own duties: SIGTERM stops every worker cleanly; workers that cannot start
// (their port is taken) make it give up instead of restarting them forever.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startTestCluster, waitFor, type TestCluster } from "../test/support/apiserver.js";
import { freePort, startEtcd } from "../test/support/etcd.js";
import { call, metricSum, openWatch } from "../test/support/http.js";

interface Meta { metadata: { name: string; resourceVersion: string } }
interface List { items: Meta[]; metadata: { resourceVersion: string } }

/** The live child processes of `pid` (the workers of a --workers apiserver). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text === "" ? [] : text.split(/\s+/).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("kube-apiserver --workers=2", () => {
  let cluster: TestCluster;
  const seenWorkers = new Set<number>();
  const configmap = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { k: name } });

  beforeAll(async () => {
    cluster = await startTestCluster(["--workers=2"]);
    const workers = await waitFor("two workers", () => { const c = childrenOf(cluster.apiserver.pid); return c.length === 2 ? c : undefined; });
    for (const pid of workers) seenWorkers.add(pid);
  }, 60_000);
  afterAll(async () => {
    await cluster.destroy();
    // The workers stop by themselves when the primary goes; any still here after that are killed.
    for (const pid of seenWorkers) if (alive(pid)) process.kill(pid, "SIGKILL");
  });

  it("reads a write through the other worker: GET, LIST and a watch from its resourceVersion", async () => {
    for (let round = 0; round < 6; round++) {
      const name = `workers-rw-${round}`;
      const created = await call<Meta>(cluster.api, "POST", "/api/v1/namespaces/default/configmaps", configmap(name));
      expect(created.status).toBe(201);
      const got = await call<Meta>(cluster.api, "GET", `/api/v1/namespaces/default/configmaps/${name}`);
      expect(got.status).toBe(200);
      expect(got.body.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);
      const listed = await call<List>(cluster.api, "GET", "/api/v1/namespaces/default/configmaps");
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((i) => i.metadata.name)).toContain(name);
      expect(Number(listed.body.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(created.body.metadata.resourceVersion));
      // A watch from the write's revision on another connection, then the next write: delivered, not refused as
      // a revision the worker has not seen yet.
      const watch = await openWatch(cluster.api, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${created.body.metadata.resourceVersion}`);
      try {
        expect(watch.status).toBe(200);
        const next = await call<Meta>(cluster.api, "POST", "/api/v1/namespaces/default/configmaps", configmap(`${name}-next`));
        expect(next.status).toBe(201);
        const events = await watch.waitFor(`ADDED ${name}-next`, (evs) => evs.some((e) => e.object.metadata.name === `${name}-next`), 10_000);
        expect(events.every((e) => e.type === "ADDED")).toBe(true);
        expect(events.map((e) => e.object.metadata.name)).not.toContain(name);
      } finally {
        watch.close();
      }
    }
  });

  it("is one apiserver to the cluster: one Endpoints address, one EndpointSlice endpoint, ready", async () => {
    const endpoints = await call<{ subsets: { addresses: { ip: string }[] }[] }>(cluster.api, "GET", "/api/v1/namespaces/default/endpoints/kubernetes");
    expect(endpoints.status).toBe(200);
    expect(endpoints.body.subsets.flatMap((s) => s.addresses)).toHaveLength(1);
    const slice = await call<{ endpoints: unknown[] }>(cluster.api, "GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes");
    expect(slice.body.endpoints).toHaveLength(1);
    const ready = await call(cluster.api, "GET", "/readyz?verbose");
    expect(ready.status).toBe(200);
    expect(ready.text).toContain("[+]workers ok");
  });

  it("aggregates /metrics across workers", async () => {
    const before = await metricSum(cluster.api, "apiserver_request_total", { verb: "GET", resource: "secrets", code: "404" });
    for (let i = 0; i < 6; i++) expect((await call(cluster.api, "GET", "/api/v1/namespaces/default/secrets/workers-absent")).status).toBe(404);
    // Each scrape may land on either worker; each answers with the sum over both.
    for (let i = 0; i < 2; i++) {
      expect(await metricSum(cluster.api, "apiserver_request_total", { verb: "GET", resource: "secrets", code: "404" })).toBe(before + 6);
    }
    // The caches of both workers hold the same namespaces: counted once.
    const namespaces = await call<List>(cluster.api, "GET", "/api/v1/namespaces");
    expect(await metricSum(cluster.api, "apiserver_storage_objects", { resource: "namespaces" })).toBe(namespaces.body.items.length);
  });

  it("serves a CRD created through one worker on every worker", async () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.workers.example.com" },
      spec: {
        group: "workers.example.com",
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget" },
        versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
      },
    };
    expect((await call(cluster.api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)).status).toBe(201);
    await waitFor("the widgets served on four connections in a row", async () => {
      for (let i = 0; i < 4; i++) if ((await call(cluster.api, "GET", "/apis/workers.example.com/v1/namespaces/default/widgets")).status !== 200) return false;
      return true;
    });
    const widget = { apiVersion: "workers.example.com/v1", kind: "Widget", metadata: { name: "w1" }, spec: { size: 3 } };
    expect((await call(cluster.api, "POST", "/apis/workers.example.com/v1/namespaces/default/widgets", widget)).status).toBe(201);
    expect((await call(cluster.api, "GET", "/apis/workers.example.com/v1/namespaces/default/widgets/w1")).status).toBe(200);
  });

  it("works with kubectl", async () => {
    await cluster.kubectl(["create", "configmap", "workers-kubectl", "--from-literal=a=b"]);
    const got = await cluster.kubectl(["get", "configmap", "workers-kubectl", "-o", "jsonpath={.data.a}"]);
    expect(got.stdout).toBe("b");
    const all = await cluster.kubectl(["get", "configmaps", "-o", "name"]);
    expect(all.stdout).toContain("configmap/workers-rw-5");
  });

  it("replaces a worker killed by PID and loses nothing acknowledged", async () => {
    const [victim, survivor] = childrenOf(cluster.apiserver.pid);
    expect(victim).toBeDefined();
    // Writes keep going while the worker dies; every acknowledged one must be there afterwards.
    const acknowledged: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        // A connection the primary was handing to the worker as it died is never answered (node:cluster keeps it):
        // the client's timeout ends it, and that write counts as not acknowledged.
        const res = await Promise.race([
          call(cluster.api, "POST", "/api/v1/namespaces/default/configmaps", configmap(`workers-kill-${i}`)).catch(() => undefined),
          new Promise<undefined>((resolve) => { setTimeout(() => { resolve(undefined); }, 3000).unref(); }),
        ]);
        if (res?.status === 201) acknowledged.push(`workers-kill-${i}`);
      }
    })();
    await waitFor("a few writes", () => acknowledged.length >= 5);
    process.kill(victim!, "SIGKILL");
    const replacement = await waitFor("a replacement worker", () => childrenOf(cluster.apiserver.pid).find((pid) => pid !== survivor && pid !== victim), 20_000);
    seenWorkers.add(replacement);
    await waitFor("ready again", async () => (await call(cluster.api, "GET", "/readyz")).status === 200, 20_000);
    const countAtReady = acknowledged.length;
    await waitFor("writes after the replacement", () => acknowledged.length >= countAtReady + 5);
    writing = false;
    await writer;
    const listed = await call<List>(cluster.api, "GET", "/api/v1/namespaces/default/configmaps");
    const names = new Set(listed.body.items.map((i) => i.metadata.name));
    expect(acknowledged.filter((n) => !names.has(n))).toEqual([]);
    expect(childrenOf(cluster.apiserver.pid)).toHaveLength(2);
    expect(cluster.apiserver.running).toBe(true);
  }, 60_000);
});

describe("kube-apiserver --workers=2, the primary", () => {
  /**
   * The apiserver binary on a plain port, its output collected; killed (with its workers) by the test's finally.
   * `exited` resolves once its output is complete too (the workers share its pipes, so they must be gone).
   */
  const launch = (etcd: string, port: number): { child: ChildProcess; output: () => string; exited: Promise<number | null> } => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "dist/apiserver/main.js"), `--etcd-servers=${etcd}`, "--secure-port=0", `--insecure-port=${port}`, "--workers=2"], { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout?.on("data", (d: Buffer) => { text += d.toString(); });
    child.stderr?.on("data", (d: Buffer) => { text += d.toString(); });
    // 'close', not 'exit': the last lines (the primary's "giving up") may still be in the pipe when 'exit' fires.
    const exited = new Promise<number | null>((resolve) => { child.on("close", (code) => { resolve(code); }); });
    return { child, output: () => text, exited };
  };
  const killTree = (child: ChildProcess, workers: Iterable<number>): void => {
    for (const pid of workers) if (alive(pid)) process.kill(pid, "SIGKILL");
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };

  it("stops every worker on SIGTERM and exits 0", async () => {
    const etcd = await startEtcd();
    const port = await freePort();
    const api = launch(etcd.endpoint, port);
    const workers = new Set<number>();
    try {
      await waitFor("ready", async () => (await call(`http://127.0.0.1:${port}`, "GET", "/readyz")).status === 200, 30_000);
      for (const pid of childrenOf(api.child.pid!)) workers.add(pid);
      expect(workers.size).toBe(2);
      api.child.kill("SIGTERM");
      expect(await api.exited).toBe(0);
      expect([...workers].filter(alive)).toEqual([]);
      expect(api.output().match(/Shut down cleanly/g)).toHaveLength(3);
    } finally {
      killTree(api.child, workers);
      await etcd.destroy();
    }
  }, 60_000);

  it("gives up (exit 1) when its workers crash-loop", async () => {
    const etcd = await startEtcd();
    const taken = createServer();
    const port = await new Promise<number>((resolve) => { taken.listen(0, "127.0.0.1", () => { resolve((taken.address() as { port: number }).port); }); });
    const api = launch(etcd.endpoint, port);
    const workers = new Set<number>();
    const track = setInterval(() => { try { for (const pid of childrenOf(api.child.pid!)) workers.add(pid); } catch { /* gone */ } }, 100);
    try {
      expect(await api.exited).toBe(1);
      expect(api.output()).toContain("giving up");
      expect(workers.size).toBeGreaterThanOrEqual(5);
      // Killed by the primary as it gave up; gone once reaped.
      await waitFor("no worker left", () => [...workers].every((pid) => !alive(pid)), 5_000);
    } finally {
      clearInterval(track);
      killTree(api.child, workers);
      taken.close();
      await etcd.destroy();
    }
  }, 60_000);
});
