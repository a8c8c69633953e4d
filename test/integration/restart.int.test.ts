// The apiserver process and etcd killed and restarted under a running client: a client/informer.ts informer keeps its
// cache right across a SIGKILL of the apiserver, every change reaches its handlers exactly once, nothing acknowledged
// is lost; while etcd is down the apiserver answers with Status errors and stays alive, and it recovers by itself.
// Finally, the metrics it exposes about all of this.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { findResource } from "../../api/resources.js";
import { createInformer, unwrapTombstone, type Informer } from "../../client/informer.js";
import { RestClient } from "../../client/rest.js";
import { clientConfigFor, isReady, startApiServerProcess, waitFor, type ApiServerProcess } from "../support/apiserver.js";
import { startEtcd, type EtcdHandle } from "../support/etcd.js";
import { call, openWatch, parseMetrics, startTcpProxy, type OpenWatch, type Reply, type StatusBody } from "../support/http.js";

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}
interface List {
  metadata: { resourceVersion: string };
  items: ConfigMap[];
}

let etcd: EtcdHandle | undefined;
let apiserver: ApiServerProcess | undefined;
const cleanups: (() => void)[] = [];

function server(): ApiServerProcess {
  if (!apiserver) throw new Error("the apiserver did not start");
  return apiserver;
}

function etcdHandle(): EtcdHandle {
  if (!etcd) throw new Error("etcd did not start");
  return etcd;
}

function api<T = ConfigMap>(method: string, path: string, body?: unknown, contentType?: string): Promise<Reply<T>> {
  return call<T>(server().api, method, path, body, contentType === undefined ? {} : { contentType });
}

async function ok<T = ConfigMap>(code: number, method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  const reply = await api<T>(method, path, body, contentType);
  if (reply.status !== code) throw new Error(`${method} ${path}: expected ${code}, got ${reply.status}: ${reply.text}`);
  return reply.body;
}

