import { describe, expect, it } from "vitest";
import type { KubeObject } from "../api/meta.js";
import { silentLogger } from "../component-base/logging.js";
import { allSettledOrThrow, BootstrapController, SYSTEM_NAMESPACES } from "./bootstrap.js";
import { memoryRegistry } from "./registry/testing/memory-storage.js";

const bootstrapOn = async (): Promise<{ registry: Awaited<ReturnType<typeof memoryRegistry>>["registry"]; bootstrap: BootstrapController }> => {
  // An empty etcd: not even the default namespace exists (the objects in it must wait for it).
  const { registry } = await memoryRegistry({ namespaces: [] });
  const bootstrap = new BootstrapController({ registry, logger: silentLogger(), kubernetesServiceIP: "10.96.0.1", advertiseAddress: "192.0.2.10", port: 6443 });
  return { registry, bootstrap };
};

describe("BootstrapController.reconcile", () => {
  it("creates the system namespaces, PriorityClasses and the kubernetes Service, Endpoints and EndpointSlice on an empty store", async () => {
    const { registry, bootstrap } = await bootstrapOn();
    await bootstrap.reconcile();
    const namespaces = await registry.core("namespaces").list(undefined, {});
    expect(namespaces.items.map((n) => n.metadata.name).sort()).toEqual([...SYSTEM_NAMESPACES].sort());
    const classes = await registry.store("scheduling.k8s.io", "v1", "priorityclasses")!.list(undefined, {});
    expect(classes.items.map((c) => c.metadata.name).sort()).toEqual(["system-cluster-critical", "system-node-critical"]);
    const service = await registry.core("services").get("default", "kubernetes");
    expect(service.spec).toMatchObject({ clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443, targetPort: 6443 }] });
    const endpoints = await registry.core("endpoints").get("default", "kubernetes");
    expect(endpoints.subsets).toEqual([{ addresses: [{ ip: "192.0.2.10" }], ports: [{ name: "https", port: 6443, protocol: "TCP" }] }]);
    const slice = await registry.store("discovery.k8s.io", "v1", "endpointslices")!.get("default", "kubernetes");
    expect((slice as KubeObject & { endpoints?: unknown }).endpoints).toEqual([{ addresses: ["192.0.2.10"], conditions: { ready: true } }]);
  });

  it("is idempotent, and brings changed Endpoints back", async () => {
    const { registry, bootstrap } = await bootstrapOn();
    await bootstrap.reconcile();
    const endpointsStore = registry.core("endpoints");
    const before = await endpointsStore.get("default", "kubernetes");
    await endpointsStore.update("default", "kubernetes", { ...before, subsets: [{ addresses: [{ ip: "192.0.2.99" }], ports: [{ name: "https", port: 1, protocol: "TCP" }] }] });
    await bootstrap.reconcile();
    await bootstrap.reconcile();
    const after = await endpointsStore.get("default", "kubernetes");
    expect(after.subsets).toEqual(before.subsets);
    expect((await registry.core("services").list(undefined, {})).items).toHaveLength(1);
  });
});

describe("allSettledOrThrow", () => {
  it("rejects with the first failure only after every step has settled", async () => {
    let slowDone = false;
    const slow = new Promise<void>((resolve) => setTimeout(() => { slowDone = true; resolve(); }, 20));
    await expect(allSettledOrThrow([Promise.reject(new Error("first")), slow, Promise.reject(new Error("second"))])).rejects.toThrow("first");
    expect(slowDone).toBe(true);
  });
});
