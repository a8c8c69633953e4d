import { describe, expect, it } from "vitest";
import { StatusError } from "../../../api/errors.js";
import type { EndpointSlice } from "../../../api/types/index.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { createLogger } from "../../../component-base/logging.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import {
  ENDPOINT_SLICES,
  EndpointSliceReconciler,
  EndpointSliceTracker,
  groupSlices,
  MANAGED_BY_LABEL,
  newEndpointSlice,
  ownerKeyOf,
  SERVICE_NAME_LABEL,
  sliceSyncFailureLogger,
  StaleCacheError,
} from "./endpointslice-reconciler.js";

const MANAGER = "test-controller.k8s.io";

function slice(name: string, owner: string, managedBy: string, extra: Partial<EndpointSlice> = {}): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "default", uid: `uid-${name}`, labels: { [SERVICE_NAME_LABEL]: owner, [MANAGED_BY_LABEL]: managedBy } },
    addressType: "IPv4",
    endpoints: [],
    ...extra,
  };
}

function toCreate(owner: string): EndpointSlice {
  return newEndpointSlice({
    generateName: `${owner}-`,
    namespace: "default",
    labels: { [SERVICE_NAME_LABEL]: owner, [MANAGED_BY_LABEL]: MANAGER },
    owner: { apiVersion: "v1", kind: "Service", name: owner, uid: "svc-uid", controller: true, blockOwnerDeletion: true },
    addressType: "IPv4",
    ports: [{ name: "http", port: 80, protocol: "TCP" }],
    endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready: true } }],
  });
}

function setup(objects: EndpointSlice[]): { fake: FakeClient; reconciler: EndpointSliceReconciler } {
  const fake = new FakeClient({ clock: new FakeClock(), objects });
  const reconciler = new EndpointSliceReconciler({ client: fake, slices: fake.informer<EndpointSlice>(ENDPOINT_SLICES), managedBy: MANAGER, indexName: "test/owner" });
  return { fake, reconciler };
}

describe("ownerKeyOf", () => {
  it("names the owner of a slice the manager manages, and no owner for anyone else's", () => {
    expect(ownerKeyOf(slice("a", "web", MANAGER), MANAGER)).toBe("default/web");
    expect(ownerKeyOf(slice("b", "web", "someone-else"), MANAGER)).toBeUndefined();
    const unlabelled = slice("c", "web", MANAGER);
    unlabelled.metadata.labels = { [MANAGED_BY_LABEL]: MANAGER };
    expect(ownerKeyOf(unlabelled, MANAGER)).toBeUndefined();
  });
});

describe("newEndpointSlice", () => {
  it("builds a slice named by generateName, owned by the controller reference, annotations only when given", () => {
    const built = toCreate("web");
    expect(built).toEqual({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        generateName: "web-",
        namespace: "default",
        labels: { [SERVICE_NAME_LABEL]: "web", [MANAGED_BY_LABEL]: MANAGER },
        ownerReferences: [{ apiVersion: "v1", kind: "Service", name: "web", uid: "svc-uid", controller: true, blockOwnerDeletion: true }],
      },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready: true } }],
      ports: [{ name: "http", port: 80, protocol: "TCP" }],
    });
    expect("annotations" in built.metadata).toBe(false);
    const annotated = newEndpointSlice({ generateName: "x-", namespace: "ns", labels: {}, annotations: { a: "b" }, owner: built.metadata.ownerReferences![0]!, addressType: "IPv6", ports: [], endpoints: [] });
    expect(annotated.metadata.annotations).toEqual({ a: "b" });
  });
});

describe("groupSlices", () => {
  it("groups slices by key, keeping their order within a group", () => {
    const [a, b, c] = [slice("a", "web", MANAGER), slice("b", "web", MANAGER, { addressType: "IPv6" }), slice("c", "web", MANAGER)];
    const groups = groupSlices([a, b, c], (s) => s.addressType);
    expect([...groups.keys()]).toEqual(["IPv4", "IPv6"]);
    expect(groups.get("IPv4")).toEqual([a, c]);
    expect(groups.get("IPv6")).toEqual([b]);
  });
});

describe("EndpointSliceTracker", () => {
  const cachedAt = (rv: string | undefined) => (name: string) => (rv === undefined ? undefined : { metadata: { name, resourceVersion: rv } });

  it("fails the check until the cache shows our write, then forgets the expectation", () => {
    const tracker = new EndpointSliceTracker();
    tracker.wrote("default/web", { metadata: { name: "web-1", resourceVersion: "20" } });
    expect(() => { tracker.check("default/web", cachedAt("19")); }).toThrow(StaleCacheError);
    expect(() => { tracker.check("default/web", cachedAt(undefined)); }).toThrow(StaleCacheError);
    tracker.check("default/web", cachedAt("20"));
    // Met once, it is not checked again: an older cache is no longer compared.
    tracker.check("default/web", cachedAt("19"));
  });

  it("accepts a cache newer than our write", () => {
    const tracker = new EndpointSliceTracker();
    tracker.wrote("default/web", { metadata: { name: "web-1", resourceVersion: "20" } });
    tracker.check("default/web", cachedAt("25"));
  });

  it("fails the check while a deleted slice is still cached, unless the informer saw it go or the owner is forgotten", () => {
    const tracker = new EndpointSliceTracker();
    tracker.deleted("default/web", "web-1");
    expect(() => { tracker.check("default/web", cachedAt("5")); }).toThrow(/has not caught up with our write of web-1/);
    tracker.gone("default/web", "web-1");
    tracker.check("default/web", cachedAt("5"));
    tracker.deleted("default/web", "web-2");
    tracker.forget("default/web");
    tracker.check("default/web", cachedAt("5"));
  });
});

