// Watches over real HTTP chunked streams (and one WebSocket) against a real apiserver process on a real etcd:
// ordering, resumption, expiry (410), bookmarks, timeouts, selectors, a thousand concurrent watchers fed by one etcd
// watch per resource, and Table watches as `kubectl get -w` reads them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { KubeObject } from "../../api/meta.js";
import { RESOURCES } from "../../api/resources.js";
import { startApiServerProcess, waitFor, type ApiServerProcess } from "../support/apiserver.js";
import { startEtcd, type EtcdHandle } from "../support/etcd.js";
import { call, etcdctl, metricSum, openWatch, requestAs, webSocketOptions, type ApiTarget, type OpenWatch, type RawWatchEvent, type Reply, type RequestOptions } from "../support/http.js";

interface List {
  metadata: { resourceVersion: string };
  items: KubeObject[];
}

let etcd: EtcdHandle | undefined;
let apiserver: ApiServerProcess | undefined;
const watches: OpenWatch[] = [];

function base(): ApiTarget {
  if (!apiserver) throw new Error("the apiserver did not start");
  return apiserver.api;
}

function etcdEndpoint(): string {
  if (!etcd) throw new Error("etcd did not start");
  return etcd.endpoint;
}

async function ok<T = KubeObject>(code: number, method: string, path: string, body?: unknown, options?: RequestOptions): Promise<T> {
  const reply: Reply<T> = await call<T>(base(), method, path, body, options);
  if (reply.status !== code) throw new Error(`${method} ${path}: expected ${code}, got ${reply.status}: ${reply.text}`);
  return reply.body;
}

