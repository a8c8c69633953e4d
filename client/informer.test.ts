import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KubeList, KubeObject, WatchEvent } from "../api/meta.js";
import { RESOURCES, type ResourceInfo } from "../api/resources.js";
import { FakeClock, flushPromises } from "../component-base/testing/fake-clock.js";
import { createInformer, deepFreeze, DeletedFinalStateUnknown, Indexer, InformerFactory, isNewerResourceVersion, unwrapTombstone, type EventHandler, type Informer, type ListWatchClient, type WatchSource } from "./informer.js";
import { RestClient, type WatchOptions } from "./rest.js";
import { FakeApiserver } from "./testing/fake-apiserver.js";

const PODS: ResourceInfo = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES: ResourceInfo = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;

interface Pod extends KubeObject {
  spec?: { nodeName?: string };
}
const pod = (name: string, labels: Record<string, string> = {}, nodeName?: string): Pod => ({
  metadata: { name, namespace: "default", labels },
  spec: nodeName ? { nodeName } : {},
});

/** Records what handlers saw as "add a", "update a 3->5", "delete a", "delete a (tombstone)". */
function recorder<T extends KubeObject>(): EventHandler<T> & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    onAdd: (obj, initial) => log.push(`add ${obj.metadata.name ?? ""}${initial ? " (initial)" : ""}`),
    onUpdate: (o, n) => log.push(`update ${n.metadata.name ?? ""} ${o.metadata.resourceVersion ?? ""}->${n.metadata.resourceVersion ?? ""}`),
    onDelete: (obj) => log.push(`delete ${unwrapTombstone(obj).metadata.name ?? ""}${obj instanceof DeletedFinalStateUnknown ? " (tombstone)" : ""}`),
  };
}

/** Resolves once `cond` holds. The fake apiserver's I/O is real, so this polls rather than moving a clock. */
function waitFor(cond: () => boolean, what: string, timeout = 3000): Promise<void> {
  return vi.waitFor(() => {
    if (!cond()) throw new Error(`timed out waiting for ${what}`);
  }, { timeout, interval: 5 });
}

let server: FakeApiserver;
let client: RestClient;
let controller: AbortController;
let running: Promise<void> | undefined;

beforeEach(async () => {
  server = await FakeApiserver.start();
  client = new RestClient(server.clientConfig(), { qps: 0 });
  controller = new AbortController();
});
afterEach(async () => {
  controller.abort();
  await running;
  running = undefined;
  client.close();
  await server.stop();
});

function start<T extends KubeObject>(opts: Partial<Parameters<typeof createInformer<T>>[0]> = {}): { informer: Informer<T>; log: string[] } {
  const informer = createInformer<T>({ client, resource: PODS, backoff: { initialMs: 5, maxMs: 20 }, ...opts });
  const rec = recorder<T>();
  informer.addEventHandler(rec);
  running = informer.run(controller.signal);
  return { informer, log: rec.log };
}

