import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEtcd, type EtcdHandle } from "../../../test/support/etcd.js";
import { AllocationError, ClusterIPAllocator, NodePortAllocator, parseIPv4, parseIPv4CIDR } from "./allocators.js";
import { EtcdStorage } from "../../storage/etcd-storage.js";

async function allocationError(promise: Promise<unknown>): Promise<AllocationError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AllocationError) return err;
    throw new Error(`expected an AllocationError, got ${String(err)}`);
  }
  throw new Error("expected an AllocationError, but the call succeeded");
}

describe("ClusterIP and NodePort allocators against a real etcd", () => {
  let etcd: EtcdHandle;
  let storage: EtcdStorage;
  let seq = 0;
  /** Each test gets its own etcd prefix, so reservations don't leak between tests. */
  const prefix = (): string => `/registry-${++seq}`;

  beforeAll(async () => {
    etcd = await startEtcd();
    storage = new EtcdStorage({ endpoints: [etcd.endpoint] });
  });

  afterAll(async () => {
    await storage.close();
    await etcd.destroy();
  });

  it("never hands out the same ClusterIP twice under 200 concurrent allocations from two apiservers", async () => {
    const p = prefix();
    // A /24 has 254 usable addresses, 253 for dynamic allocation: 200 allocations contend hard.
    const first = new ClusterIPAllocator({ storage, cidr: "10.0.0.0/24", prefix: p });
    const second = new ClusterIPAllocator({ storage, cidr: "10.0.0.0/24", prefix: p });
    const ips = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? first : second).allocate(`default/svc-${i}`)),
    );
    expect(new Set(ips).size).toBe(200);
    for (const ip of ips) {
      const n = parseIPv4(ip)!;
      expect(n).toBeGreaterThan(parseIPv4("10.0.0.1")!); // network, and the kubernetes service's address, excluded
      expect(n).toBeLessThan(parseIPv4("10.0.0.255")!); // broadcast excluded
    }
    const keys = await storage.listRawKeys(`${p}/ranges/serviceips/`);
    expect(keys).toHaveLength(200);
    expect(await first.ownerOf(ips[1]!)).toBe("default/svc-1");
  });

  it("never hands out the same NodePort twice under 200 concurrent allocations", async () => {
    const allocator = new NodePortAllocator({ storage, range: "30000-32767", prefix: prefix() });
    const ports = await Promise.all(Array.from({ length: 200 }, (_, i) => allocator.allocate(`default/svc-${i}`)));
    expect(new Set(ports).size).toBe(200);
    expect(ports.every((port) => port >= 30000 && port <= 32767)).toBe(true);
  });

  it("reserves specific values, rejecting taken and out-of-range ones with Kubernetes' messages", async () => {
    const p = prefix();
    const ips = new ClusterIPAllocator({ storage, cidr: "10.96.0.0/12", prefix: p });
    expect(ips.firstIP).toBe("10.96.0.1");
    await ips.allocateSpecific("10.96.0.1", "default/kubernetes");
    await ips.allocateSpecific("10.96.0.10", "kube-system/kube-dns");
    await ips.allocateSpecific("10.96.0.10", "kube-system/kube-dns"); // a retried request by the same owner

    const taken = await allocationError(ips.allocateSpecific("10.96.0.10", "default/other"));
    expect(taken.kind).toBe("AlreadyAllocated");
    expect(taken.message).toBe("provided IP is already allocated");
    for (const ip of ["192.168.1.1", "10.96.0.0", "10.111.255.255", "10.112.0.1", "not-an-ip"]) {
      const outside = await allocationError(ips.allocateSpecific(ip, "default/other"));
      expect(outside.kind).toBe("OutOfRange");
      expect(outside.message).toBe(`the provided IP (${ip}) is not in the valid range. The range of valid IPs is 10.96.0.0/12`);
    }

    const ports = new NodePortAllocator({ storage, range: "30000-32767", prefix: p });
    await ports.allocateSpecific(31080, "default/web");
    const portTaken = await allocationError(ports.allocateSpecific(31080, "default/api"));
    expect(portTaken.message).toBe("provided port is already allocated");
    const portOutside = await allocationError(ports.allocateSpecific(8080, "default/api"));
    expect(portOutside.kind).toBe("OutOfRange");
    expect(portOutside.message).toBe("provided port is not in the valid range. The range of valid ports is 30000-32767");
  });

  it("releases values, but only the owner's reservation when an owner is given", async () => {
    const allocator = new NodePortAllocator({ storage, range: "30000-32767", prefix: prefix() });
    await allocator.allocateSpecific(30500, "default/a");
    await allocator.release(30500, "default/someone-else");
    expect(await allocator.ownerOf(30500)).toBe("default/a");
    await allocator.release(30500);
    expect(await allocator.ownerOf(30500)).toBeUndefined();
    await allocator.allocateSpecific(30500, "default/b");
    expect(await allocator.ownerOf(30500)).toBe("default/b");
    await allocator.release(99); // outside the range: nothing to do
  });

  it("remembers allocations across a new allocator instance, down to a full range", async () => {
    const p = prefix();
    // A /28 has 14 usable addresses; 13 are handed out dynamically (10.0.0.1 is kept for the kubernetes service).
    const before = new ClusterIPAllocator({ storage, cidr: "10.0.0.0/28", prefix: p });
    const early = await Promise.all(Array.from({ length: 6 }, (_, i) => before.allocate(`default/early-${i}`)));
    const restarted = new ClusterIPAllocator({ storage, cidr: "10.0.0.0/28", prefix: p });
    await expect(restarted.allocateSpecific(early[0]!, "default/late")).rejects.toThrow("provided IP is already allocated");
    const late = await Promise.all(Array.from({ length: 7 }, (_, i) => restarted.allocate(`default/late-${i}`)));
    expect(new Set([...early, ...late]).size).toBe(13);
    expect([...early, ...late]).not.toContain("10.0.0.1");
    const full = await allocationError(restarted.allocate("default/one-too-many"));
    expect(full.kind).toBe("Full");
    expect(full.message).toBe("range is full");

    // Space freed by one apiserver is found by the other, whose hint is stale.
    await before.release(early[0]!);
    expect(await restarted.allocate("default/reuse")).toBe(early[0]);
  });

  it("repairs reservations: frees leaked ones, restores missing ones, spares ones newer than the snapshot", async () => {
    const p = prefix();
    const allocator = new ClusterIPAllocator({ storage, cidr: "10.96.0.0/12", prefix: p });
    await allocator.allocateSpecific("10.96.0.1", "default/kubernetes");
    await allocator.allocateSpecific("10.96.5.5", "default/deleted-while-apiserver-crashed");
    const orphan = await allocator.allocate("default/create-failed");
    const snapshot = await storage.currentRevision();
    const fresh = await allocator.allocate("default/being-created");

    // A restarted apiserver repairs with the services it listed at `snapshot`.
    const repairer = new ClusterIPAllocator({ storage, cidr: "10.96.0.0/12", prefix: p });
    const live = new Map([
      ["10.96.0.1", "default/kubernetes"],
      ["10.96.0.10", "kube-system/kube-dns"], // a Service whose reservation went missing
    ]);
    const released = await repairer.repair(live, { revision: snapshot });
    expect(released).toBe(2);
    expect(repairer.lastRepair?.released.sort()).toEqual(["10.96.5.5", orphan].sort());
    expect(repairer.lastRepair?.restored).toEqual(["10.96.0.10"]);
    expect(repairer.lastRepair?.conflicts).toEqual([]);
    const keys = (await storage.listRawKeys(`${p}/ranges/serviceips/`)).map((k) => k.slice(`${p}/ranges/serviceips/`.length));
    expect(keys.sort()).toEqual(["10.96.0.1", "10.96.0.10", fresh].sort());
    await expect(repairer.allocateSpecific("10.96.0.10", "default/other")).rejects.toThrow("provided IP is already allocated");

    // The allocator that made a reservation a moment ago never frees it, even without a snapshot revision.
    await allocator.repair(new Map([["10.96.0.1", "default/kubernetes"]]));
    expect(await allocator.ownerOf(fresh)).toBe("default/being-created");
  });

  it("parses CIDRs with Kubernetes' rules", () => {
    expect(parseIPv4CIDR("10.96.0.0/12")).toEqual({ base: parseIPv4("10.96.0.0"), prefixLength: 12, size: 2 ** 20 });
    expect(parseIPv4CIDR("10.96.3.7/12").base).toBe(parseIPv4("10.96.0.0"));
    expect(parseIPv4("010.1.1.1")).toBeUndefined();
    expect(parseIPv4("256.1.1.1")).toBeUndefined();
    expect(() => parseIPv4CIDR("10.0.0.0/31")).toThrow(/too small/);
    expect(() => new NodePortAllocator({ storage, range: "32767-30000" })).toThrow(/invalid port range/);
  });
});