async function namespace(name: string): Promise<void> {
  await ok(201, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

const cms = (ns: string, name = ""): string => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ""}`;

function configMap(name: string, labels: Record<string, string> = {}, value = "1"): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels }, data: { v: value } };
}

async function watch(path: string, accept?: string): Promise<OpenWatch> {
  const opened = await openWatch(base(), path, accept === undefined ? {} : { accept });
  watches.push(opened);
  expect(opened.status).toBe(200);
  return opened;
}

function summary(events: RawWatchEvent[]): string[] {
  return events.filter((e) => e.type !== "BOOKMARK").map((e) => `${e.type} ${e.object.metadata.name ?? ""}`);
}

function merge(labels: Record<string, string | null>): unknown {
  return { metadata: { labels } };
}
const MERGE = { contentType: "application/merge-patch+json" };

beforeAll(async () => {
  etcd = await startEtcd();
  apiserver = await startApiServerProcess(etcd.endpoint, ["--watch-cache-size", "20"]);
});

afterAll(async () => {
  for (const w of watches) w.close();
  await apiserver?.stop("SIGKILL");
  await etcd?.destroy();
});

describe("watch", () => {
  it("from a list's resourceVersion sees exactly the later changes, in order", async () => {
    await namespace("w-order");
    await ok(201, "POST", cms("w-order"), configMap("before"));
    const list = await ok<List>(200, "GET", cms("w-order"));
    const w = await watch(`${cms("w-order")}?watch=true&resourceVersion=${list.metadata.resourceVersion}`);
    expect(w.headers["content-type"]).toMatch(/^application\/json/);
    expect(w.headers["transfer-encoding"]).toBe("chunked");
    await ok(201, "POST", cms("w-order"), configMap("a"));
    await ok(200, "PATCH", cms("w-order", "a"), { data: { v: "2" } }, MERGE);
    await ok(201, "POST", cms("w-order"), configMap("b"));
    await ok(200, "DELETE", cms("w-order", "a"));
    await ok(200, "PATCH", cms("w-order", "before"), { data: { v: "3" } }, MERGE);
    const events = await w.waitFor("five events", (e) => e.length >= 5);
    expect(summary(events)).toEqual(["ADDED a", "MODIFIED a", "ADDED b", "DELETED a", "MODIFIED before"]);
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs.every((rv, i) => i === 0 || rv > (rvs[i - 1] ?? 0))).toBe(true);
    expect(rvs[0]).toBeGreaterThan(Number(list.metadata.resourceVersion));
    expect(events.every((e) => e.object.kind === "ConfigMap" && e.object.apiVersion === "v1")).toBe(true);
    expect((events[1]?.object.data as Record<string, string>).v).toBe("2");
    // Nothing more arrives.
    await ok(200, "GET", cms("w-order"));
    expect(w.events).toHaveLength(5);
  });

  it("without a resourceVersion starts with the current objects as ADDED events", async () => {
    await namespace("w-initial");
    await ok(201, "POST", cms("w-initial"), configMap("one"));
    await ok(201, "POST", cms("w-initial"), configMap("two"));
    const w = await watch(`${cms("w-initial")}?watch=true`);
    await w.waitFor("the current objects", (e) => e.length >= 2);
    await ok(201, "POST", cms("w-initial"), configMap("three"));
    const events = await w.waitFor("the new object", (e) => e.length >= 3);
    expect(summary(events)).toEqual(["ADDED one", "ADDED two", "ADDED three"]);
  });

  it("resumed from an older resourceVersion still in the window replays what it missed", async () => {
    await namespace("w-resume");
    const list = await ok<List>(200, "GET", cms("w-resume"));
    await ok(201, "POST", cms("w-resume"), configMap("missed-1"));
    await ok(201, "POST", cms("w-resume"), configMap("missed-2"));
    await ok(200, "DELETE", cms("w-resume", "missed-1"));
    const w = await watch(`${cms("w-resume")}?watch=true&resourceVersion=${list.metadata.resourceVersion}`);
    await w.waitFor("the missed changes", (e) => e.length >= 3);
    await ok(201, "POST", cms("w-resume"), configMap("live"));
    const events = await w.waitFor("the live change", (e) => e.length >= 4);
    expect(summary(events)).toEqual(["ADDED missed-1", "ADDED missed-2", "DELETED missed-1", "ADDED live"]);
  });

  it("from a resourceVersion older than the window answers 200 with one ERROR event 410 Expired", async () => {
    await namespace("w-expired");
    const list = await ok<List>(200, "GET", `/api/v1/namespaces/w-expired/secrets`);
    const old = list.metadata.resourceVersion;
    await ok(201, "POST", "/api/v1/namespaces/w-expired/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "churn" }, stringData: { n: "0" } });
    for (let i = 1; i < 100; i++) await ok(200, "PATCH", "/api/v1/namespaces/w-expired/secrets/churn", { stringData: { n: String(i) } }, MERGE);
    const latest = await ok(200, "GET", "/api/v1/namespaces/w-expired/secrets/churn");
    await etcdctl(etcdEndpoint(), ["compaction", latest.metadata.resourceVersion ?? ""]);

    const w = await watch(`/api/v1/namespaces/w-expired/secrets?watch=true&resourceVersion=${old}`);
    const { clean } = await w.done;
    expect(clean).toBe(true);
    expect(w.events).toHaveLength(1);
    expect(w.events[0]?.type).toBe("ERROR");
    expect(w.events[0]?.object).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", code: 410, reason: "Expired" });
    expect(w.events[0]?.object.message).toMatch(/too old resource version/);

    // What an informer does next works: list again and watch from the new list's resourceVersion.
    const again = await ok<List>(200, "GET", `/api/v1/namespaces/w-expired/secrets`);
    const resumed = await watch(`/api/v1/namespaces/w-expired/secrets?watch=true&resourceVersion=${again.metadata.resourceVersion}`);
    await ok(200, "DELETE", "/api/v1/namespaces/w-expired/secrets/churn");
    expect(summary(await resumed.waitFor("the deletion", (e) => e.length >= 1))).toEqual(["DELETED churn"]);
  });

  it("sends BOOKMARK events carrying a resourceVersion when asked to", async () => {
    await namespace("w-bookmark");
    const list = await ok<List>(200, "GET", cms("w-bookmark"));
    const w = await watch(`${cms("w-bookmark")}?watch=true&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`);
    const plain = await watch(`${cms("w-bookmark")}?watch=true&resourceVersion=${list.metadata.resourceVersion}`);
    const events = await w.waitFor("a bookmark", (e) => e.some((x) => x.type === "BOOKMARK"), 12_000);
    const bookmark = events.find((e) => e.type === "BOOKMARK");
    expect(bookmark?.object).toMatchObject({ kind: "ConfigMap", apiVersion: "v1" });
    expect(Number(bookmark?.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(list.metadata.resourceVersion));
    expect(plain.events.filter((e) => e.type === "BOOKMARK")).toEqual([]);
  });

  it("ends the stream cleanly after timeoutSeconds", async () => {
    const started = Date.now();
    const w = await watch(`/api/v1/configmaps?watch=true&timeoutSeconds=1`);
    const { clean } = await w.done;
    const elapsed = Date.now() - started;
    expect(clean).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5000);
  });

  it("with a label selector turns label changes into DELETED and ADDED events", async () => {
    await namespace("w-labels");
    const list = await ok<List>(200, "GET", cms("w-labels"));
    const w = await watch(`${cms("w-labels")}?watch=true&labelSelector=${encodeURIComponent("team=a")}&resourceVersion=${list.metadata.resourceVersion}`);
    await ok(201, "POST", cms("w-labels"), configMap("mover", { team: "a" }));
    await ok(201, "POST", cms("w-labels"), configMap("outsider", { team: "b" }));
    await ok(200, "PATCH", cms("w-labels", "mover"), merge({ team: "b" }), MERGE);
    await ok(200, "PATCH", cms("w-labels", "outsider"), { data: { v: "9" } }, MERGE);
    await ok(200, "PATCH", cms("w-labels", "mover"), merge({ team: "a" }), MERGE);
    await ok(200, "PATCH", cms("w-labels", "mover"), { data: { v: "2" } }, MERGE);
    await ok(200, "DELETE", cms("w-labels", "mover"));
    await ok(200, "DELETE", cms("w-labels", "outsider"));
    const events = await w.waitFor("five events", (e) => e.length >= 5);
    expect(summary(events)).toEqual(["ADDED mover", "DELETED mover", "ADDED mover", "MODIFIED mover", "DELETED mover"]);
    // The DELETED for a label change carries the object as it is now (no longer matching).
    expect(events[1]?.object.metadata.labels).toEqual({ team: "b" });
    await ok(201, "POST", cms("w-labels"), configMap("sentinel", { team: "a" }));
    expect(summary(await w.waitFor("the sentinel", (e) => e.length >= 6))[5]).toBe("ADDED sentinel");
  });

  it("with fieldSelector=metadata.name sees only that object", async () => {
    await namespace("w-name");
    const list = await ok<List>(200, "GET", cms("w-name"));
    const w = await watch(`${cms("w-name")}?watch=true&fieldSelector=${encodeURIComponent("metadata.name=target")}&resourceVersion=${list.metadata.resourceVersion}`);
    await ok(201, "POST", cms("w-name"), configMap("other"));
    await ok(201, "POST", cms("w-name"), configMap("target"));
    await ok(200, "PATCH", cms("w-name", "other"), { data: { v: "2" } }, MERGE);
    await ok(200, "PATCH", cms("w-name", "target"), { data: { v: "2" } }, MERGE);
    await ok(200, "DELETE", cms("w-name", "target"));
    await ok(200, "DELETE", cms("w-name", "other"));
    await ok(201, "POST", cms("w-name"), configMap("target"));
    const events = await w.waitFor("four events", (e) => e.length >= 4);
    expect(summary(events)).toEqual(["ADDED target", "MODIFIED target", "DELETED target", "ADDED target"]);
  });

  it("streams Tables to kubectl get -w, with column definitions only in the first event", async () => {
    await namespace("w-table");
    await ok(201, "POST", cms("w-table"), configMap("shown"));
    const w = await watch(`${cms("w-table")}?watch=true`, "application/json;as=Table;v=v1;g=meta.k8s.io");
    await w.waitFor("the first row", (e) => e.length >= 1);
    await ok(200, "PATCH", cms("w-table", "shown"), { data: { v: "2", w: "3" } }, MERGE);
    const events = await w.waitFor("the second row", (e) => e.length >= 2);
    const [first, second] = events;
    expect(first?.type).toBe("ADDED");
    expect(first?.object).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1" });
    expect((first?.object.columnDefinitions as unknown[]).length).toBeGreaterThan(0);
    expect(second?.type).toBe("MODIFIED");
    expect(second?.object.columnDefinitions).toBeNull();
    // Each event's Table carries its object's resourceVersion, as upstream's Table conversion of one object.
    const rows = (second?.object.rows as { object: { metadata: { resourceVersion: string } } }[]);
    expect((second?.object.metadata as { resourceVersion?: string }).resourceVersion).toBe(rows[0]?.object.metadata.resourceVersion);
    expect((second?.object.rows as { cells: unknown[] }[])[0]?.cells.slice(0, 2)).toEqual(["shown", 2]);
  });

  it("answers a WebSocket watch with events as text messages", async () => {
    await namespace("w-socket");
    const socket = new WebSocket(`${base().url.replace(/^http/, "ws")}${cms("w-socket")}?watch=true`, webSocketOptions(base()));
    const messages: { text: string; binary: boolean }[] = [];
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      messages.push({ text: data.toString("utf8"), binary: isBinary });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("open", () => { resolve(); });
        socket.once("error", reject);
      });
      await ok(201, "POST", cms("w-socket"), configMap("over-the-socket"));
      await waitFor("a WebSocket message", () => messages.length >= 1 || undefined, 10_000);
      expect(messages[0]?.binary).toBe(false);
      const event = JSON.parse(messages[0]?.text ?? "") as RawWatchEvent;
      expect(event.type).toBe("ADDED");
      expect(event.object).toMatchObject({ kind: "ConfigMap", metadata: { name: "over-the-socket", namespace: "w-socket" } });
    } finally {
      socket.terminate();
    }
  });

  it("feeds 1,000 concurrent watchers from one etcd watch per resource", async () => {
    await namespace("w-fanout");
    const etcdWatchers = async (): Promise<{ watchers: number; streams: number }> => ({
      watchers: await metricSum(etcdEndpoint(), "etcd_debugging_mvcc_watcher_total"),
      streams: await metricSum(etcdEndpoint(), "etcd_debugging_mvcc_watch_stream_total"),
    });
    const before = await etcdWatchers();
    const registeredBefore = await metricSum(base(), "apiserver_registered_watchers", { kind: "ConfigMap" });
    const longRunningBefore = await metricSum(base(), "apiserver_longrunning_requests", { verb: "WATCH", resource: "configmaps" });
    const received = new Array<boolean>(1000).fill(false);
    const requests: { destroy(): void }[] = [];
    try {
      // Open in batches so the listen backlog is not the thing under test.
      let opened = 0;
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) => {
            const index = batch * 100 + j;
            return new Promise<void>((resolve, reject) => {
              const req = requestAs(base(), new URL(`${base().url}${cms("w-fanout")}?watch=true`), { agent: false }, (res) => {
                if (res.statusCode !== 200) reject(new Error(`watch ${index} answered ${res.statusCode ?? 0}`));
                opened++;
                res.setEncoding("utf8");
                let text = "";
                res.on("data", (chunk: string) => {
                  text += chunk;
                  if (text.includes('"type":"ADDED"') && text.includes("fanned-out")) received[index] = true;
                });
                res.on("error", () => undefined);
                resolve();
              });
              req.on("error", reject);
              req.end();
              requests.push(req);
            });
          }),
        );
      }
      expect(opened).toBe(1000);
      const registered = await waitFor("the apiserver to count the watchers", async () => {
        const n = await metricSum(base(), "apiserver_registered_watchers", { kind: "ConfigMap" });
        return n - registeredBefore >= 1000 ? n - registeredBefore : undefined;
      });
      expect(registered).toBeLessThanOrEqual(1000);
      const longRunning = await metricSum(base(), "apiserver_longrunning_requests", { verb: "WATCH", resource: "configmaps" });
      expect(longRunning - longRunningBefore).toBe(1000);

      await ok(201, "POST", cms("w-fanout"), configMap("fanned-out"));
      await waitFor("every watcher to receive the event", () => received.every(Boolean) || undefined, 30_000);

      const after = await etcdWatchers();
      expect(after.watchers).toBe(before.watchers);
      expect(after.streams).toBe(before.streams);
      // One etcd watch per watch cache (one per stored resource, plus the apiserver's own few), not per client.
      expect(after.watchers).toBeLessThanOrEqual(RESOURCES.filter((r) => r.storageResource === undefined).length + 5);
    } finally {
      for (const req of requests) req.destroy();
    }
    await waitFor("the watchers to be unregistered", async () => {
      const n = await metricSum(base(), "apiserver_registered_watchers", { kind: "ConfigMap" });
      const open = await metricSum(base(), "apiserver_longrunning_requests", { verb: "WATCH", resource: "configmaps" });
      return (n <= registeredBefore && open <= longRunningBefore) || undefined;
    }, 15_000);
  });

  it("closes a chunked watcher that stopped reading once its events pile up, without holding up the others", async () => {
    await namespace("w-stuck");
    const terminatedBefore = await metricSum(base(), "apiserver_terminated_watchers_total", { resource: "configmaps" });
    // A client that reads the head and then nothing: its socket and the kernel's buffers fill, then the backlog,
    // then its queue in the watch cache.
    let stuckEnded = false;
    let resumeStuck: () => void = () => undefined;
    const stuck = await new Promise<{ destroy(): void }>((resolve, reject) => {
      const req = requestAs(base(), new URL(`${base().url}${cms("w-stuck")}?watch=true`), { agent: false }, (res) => {
        res.pause();
        resumeStuck = () => { res.resume(); };
        res.on("end", () => { stuckEnded = true; });
        res.on("error", () => undefined);
        resolve(req);
      });
      req.on("error", reject);
      req.end();
    });
    const healthy = await watch(`${cms("w-stuck")}?watch=true`);
    try {
      // Bytes fill the stuck watcher's socket, the kernel's buffers (some MB on loopback) and its 1 MiB backlog: 32
      // updates of 512 KB. Then events count: small updates of 64 objects at once, until its 1,000 queued events
      // close it.
      await ok(201, "POST", cms("w-stuck"), configMap("big"));
      await Promise.all(Array.from({ length: 64 }, (_, i) => ok(201, "POST", cms("w-stuck"), configMap(`small-${i}`))));
      const bigPayload = "x".repeat(512 * 1024);
      let updates = 0;
      for (let round = 0; round < 8; round++) {
        await Promise.all(Array.from({ length: 4 }, (_, i) => ok(200, "PATCH", cms("w-stuck", "big"), { data: { v: `${updates + i}`, payload: bigPayload } }, { contentType: "application/merge-patch+json" })));
        updates += 4;
      }
      await waitFor("the stuck watcher to be terminated", async () => {
        await Promise.all(Array.from({ length: 64 }, (_, i) => ok(200, "PATCH", cms("w-stuck", `small-${i}`), { data: { v: `${updates + i}` } }, { contentType: "application/merge-patch+json" })));
        updates += 64;
        const n = await metricSum(base(), "apiserver_terminated_watchers_total", { resource: "configmaps" });
        return n > terminatedBefore || undefined;
      }, 90_000, 0);
      // The healthy watcher saw every update and is still open.
      await healthy.waitFor("the healthy watcher to see every update", (events) => events.filter((e) => e.type === "MODIFIED").length >= updates, 30_000);
      expect(healthy.ended).toBe(false);
      // The stuck one, once it reads again, finds its stream ended (its client would re-watch).
      resumeStuck();
      await waitFor("the stuck watch's stream to end", () => stuckEnded || undefined, 30_000);
    } finally {
      stuck.destroy();
    }
  });

  it("counts the stored objects of each resource in apiserver_storage_objects", async () => {
    await namespace("w-count");
    const before = await metricSum(base(), "apiserver_storage_objects", { resource: "configmaps" });
    for (const name of ["one", "two", "three"]) await ok(201, "POST", cms("w-count"), configMap(name));
    const counted = await waitFor("the count to include the new ConfigMaps", async () => {
      const n = await metricSum(base(), "apiserver_storage_objects", { resource: "configmaps" });
      return n - before >= 3 ? n - before : undefined;
    });
    expect(counted).toBe(3);
  });
});