describe("informer", () => {
  it("lists, then watches from the list's resourceVersion, delivering every change once and in order", async () => {
    server.put(PODS, pod("a"));
    server.put(PODS, pod("b"));
    const { informer, log } = start<Pod>();
    expect(await informer.waitForSync(controller.signal)).toBe(true);
    expect(informer.lister.list().map((p) => p.metadata.name).sort()).toEqual(["a", "b"]);
    expect(log.sort()).toEqual(["add a (initial)", "add b (initial)"]);
    log.length = 0;

    await client.create(PODS, "default", pod("c"));
    const a = await client.patch(PODS, "default", "a", "merge", { metadata: { labels: { x: "1" } } });
    await client.delete(PODS, "default", "b");
    await waitFor(() => log.length === 3, "three events");
    expect(log).toEqual(["add c", `update a 2->${a.metadata.resourceVersion ?? ""}`, "delete b"]);
    expect(informer.lister.get("default/a")?.metadata.labels).toEqual({ x: "1" });
    expect(informer.lister.get("default/b")).toBeUndefined();
    expect(informer.lastSyncResourceVersion()).toBe(server.resourceVersion());

    const [list, watch] = [server.requestsTo("GET", "/api/v1/pods")[0]!, server.requestsTo("GET", "/api/v1/pods")[1]!];
    expect(list.query.get("resourceVersion")).toBe("0");
    expect(list.query.get("limit")).toBe("500");
    expect(watch.query.get("watch")).toBe("true");
    expect(watch.query.get("resourceVersion")).toBe("3");
    expect(watch.query.get("allowWatchBookmarks")).toBe("true");
    const timeout = Number(watch.query.get("timeoutSeconds"));
    expect(timeout).toBeGreaterThanOrEqual(300);
    expect(timeout).toBeLessThan(600);
  });

  it("pages through the initial list", async () => {
    for (let i = 0; i < 5; i++) server.put(PODS, pod(`p${i}`));
    const { informer } = start({ pageSize: 2 });
    await informer.waitForSync(controller.signal);
    expect(informer.lister.list()).toHaveLength(5);
    const lists = server.requestsTo("GET", "/api/v1/pods").filter((r) => r.query.get("watch") !== "true");
    expect(lists.map((r) => [r.query.get("limit"), r.query.has("continue")])).toEqual([
      ["2", false],
      ["2", true],
      ["2", true],
    ]);
  });

  it("resumes a broken watch from the last resourceVersion without delivering anything twice", async () => {
    server.put(PODS, pod("a"));
    const { informer, log } = start();
    await informer.waitForSync(controller.signal);
    await client.create(PODS, "default", pod("b"));
    await waitFor(() => log.includes("add b"), "b");
    const rvBefore = informer.lastSyncResourceVersion();

    server.breakConnections();
    // Changes while the watch is down are replayed from the server's history on resume.
    server.put(PODS, { ...pod("a", { v: "2" }) });
    server.remove(PODS, "default", "b");
    server.put(PODS, pod("c"));
    await waitFor(() => log.length === 5, "replayed events");
    expect(log).toEqual(["add a (initial)", "add b", expect.stringMatching(/^update a /), "delete b", "add c"]);
    const watches = server.requestsTo("GET", "/api/v1/pods").filter((r) => r.query.get("watch") === "true");
    expect(watches.at(-1)!.query.get("resourceVersion")).toBe(rvBefore);
    // No relist happened.
    expect(server.requestsTo("GET", "/api/v1/pods").filter((r) => r.query.get("watch") !== "true")).toHaveLength(1);
  });

  it("relists after 410 Expired and delivers only the differences, vanished objects as DeletedFinalStateUnknown", async () => {
    server.put(PODS, pod("keep"));
    server.put(PODS, pod("change"));
    server.put(PODS, pod("vanish"));
    const { informer, log } = start();
    await informer.waitForSync(controller.signal);
    log.length = 0;

    server.breakConnections();
    server.put(PODS, pod("change", { v: "2" }));
    server.remove(PODS, "default", "vanish");
    server.put(PODS, pod("new"));
    server.compact(); // the watch cannot resume: 410
    await waitFor(() => log.length === 3, "relist differences");
    expect(log.sort()).toEqual(["add new", "delete vanish (tombstone)", expect.stringMatching(/^update change /)]);
    expect(informer.lister.listKeys().sort()).toEqual(["default/change", "default/keep", "default/new"]);
    const lists = server.requestsTo("GET", "/api/v1/pods").filter((r) => r.query.get("watch") !== "true");
    expect(lists.map((r) => r.query.get("resourceVersion"))).toEqual(["0", ""]);

    // And it keeps watching afterwards.
    await client.create(PODS, "default", pod("later"));
    await waitFor(() => log.includes("add later"), "later");
  });

  it("re-watches from the last resourceVersion after the server ends the watch, and bookmarks move that version", async () => {
    const { informer, log } = start();
    await informer.waitForSync(controller.signal);
    await waitFor(() => server.watchCount() === 1, "watch");
    server.put(NODES, { metadata: { name: "n" } }); // advances the global resourceVersion
    server.sendBookmarks();
    await waitFor(() => informer.lastSyncResourceVersion() === server.resourceVersion(), "bookmark");
    server.closeWatches();
    await client.create(PODS, "default", pod("x"));
    await waitFor(() => log.includes("add x"), "x");
    const watches = server.requestsTo("GET", "/api/v1/pods").filter((r) => r.query.get("watch") === "true");
    expect(watches).toHaveLength(2);
    expect(watches[1]!.query.get("resourceVersion")).toBe("2");
  });

  it("keeps retrying with backoff while the apiserver fails, then syncs", async () => {
    server.failNext({ method: "GET", watch: false }, { kind: "reset" }, 2);
    server.failNext({ method: "GET", watch: false }, { kind: "status", code: 500, reason: "InternalError" }, 1);
    server.put(PODS, pod("a"));
    const { informer } = start();
    expect(await informer.waitForSync(controller.signal)).toBe(true);
    expect(informer.lister.list()).toHaveLength(1);
    expect(server.requestsTo("GET", "/api/v1/pods").filter((r) => r.query.get("watch") !== "true")).toHaveLength(4);
  });

  it("filters by namespace and label selector", async () => {
    server.put(PODS, pod("a", { app: "web" }));
    server.put(PODS, pod("b", { app: "db" }));
    server.put(PODS, { ...pod("c", { app: "web" }), metadata: { name: "c", namespace: "other", labels: { app: "web" } } });
    const { informer, log } = start({ namespace: "default", labelSelector: "app=web" });
    await informer.waitForSync(controller.signal);
    expect(informer.lister.listKeys()).toEqual(["default/a"]);
    // Leaving the selection is a delete for this informer.
    await client.patch(PODS, "default", "a", "merge", { metadata: { labels: { app: "db" } } });
    await waitFor(() => log.includes("delete a"), "a leaves the selection");
  });

  it("indexes by namespace and by custom indexers, and freezes cached objects", async () => {
    server.put(PODS, pod("a", {}, "node-1"));
    server.put(PODS, pod("b", {}, "node-2"));
    const { informer } = start<Pod>({ indexers: { byNode: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []) } });
    await informer.waitForSync(controller.signal);
    informer.addIndexers({ byName: (p) => [p.metadata.name ?? ""] });
    expect(informer.lister.byIndex("byNode", "node-1").map((p) => p.metadata.name)).toEqual(["a"]);
    expect(informer.lister.byIndex("byName", "b")).toHaveLength(1);
    expect(informer.lister.listNamespace("default")).toHaveLength(2);
    expect(informer.lister.getByName("default", "a")?.kind).toBe("Pod");
    await client.patch(PODS, "default", "a", "merge", { spec: { nodeName: "node-2" } });
    await waitFor(() => informer.lister.byIndex("byNode", "node-2").length === 2, "re-index");
    expect(informer.lister.byIndex("byNode", "node-1")).toEqual([]);

    const cached = informer.lister.get("default/a")!;
    expect(() => {
      (cached.metadata as { name?: string }).name = "mutated";
    }).toThrow(TypeError);
    const copy = structuredClone(cached);
    copy.metadata.name = "fine";
    expect(copy.metadata.name).toBe("fine");
  });

  it("freezes managedFields entries deeply but each fieldsV1 at its top only", async () => {
    const fieldsV1 = { "f:metadata": { "f:labels": { "f:app": {} } } };
    const withFields: Pod = { ...pod("a"), metadata: { ...pod("a").metadata, managedFields: [{ manager: "m", operation: "Update", fieldsType: "FieldsV1", fieldsV1 }] } };
    server.put(PODS, withFields);
    const { informer } = start<Pod>();
    await informer.waitForSync(controller.signal);
    const entry = informer.lister.get("default/a")!.metadata.managedFields![0]!;
    expect(Object.isFrozen(entry)).toBe(true);
    const set = entry.fieldsV1 as Record<string, Record<string, unknown>>;
    expect(Object.isFrozen(set)).toBe(true);
    expect(() => {
      set["f:spec"] = {};
    }).toThrow(TypeError);
    // Not walked: the nested field set stays as decoded.
    expect(Object.isFrozen(set["f:metadata"])).toBe(false);
    expect(informer.lister.get("default/a")!.metadata.managedFields![0]!.fieldsV1).toEqual(fieldsV1);
  });

  it("replays cached objects to a handler added after sync", async () => {
    server.put(PODS, pod("a"));
    const { informer } = start();
    await informer.waitForSync(controller.signal);
    const late = recorder();
    const reg = informer.addEventHandler(late);
    expect(late.log).toEqual(["add a (initial)"]);
    expect(reg.hasSynced()).toBe(true);
    reg.remove();
    // Every handler hears an event in the same turn, so once one that stayed has heard of b, the removed one would have.
    const stayed = recorder();
    informer.addEventHandler(stayed);
    await client.create(PODS, "default", pod("b"));
    await waitFor(() => stayed.log.includes("add b"), "b");
    expect(late.log).toEqual(["add a (initial)"]);
  });

  it("shares one informer per resource through the factory", async () => {
    const factory = new InformerFactory({ client, backoff: { initialMs: 5, maxMs: 20 } });
    const a = factory.forResource(PODS);
    const b = factory.forResource<Pod>(PODS);
    expect(a).toBe(b);
    expect(factory.forResource(PODS, { namespace: "x" })).not.toBe(a);
    factory.start(controller.signal);
    expect(await factory.waitForCacheSync(controller.signal)).toBe(true);
    controller.abort();
    await factory.shutdown();
  });
});

