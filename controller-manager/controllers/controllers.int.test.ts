// The endpoints, endpointslice, garbagecollector, namespace, nodelifecycle and nodeipam controllers against a real
// etcd and a real apiserver process, built in-process from a ControllerContext exactly as kube-controller-manager
// builds them (a real RestClient, one InformerFactory, event recorders), with short node monitor timings.
import { setMaxListeners } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotFound } from "../../api/errors.js";
import type { KubeObject } from "../../api/meta.js";
import { RESOURCES, type ResourceInfo } from "../../api/resources.js";
import { formatMicroTime, formatTime } from "../../api/time.js";
import type { Endpoints, EndpointSlice, Lease, Namespace, Node, Pod, Service } from "../../api/types/index.js";
import { createEventRecorder, type EventRecorder } from "../../client/event-recorder.js";
import { InformerFactory } from "../../client/informer.js";
import { RestClient } from "../../client/rest.js";
import { realClock } from "../../component-base/clock.js";
import { silentLogger } from "../../component-base/logging.js";
import { createRegistry } from "../../component-base/metrics.js";
import { clientConfigFor, startTestCluster, waitFor, type TestCluster } from "../../test/support/apiserver.js";
import { createEndpointsController } from "./endpoints/endpoints-controller.js";
import { createEndpointSliceController } from "./endpointslice/endpointslice-controller.js";
import { createGarbageCollectorController } from "./garbagecollector/garbagecollector-controller.js";
import { createNamespaceController } from "./namespace/namespace-controller.js";
import { createNodeIpamController } from "./nodeipam/nodeipam-controller.js";
import { createNodeLifecycleController } from "./nodelifecycle/nodelifecycle-controller.js";
import type { Controller, ControllerContext } from "./types.js";
import { defaultControllerManagerConfig } from "../options.js";

const res = (group: string, resource: string): ResourceInfo => RESOURCES.find((r) => r.group === group && r.resource === resource)!;
const PODS = res("", "pods");
const SERVICES = res("", "services");
const ENDPOINTS = res("", "endpoints");
const SLICES = res("discovery.k8s.io", "endpointslices");
const NAMESPACES = res("", "namespaces");
const CONFIGMAPS = res("", "configmaps");
const NODES = res("", "nodes");
const LEASES = res("coordination.k8s.io", "leases");
const DEPLOYMENTS = res("apps", "deployments");
const REPLICASETS = res("apps", "replicasets");

const GRACE_MS = 2_000;
const PERIOD_MS = 300;
const TOLERATION_SECONDS = 2;

let cluster: TestCluster;
let client: RestClient;
let informers: InformerFactory;
let stop: AbortController;
let runs: Promise<void>[] = [];
const recorders: EventRecorder[] = [];

