import { createServer, type Server, type Socket } from "node:net";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newConfigMap, newPod } from "../../api/testing/builders.js";
import type { KubeObject } from "../../api/meta.js";
import { startEtcd, type EtcdHandle } from "../../test/support/etcd.js";
import { EtcdStorage, decodeLenient, type RawWatchEvent } from "./etcd-storage.js";
import { StorageError, isStorageError, type StorageErrorCode } from "./interfaces.js";

/** Polls `probe` until it returns something other than undefined/false. */
async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function storageError(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof StorageError) return err;
    throw new Error(`expected a StorageError, got ${String(err)}`);
  }
  throw new Error("expected a StorageError, but the call succeeded");
}

async function expectCode(promise: Promise<unknown>, code: StorageErrorCode): Promise<StorageError> {
  const err = await storageError(promise);
  expect(err.code).toBe(code);
  return err;
}

describe("EtcdStorage against a real etcd", () => {
  let etcd: EtcdHandle;
  let storage: EtcdStorage;
  let raw: Etcd3;
  const observed: { operation: string; type: string }[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    storage = new EtcdStorage({
      endpoints: [etcd.endpoint],
      prefix: "/registry",
      observe: (operation, type) => observed.push({ operation, type }),
    });
    raw = new Etcd3({ hosts: etcd.endpoint });
  });

  afterAll(async () => {
    raw.close();
    await storage.close();
    await etcd.destroy();
  });

  it("creates, reads, updates and deletes with resourceVersion equal to the etcd mod revision", async () => {
    const key = "/registry/pods/default/web";
    const created = await storage.create(key, newPod("web", { meta: { resourceVersion: "999" } }));
    const stored = await raw.get(key).string();
    expect(JSON.parse(stored ?? "{}")).not.toHaveProperty("metadata.resourceVersion");
    const kv = (await raw.get(key).exec()).kvs[0]!;
    expect(created.metadata.resourceVersion).toBe(kv.mod_revision);

    const got = await storage.get(key);
    expect(got?.metadata).toEqual({ ...created.metadata });
    expect(await storage.get("/registry/pods/default/missing")).toBeUndefined();
    expect(observed).toContainEqual({ operation: "create", type: "pods" });
    expect(observed).toContainEqual({ operation: "get", type: "pods" });

    const labelled = { ...created, metadata: { ...created.metadata, labels: { tier: "web" } } };
    const updated = await storage.update(key, labelled, Number(created.metadata.resourceVersion));
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    expect((await storage.get(key))?.metadata.labels).toEqual({ tier: "web" });

    await expectCode(storage.create(key, newPod("web")), "KeyExists");
    const conflict = await expectCode(storage.update(key, labelled, Number(created.metadata.resourceVersion)), "Conflict");
    expect(conflict.key).toBe(key);
    await expectCode(storage.update("/registry/pods/default/missing", newPod("missing")), "KeyNotFound");
    await expectCode(storage.delete(key, Number(created.metadata.resourceVersion)), "Conflict");

    const unconditional = await storage.update(key, updated);
    const deleted = await storage.delete(key, Number(unconditional.metadata.resourceVersion));
    expect(deleted.metadata.name).toBe("web");
    expect(deleted.metadata.labels).toEqual({ tier: "web" });
    expect(Number(deleted.metadata.resourceVersion)).toBe(await storage.currentRevision());
    await expectCode(storage.delete(key), "KeyNotFound");
    expect(await storage.get(key)).toBeUndefined();
  });

  it("guaranteedUpdate applies every concurrent writer's change exactly once", async () => {
    const key = "/registry/configmaps/default/counter";
    await storage.create(key, newConfigMap("counter", { data: { n: "0" } }));
    const increment = (): Promise<KubeObject> =>
      storage.guaranteedUpdate(key, (current) => {
        const data = current.data as Record<string, string>;
        return { ...current, data: { n: String(Number(data.n) + 1) } };
      });
    // Ten writers at a time, three rounds: every attempt races nine others, within the 16-try budget.
    for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 10 }, increment));
    const final = await storage.get(key);
    expect(final?.data).toEqual({ n: "30" });

    // A tryUpdate that changes nothing writes nothing.
    const revision = await storage.currentRevision();
    const same = await storage.guaranteedUpdate(key, (current) => ({ ...current }));
    const untouched = await storage.guaranteedUpdate(key, () => undefined);
    expect(same.metadata.resourceVersion).toBe(final?.metadata.resourceVersion);
    expect(untouched.metadata.resourceVersion).toBe(final?.metadata.resourceVersion);
    expect(await storage.currentRevision()).toBe(revision);

    await expectCode(storage.guaranteedUpdate("/registry/configmaps/default/nope", (c) => c), "KeyNotFound");
    const aborted = new Error("validation failed");
    await expect(storage.guaranteedUpdate(key, () => Promise.reject(aborted))).rejects.toBe(aborted);
  });


  it("guaranteedUpdate from a cached guess: no read when it is current; a stale one is redone on the stored value", async () => {
    const key = "/registry/configmaps/default/guessed";
    const created = await storage.create(key, newConfigMap("guessed", { data: { n: "0" } }));
    const increment = (current: KubeObject): KubeObject => ({ ...current, data: { n: String(Number((current.data as Record<string, string>).n) + 1) } });
    const reads = (): number => observed.filter((o) => o.operation === "get" && o.type === "configmaps").length;

    // A current guess: one write, no read, and the guess itself is left alone.
    const guess = structuredClone(created);
    const before = reads();
    const first = await storage.guaranteedUpdate(key, increment, guess);
    expect(reads()).toBe(before);
    expect(first.data).toEqual({ n: "1" });
    expect(guess).toEqual(created);

    // A stale guess (the value has moved on): the failed compare brings back the stored value, the change is
    // applied to that, and still no separate read is made.
    const second = await storage.guaranteedUpdate(key, increment, created);
    expect(second.data).toEqual({ n: "2" });
    expect(reads()).toBe(before);
    expect((await storage.get(key))?.data).toEqual({ n: "2" });

    // "Nothing to change" and a refusal computed from a stale guess are decided again on a fresh read.
    const revision = await storage.currentRevision();
    const unchanged = await storage.guaranteedUpdate(key, (current) => ((current.data as Record<string, string>).n === "0" ? undefined : increment(current)), created);
    expect(unchanged.data).toEqual({ n: "3" });
    expect(await storage.currentRevision()).toBe(revision + 1);
    const refused = await storage.guaranteedUpdate(key, (current) => {
      if ((current.data as Record<string, string>).n !== "3") throw new Error("refused on stale data");
      return increment(current);
    }, created);
    expect(refused.data).toEqual({ n: "4" });
    const aborted = new Error("refused on current data");
    await expect(storage.guaranteedUpdate(key, () => { throw aborted; }, refused)).rejects.toBe(aborted);
    // An unchanged object from a current guess is confirmed by a read and not written.
    const settled = await storage.currentRevision();
    expect((await storage.guaranteedUpdate(key, () => undefined, refused)).data).toEqual({ n: "4" });
    expect(await storage.currentRevision()).toBe(settled);
    await expectCode(storage.guaranteedUpdate("/registry/configmaps/default/never", increment, { ...created, metadata: { ...created.metadata, name: "never" } }), "KeyNotFound");
  });
  describe("with 10,000 objects of about 2 KB (more than 4 MiB in all)", () => {
    const prefix = "/registry/configmaps/bulk/";
    const count = 10_000;
    const name = (i: number): string => `cm-${String(i).padStart(5, "0")}`;

    beforeAll(async () => {
      // Seed through raw etcd transactions of 100 puts each: fast, and independent of the code under test.
      const payload = "x".repeat(2000);
      for (let batch = 0; batch < count / 100; batch++) {
        const puts = Array.from({ length: 100 }, (_, j) => {
          const i = batch * 100 + j;
          const value = JSON.stringify(newConfigMap(name(i), { namespace: "bulk", data: { payload, i: String(i) } }));
          return { request_put: { key: Buffer.from(prefix + name(i)), value: Buffer.from(value) } };
        });
        await raw.kv.txn({ compare: [], success: puts, failure: [] });
      }
    });

    it("lists everything in etcd pages that stay far below the gRPC message limit", async () => {
      const before = observed.filter((o) => o.operation === "list").length;
      const page = await storage.list(prefix);
      expect(page.items).toHaveLength(count);
      expect(page.continue).toBeUndefined();
      expect(page.items.map((o) => o.metadata.name)).toEqual(Array.from({ length: count }, (_, i) => name(i)));
      expect(page.items.every((o) => Number(o.metadata.resourceVersion) <= page.revision)).toBe(true);
      // ~22 MB read in pages of at most 500 keys (~1.1 MB here); the byte budget would shrink pages of bigger objects.
      const requests = observed.filter((o) => o.operation === "list").length - before;
      expect(requests).toBeGreaterThanOrEqual(count / 500);
    });

    it("pages with limit and continue at the revision of the first page", async () => {
      const first = await storage.list(prefix, { limit: 3000 });
      expect(first.items).toHaveLength(3000);
      expect(first.remainingItemCount).toBe(count - 3000);
      expect(first.continue).toBeDefined();

      // Changes after the first page are invisible to the rest of this list.
      const victim = `${prefix}${name(5000)}`;
      const changed = await storage.get(victim);
      await storage.update(victim, { ...changed!, data: { payload: "changed" } });
      await storage.delete(`${prefix}${name(6000)}`);
      await storage.create(`${prefix}${name(99_999)}`, newConfigMap(name(99_999), { namespace: "bulk" }));

      const names = first.items.map((o) => o.metadata.name);
      let token = first.continue;
      let pages = 1;
      while (token !== undefined) {
        const page = await storage.list(prefix, { limit: 3000, continue: token });
        expect(page.revision).toBe(first.revision);
        names.push(...page.items.map((o) => o.metadata.name));
        if (page.items.some((o) => o.metadata.name === name(5000))) {
          const old = page.items.find((o) => o.metadata.name === name(5000))!;
          expect((old.data as Record<string, string>).payload).toHaveLength(2000);
        }
        token = page.continue;
        pages++;
      }
      expect(pages).toBe(4);
      expect(names).toHaveLength(count);
      expect(new Set(names).size).toBe(count);
      expect(names).toContain(name(6000));
      expect(names).not.toContain(name(99_999));
    });

    it("answers a continue token whose revision was compacted with Compacted", async () => {
      const first = await storage.list(prefix, { limit: 10 });
      await storage.create(`${prefix}zz-after`, newConfigMap("zz-after", { namespace: "bulk" }));
      await raw.kv.compact({ revision: await storage.currentRevision(), physical: true });
      const err = await expectCode(storage.list(prefix, { limit: 10, continue: first.continue! }), "Compacted");
      expect(err.message).toMatch(/^The provided continue parameter is too old/);
      await expectCode(storage.list(prefix, { continue: "not-a-token" }), "Invalid");
    });
  });

  it("expires objects created with a TTL, keeps the lease across updates, and shares one lease per TTL", async () => {
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) => storage.create(`/registry/events/default/ev-${i}`, newConfigMap(`ev-${i}`), { ttlSeconds: 2 })),
    );
    const leases = new Set((await raw.getAll().prefix("/registry/events/").exec()).kvs.map((kv) => kv.lease));
    expect(leases.size).toBe(1);
    expect([...leases][0]).not.toBe("0");

    await storage.update("/registry/events/default/ev-0", created[0]!);
    const kv = (await raw.get("/registry/events/default/ev-0").exec()).kvs[0]!;
    expect(kv.lease).toBe([...leases][0]);

    await waitFor("events to expire", async () => (await storage.listRawKeys("/registry/events/")).length === 0, 15_000);
  });

  it("hands a prefetched list to the next listRaw of its prefix only: a snapshot at its revision, then fresh reads", async () => {
    await storage.create("/registry/configmaps/prefetch/a", newConfigMap("a", { namespace: "prefetch" }));
    storage.prefetchList("/registry/configmaps/prefetch/");
    const { revision: before } = await storage.listRaw("/registry/configmaps/other/");
    // Written after the prefetch was read (listRaw above was sent after it on the same connection).
    await storage.create("/registry/configmaps/prefetch/b", newConfigMap("b", { namespace: "prefetch" }));
    const early = await storage.listRaw("/registry/configmaps/prefetch/");
    expect(early.entries.map((e) => e.key)).toEqual(["/registry/configmaps/prefetch/a"]);
    expect(early.revision).toBeLessThanOrEqual(before);
    const fresh = await storage.listRaw("/registry/configmaps/prefetch/");
    expect(fresh.entries.map((e) => e.key)).toEqual(["/registry/configmaps/prefetch/a", "/registry/configmaps/prefetch/b"]);
    expect(fresh.revision).toBeGreaterThan(early.revision);
  });

  it("keeps a failed prefetch from being an unhandled rejection; the next listRaw fails with a StorageError", async () => {
    const unreachable = new EtcdStorage({ endpoints: ["http://127.0.0.1:1"], prefix: "/registry", requestTimeoutMs: 300 });
    unreachable.prefetchList("/registry/configmaps/");
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(unreachable.listRaw("/registry/configmaps/")).rejects.toBeInstanceOf(StorageError);
    await unreachable.close();
  });

  it("stores raw reservation keys create-if-absent", async () => {
    expect(await storage.createRaw("/registry/ranges/test/a", "ns/one")).toBe(true);
    expect(await storage.createRaw("/registry/ranges/test/a", "ns/two")).toBe(false);
    expect(await storage.getRaw("/registry/ranges/test/a")).toBe("ns/one");
    expect(await storage.createRaw("/registry/ranges/test/b", "ns/two")).toBe(true);
    expect(await storage.listRawKeys("/registry/ranges/test/")).toEqual(["/registry/ranges/test/a", "/registry/ranges/test/b"]);
    expect(await storage.deleteRawIf("/registry/ranges/test/a", "ns/other")).toBe(false);
    expect(await storage.deleteRawIf("/registry/ranges/test/a", "ns/one")).toBe(true);
    await storage.deleteRaw("/registry/ranges/test/b");
    expect(await storage.listRawKeys("/registry/ranges/test/")).toEqual([]);
  });

  /** A watch of `prefix` from the next revision on, collecting its events. */
  async function watchFromNow(prefix: string): Promise<{ events: RawWatchEvent[]; watch: { cancel(): void } }> {
    const events: RawWatchEvent[] = [];
    const start = (await storage.currentRevision()) + 1;
    const watch = storage.watchPrefix(prefix, start, {
      onEvents: (batch) => events.push(...batch),
      onCompacted: () => undefined,
      onBroken: () => undefined,
    });
    return { events, watch };
  }

  it("hands the watch event of its own create the object it wrote, equal to the value decoded; other puts are decoded", async () => {
    const prefix = "/registry/secrets/";
    const { events, watch } = await watchFromNow(prefix);
    const secret = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: "default", uid: `uid-${name}` }, data: { k: "dg==" }, ...extra });
    try {
      // Acknowledged or not yet, the stream gets the object with the create's event (recorded before it is sent).
      const created = await storage.create(`${prefix}default/own`, secret("own"));
      await waitFor("the create's event", () => events.length >= 1);
      // One JSON does not give back (an undefined member): decoded from its value instead.
      await storage.create(`${prefix}default/undefined-member`, secret("undefined-member", { type: undefined }));
      // A failed create forgets its bytes: the same bytes put by another writer are decoded.
      const taken = secret("own", { type: "Opaque" });
      await expectCode(storage.create(`${prefix}default/own`, taken), "KeyExists");
      await raw.put(`${prefix}default/own`).value(JSON.stringify(taken));
      await raw.put(`${prefix}default/foreign`).value(JSON.stringify(secret("foreign")));
      await waitFor("four events", () => events.length >= 4);
      const [own, undefinedMember, overwritten, foreign] = events;
      expect(own?.object).toBeDefined();
      expect(own?.object).toEqual(decodeLenient(own!.value!, own!.revision));
      expect(JSON.stringify(own?.object)).toBe(JSON.stringify(decodeLenient(own!.value!, own!.revision)));
      expect(own?.object).toEqual(created);
      expect(undefinedMember?.object).toBeUndefined();
      expect(overwritten?.object).toBeUndefined();
      expect(foreign?.object).toBeUndefined();
    } finally {
      watch.cancel();
    }
    // Without a watch on the prefix, nothing is recorded (and nothing waits for an event that will not come).
    const unwatched = await storage.create(`${prefix}default/unwatched`, secret("unwatched"));
    expect(unwatched.metadata.resourceVersion).toBeDefined();
  });

  it("hands the watch events of its own updates the objects they wrote, equal to the values decoded", async () => {
    const prefix = "/registry/leases/";
    const { events, watch } = await watchFromNow(prefix);
    const key = `${prefix}default/upd`;
    try {
      const created = await storage.create(key, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "upd", namespace: "default", uid: "u" }, spec: { holderIdentity: "a" } });
      // An update's object carries the revision it was made against, here in the middle of metadata.
      const metadata: KubeObject["metadata"] = { name: "upd", namespace: "default", resourceVersion: created.metadata.resourceVersion ?? "", uid: "u", labels: { l: "1" } };
      const updated = await storage.update(key, { ...created, metadata, spec: { holderIdentity: "b" } }, Number(created.metadata.resourceVersion));
      expect(Object.keys(updated.metadata)[2]).toBe("resourceVersion");
      // One recorded write per key: the next write of the key waits for this one's event (else it is decoded).
      await waitFor("the update's event", () => events.length >= 2);
      // A guaranteedUpdate from a cached guess, as a binding makes it: a new member at the end of spec.
      const bound = await storage.guaranteedUpdate(key, (current) => ({ ...current, spec: { ...(current.spec as object), leaseDurationSeconds: 15 } }), updated);
      await waitFor("the binding's event", () => events.length >= 3);
      // One that changes nothing writes nothing and answers the stored object (decoded: resourceVersion last).
      const revision = await storage.currentRevision();
      const unchanged = await storage.guaranteedUpdate(key, (current) => ({ ...current, metadata: { ...current.metadata } }), bound);
      expect(await storage.currentRevision()).toBe(revision);
      expect(JSON.stringify(unchanged)).toBe(JSON.stringify(decodeLenient(Buffer.from(JSON.stringify({ ...bound, metadata: { ...bound.metadata, resourceVersion: undefined } })), revision)));
      // A failed update forgets its bytes: the same bytes put by another writer are decoded.
      const stale = { ...bound, spec: { holderIdentity: "c" } };
      await expectCode(storage.update(key, stale, Number(created.metadata.resourceVersion)), "Conflict");
      const { resourceVersion: _stale, ...staleMetadata } = stale.metadata;
      await raw.put(key).value(JSON.stringify({ ...stale, metadata: staleMetadata }));
      await waitFor("four events", () => events.length >= 4);
      const [, ownUpdate, ownBinding, foreign] = events;
      for (const event of [ownUpdate, ownBinding]) {
        // Equal to the value decoded, member order included: resourceVersion last, wherever the write had it.
        expect(event?.object).toBeDefined();
        expect(JSON.stringify(event?.object)).toBe(JSON.stringify(decodeLenient(event!.value!, event!.revision)));
      }
      expect(ownUpdate?.object).toEqual(updated);
      expect(Object.keys(ownUpdate?.object?.metadata ?? {}).at(-1)).toBe("resourceVersion");
      expect(ownBinding?.object).toEqual(bound);
      expect(foreign?.object).toBeUndefined();
    } finally {
      watch.cancel();
    }
  });

  it("reports a corrupt value as Invalid instead of handing out garbage", async () => {
    await raw.put("/registry/configmaps/default/corrupt").value("{not json");
    const err = await expectCode(storage.get("/registry/configmaps/default/corrupt"), "Invalid");
    expect(err.key).toBe("/registry/configmaps/default/corrupt");
  });

  it("fails fast with Unavailable while etcd is down, stays alive, and recovers after a restart", async () => {
    expect(await storage.healthy()).toBe(true);
    await etcd.stop(true);

    const started = Date.now();
    const err = await storageError(storage.get("/registry/pods/default/web"));
    expect(["Unavailable", "Timeout"]).toContain(err.code);
    expect(isStorageError(err)).toBe(true);
    await expectCode(storage.create("/registry/pods/default/down", newPod("down")), "Unavailable");
    expect(await storage.healthy()).toBe(false);
    expect(Date.now() - started).toBeLessThan(3000);

    await etcd.restart();
    await waitFor("etcd to be reachable again", () => storage.healthy());
    const created = await storage.create("/registry/pods/default/after", newPod("after"));
    expect((await storage.get("/registry/pods/default/after"))?.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });
});