/** A scripted list/watch source for exact sequences (stale events, resync) without HTTP. */
class ScriptedClient implements ListWatchClient {
  lists: KubeList[] = [];
  watches: { events: WatchEvent[]; stopped: boolean }[] = [];

  list<T extends KubeObject>(): Promise<KubeList<T>> {
    const next = this.lists.shift();
    if (!next) return Promise.reject(new Error("no list scripted"));
    return Promise.resolve(next as KubeList<T>);
  }

  watch<T extends KubeObject>(_info: ResourceInfo, _ns: string | undefined, opts: WatchOptions): Promise<WatchSource<T>> {
    const w = this.watches.shift() ?? { events: [], stopped: false }; // nothing more scripted: an idle watch
    const signal = opts.signal;
    // Stays open until stopped or aborted, like a real watch.
    const closed = new Promise<void>((resolve) => {
      signal?.addEventListener("abort", () => { resolve(); }, { once: true });
      const poll = setInterval(() => {
        if (w.stopped) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
      void closed.then(() => { clearInterval(poll); });
    });
    return Promise.resolve({
      stop: () => {
        w.stopped = true;
      },
      async *[Symbol.asyncIterator]() {
        for (const ev of w.events) {
          await Promise.resolve();
          if (w.stopped || signal?.aborted) return;
          yield ev as WatchEvent<T>;
        }
        await closed;
      },
    });
  }
}

const rv = (name: string, resourceVersion: string, extra: Record<string, unknown> = {}): KubeObject => ({ metadata: { name, namespace: "default", resourceVersion }, ...extra });

describe("informer with a scripted source", () => {
  it("drops events whose resourceVersion is not newer than the cached object", async () => {
    const source = new ScriptedClient();
    source.lists.push({ metadata: { resourceVersion: "10" }, items: [rv("a", "10")] });
    source.watches.push({
      stopped: false,
      events: [
        { type: "MODIFIED", object: rv("a", "9") },
        { type: "ADDED", object: rv("a", "10") },
        { type: "MODIFIED", object: rv("a", "12") },
        { type: "MODIFIED", object: rv("a", "11") },
        { type: "DELETED", object: rv("ghost", "13") },
        { type: "DELETED", object: rv("a", "14") },
      ],
    });
    const informer = createInformer({ client: source, resource: PODS });
    const rec = recorder();
    informer.addEventHandler(rec);
    const ac = new AbortController();
    const done = informer.run(ac.signal);
    await waitFor(() => rec.log.length === 3, "events");
    await flushPromises();
    expect(rec.log).toEqual(["add a (initial)", "update a 10->12", "delete a"]);
    expect(informer.lastSyncResourceVersion()).toBe("14");
    ac.abort();
    await done;
  });

  it("keeps delivering to other handlers when one throws", async () => {
    const source = new ScriptedClient();
    source.lists.push({ metadata: { resourceVersion: "1" }, items: [rv("a", "1")] });
    const informer = createInformer({ client: source, resource: PODS });
    informer.addEventHandler({
      onAdd: () => {
        throw new Error("handler bug");
      },
    });
    const rec = recorder();
    informer.addEventHandler(rec);
    const ac = new AbortController();
    const done = informer.run(ac.signal);
    await informer.waitForSync(ac.signal);
    expect(rec.log).toEqual(["add a (initial)"]);
    ac.abort();
    await done;
  });

  it("resyncs every period with onUpdate(obj, obj)", async () => {
    const clock = new FakeClock();
    const source = new ScriptedClient();
    source.lists.push({ metadata: { resourceVersion: "1" }, items: [rv("a", "1"), rv("b", "1")] });
    const informer = createInformer({ client: source, resource: PODS, resyncPeriodMs: 30_000, clock });
    const rec = recorder();
    informer.addEventHandler(rec);
    const ac = new AbortController();
    const done = informer.run(ac.signal);
    await informer.waitForSync(ac.signal);
    rec.log.length = 0;
    await clock.advance(29_999);
    expect(rec.log).toEqual([]);
    await clock.advance(1);
    expect(rec.log.sort()).toEqual(["update a 1->1", "update b 1->1"]);
    ac.abort();
    await done;
  });
});

describe("deepFreeze", () => {
  /** Every object reachable through own enumerable properties and array elements, with its path. */
  function objects(value: unknown, path = "$"): [string, object][] {
    if (typeof value !== "object" || value === null) return [];
    return [[path, value], ...Object.entries(value).flatMap(([k, v]) => objects(v, `${path}.${k}`))];
  }

  it("freezes every nested object and array, through arrays of arrays, and leaves primitives alone", () => {
    const obj = {
      metadata: { name: "a", labels: { app: "web" }, ownerReferences: [{ uid: "1", controller: true }] },
      spec: { containers: [{ name: "c", ports: [{ containerPort: 80 }], args: ["x", "y"] }], matrix: [[{ a: 1 }], [], [[null]]] },
      status: { phase: "Running", conditions: [], empty: {}, nothing: null, count: 0, flag: false },
    };
    expect(deepFreeze(obj)).toBe(obj);
    const all = objects(obj);
    expect(all.length).toBeGreaterThan(15);
    for (const [path, o] of all) expect(Object.isFrozen(o), path).toBe(true);
    expect(() => {
      (obj.spec.matrix[0]![0] as { a: number }).a = 2;
    }).toThrow(TypeError);
    expect(deepFreeze("text")).toBe("text");
    expect(deepFreeze(null)).toBe(null);
  });

  it("takes an already-frozen subtree as it is and freezes what is around it", () => {
    const shared = Object.freeze({ inner: { notFrozen: true } });
    const obj = { a: shared, b: { c: [shared, { d: {} }] } };
    deepFreeze(obj);
    expect(Object.isFrozen(shared.inner)).toBe(false);
    for (const [path, o] of objects(obj).filter(([path]) => !path.includes(".inner"))) expect(Object.isFrozen(o), path).toBe(true);
  });

  it("freezes own properties only, not what an object inherits", () => {
    const inherited = { mutable: {} };
    const obj = Object.create(inherited) as { own: object; mutable: object };
    obj.own = {};
    deepFreeze(obj);
    expect(Object.isFrozen(obj.own)).toBe(true);
    expect(Object.isFrozen(inherited.mutable)).toBe(false);
  });
});

describe("Indexer", () => {
  const byNode = (p: Readonly<Pod>): readonly string[] => (p.spec?.nodeName ? [p.spec.nodeName] : []);
  const names = (objs: readonly Readonly<Pod>[]): string[] => objs.map((p) => p.metadata.name ?? "").sort();

  it("moves an object between index values when they change, and keeps it when they do not", () => {
    const store = new Indexer<Pod>({ byNode, byLabel: (p) => Object.entries(p.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`) });
    store.upsert("default/a", pod("a", { app: "web" }, "n1"));
    store.upsert("default/b", pod("b", { app: "web", tier: "fe" }, "n1"));
    store.upsert("default/a", pod("a", { app: "web" }, "n1")); // nothing changes
    expect(names(store.byIndex("byNode", "n1"))).toEqual(["a", "b"]);
    store.upsert("default/a", pod("a", { app: "db" }, "n2"));
    expect(names(store.byIndex("byNode", "n1"))).toEqual(["b"]);
    expect(names(store.byIndex("byNode", "n2"))).toEqual(["a"]);
    expect(names(store.byIndex("byLabel", "app=web"))).toEqual(["b"]);
    expect(names(store.byIndex("byLabel", "app=db"))).toEqual(["a"]);
    store.upsert("default/b", pod("b", { tier: "fe", app: "web" })); // same labels in another order, node gone
    expect(names(store.byIndex("byLabel", "app=web"))).toEqual(["b"]);
    expect(names(store.byIndex("byLabel", "tier=fe"))).toEqual(["b"]);
    expect(names(store.byIndex("byNode", "n1"))).toEqual([]);
    // The newest object is what the index returns, even when its values did not change.
    const updated = { ...pod("a", { app: "db" }, "n2"), status: { phase: "Running" } };
    store.upsert("default/a", updated);
    expect(store.byIndex("byNode", "n2")[0]).toBe(updated);
    expect(store.delete("default/a")).toBe(updated);
    expect(store.byIndex("byNode", "n2")).toEqual([]);
    expect(store.byIndex("byLabel", "app=db")).toEqual([]);
    expect(names(store.listNamespace("default"))).toEqual(["b"]);
  });
});

describe("isNewerResourceVersion", () => {
  it("compares decimal resourceVersions as integers of any length, other formats as different-so-newer", () => {
    const cases: [string | undefined, string | undefined, boolean][] = [
      ["10", "9", true],
      ["9", "10", false],
      ["10", "10", false],
      ["007", "7", false],
      ["8", "007", true],
      ["999999999999999", "1000000000000000", false], // 15 vs 16 digits
      ["9007199254740993", "9007199254740992", true], // beyond Number's exact integers
      ["9007199254740992", "9007199254740993", false],
      ["123456789012345678901234567890", "123456789012345678901234567889", true],
      ["12", "100000000000000000000", false],
      ["abc", "abc", false],
      ["abc", "abd", true],
      ["5", "", true],
      [undefined, "5", true],
    ];
    for (const [candidate, current, newer] of cases) expect(isNewerResourceVersion(candidate, current), `${candidate ?? "undefined"} vs ${current ?? "undefined"}`).toBe(newer);
  });
});