describe("EndpointSliceReconciler", () => {
  it("lists only its own slices by owner", () => {
    const { reconciler } = setup([slice("mine", "web", MANAGER), slice("theirs", "web", "other"), slice("db", "db", MANAGER)]);
    expect(reconciler.slicesOf("default/web").map((s) => s.metadata.name)).toEqual(["mine"]);
    expect(reconciler.ownerKeyOf(slice("x", "web", "other"))).toBeUndefined();
  });

  it("writes creates, then updates, then deletes, and a sync before the cache catches up fails", async () => {
    const old = slice("old", "web", MANAGER);
    const kept = slice("kept", "web", MANAGER);
    const { fake, reconciler } = setup([old, kept]);
    await reconciler.apply("default/web", "default", { create: [toCreate("web")], update: [{ ...kept, endpoints: [{ addresses: ["10.0.0.2"] }] }], delete: [old] });
    expect(fake.writes().map((a) => `${a.verb} ${a.name ?? a.object?.metadata.generateName ?? ""}`)).toEqual(["create web-", "update kept", "delete old"]);
    expect(fake.actionsFor("delete")[0]?.deleteOptions).toEqual({ preconditions: { uid: "uid-old" } });
    // The tracker holds our three writes; a cache that has none of them is stale.
    expect(() => { reconciler.tracker.check("default/web", (name) => (name === "old" ? old : undefined)); }).toThrow(StaleCacheError);
  });

  it("checks the informer's cache against its own writes", async () => {
    const { fake, reconciler } = setup([]);
    await reconciler.apply("default/web", "default", { create: [toCreate("web")], update: [], delete: [] });
    const created = fake.objects<EndpointSlice>(ENDPOINT_SLICES, "default")[0]!;
    // The fake informer shows writes as they happen, so the cache has caught up.
    expect(reconciler.slicesOf("default/web").map((s) => s.metadata.name)).toEqual([created.metadata.name]);
    reconciler.checkCache("default/web", "default");
  });

  it("treats a delete of a slice already gone as done", async () => {
    const gone = slice("gone", "web", MANAGER);
    const { fake, reconciler } = setup([]);
    await reconciler.deleteAll("default/web", [gone]);
    expect(fake.deleted(ENDPOINT_SLICES.resource)).toEqual(["gone"]);
    expect(() => { reconciler.checkCache("default/web", "default"); }).not.toThrow();
  });

  it("skips creates when asked, and stops quietly at a terminating namespace only when asked", async () => {
    const old = slice("old", "web", MANAGER);
    const terminating = new StatusError(403, "Forbidden", "namespace default is being terminated", { causes: [{ reason: "NamespaceTerminating", message: "", field: "metadata.namespace" }] });

    const skipping = setup([old]);
    await skipping.reconciler.apply("default/web", "default", { create: [toCreate("web")], update: [], delete: [old] }, { skipCreates: true });
    expect(skipping.fake.writes().map((a) => a.verb)).toEqual(["delete"]);

    const stopping = setup([old]);
    stopping.fake.failNext("create", ENDPOINT_SLICES.resource, terminating);
    await stopping.reconciler.apply("default/web", "default", { create: [toCreate("web")], update: [], delete: [old] }, { stopOnNamespaceTerminating: true });
    expect(stopping.fake.writes().map((a) => a.verb)).toEqual(["create"]);

    const failing = setup([old]);
    failing.fake.failNext("create", ENDPOINT_SLICES.resource, terminating);
    await expect(failing.reconciler.apply("default/web", "default", { create: [toCreate("web")], update: [], delete: [old] })).rejects.toThrow(/being terminated/);
  });

  it("forgets a deleted slice's expectation when the informer reports it gone", async () => {
    const old = slice("old", "web", MANAGER);
    const { reconciler } = setup([old]);
    await reconciler.deleteAll("default/web", [old]);
    expect(() => { reconciler.tracker.check("default/web", () => old); }).toThrow(StaleCacheError);
    expect(reconciler.sliceGone(old)).toBe("default/web");
    expect(reconciler.sliceGone(slice("x", "web", "other"))).toBeUndefined();
    reconciler.tracker.check("default/web", () => old);
  });
});

describe("sliceSyncFailureLogger", () => {
  it("logs a stale cache at debug and any other failure as a warning, with the retries so far", () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("test", { level: "debug", destination: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } } });
    const log = sliceSyncFailureLogger(logger, { numRequeues: () => 3 }, "Syncing failed");
    log("default/web", new StaleCacheError("default/web", "web-1"));
    log("default/web", new Error("boom"));
    expect(lines.map((l) => [l.level, l.key, l.retries, l.msg])).toEqual([["debug", "default/web", 3, "Syncing failed"], ["warn", "default/web", 3, "Syncing failed"]]);
    expect(lines[1]?.err).toBe("boom");
  });
});