// A member whose address swallows connections (a killed container's address: the SYNs go nowhere) leaves its gRPC
// channel connecting for many seconds. Played here by a TCP listener that accepts and never speaks HTTP/2: gRPC counts
// a connection as up only once the server's settings arrive.
describe("EtcdStorage with a member that never answers", () => {
  let etcd: EtcdHandle;
  let silent: Server;
  let silentEndpoint: string;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    etcd = await startEtcd();
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    silentEndpoint = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await etcd.destroy();
  });

  it("sends requests and watches to the member that is connected", async () => {
    const storage = new EtcdStorage({ endpoints: [silentEndpoint, etcd.endpoint], requestTimeoutMs: 1000, dialTimeoutMs: 1000 });
    try {
      // The first requests may draw the silent member before either is connected: one such failure each is allowed.
      let failures = 0;
      for (let i = 0; i < 20; i++) {
        try {
          await storage.create(`/registry/configmaps/default/silent-${i}`, newConfigMap(`silent-${i}`));
        } catch (err) {
          if (!isStorageError(err)) throw err;
          failures++;
        }
      }
      expect(failures).toBeLessThanOrEqual(1);

      // Watches have channels of their own, all idle at first: like the watch cache, a watch that breaks (the
      // silent member drawn before any was connected) is opened again, and then goes to the connected member.
      const watchOnce = (n: number): Promise<string | Error> =>
        new Promise((resolve) => {
          const watch = storage.watchPrefix("/registry/configmaps/", 0, {
            onCreated: () => {
              void storage.create(`/registry/configmaps/default/after-watch-${n}`, newConfigMap(`after-watch-${n}`)).catch(resolve);
            },
            onEvents: (events) => {
              watch.cancel();
              resolve(events[0]?.key ?? new Error("an empty batch"));
            },
            onCompacted: () => { resolve(new Error("compacted")); },
            onBroken: (err) => { resolve(err); },
          });
        });
      const attempts: (string | Error)[] = [];
      while (attempts.length < 2 && typeof attempts.at(-1) !== "string") attempts.push(await watchOnce(attempts.length));
      const seen = attempts.at(-1);
      expect(seen).toBe(`/registry/configmaps/default/after-watch-${attempts.length - 1}`);
    } finally {
      await storage.close();
    }
  });
});
