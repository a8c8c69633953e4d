import { Etcd3 } from "etcd3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { newPod } from "../../api/testing/builders.js";
import { startEtcd, type EtcdHandle } from "../../test/support/etcd.js";
import { EtcdStorage } from "./etcd-storage.js";
import { StorageError, type CacheEvent } from "./interfaces.js";
import { createWatchCache, type EtcdWatchCache, type WatchCacheOptions, type WatchCacheSource } from "./watch-cache.js";

/** Polls `probe` until it returns something other than undefined/false. */
async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A sink that records what it gets, and how the watch ended. */
function recorder(): { events: CacheEvent[]; closed: string[]; sink: (e: CacheEvent) => void; onClose: (reason: string) => void } {
  const events: CacheEvent[] = [];
  const closed: string[] = [];
  return { events, closed, sink: (e) => events.push(e), onClose: (reason) => closed.push(reason) };
}

const summary = (events: CacheEvent[]): string[] => events.map((e) => `${e.type} ${e.object.metadata.name ?? ""}`);

describe("EtcdWatchCache against a real etcd", () => {
  let etcd: EtcdHandle;
  let storage: EtcdStorage;
  let raw: Etcd3;
  const caches: EtcdWatchCache[] = [];
  let seq = 0;

  /** A cache on a fresh prefix so tests don't see each other's objects. */
  async function newCache(options: WatchCacheOptions = {}, prefix = `/registry/pods-${++seq}/`): Promise<{ cache: EtcdWatchCache; prefix: string }> {
    const cache = createWatchCache(storage, prefix, options);
    caches.push(cache);
    await cache.start();
    return { cache, prefix };
  }

  const put = (prefix: string, name: string, labels?: Record<string, string>, namespace = "default"): Promise<KubeObject> =>
    storage.create(`${prefix}${namespace}/${name}`, newPod(name, labels ? { labels, namespace } : { namespace }));

  beforeAll(async () => {
    etcd = await startEtcd();
    storage = new EtcdStorage({ endpoints: [etcd.endpoint] });
    raw = new Etcd3({ hosts: etcd.endpoint });
  });

  afterEach(() => {
    for (const cache of caches.splice(0)) cache.stop();
  });

  afterAll(async () => {
    raw.close();
    await storage.close();
    await etcd.destroy();
  });

  it("decodes listed values when first asked for: by key, by a change, or all at once; an undecodable one stays hidden", async () => {
    const prefix = `/registry/pods-${++seq}/`;
    const a = await put(prefix, "a");
    const b = await put(prefix, "b");
    await put(prefix, "c");
    await raw.put(`${prefix}default/bad`).value("{not json");
    const { cache } = await newCache({}, prefix);
    // Listed but not decoded yet: counted, and the undecodable value among them until it is decoded.
    expect(cache.objectCount).toBe(4);
    expect(cache.get(`${prefix}default/a`)?.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
    expect(cache.get(`${prefix}default/bad`)).toBeUndefined();
    expect(cache.objectCount).toBe(3);

    // A change to a listed, never decoded object carries the listed object as the previous one.
    const all = recorder();
    cache.watch({ fromRevision: cache.revision }, all.sink, all.onClose);
    await storage.delete(`${prefix}default/b`);
    await waitFor("the delete", () => all.events.length === 1);
    expect(all.events[0]?.type).toBe("DELETED");
    expect(all.events[0]?.prevObject?.metadata.resourceVersion).toBe(b.metadata.resourceVersion);

    const listed = await cache.list({});
    expect(listed.items.map((o) => `${o.metadata.name ?? ""}@${o.metadata.resourceVersion ?? ""}`)).toEqual([`a@${a.metadata.resourceVersion ?? ""}`, expect.stringMatching(/^c@\d+$/)]);
    expect(cache.objectCount).toBe(2);
  });

  it("serves the listed state, then live events, and resumes a watch from a resourceVersion", async () => {
    const prefix = `/registry/pods-${++seq}/`;
    await put(prefix, "a");
    await put(prefix, "b");
    const { cache } = await newCache({}, prefix);
    const listed = await cache.list({});
    expect(listed.items.map((o) => o.metadata.name)).toEqual(["a", "b"]);
    expect(cache.get(`${prefix}default/a`)?.metadata.name).toBe("a");

    const all = recorder();
    cache.watch({}, all.sink, all.onClose);
    const c = await put(prefix, "c");
    const a = cache.get(`${prefix}default/a`)!;
    await storage.update(`${prefix}default/a`, { ...a, metadata: { ...a.metadata, labels: { v: "2" } } });
    await storage.delete(`${prefix}default/b`);
    await waitFor("live events", () => all.events.length === 5);
    expect(summary(all.events)).toEqual(["ADDED a", "ADDED b", "ADDED c", "MODIFIED a", "DELETED b"]);
    const deleted = all.events[4]!;
    expect(deleted.object.metadata.resourceVersion).toBe(String(deleted.revision));
    expect(deleted.prevObject?.metadata.resourceVersion).toBe(listed.items[1]!.metadata.resourceVersion);
    expect(all.events[3]!.prevObject?.metadata.labels).toBeUndefined();
    expect(cache.revision).toBe(deleted.revision);

    // From c's revision: exactly the two later changes.
    const resumed = recorder();
    cache.watch({ fromRevision: Number(c.metadata.resourceVersion) }, resumed.sink, resumed.onClose);
    await waitFor("replayed events", () => resumed.events.length === 2);
    expect(summary(resumed.events)).toEqual(["MODIFIED a", "DELETED b"]);
    expect(cache.etcdWatchesOpened).toBe(1);
  });

  it("answers a watch from before its ring with Compacted, and keeps serving newer revisions", async () => {
    const { cache, prefix } = await newCache({ capacity: 5 });
    const first = await put(prefix, "p");
    let latest = first;
    for (let i = 0; i < 12; i++) latest = await storage.update(`${prefix}default/p`, { ...latest, metadata: { ...latest.metadata, labels: { i: String(i) } } });
    await cache.waitForRevision(Number(latest.metadata.resourceVersion));

    const from = Number(first.metadata.resourceVersion);
    let thrown: unknown;
    try {
      cache.watch({ fromRevision: from }, () => undefined, () => undefined);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(StorageError);
    expect((thrown as StorageError).code).toBe("Compacted");
    expect((thrown as StorageError).message).toBe(`too old resource version: ${from} (${cache.oldestResumableRevision})`);

    const ok = recorder();
    cache.watch({ fromRevision: cache.oldestResumableRevision }, ok.sink, ok.onClose);
    await waitFor("the retained events", () => ok.events.length === 5);
    expect(ok.events.map((e) => e.object.metadata.labels?.i)).toEqual(["7", "8", "9", "10", "11"]);
  });

  it("turns label changes into DELETED and ADDED for a filtered watch, and scopes by namespace prefix", async () => {
    const { cache, prefix } = await newCache();
    const frontend = (o: KubeObject): boolean => o.metadata.labels?.tier === "frontend";
    const filtered = recorder();
    cache.watch({ filter: frontend }, filtered.sink, filtered.onClose);
    const scoped = recorder();
    cache.watch({ prefix: `${prefix}team-a/` }, scoped.sink, scoped.onClose);

    const web = await put(prefix, "web", { tier: "backend" });
    const moved = await storage.update(`${prefix}default/web`, { ...web, metadata: { ...web.metadata, labels: { tier: "frontend" } } });
    const touched = await storage.update(`${prefix}default/web`, { ...moved, metadata: { ...moved.metadata, annotations: { touched: "yes" } } });
    await storage.update(`${prefix}default/web`, { ...touched, metadata: { ...touched.metadata, labels: { tier: "backend" } } });
    await put(prefix, "api", { tier: "frontend" }, "team-a");
    await storage.delete(`${prefix}team-a/api`);
    await cache.waitForRevision(await storage.currentRevision());

    await waitFor("filtered events", () => filtered.events.length === 5);
    expect(summary(filtered.events)).toEqual(["ADDED web", "MODIFIED web", "DELETED web", "ADDED api", "DELETED api"]);
    // The DELETED for an object that stopped matching carries its new state.
    expect(filtered.events[2]!.object.metadata.labels).toEqual({ tier: "backend" });
    expect(summary(scoped.events)).toEqual(["ADDED api", "DELETED api"]);
    const listed = await cache.list({ prefix: `${prefix}default/`, filter: frontend });
    expect(listed.items).toEqual([]);
  });

  it("sends bookmarks with the cache's revision to watchers that ask for them", async () => {
    const { cache, prefix } = await newCache({ bookmarkIntervalMs: 50 });
    await put(prefix, "x");
    await cache.waitForRevision(await storage.currentRevision());
    const withBookmarks = recorder();
    const without = recorder();
    cache.watch({ fromRevision: cache.revision, bookmarks: true }, withBookmarks.sink, withBookmarks.onClose);
    cache.watch({ fromRevision: cache.revision }, without.sink, without.onClose);
    const bookmark = await waitFor("a bookmark", () => withBookmarks.events.find((e) => e.type === "BOOKMARK"));
    expect(bookmark.object).toEqual({ metadata: { resourceVersion: String(cache.revision) } });
    expect(bookmark.revision).toBe(cache.revision);
    expect(without.events).toEqual([]);
  });

  it("feeds 1,000 watchers from exactly one etcd watch", async () => {
    const streamsBefore = storage.watchStreamsOpened;
    const { cache, prefix } = await newCache();
    const watchers = Array.from({ length: 1000 }, (_, i) => {
      const r = recorder();
      cache.watch(i % 2 === 0 ? {} : { prefix: `${prefix}odd/` }, r.sink, r.onClose);
      return r;
    });
    expect(cache.watcherCount).toBe(1000);
    for (let i = 0; i < 10; i++) await put(prefix, `p${i}`, undefined, i % 2 === 0 ? "even" : "odd");
    await waitFor("every watcher to see every event", () => watchers.every((w, i) => w.events.length === (i % 2 === 0 ? 10 : 5)));
    expect(cache.etcdWatchesOpened).toBe(1);
    expect(storage.watchStreamsOpened - streamsBefore).toBe(1);
  });

  it("closes a congested watcher when its buffer overflows, without holding up the others", async () => {
    const { cache, prefix } = await newCache({ watcherBufferSize: 10 });
    const stuck = recorder();
    cache.watch({}, (e) => {
      stuck.events.push(e);
      return new Promise<never>(() => undefined); // the consumer never drains
    }, stuck.onClose);
    const fast = recorder();
    cache.watch({}, fast.sink, fast.onClose);
    for (let i = 0; i < 15; i++) await put(prefix, `p${i}`);
    await waitFor("the congested watcher to be closed", () => stuck.closed.length === 1);
    expect(stuck.closed).toEqual(["overflow"]);
    expect(stuck.events).toHaveLength(1);
    await waitFor("the fast watcher to get everything", () => fast.events.length === 15);
    expect(cache.watcherCount).toBe(1);
  });

  it("catches up to etcd's revision for list({minRevision}) when only other prefixes changed", async () => {
    const { cache, prefix } = await newCache({ waitTimeoutMs: 300 });
    await put(prefix, "mine");
    for (let i = 0; i < 5; i++) await put("/registry/elsewhere/", `o${i}-${seq}`);
    const target = await storage.currentRevision();
    expect(cache.revision).toBeLessThan(target);
    const listed = await cache.list({ minRevision: target });
    expect(listed.revision).toBeGreaterThanOrEqual(target);
    expect(listed.items.map((o) => o.metadata.name)).toEqual(["mine"]);

    // A watch from that revision gets only what follows it.
    const w = recorder();
    cache.watch({ fromRevision: target }, w.sink, w.onClose);
    await put(prefix, "next");
    await waitFor("the next event", () => w.events.length === 1);
    expect(summary(w.events)).toEqual(["ADDED next"]);

    const err = await cache.list({ minRevision: target + 1_000_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe("Timeout");
  });

  it("still delivers the events of a key created and deleted while catching up (the check cannot see such a key)", async () => {
    // The etcd watch's events are held back until released, so catchUp answers a waiter first: it finds no key
    // changed and the count the same, and moves the revision past the create and the delete.
    const held: (() => void)[] = [];
    let holding = false;
    const source: WatchCacheSource = Object.create(storage) as EtcdStorage;
    source.watchPrefix = (watched, start, handlers) =>
      storage.watchPrefix(watched, start, {
        ...handlers,
        onEvents: (events) => {
          if (holding) held.push(() => { handlers.onEvents(events); });
          else handlers.onEvents(events);
        },
      });
    const prefix = `/registry/pods-${++seq}/`;
    const cache = createWatchCache(source, prefix, { waitTimeoutMs: 5_000 });
    caches.push(cache);
    await cache.start();
    holding = true;
    const created = await put(prefix, "fleeting");
    await storage.delete(`${prefix}default/fleeting`);
    const etcdRevision = await storage.currentRevision();
    const w = recorder();
    cache.watch({ fromRevision: Number(created.metadata.resourceVersion) }, w.sink, w.onClose);
    await cache.list({ minRevision: etcdRevision });
    expect(cache.revision).toBeGreaterThanOrEqual(etcdRevision);
    holding = false;
    for (const release of held.splice(0)) release();
    await waitFor("the DELETED event", () => w.events.length === 1);
    expect(summary(w.events)).toEqual(["DELETED fleeting"]);
    // A watch from before the create sees both, in order.
    const early = recorder();
    cache.watch({ fromRevision: Number(created.metadata.resourceVersion) - 1 }, early.sink, early.onClose);
    await waitFor("the replayed events", () => early.events.length === 2);
    expect(summary(early.events)).toEqual(["ADDED fleeting", "DELETED fleeting"]);
  });

  it("keeps serving while etcd is down, times out consistent reads, and resumes after a restart", async () => {
    const { cache, prefix } = await newCache({ waitTimeoutMs: 500 });
    await put(prefix, "before");
    const w = recorder();
    cache.watch({}, w.sink, w.onClose);
    await waitFor("the first event", () => w.events.length === 1);

    await etcd.stop(true);
    expect(cache.ready).toBe(true);
    expect((await cache.list({})).items.map((o) => o.metadata.name)).toEqual(["before"]);
    const started = Date.now();
    const err = await cache.list({ minRevision: cache.revision + 1 }).catch((e: unknown) => e);
    expect((err as StorageError).code).toBe("Timeout");
    expect(Date.now() - started).toBeLessThan(2000);
    const down = await storage.get(`${prefix}default/before`).catch((e: unknown) => e);
    expect(["Unavailable", "Timeout"]).toContain((down as StorageError).code);

    await etcd.restart();
    await waitFor("etcd to be reachable", () => storage.healthy());
    await put(prefix, "after");
    await waitFor("the change made after the restart", () => w.events.length === 2);
    expect(summary(w.events)).toEqual(["ADDED before", "ADDED after"]);
    expect(w.closed).toEqual([]);
    expect(cache.etcdWatchesOpened).toBeGreaterThan(1);
  });

  it("re-lists and closes watchers when etcd compacted past its revision while it was away", async () => {
    // A long reconnect delay leaves time to change and compact etcd before the caches come back.
    const backoff = { reconnectBackoffMs: { initial: 6000, max: 6000 } };
    const busy = await newCache(backoff);
    const idle = await newCache(backoff);
    await put(busy.prefix, "old");
    await put(idle.prefix, "still");
    await busy.cache.waitForRevision(await storage.currentRevision());
    await idle.cache.waitForRevision(await storage.currentRevision());
    const busyWatch = recorder();
    const idleWatch = recorder();
    busy.cache.watch({}, busyWatch.sink, busyWatch.onClose);
    idle.cache.watch({}, idleWatch.sink, idleWatch.onClose);

    await etcd.stop(true);
    await etcd.restart();
    await storage.delete(`${busy.prefix}default/old`);
    await put(busy.prefix, "new");
    await raw.kv.compact({ revision: await storage.currentRevision(), physical: true });

    await waitFor("the busy cache to re-list", () => busyWatch.closed.length === 1, 20_000);
    expect(busyWatch.closed).toEqual(["relist"]);
    expect((await busy.cache.list({})).items.map((o) => o.metadata.name)).toEqual(["new"]);
    expect(() => busy.cache.watch({ fromRevision: 2 }, () => undefined, () => undefined)).toThrow(/too old resource version/);

    // The idle prefix did not change: its cache resumes at etcd's revision and keeps its watchers.
    const revision = await storage.currentRevision();
    await waitFor("the idle cache to resume", () => idle.cache.revision >= revision, 20_000);
    expect(idleWatch.closed).toEqual([]);
    await put(idle.prefix, "later");
    await waitFor("the idle watcher's next event", () => idleWatch.events.length === 2);
    expect(summary(idleWatch.events)).toEqual(["ADDED still", "ADDED later"]);
  });
});