const cms = (ns: string, name = ""): string => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ""}`;
const MERGE = "application/merge-patch+json";

function configMap(name: string, v = "1"): ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { v } };
}

beforeAll(async () => {
  etcd = await startEtcd();
  apiserver = await startApiServerProcess(etcd.endpoint);
});

afterAll(async () => {
  for (const cleanup of cleanups) cleanup();
  await apiserver?.stop("SIGKILL");
  await etcd?.destroy();
});

describe("an apiserver restart", () => {
  interface Call {
    type: "add" | "update" | "delete";
    name: string;
    rv: string;
    v: string;
    /** For updates: the resourceVersion the handler was told the object had before. */
    oldRv?: string;
  }

  it("keeps an informer running across a SIGKILL, delivering every change exactly once and losing nothing acknowledged", async () => {
    const NS = "informed";
    await ok(201, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    const resource = findResource("", "v1", "configmaps");
    if (!resource) throw new Error("configmaps are not served");
    // The informer talks through a proxy, so that the test can hold back what the apiserver sends it.
    const proxy = await startTcpProxy(server().port);
    cleanups.push(() => { void proxy.close(); });
    const client = new RestClient(clientConfigFor({ ...server().api, url: `${new URL(server().url).protocol}//127.0.0.1:${proxy.port}` }, NS), { qps: 0, maxRetries: 0 });
    const informer: Informer<ConfigMap> = createInformer<ConfigMap>({ client, resource, namespace: NS, backoff: { initialMs: 50, maxMs: 400 } });
    const calls: Call[] = [];
    const record = (type: Call["type"], obj: Readonly<ConfigMap>, oldRv?: string): void => {
      const entry: Call = { type, name: obj.metadata.name ?? "", rv: obj.metadata.resourceVersion ?? "", v: obj.data?.v ?? "" };
      if (oldRv !== undefined) entry.oldRv = oldRv;
      calls.push(entry);
    };
    informer.addEventHandler({
      onAdd: (obj) => { record("add", obj); },
      onUpdate: (oldObj, newObj) => { record("update", newObj, oldObj.metadata.resourceVersion ?? ""); },
      onDelete: (obj) => { record("delete", unwrapTombstone(obj)); },
    });
    const stop = new AbortController();
    cleanups.push(() => { stop.abort(); client.close(); });
    const running = informer.run(stop.signal);

    /** The informer's cache equals what the apiserver lists, object by object and version by version. */
    const converged = async (): Promise<boolean> => {
      const list = await ok<List>(200, "GET", cms(NS));
      const want = list.items.map((o) => `${o.metadata.name ?? ""}@${o.metadata.resourceVersion ?? ""}`).sort();
      const have = informer.lister.list().map((o) => `${o.metadata.name ?? ""}@${o.metadata.resourceVersion ?? ""}`).sort();
      return JSON.stringify(want) === JSON.stringify(have);
    };

    try {
      await informer.waitForSync();
      for (let i = 0; i < 5; i++) await ok(201, "POST", cms(NS), configMap(`cm-${i}`));
      await waitFor("the informer to see the first objects", async () => (await converged()) || undefined);

      // Acknowledged writes just before the kill, whose watch events never reach the informer: the proxy holds them
      // back and then loses them with the connection.
      proxy.freeze();
      const late = await ok(201, "POST", cms(NS), configMap("late"));
      const cm0 = await ok(200, "PATCH", cms(NS, "cm-0"), { data: { v: "2" } }, MERGE);
      await ok(200, "DELETE", cms(NS, "cm-1"));
      await server().stop("SIGKILL");
      expect(server().process.signalCode).toBe("SIGKILL");
      proxy.dropAll();
      proxy.thaw();
      expect(calls.map((c) => c.name)).not.toContain("late");

      await server().restart();
      // Nothing acknowledged before the kill is lost.
      expect((await ok(200, "GET", cms(NS, "late"))).metadata.uid).toBe(late.metadata.uid);
      expect((await ok(200, "GET", cms(NS, "cm-0"))).data).toEqual({ v: "2" });
      expect(Number((await ok(200, "GET", cms(NS, "cm-0"))).metadata.resourceVersion)).toBe(Number(cm0.metadata.resourceVersion));
      expect((await api("GET", cms(NS, "cm-1"))).status).toBe(404);

      // Changes right after the restart, while the informer is still finding its way back.
      await ok(201, "POST", cms(NS), configMap("after"));
      await ok(200, "PATCH", cms(NS, "cm-2"), { data: { v: "2" } }, MERGE);
      await ok(200, "DELETE", cms(NS, "cm-3"));
      await waitFor("the informer to catch up after the restart", async () => (await converged()) || undefined, 20_000);

      // With its watch re-established, every single change arrives, in order.
      const mark = calls.length;
      for (const v of ["2", "3", "4"]) await ok(200, "PATCH", cms(NS, "after"), { data: { v } }, MERGE);
      await ok(201, "POST", cms(NS), configMap("brief"));
      await ok(200, "DELETE", cms(NS, "brief"));
      await waitFor("the live changes", async () => (calls.length >= mark + 5 && (await converged())) || undefined, 10_000);
      expect(calls.slice(mark).map((c) => `${c.type} ${c.name} ${c.v}`)).toEqual([
        "update after 2",
        "update after 3",
        "update after 4",
        "add brief 1",
        "delete brief 1",
      ]);

      // Exactly once, per object: one add per life, one delete per death, versions only ever moving forward.
      const byName = new Map<string, Call[]>();
      for (const c of calls) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
      const kinds = (name: string): string[] => (byName.get(name) ?? []).map((c) => c.type);
      for (const name of ["cm-0", "cm-2", "cm-4", "late", "after"]) expect(kinds(name).filter((t) => t === "add"), name).toHaveLength(1);
      for (const name of ["cm-1", "cm-3", "brief"]) {
        expect(kinds(name).filter((t) => t === "add"), name).toHaveLength(1);
        expect(kinds(name).filter((t) => t === "delete"), name).toHaveLength(1);
        expect(kinds(name).at(-1), name).toBe("delete");
      }
      expect(kinds("cm-4")).toEqual(["add"]);
      for (const [name, list] of byName) {
        const updates = list.filter((c) => c.type === "update");
        for (const u of updates) expect(Number(u.rv), `${name} update after ${u.oldRv ?? ""}`).toBeGreaterThan(Number(u.oldRv));
        const rvs = list.filter((c) => c.type !== "delete").map((c) => Number(c.rv));
        expect(new Set(rvs).size, `${name} was told about one version twice: ${JSON.stringify(list)}`).toBe(rvs.length);
        expect(rvs, name).toEqual([...rvs].sort((x, y) => x - y));
      }
      // The last version each handler heard of is what the server holds.
      const final = await ok<List>(200, "GET", cms(NS));
      for (const obj of final.items) {
        const last = (byName.get(obj.metadata.name ?? "") ?? []).at(-1);
        expect(last?.type, obj.metadata.name).not.toBe("delete");
        expect(last?.rv, obj.metadata.name).toBe(obj.metadata.resourceVersion);
      }
      expect(calls.find((c) => c.name === "cm-0" && c.v === "2")).toBeDefined();
    } finally {
      stop.abort();
      await running;
      client.close();
      await proxy.close();
    }
  });
});