async function gone(info: ResourceInfo, namespace: string | undefined, name: string): Promise<boolean> {
  try {
    await client.get(info, namespace, name);
    return false;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
}


beforeAll(async () => {
  // A non-loopback advertise address, or the apiserver publishes no `kubernetes` Endpoints/EndpointSlice at all.
  cluster = await startTestCluster([
    "--advertise-address", "172.30.0.1",
    "--default-unreachable-toleration-seconds", String(TOLERATION_SECONDS),
    "--default-not-ready-toleration-seconds", String(TOLERATION_SECONDS),
  ]);
  client = new RestClient(clientConfigFor(cluster.api), { userAgent: "kube-controller-manager/int-test" });
  informers = new InformerFactory({ client, clock: realClock });
  const context: ControllerContext = {
    client,
    informers,
    recorder: (component) => {
      const recorder = createEventRecorder({ client, component, clock: realClock });
      recorders.push(recorder);
      return recorder;
    },
    logger: silentLogger(),
    metrics: createRegistry({ defaultMetrics: false }),
    clock: realClock,
    config: {
      ...defaultControllerManagerConfig(),
      concurrentReplicasetSyncs: 5,
      concurrentRcSyncs: 5,
      concurrentDeploymentSyncs: 5,
      concurrentEndpointSyncs: 5,
      concurrentServiceEndpointSyncs: 5,
      concurrentGcSyncs: 20,
      concurrentNamespaceSyncs: 10,
      nodeMonitorPeriodMs: PERIOD_MS,
      nodeMonitorGracePeriodMs: GRACE_MS,
      allocateNodeCidrs: true,
      clusterCidr: "10.244.0.0/16",
      nodeCidrMaskSize: 24,
      rootCaFile: "",
      concurrentJobSyncs: 5,
      concurrentCronJobSyncs: 5,
      concurrentTtlAfterFinishedSyncs: 5,
      concurrentResourceQuotaSyncs: 5,
      resourceQuotaSyncPeriodMs: 300_000,
    },
  };
  const controllers: Controller[] = [createEndpointsController, createEndpointSliceController, createGarbageCollectorController, createNamespaceController, createNodeLifecycleController, createNodeIpamController].map((factory) => factory(context));
  expect(controllers.map((c) => c.name)).toEqual(["endpoints", "endpointslice", "garbagecollector", "namespace", "nodelifecycle", "nodeipam"]);
  stop = new AbortController();
  // Every informer and controller listens on this one signal (more than Node's default warning threshold of 10).
  setMaxListeners(100, stop.signal);
  informers.start(stop.signal);
  runs = controllers.map((c) => c.run(stop.signal));
});

afterAll(async () => {
  stop.abort();
  await Promise.all(runs);
  await informers.shutdown();
  await Promise.all(recorders.map((r) => r.stop()));
  client.close();
  await cluster.destroy();
});

async function createReadyPod(name: string, ip: string, labels: Record<string, string>, namespace = "default"): Promise<Pod> {
  const pod: Pod = { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels }, spec: { containers: [{ name: "app", image: "kubernetes-bootcamp:v1", ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }] }] } };
  await client.create(PODS, namespace, pod);
  return setPodStatus(name, ip, true, namespace);
}

function setPodStatus(name: string, ip: string, ready: boolean, namespace = "default"): Promise<Pod> {
  return client.patch<Pod>(PODS, namespace, name, "merge", { status: { phase: "Running", podIP: ip, podIPs: [{ ip }], conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } }, { subresource: "status" });
}

