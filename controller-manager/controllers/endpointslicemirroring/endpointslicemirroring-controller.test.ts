import { describe, expect, it } from "vitest";
import { newService } from "../../../api/testing/builders.js";
import type { EndpointAddress, Endpoints, EndpointSlice, EndpointSubset, Service } from "../../../api/types/index.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { ENDPOINT_SLICES, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SERVICES, StaleCacheError } from "../endpointslice/endpointslice-controller.js";
import { configFromOptions, parseControllerManagerFlags } from "../../options.js";
import {
  addressTypeOf,
  ENDPOINTS,
  EndpointSliceMirroringController,
  LAST_APPLIED_ANNOTATION,
  LAST_CHANGE_TRIGGER_TIME,
  LEADER_ANNOTATION,
  MIRRORING_MANAGED_BY,
  SKIP_MIRROR_LABEL,
  slicePrefix,
  validateMirroringOptions,
} from "./endpointslicemirroring-controller.js";

/** A Service without a selector, as users make for custom Endpoints. */
function selectorless(name: string): Service {
  const svc = newService(name, { ports: [{ name: "example", port: 80, protocol: "TCP" }] });
  delete svc.spec!.selector;
  return svc;
}

function endpointsObject(name: string, subsets: EndpointSubset[], meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Endpoints {
  return { apiVersion: "v1", kind: "Endpoints", metadata: { name, namespace: "default", ...meta }, subsets };
}

const addrs = (...ips: string[]): EndpointAddress[] => ips.map((ip) => ({ ip }));

function setup(objects: (Service | Endpoints | EndpointSlice)[], maxEndpointsPerSubset?: number): {
  fake: FakeClient;
  recorder: FakeRecorder;
  controller: EndpointSliceMirroringController;
  slices: () => EndpointSlice[];
  sync: () => Promise<string[]>;
} {
  const fake = new FakeClient({ clock: new FakeClock(), objects });
  const recorder = new FakeRecorder();
  const controller = new EndpointSliceMirroringController({
    client: fake,
    endpoints: fake.informer<Endpoints>(ENDPOINTS),
    slices: fake.informer<EndpointSlice>(ENDPOINT_SLICES),
    services: fake.informer<Service>(SERVICES),
    recorder,
    ...(maxEndpointsPerSubset ? { maxEndpointsPerSubset } : {}),
  });
  const slices = (): EndpointSlice[] => fake.objects<EndpointSlice>(ENDPOINT_SLICES, "default").filter((s) => s.metadata.labels?.[MANAGED_BY_LABEL] === MIRRORING_MANAGED_BY);
  return { fake, recorder, controller, slices, sync: () => drainQueue(controller.queue, (key) => controller.sync(key)) };
}

const ips = (slice: EndpointSlice): string[] => (slice.endpoints ?? []).map((e) => e.addresses[0]!).sort();

describe("EndpointSliceMirroringController", () => {
  it("mirrors a custom Endpoints into one labelled, annotated, owned slice (the e2e test's create step)", async () => {
    const ep = endpointsObject("example", [{ ports: [{ port: 80 }], addresses: [{ ip: "10.1.2.3", hostname: "h1", nodeName: "n1" }], notReadyAddresses: addrs("10.1.2.4") }], {
      labels: { team: "a" },
      annotations: { note: "x", [LAST_CHANGE_TRIGGER_TIME]: "2024-01-01T00:00:00Z", [LAST_APPLIED_ANNOTATION]: "{}" },
    });
    const { fake, controller, slices, sync } = setup([selectorless("example"), ep]);
    expect(controller.queue.len()).toBe(1); // the Service (no selector) and the Endpoints queue one key
    await sync();

    expect(fake.actionsFor("create", "endpointslices")).toHaveLength(1);
    const [slice] = slices();
    const stored = fake.object<Endpoints>(ENDPOINTS, "default", "example")!;
    expect(slice!.metadata.name).toMatch(/^example-.{5}$/);
    expect(slice!.metadata.labels).toEqual({ team: "a", [SERVICE_NAME_LABEL]: "example", [MANAGED_BY_LABEL]: MIRRORING_MANAGED_BY });
    expect(slice!.metadata.annotations).toEqual({ note: "x" });
    expect(slice!.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Endpoints", name: "example", uid: stored.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(slice!.addressType).toBe("IPv4");
    expect(slice!.ports).toEqual([{ name: "", port: 80, protocol: "TCP" }]);
    expect(slice!.endpoints).toEqual([
      { addresses: ["10.1.2.3"], conditions: { ready: true }, hostname: "h1", nodeName: "n1" },
      { addresses: ["10.1.2.4"], conditions: { ready: false } },
    ]);
  });

  it("is idempotent, updates the slice in place on an address change, and deletes it with the Endpoints", async () => {
    const { fake, slices, sync } = setup([selectorless("example"), endpointsObject("example", [{ ports: [{ port: 80 }], addresses: addrs("10.1.2.3") }])]);
    await sync();
    const name = slices()[0]!.metadata.name;
    fake.clearActions();
    fake.seed(fake.object<Endpoints>(ENDPOINTS, "default", "example")!); // an update that changes nothing
    await sync();
    expect(fake.writes()).toEqual([]);

    const ep = fake.object<Endpoints>(ENDPOINTS, "default", "example")!;
    ep.subsets = [{ ports: [{ port: 80 }], addresses: addrs("10.2.3.4") }];
    fake.seed(ep);
    await sync();
    expect(slices()).toHaveLength(1);
    expect(slices()[0]!.metadata.name).toBe(name);
    expect(ips(slices()[0]!)).toEqual(["10.2.3.4"]);

    fake.remove(ENDPOINTS, "default", "example");
    await sync();
    expect(slices()).toEqual([]);
  });

  it("rewrites the slice when only the Endpoints' labels or annotations change", async () => {
    const { fake, slices, sync } = setup([selectorless("example"), endpointsObject("example", [{ ports: [{ port: 80 }], addresses: addrs("10.1.2.3") }])]);
    await sync();
    const ep = fake.object<Endpoints>(ENDPOINTS, "default", "example")!;
    ep.metadata.labels = { tier: "db" };
    ep.metadata.annotations = { owner: "me" };
    fake.seed(ep);
    await sync();
    expect(slices()[0]!.metadata.labels?.tier).toBe("db");
    expect(slices()[0]!.metadata.annotations).toEqual({ owner: "me" });
  });

  it("makes one slice per address type and port list, skipping invalid IPs with a Warning event", async () => {
    const ep = endpointsObject("example", [
      { ports: [{ name: "http", port: 80 }], addresses: addrs("10.0.0.1", "fd00::1", "not-an-ip") },
      { ports: [{ name: "dns", port: 53, protocol: "UDP" }], addresses: addrs("10.0.0.2") },
    ]);
    const { slices, recorder, sync } = setup([selectorless("example"), ep]);
    await sync();
    const summary = slices().map((s) => `${s.addressType} ${s.ports![0]!.name}/${s.ports![0]!.protocol} ${ips(s).join(",")}`).sort();
    expect(summary).toEqual(["IPv4 dns/UDP 10.0.0.2", "IPv4 http/TCP 10.0.0.1", "IPv6 http/TCP fd00::1"]);
    expect(recorder.messages()).toContain("Warning InvalidIPAddress Skipped 1 invalid IP addresses when mirroring to EndpointSlices");
  });

  it("mirrors at most maxEndpointsPerSubset addresses of a subset (ready first) and says how many it skipped", async () => {
    const ep = endpointsObject("example", [{ ports: [{ port: 80 }], addresses: addrs("10.0.0.1", "10.0.0.2"), notReadyAddresses: addrs("10.0.0.3") }]);
    const { slices, recorder, sync } = setup([selectorless("example"), ep], 2);
    await sync();
    expect(ips(slices()[0]!)).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(recorder.messages()).toContain("Warning TooManyAddressesToMirror A max of 2 addresses can be mirrored to EndpointSlices per Endpoints subset. 1 addresses were skipped");
  });

  it("collapses duplicate addresses: the not-ready entry listed last wins", async () => {
    const ep = endpointsObject("example", [{ ports: [{ port: 80 }], addresses: addrs("10.0.0.1"), notReadyAddresses: addrs("10.0.0.1") }]);
    const { slices, sync } = setup([selectorless("example"), ep]);
    await sync();
    expect(slices()[0]!.endpoints).toEqual([{ addresses: ["10.0.0.1"], conditions: { ready: false } }]);
  });

  it("skips Endpoints labelled skip-mirror, leader-election locks, services with a selector, and missing services", async () => {
    const subsets = [{ ports: [{ port: 80 }], addresses: addrs("10.0.0.1") }];
    const { fake, controller, slices, sync } = setup([
      selectorless("skipped"), endpointsObject("skipped", subsets, { labels: { [SKIP_MIRROR_LABEL]: "true" } }),
      selectorless("lock"), endpointsObject("lock", subsets, { annotations: { [LEADER_ANNOTATION]: "{}" } }),
      newService("selected"), endpointsObject("selected", subsets),
      endpointsObject("orphan", subsets),
    ]);
    await sync();
    for (const key of ["default/skipped", "default/lock", "default/selected", "default/orphan"]) await controller.sync(key);
    expect(slices()).toEqual([]);
    expect(fake.writes()).toEqual([]);
  });

  it("deletes mirrored slices once the Endpoints is labelled skip-mirror or the Service gains a selector", async () => {
    const subsets = [{ ports: [{ port: 80 }], addresses: addrs("10.0.0.1") }];
    const { fake, slices, sync } = setup([selectorless("a"), endpointsObject("a", subsets), selectorless("b"), endpointsObject("b", subsets)]);
    await sync();
    expect(slices()).toHaveLength(2);
    const a = fake.object<Endpoints>(ENDPOINTS, "default", "a")!;
    a.metadata.labels = { [SKIP_MIRROR_LABEL]: "true" };
    fake.seed(a);
    const b = fake.object<Service>(SERVICES, "default", "b")!;
    b.spec!.selector = { app: "b" };
    fake.seed(b);
    await sync();
    expect(slices()).toEqual([]);
  });

  it("reuses the slice of a port list that went away for the new one, and deletes extra slices of one mapping", async () => {
    const { fake, slices, sync } = setup([selectorless("example"), endpointsObject("example", [{ ports: [{ port: 80 }], addresses: addrs("10.0.0.1") }])]);
    await sync();
    const [first] = slices();
    const ep = fake.object<Endpoints>(ENDPOINTS, "default", "example")!;
    ep.subsets = [{ ports: [{ port: 8080 }], addresses: addrs("10.0.0.1") }];
    fake.seed(ep);
    fake.clearActions();
    await sync();
    expect(fake.actionsFor("create", "endpointslices")).toEqual([]);
    expect(fake.actionsFor("delete", "endpointslices")).toEqual([]);
    expect(slices().map((s) => [s.metadata.name, s.ports![0]!.port])).toEqual([[first!.metadata.name, 8080]]);

    fake.seed({ ...structuredClone(first!), metadata: { ...structuredClone(first!.metadata), name: "example-extra", uid: "u2" } });
    await sync();
    expect(slices()).toHaveLength(1);
  });

  it("leaves slices it does not manage alone", async () => {
    const foreign: EndpointSlice = { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "example-mine", namespace: "default", labels: { [SERVICE_NAME_LABEL]: "example" } }, addressType: "IPv4", endpoints: [] };
    const { fake, sync } = setup([selectorless("example"), foreign]);
    await sync();
    expect(fake.object(ENDPOINT_SLICES, "default", "example-mine")).toBeDefined();
    expect(fake.writes()).toEqual([]);
  });

  it("waits for the slice cache to show its own writes before writing again", async () => {
    const { fake, controller, slices } = setup([selectorless("example"), endpointsObject("example", [{ ports: [{ port: 80 }], addresses: addrs("10.0.0.1") }])]);
    const informer = fake.informer<EndpointSlice>(ENDPOINT_SLICES);
    informer.hold();
    await controller.sync("default/example");
    await expect(controller.sync("default/example")).rejects.toBeInstanceOf(StaleCacheError);
    informer.release();
    await controller.sync("default/example");
    expect(slices()).toHaveLength(1);
    expect(fake.actionsFor("create")).toHaveLength(1);
  });

  it("creates nothing for an Endpoints that is being deleted", async () => {
    const ep = endpointsObject("example", [{ ports: [{ port: 80 }], addresses: addrs("10.0.0.1") }]);
    ep.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
    ep.metadata.finalizers = ["example.com/hold"];
    const { fake, sync } = setup([selectorless("example"), ep]);
    await sync();
    expect(fake.actionsFor("create")).toEqual([]);
  });
});

describe("mirroring helpers and flags", () => {
  it("classifies addresses like Go's ParseIP/To4", () => {
    expect(addressTypeOf("10.1.2.3")).toBe("IPv4");
    expect(addressTypeOf("::ffff:10.1.2.3")).toBe("IPv4");
    expect(addressTypeOf("fd00::1")).toBe("IPv6");
    expect(addressTypeOf("example.com")).toBeUndefined();
  });

  it("uses the bare name as generateName when name- would be too long", () => {
    expect(slicePrefix("example")).toBe("example-");
    expect(slicePrefix("x".repeat(58))).toBe("x".repeat(58));
  });

  it("has Kubernetes' flag defaults and rejects out-of-range values with its messages", () => {
    const config = configFromOptions(parseControllerManagerFlags([]));
    expect(config.mirroringConcurrentServiceEndpointSyncs).toBe(5);
    expect(config.mirroringMaxEndpointsPerSubset).toBe(1000);
    expect(config.mirroringEndpointSliceUpdatesBatchPeriodMs).toBe(0);
    expect(configFromOptions(parseControllerManagerFlags(["--mirroring-endpointslice-updates-batch-period=2s"])).mirroringEndpointSliceUpdatesBatchPeriodMs).toBe(2000);
    expect(() => configFromOptions(parseControllerManagerFlags(["--mirroring-max-endpoints-per-subset=1001"]))).toThrow("mirroring-max-endpoints-per-subset must not be more than 1000, but got 1001");
    expect(validateMirroringOptions(0, 1000)).toEqual(["mirroring-concurrent-service-endpoint-syncs must not be less than 1, but got 0"]);
    expect(validateMirroringOptions(51, 0)).toEqual([
      "mirroring-concurrent-service-endpoint-syncs must not be more than 50, but got 51",
      "mirroring-max-endpoints-per-subset must not be less than 1, but got 0",
    ]);
  });
});