describe("an etcd outage", () => {
  it("gets Status errors and a failing readyz from an apiserver that stays alive, and recovers by itself", async () => {
    const NS = "outage";
    await ok(201, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await ok(201, "POST", cms(NS), configMap("before"));
    const pid = server().process.pid;
    const list = await ok<List>(200, "GET", cms(NS));
    let watch: OpenWatch = await openWatch(server().api, `${cms(NS)}?watch=true&resourceVersion=${list.metadata.resourceVersion}`);
    cleanups.push(() => { watch.close(); });

    await etcdHandle().stop(true);
    try {
      // Reads that need etcd, and every write, fail with a Status: 503 or 504, never 500.
      const attempts: Reply<StatusBody>[] = [
        await api<StatusBody>("GET", cms(NS)),
        await api<StatusBody>("GET", cms(NS, "before")),
        await api<StatusBody>("POST", cms(NS), configMap("during")),
        await api<StatusBody>("PATCH", cms(NS, "before"), { data: { v: "2" } }, MERGE),
        await api<StatusBody>("DELETE", cms(NS, "before")),
      ];
      for (const reply of attempts) {
        expect([503, 504], reply.text).toContain(reply.status);
        expect(reply.body).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", code: reply.status });
        expect(["ServiceUnavailable", "Timeout"]).toContain(reply.body.reason);
      }
      await waitFor("readyz to fail", async () => !(await isReady(server().api)) || undefined, 15_000);
      const readyz = await call(server().api, "GET", "/readyz?verbose");
      expect(readyz.status).toBe(500);
      expect(readyz.text).toContain("[-]etcd failed");
      const livez = await call(server().api, "GET", "/livez");
      expect(livez.status).toBe(200);
      expect(server().process.exitCode).toBeNull();
    } finally {
      await etcdHandle().restart();
    }

    await waitFor("readyz to pass again", async () => (await isReady(server().api)) || undefined, 20_000);
    const written = await waitFor("a write to succeed", async () => {
      const reply = await api("POST", cms(NS), configMap("after"));
      return reply.status === 201 ? reply.body : undefined;
    }, 10_000);
    expect((await ok<List>(200, "GET", cms(NS))).items.map((o) => o.metadata.name).sort()).toEqual(["after", "before"]);

    // The watch opened before the outage either carried on or ended cleanly, so that resuming from the last
    // resourceVersion it saw brings what it missed.
    const outcome = await Promise.race([
      watch.waitFor("the write after the outage", (e) => e.some((x) => x.object.metadata.name === "after")).then(() => "continued" as const),
      watch.done.then(({ clean }) => (clean ? ("ended" as const) : ("broken" as const))),
    ]);
    expect(outcome).not.toBe("broken");
    if (outcome === "ended") {
      const lastSeen = watch.events.filter((e) => e.type !== "ERROR").at(-1)?.object.metadata.resourceVersion ?? list.metadata.resourceVersion;
      watch = await openWatch(server().api, `${cms(NS)}?watch=true&resourceVersion=${lastSeen}`);
      const events = await watch.waitFor("the write after the outage", (e) => e.some((x) => x.object.metadata.name === "after"));
      expect(events.find((e) => e.object.metadata.name === "after")?.type).toBe("ADDED");
    } else {
      const event = watch.events.find((e) => e.object.metadata.name === "after");
      expect(event?.type).toBe("ADDED");
      expect(event?.object.metadata.resourceVersion).toBe(written.metadata.resourceVersion);
    }
    expect(watch.events.filter((e) => e.type === "ERROR")).toEqual([]);

    // The same process served throughout.
    expect(server().process.pid).toBe(pid);
    expect(server().process.exitCode).toBeNull();
    expect(server().logs()).not.toMatch(/uncaught|unhandled/i);
  });
});

describe("metrics", () => {
  it("exposes request, latency, inflight, etcd, watch and process metrics with their labels", async () => {
    const w = await openWatch(server().api, `${cms("outage")}?watch=true`);
    cleanups.push(() => { w.close(); });
    await ok(201, "POST", cms("outage"), configMap("metered"));
    await w.waitFor("an event", (e) => e.some((x) => x.object.metadata.name === "metered"));
    const samples = parseMetrics((await call(server().api, "GET", "/metrics", undefined, { accept: "text/plain" })).text);
    const find = (name: string, labels: Record<string, string> = {}): number[] =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).map((s) => s.value);
    const total = (name: string, labels: Record<string, string> = {}): number => find(name, labels).reduce((a, b) => a + b, 0);

    expect(total("apiserver_request_total", { verb: "POST", resource: "configmaps", code: "201" })).toBeGreaterThanOrEqual(1);
    expect(total("apiserver_request_total", { verb: "LIST", resource: "configmaps", code: "200" })).toBeGreaterThanOrEqual(1);
    expect(total("apiserver_request_total", { verb: "GET", resource: "configmaps", code: "404" })).toBeGreaterThanOrEqual(1);
    // The etcd outage above was counted as 503s or 504s.
    expect(total("apiserver_request_total", { resource: "configmaps", code: "503" }) + total("apiserver_request_total", { resource: "configmaps", code: "504" })).toBeGreaterThanOrEqual(1);
    expect(total("apiserver_request_duration_seconds_count", { verb: "POST", resource: "configmaps" })).toBeGreaterThanOrEqual(1);
    expect(find("apiserver_request_duration_seconds_bucket", { verb: "POST", resource: "configmaps", le: "+Inf" }).length).toBeGreaterThanOrEqual(1);
    expect(find("apiserver_current_inflight_requests", { request_kind: "readOnly" })).toHaveLength(1);
    expect(find("apiserver_current_inflight_requests", { request_kind: "mutating" })).toHaveLength(1);
    expect(total("etcd_request_duration_seconds_count", { operation: "create", type: "configmaps" })).toBeGreaterThanOrEqual(1);
    expect(total("apiserver_registered_watchers", { kind: "ConfigMap" })).toBeGreaterThanOrEqual(1);
    expect(total("apiserver_watch_events_total", { kind: "ConfigMap" })).toBeGreaterThanOrEqual(1);
    expect(total("process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
  });
});