describe("controllers against a real apiserver", () => {
  it("publishes ready pods in Endpoints and an EndpointSlice that kubectl describe svc shows, and follows readiness", async () => {
    const apiserverEndpoints = await client.get<Endpoints>(ENDPOINTS, "default", "kubernetes");
    const svc: Service = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default", labels: { app: "web" } }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] } };
    await client.create(SERVICES, "default", svc);
    await createReadyPod("web-1", "10.244.1.5", { app: "web" });
    await createReadyPod("web-2", "10.244.1.6", { app: "web" });

    const ep = await waitFor("Endpoints with both pods", async () => {
      const e = await client.get<Endpoints>(ENDPOINTS, "default", "web").catch(() => undefined);
      return e?.subsets?.[0]?.addresses?.length === 2 ? e : undefined;
    });
    expect(ep.subsets).toEqual([
      {
        addresses: [expect.objectContaining({ ip: "10.244.1.5", targetRef: expect.objectContaining({ kind: "Pod", name: "web-1" }) as unknown }), expect.objectContaining({ ip: "10.244.1.6" })],
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      },
    ]);
    expect(ep.metadata.labels).toEqual({ app: "web" });

    const slice = await waitFor("an EndpointSlice with both pods", async () => {
      const { items } = await client.list<EndpointSlice>(SLICES, "default", { labelSelector: "kubernetes.io/service-name=web" });
      return items.length === 1 && items[0]!.endpoints?.length === 2 ? items[0] : undefined;
    });
    expect(slice.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(slice.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "Service", name: "web", controller: true, blockOwnerDeletion: true })]);
    expect(slice.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);

    const described = await cluster.kubectl(["describe", "svc", "web"]);
    const endpointsLine = described.stdout.split("\n").find((l) => l.startsWith("Endpoints:"));
    expect(endpointsLine).toMatch(/10\.244\.1\.5:8080/);
    expect(endpointsLine).toMatch(/10\.244\.1\.6:8080/);

    // web-2 turns unready.
    await setPodStatus("web-2", "10.244.1.6", false);
    const after = await waitFor("web-2 in notReadyAddresses", async () => {
      const e = await client.get<Endpoints>(ENDPOINTS, "default", "web");
      return e.subsets?.[0]?.notReadyAddresses?.length === 1 ? e : undefined;
    });
    expect(after.subsets?.[0]?.addresses?.map((a) => a.ip)).toEqual(["10.244.1.5"]);
    expect(after.subsets?.[0]?.notReadyAddresses?.map((a) => a.ip)).toEqual(["10.244.1.6"]);
    await waitFor("web-2 not ready in the slice", async () => {
      const { items } = await client.list<EndpointSlice>(SLICES, "default", { labelSelector: "kubernetes.io/service-name=web" });
      return items[0]?.endpoints?.find((e) => e.addresses[0] === "10.244.1.6")?.conditions?.ready === false || undefined;
    });

    // The apiserver's own endpoints and slice are untouched.
    const kubernetes = await client.get<Endpoints>(ENDPOINTS, "default", "kubernetes");
    expect(kubernetes.metadata.resourceVersion).toBe(apiserverEndpoints.metadata.resourceVersion);
    const { items: kubeSlices } = await client.list<EndpointSlice>(SLICES, "default", { labelSelector: "kubernetes.io/service-name=kubernetes" });
    expect(kubeSlices.map((s) => s.metadata.name)).toEqual(["kubernetes"]);

    // The Service goes: the garbage collector (owner reference) and the controllers remove what was made for it.
    await client.delete(SERVICES, "default", "web");
    await waitFor("endpoints and slices of the deleted service gone", async () => {
      const { items } = await client.list(SLICES, "default", { labelSelector: "kubernetes.io/service-name=web" });
      return (items.length === 0 && (await gone(ENDPOINTS, "default", "web"))) || undefined;
    });
  });

  it("deletes a Deployment's ReplicaSet and pods after a Background delete, and a ReplicaSet's pods after kubectl delete rs", async () => {
    const labels = { app: "shop" };
    const template = { metadata: { labels }, spec: { containers: [{ name: "app", image: "kubernetes-bootcamp:v1" }] } };
    const deploy: KubeObject = await client.create(DEPLOYMENTS, "default", { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "shop", namespace: "default" }, spec: { replicas: 2, selector: { matchLabels: labels }, template } });
    const ref = (o: KubeObject): NonNullable<KubeObject["metadata"]["ownerReferences"]>[number] => ({ apiVersion: o.apiVersion ?? "", kind: o.kind ?? "", name: o.metadata.name ?? "", uid: o.metadata.uid ?? "", controller: true, blockOwnerDeletion: true });
    const rs: KubeObject = await client.create(REPLICASETS, "default", { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "shop-7d4b9", namespace: "default", ownerReferences: [ref(deploy)] }, spec: { replicas: 2, selector: { matchLabels: labels }, template } });
    for (const name of ["shop-7d4b9-a", "shop-7d4b9-b"]) {
      await client.create(PODS, "default", { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", labels, ownerReferences: [ref(rs)] }, spec: template.spec });
    }
    await client.delete(DEPLOYMENTS, "default", "shop", { propagationPolicy: "Background" });
    await waitFor("ReplicaSet and pods collected", async () => ((await gone(REPLICASETS, "default", "shop-7d4b9")) && (await gone(PODS, "default", "shop-7d4b9-a")) && (await gone(PODS, "default", "shop-7d4b9-b"))) || undefined, 20_000);

    const solo: KubeObject = await client.create(REPLICASETS, "default", { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "solo", namespace: "default" }, spec: { replicas: 1, selector: { matchLabels: { app: "solo" } }, template: { ...template, metadata: { labels: { app: "solo" } } } } });
    await client.create(PODS, "default", { apiVersion: "v1", kind: "Pod", metadata: { name: "solo-x", namespace: "default", labels: { app: "solo" }, ownerReferences: [ref(solo)] }, spec: template.spec });
    await cluster.kubectl(["delete", "rs", "solo"]);
    await waitFor("the ReplicaSet's pod collected", () => gone(PODS, "default", "solo-x").then((g) => g || undefined), 20_000);
  });

  it("deletes in the foreground: the owner waits for its dependents", async () => {
    const owner: KubeObject = await client.create(REPLICASETS, "default", { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "fg", namespace: "default" }, spec: { replicas: 1, selector: { matchLabels: { app: "fg" } }, template: { metadata: { labels: { app: "fg" } }, spec: { containers: [{ name: "app", image: "x" }] } } } });
    await client.create(PODS, "default", { apiVersion: "v1", kind: "Pod", metadata: { name: "fg-1", namespace: "default", labels: { app: "fg" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "fg", uid: owner.metadata.uid ?? "", controller: true, blockOwnerDeletion: true }] }, spec: { containers: [{ name: "app", image: "x" }] } });
    await cluster.kubectl(["delete", "rs", "fg", "--cascade=foreground"]);
    expect(await gone(REPLICASETS, "default", "fg")).toBe(true);
    expect(await gone(PODS, "default", "fg-1")).toBe(true);
  });

  it("is not blocked by owners in a cycle: a foreground delete of one pod removes all three", async () => {
    const spec = { containers: [{ name: "app", image: "x" }] };
    const pods: KubeObject[] = [];
    for (const name of ["cycle-1", "cycle-2", "cycle-3"]) pods.push(await client.create(PODS, "default", { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec }));
    // cycle-1 is owned by cycle-3, cycle-2 by cycle-1, cycle-3 by cycle-2, each reference blocking.
    for (const [i, pod] of pods.entries()) {
      const owner = pods[(i + 2) % 3]!;
      await client.patch(PODS, "default", pod.metadata.name ?? "", "merge", { metadata: { ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: owner.metadata.name ?? "", uid: owner.metadata.uid ?? "", blockOwnerDeletion: true }] } });
    }
    await client.delete(PODS, "default", "cycle-1", { propagationPolicy: "Foreground", preconditions: { uid: pods[0]!.metadata.uid ?? "" } });
    await waitFor("all three pods gone", async () => ((await gone(PODS, "default", "cycle-1")) && (await gone(PODS, "default", "cycle-2")) && (await gone(PODS, "default", "cycle-3"))) || undefined, 30_000);
  });

  it("empties a deleted namespace and then removes it", async () => {
    await client.create<Namespace>(NAMESPACES, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "doomed" } });
    await client.create(CONFIGMAPS, "doomed", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "doomed" }, data: { a: "b" } });
    await client.create(SERVICES, "doomed", { apiVersion: "v1", kind: "Service", metadata: { name: "api", namespace: "doomed" }, spec: { selector: { app: "api" }, ports: [{ port: 80, protocol: "TCP" }] } });
    await createReadyPod("api-1", "10.244.2.7", { app: "api" }, "doomed");
    await waitFor("endpoints in the namespace", () => client.get(ENDPOINTS, "doomed", "api").catch(() => undefined));

    await client.delete(NAMESPACES, undefined, "doomed");
    await waitFor("namespace doomed removed", () => gone(NAMESPACES, undefined, "doomed").then((g) => g || undefined), 30_000);
    for (const info of [CONFIGMAPS, SERVICES, PODS, ENDPOINTS, SLICES]) expect((await client.list(info, "doomed")).items).toEqual([]);
  });

  it("marks a node whose lease stops Unknown, taints it, evicts its pods after tolerationSeconds, and untaints it when it returns", async () => {
    const now = Date.now();
    const heartbeat = formatTime(now);
    await client.create<Node>(NODES, undefined, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n-dead", labels: { "kubernetes.io/hostname": "n-dead" } },
      status: {
        conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: heartbeat, lastTransitionTime: heartbeat }],
        addresses: [{ type: "InternalIP", address: "172.30.0.9" }],
        capacity: { cpu: "2", memory: "4Gi", pods: "110" },
        allocatable: { cpu: "2", memory: "4Gi", pods: "110" },
      },
    });
    await client.create<Lease>(LEASES, "kube-node-lease", { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "n-dead", namespace: "kube-node-lease" }, spec: { holderIdentity: "n-dead", leaseDurationSeconds: 2, renewTime: formatMicroTime(now) } });
    const container = { name: "app", image: "x" };
    await client.create(PODS, "default", { apiVersion: "v1", kind: "Pod", metadata: { name: "doomed-pod", namespace: "default" }, spec: { nodeName: "n-dead", terminationGracePeriodSeconds: 0, containers: [container] } });
    await client.create(PODS, "default", { apiVersion: "v1", kind: "Pod", metadata: { name: "stays", namespace: "default" }, spec: { nodeName: "n-dead", containers: [container], tolerations: [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" }] } });
    await setPodStatus("stays", "10.244.9.9", true);
    const doomed = await client.get<Pod>(PODS, "default", "doomed-pod");
    expect(doomed.spec?.tolerations).toContainEqual({ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: TOLERATION_SECONDS });

    // Node IPAM gives it a block.
    const withCidr = await waitFor("a podCIDR", async () => {
      const n = await client.get<Node>(NODES, undefined, "n-dead");
      return n.spec?.podCIDR ? n : undefined;
    });
    expect(withCidr.spec?.podCIDR).toMatch(/^10\.244\.\d+\.0\/24$/);
    expect(withCidr.spec?.podCIDRs).toEqual([withCidr.spec?.podCIDR]);

    const unknownAt = await waitFor("Ready=Unknown and the unreachable taints", async () => {
      const n = await client.get<Node>(NODES, undefined, "n-dead");
      const ready = n.status?.conditions?.find((c) => c.type === "Ready");
      const taints = (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`);
      return ready?.status === "Unknown" && taints.includes("node.kubernetes.io/unreachable:NoExecute") && taints.includes("node.kubernetes.io/unreachable:NoSchedule") ? Date.now() : undefined;
    }, 15_000);
    expect(unknownAt - now).toBeGreaterThanOrEqual(GRACE_MS);
    const node = await client.get<Node>(NODES, undefined, "n-dead");
    expect(node.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." });

    await waitFor("the pod on the dead node marked not ready", async () => {
      const p = await client.get<Pod>(PODS, "default", "stays");
      return p.status?.conditions?.find((c) => c.type === "Ready")?.status === "False" || undefined;
    });
    await waitFor("the pod evicted after its tolerationSeconds", () => gone(PODS, "default", "doomed-pod").then((g) => g || undefined), 15_000);
    const evictedAt = Date.now();
    expect(evictedAt - unknownAt).toBeGreaterThanOrEqual(TOLERATION_SECONDS * 1000 - 1_500);
    expect(await gone(PODS, "default", "stays")).toBe(false);

    const events = await client.list(res("", "events"), "default");
    const reasons = events.items.map((e) => `${String(e.reason)}: ${String(e.message)}`);
    expect(reasons).toContain("NodeNotReady: Node n-dead status is now: NodeNotReady");
    expect(reasons).toContain("RegisteredNode: Node n-dead event: Registered Node n-dead in Controller");
    expect(reasons).toContain("TaintManagerEviction: Marking for deletion Pod default/doomed-pod");

    // The kubelet comes back: lease renewed and Ready posted.
    const back = formatTime(Date.now());
    const lease = await client.get<Lease>(LEASES, "kube-node-lease", "n-dead");
    await client.update(LEASES, "kube-node-lease", { ...lease, spec: { ...lease.spec, renewTime: formatMicroTime(Date.now()) } });
    await client.patch(NODES, undefined, "n-dead", "merge", { status: { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: back, lastTransitionTime: back }] } }, { subresource: "status" });
    await waitFor("the taints removed", async () => {
      const n = await client.get<Node>(NODES, undefined, "n-dead");
      return (n.spec?.taints ?? []).length === 0 || undefined;
    });
  });
});
