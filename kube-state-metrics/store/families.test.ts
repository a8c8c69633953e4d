// Each resource's families from fixture objects, read back through the strict exposition reader: names, label
// names and values, and values as kube-state-metrics v2 gives them.
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { newConfigMap, newDaemonSet, newDeployment, newNamespace, newNode, newPod, newReplicaSet, newService, newStatefulSet } from "../../api/testing/builders.js";
import type { EndpointSlice, Endpoints, Lease, Pod, ReplicationController, Secret } from "../../api/types/index.js";
import { FakeInformer } from "../../client/testing/fake-informer.js";
import { configFromFlags } from "../config.js";
import { StateMetrics } from "../state-metrics.js";
import { parseExposition, samplesOf, type ParsedFamily } from "../testing/parse-exposition.js";
import { STORES } from "./registry.js";

const CREATED = "2024-05-01T10:00:00Z";
const CREATED_UNIX = Date.parse(CREATED) / 1000;

/** Renders `objects` (grouped by their resource) with every store enabled, through the default flags. */
function render(objects: KubeObject[], flags: { metricLabelsAllowlist?: string } = {}): Map<string, ParsedFamily> {
  const config = configFromFlags({
    resources: STORES.map((s) => s.name).join(","),
    namespaces: "",
    namespacesDenylist: "",
    metricAllowlist: "",
    metricDenylist: "",
    metricLabelsAllowlist: flags.metricLabelsAllowlist ?? "",
    metricAnnotationsAllowlist: "",
    host: "",
    port: 0,
    telemetryHost: "",
    telemetryPort: 0,
    kubeApiQps: 0,
    kubeApiBurst: 0,
    v: 0,
    apiserver: undefined,
    master: undefined,
    kubeconfig: undefined,
  });
  const sources = config.stores.map((store) => ({
    store,
    listers: [new FakeInformer<KubeObject>(store.resource, objects.filter((o) => o.kind === store.resource.kind)).lister],
  }));
  return parseExposition(new StateMetrics(sources, config).render());
}

function values(families: Map<string, ParsedFamily>, name: string, match: Record<string, string> = {}): [Record<string, string>, number][] {
  return samplesOf(families, name, match).map((s) => [s.labels, s.value]);
}

const podBase = { namespace: "default", pod: "web-1", uid: "uid-web-1" };

function webPod(): Pod {
  const pod = newPod("web-1", {
    nodeName: "node-a",
    requests: { cpu: "250m", memory: "64Mi" },
    limits: { cpu: "1", memory: "128Mi", "example.com/gpu": "2" },
    labels: { app: "web", "app.kubernetes.io/tier": "front" },
    meta: {
      uid: "uid-web-1",
      creationTimestamp: CREATED,
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-abc", uid: "rs-uid", controller: true }],
    },
    status: {
      phase: "Running",
      hostIP: "172.30.0.2",
      podIP: "10.244.0.7",
      startTime: CREATED,
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: CREATED },
        { type: "Ready", status: "False" },
      ],
      containerStatuses: [
        {
          name: "app",
          ready: false,
          restartCount: 3,
          image: "registry.k8s.io/pause:3.10",
          imageID: "sha256:abc",
          containerID: "containerd://123",
          state: { waiting: { reason: "CrashLoopBackOff" } },
          lastState: { terminated: { exitCode: 137, reason: "OOMKilled" } },
        },
      ],
    },
  });
  return pod;
}

describe("pod families", () => {
  const f = render([webPod(), newPod("bare", { meta: { uid: "u2" } })]);

  it("kube_pod_info and kube_pod_owner", () => {
    expect(values(f, "kube_pod_info", { pod: "web-1" })).toEqual([
      [{ ...podBase, host_ip: "172.30.0.2", pod_ip: "10.244.0.7", node: "node-a", created_by_kind: "ReplicaSet", created_by_name: "web-abc", priority_class: "", host_network: "false" }, 1],
    ]);
    expect(values(f, "kube_pod_owner")).toEqual([
      [{ ...podBase, owner_kind: "ReplicaSet", owner_name: "web-abc", owner_is_controller: "true" }, 1],
      [{ namespace: "default", pod: "bare", uid: "u2", owner_kind: "<none>", owner_name: "<none>", owner_is_controller: "<none>" }, 1],
    ]);
    expect(values(f, "kube_pod_info", { pod: "bare" })[0]?.[0]).toMatchObject({ created_by_kind: "<none>", created_by_name: "<none>" });
    expect(values(f, "kube_pod_created", { pod: "web-1" })).toEqual([[podBase, CREATED_UNIX]]);
    expect(values(f, "kube_pod_created", { pod: "bare" })).toEqual([]);
  });

  it("kube_pod_status_phase has one series per phase, the current one 1; none without a phase", () => {
    expect(values(f, "kube_pod_status_phase", { pod: "web-1" })).toEqual(
      ["Pending", "Succeeded", "Failed", "Unknown", "Running"].map((phase) => [{ ...podBase, phase }, phase === "Running" ? 1 : 0]),
    );
    expect(values(f, "kube_pod_status_phase", { pod: "bare" })).toEqual([]);
  });

  it("kube_pod_status_ready and _scheduled are condition triples", () => {
    expect(values(f, "kube_pod_status_ready", { pod: "web-1" })).toEqual([
      [{ ...podBase, condition: "true" }, 0],
      [{ ...podBase, condition: "false" }, 1],
      [{ ...podBase, condition: "unknown" }, 0],
    ]);
    expect(values(f, "kube_pod_status_scheduled", { pod: "web-1", condition: "true" })).toEqual([[{ ...podBase, condition: "true" }, 1]]);
    expect(values(f, "kube_pod_status_scheduled_time", { pod: "web-1" })).toEqual([[podBase, CREATED_UNIX]]);
    expect(values(f, "kube_pod_status_ready_time", { pod: "web-1" })).toEqual([]);
    expect(values(f, "kube_pod_ips", { pod: "web-1" })).toEqual([]);
  });

  it("container state, reasons, restarts and info", () => {
    const c = { ...podBase, container: "app" };
    expect(values(f, "kube_pod_container_info")).toEqual([[{ ...c, image_spec: "registry.k8s.io/pause:3.10", image: "registry.k8s.io/pause:3.10", image_id: "sha256:abc", container_id: "containerd://123" }, 1]]);
    expect(values(f, "kube_pod_container_status_waiting")).toEqual([[c, 1]]);
    expect(values(f, "kube_pod_container_status_running")).toEqual([[c, 0]]);
    expect(values(f, "kube_pod_container_status_terminated")).toEqual([[c, 0]]);
    expect(values(f, "kube_pod_container_status_waiting_reason")).toEqual([[{ ...c, reason: "CrashLoopBackOff" }, 1]]);
    expect(values(f, "kube_pod_container_status_terminated_reason")).toEqual([]);
    expect(values(f, "kube_pod_container_status_last_terminated_reason")).toEqual([[{ ...c, reason: "OOMKilled" }, 1]]);
    expect(values(f, "kube_pod_container_status_last_terminated_exitcode")).toEqual([[c, 137]]);
    expect(values(f, "kube_pod_container_status_restarts_total")).toEqual([[c, 3]]);
    expect(f.get("kube_pod_container_status_restarts_total")?.type).toBe("counter");
  });

  it("requests and limits with resource and unit labels", () => {
    const c = { ...podBase, container: "app", node: "node-a" };
    expect(values(f, "kube_pod_container_resource_requests", { pod: "web-1" })).toEqual([
      [{ ...c, resource: "cpu", unit: "core" }, 0.25],
      [{ ...c, resource: "memory", unit: "byte" }, 64 * 1024 * 1024],
    ]);
    expect(values(f, "kube_pod_container_resource_limits", { pod: "web-1" })).toEqual([
      [{ ...c, resource: "cpu", unit: "core" }, 1],
      [{ ...c, resource: "example_com_gpu", unit: "integer" }, 2],
      [{ ...c, resource: "memory", unit: "byte" }, 128 * 1024 * 1024],
    ]);
  });

  it("kube_pod_labels carries no label_ labels unless allow-listed", () => {
    expect(values(f, "kube_pod_labels", { pod: "web-1" })).toEqual([[podBase, 1]]);
    const allowed = render([webPod()], { metricLabelsAllowlist: "pods=[app.kubernetes.io/tier]" });
    expect(values(allowed, "kube_pod_labels")).toEqual([[{ ...podBase, label_app_kubernetes_io_tier: "front" }, 1]]);
    const all = render([webPod()], { metricLabelsAllowlist: "*=[*]" });
    expect(values(all, "kube_pod_labels")).toEqual([[{ ...podBase, label_app: "web", label_app_kubernetes_io_tier: "front" }, 1]]);
  });
});

describe("node families", () => {
  const node = newNode("node-a", { podCIDR: "10.244.1.0/24", internalIP: "172.30.0.9", unschedulable: true, taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }], labels: { "node-role.kubernetes.io/control-plane": "" } });
  node.status!.conditions!.push({ type: "MemoryPressure", status: "False" });
  const f = render([node, newNode("node-b", { ready: "Unknown" })]);

  it("kube_node_info", () => {
    expect(values(f, "kube_node_info", { node: "node-a" })).toEqual([
      [{ node: "node-a", kernel_version: "", os_image: "", container_runtime_version: "", kubelet_version: "v1.32.0", kubeproxy_version: "", provider_id: "", pod_cidr: "10.244.1.0/24", system_uuid: "", internal_ip: "172.30.0.9" }, 1],
    ]);
    expect(values(f, "kube_node_role")).toEqual([[{ node: "node-a", role: "control-plane" }, 1]]);
  });

  it("kube_node_status_condition: three series per condition", () => {
    expect(values(f, "kube_node_status_condition", { node: "node-a", condition: "Ready" })).toEqual([
      [{ node: "node-a", condition: "Ready", status: "true" }, 1],
      [{ node: "node-a", condition: "Ready", status: "false" }, 0],
      [{ node: "node-a", condition: "Ready", status: "unknown" }, 0],
    ]);
    expect(values(f, "kube_node_status_condition", { node: "node-a", condition: "MemoryPressure", status: "false" })).toHaveLength(1);
    expect(values(f, "kube_node_status_condition", { node: "node-b", status: "unknown" })).toEqual([[{ node: "node-b", condition: "Ready", status: "unknown" }, 1]]);
  });

  it("capacity, allocatable, unschedulable and taints", () => {
    expect(values(f, "kube_node_status_capacity", { node: "node-a" })).toEqual([
      [{ node: "node-a", resource: "cpu", unit: "core" }, 4],
      [{ node: "node-a", resource: "memory", unit: "byte" }, 8 * 1024 ** 3],
      [{ node: "node-a", resource: "pods", unit: "integer" }, 110],
    ]);
    expect(values(f, "kube_node_status_allocatable", { node: "node-b", resource: "pods" })).toEqual([[{ node: "node-b", resource: "pods", unit: "integer" }, 110]]);
    expect(values(f, "kube_node_spec_unschedulable")).toEqual([
      [{ node: "node-a" }, 1],
      [{ node: "node-b" }, 0],
    ]);
    expect(values(f, "kube_node_spec_taint")).toEqual([[{ node: "node-a", key: "dedicated", value: "gpu", effect: "NoSchedule" }, 1]]);
  });
});

describe("workload families", () => {
  const deploy = newDeployment("web", { replicas: 4, meta: { generation: 3 } });
  deploy.spec!.strategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } };
  deploy.status = { observedGeneration: 3, replicas: 4, updatedReplicas: 4, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 1, conditions: [{ type: "Available", status: "True" }] };
  const rs = newReplicaSet("web-abc", { replicas: 4, meta: { generation: 1, ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d", controller: true }] } });
  rs.status = { replicas: 4, fullyLabeledReplicas: 4, readyReplicas: 3, observedGeneration: 1 };
  const rc: ReplicationController = { apiVersion: "v1", kind: "ReplicationController", metadata: { name: "old", namespace: "default", generation: 2 }, spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 1, availableReplicas: 1, observedGeneration: 2 } };
  const ds = newDaemonSet("agent");
  ds.status = { currentNumberScheduled: 2, desiredNumberScheduled: 3, numberReady: 2, numberAvailable: 2, numberUnavailable: 1, numberMisscheduled: 0, updatedNumberScheduled: 2, observedGeneration: 1 };
  const sts = newStatefulSet("db", { replicas: 3 });
  sts.status = { replicas: 3, readyReplicas: 2, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 2 };
  const f = render([deploy, rs, rc, ds, sts]);
  const d = { namespace: "default", deployment: "web" };

  it("deployment replicas, generations, strategy and conditions", () => {
    expect(values(f, "kube_deployment_spec_replicas")).toEqual([[d, 4]]);
    expect(values(f, "kube_deployment_status_replicas")).toEqual([[d, 4]]);
    expect(values(f, "kube_deployment_status_replicas_available")).toEqual([[d, 3]]);
    expect(values(f, "kube_deployment_status_replicas_unavailable")).toEqual([[d, 1]]);
    expect(values(f, "kube_deployment_status_replicas_updated")).toEqual([[d, 4]]);
    expect(values(f, "kube_deployment_status_replicas_ready")).toEqual([[d, 3]]);
    expect(values(f, "kube_deployment_metadata_generation")).toEqual([[d, 3]]);
    expect(values(f, "kube_deployment_status_observed_generation")).toEqual([[d, 3]]);
    expect(values(f, "kube_deployment_spec_strategy_rollingupdate_max_unavailable")).toEqual([[d, 1]]);
    expect(values(f, "kube_deployment_spec_strategy_rollingupdate_max_surge")).toEqual([[d, 1]]);
    expect(values(f, "kube_deployment_status_condition", { status: "true" })).toEqual([[{ ...d, condition: "Available", status: "true" }, 1]]);
    expect(values(f, "kube_deployment_spec_paused")).toEqual([[d, 0]]);
  });

  it("replica sets, replication controllers, daemon sets and stateful sets", () => {
    const r = { namespace: "default", replicaset: "web-abc" };
    expect(values(f, "kube_replicaset_spec_replicas")).toEqual([[r, 4]]);
    expect(values(f, "kube_replicaset_status_ready_replicas")).toEqual([[r, 3]]);
    expect(values(f, "kube_replicaset_owner")).toEqual([[{ ...r, owner_kind: "Deployment", owner_name: "web", owner_is_controller: "true" }, 1]]);
    const c = { namespace: "default", replicationcontroller: "old" };
    expect(values(f, "kube_replicationcontroller_spec_replicas")).toEqual([[c, 2]]);
    expect(values(f, "kube_replicationcontroller_status_available_replicas")).toEqual([[c, 1]]);
    expect(values(f, "kube_replicationcontroller_metadata_generation")).toEqual([[c, 2]]);
    expect(values(f, "kube_daemonset_status_desired_number_scheduled")).toEqual([[{ namespace: "default", daemonset: "agent" }, 3]]);
    expect(values(f, "kube_daemonset_status_number_unavailable")).toEqual([[{ namespace: "default", daemonset: "agent" }, 1]]);
    expect(values(f, "kube_statefulset_replicas")).toEqual([[{ namespace: "default", statefulset: "db" }, 3]]);
    expect(values(f, "kube_statefulset_status_replicas_ready")).toEqual([[{ namespace: "default", statefulset: "db" }, 2]]);
  });
});

describe("service, endpoints and endpointslice families", () => {
  const svc = newService("web", { type: "NodePort", clusterIP: "10.96.0.10", meta: { uid: "svc-uid" } });
  const ep: Endpoints = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "web", namespace: "default" },
    subsets: [{ addresses: [{ ip: "10.244.0.7" }, { ip: "10.244.0.8" }], notReadyAddresses: [{ ip: "10.244.0.9" }], ports: [{ name: "http", port: 80, protocol: "TCP" }, { name: "metrics", port: 9090, protocol: "TCP" }] }],
  };
  const slice: EndpointSlice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-x1", namespace: "default" },
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.244.0.7"], conditions: { ready: true, serving: true, terminating: false }, nodeName: "node-a", targetRef: { kind: "Pod", name: "web-1", namespace: "default" } }],
    ports: [{ name: "http", port: 80, protocol: "TCP" }],
  };
  const f = render([svc, ep, slice]);
  const e = { namespace: "default", endpoint: "web" };

  it("kube_service_info and kube_service_spec_type", () => {
    const s = { namespace: "default", service: "web", uid: "svc-uid" };
    expect(values(f, "kube_service_info")).toEqual([[{ ...s, cluster_ip: "10.96.0.10", external_name: "", load_balancer_ip: "" }, 1]]);
    expect(values(f, "kube_service_spec_type")).toEqual([[{ ...s, type: "NodePort" }, 1]]);
  });

  it("kube_endpoint_address_available counts each ready address once per port; kube_endpoint_address lists them", () => {
    expect(values(f, "kube_endpoint_address_available")).toEqual([[e, 4]]);
    expect(values(f, "kube_endpoint_address_not_ready")).toEqual([[e, 2]]);
    expect(values(f, "kube_endpoint_address")).toEqual([
      [{ ...e, ip: "10.244.0.7", ready: "true" }, 1],
      [{ ...e, ip: "10.244.0.8", ready: "true" }, 1],
      [{ ...e, ip: "10.244.0.9", ready: "false" }, 1],
    ]);
    expect(values(f, "kube_endpoint_ports", { port_name: "metrics" })).toEqual([[{ ...e, port_name: "metrics", port_protocol: "TCP", port_number: "9090" }, 1]]);
  });

  it("kube_endpointslice_*", () => {
    const s = { endpointslice: "web-x1", namespace: "default" };
    expect(values(f, "kube_endpointslice_info")).toEqual([[{ ...s, addresstype: "IPv4" }, 1]]);
    expect(values(f, "kube_endpointslice_endpoints")).toEqual([
      [{ ...s, ready: "true", serving: "true", terminating: "false", hostname: "", targetref_kind: "Pod", targetref_name: "web-1", targetref_namespace: "default", nodename: "node-a", endpoint_zone: "", address: "10.244.0.7" }, 1],
    ]);
  });
});

describe("namespace, configmap and secret families", () => {
  const secret: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "token", namespace: "default", resourceVersion: "42" }, type: "kubernetes.io/service-account-token", data: { token: "c2VjcmV0LXZhbHVl" } };
  const f = render([newNamespace("default"), newNamespace("gone", { phase: "Terminating" }), newConfigMap("conf", { data: { key: "cm-value" }, meta: { resourceVersion: "7" } }), secret]);

  it("kube_namespace_status_phase", () => {
    expect(values(f, "kube_namespace_status_phase")).toEqual([
      [{ namespace: "default", phase: "Active" }, 1],
      [{ namespace: "default", phase: "Terminating" }, 0],
      [{ namespace: "gone", phase: "Active" }, 0],
      [{ namespace: "gone", phase: "Terminating" }, 1],
    ]);
  });

  it("configmap and secret info without their data", () => {
    expect(values(f, "kube_configmap_info")).toEqual([[{ namespace: "default", configmap: "conf" }, 1]]);
    expect(values(f, "kube_configmap_metadata_resource_version")).toEqual([[{ namespace: "default", configmap: "conf" }, 7]]);
    expect(values(f, "kube_secret_info")).toEqual([[{ namespace: "default", secret: "token" }, 1]]);
    expect(values(f, "kube_secret_type")).toEqual([[{ namespace: "default", secret: "token", type: "kubernetes.io/service-account-token" }, 1]]);
    const everything = JSON.stringify([...f.values()]);
    expect(everything).not.toContain("c2VjcmV0LXZhbHVl");
    expect(everything).not.toContain("cm-value");
  });
});

describe("every family", () => {
  it("has HELP, a TYPE, a kube_ name, and no label repeated from its base", () => {
    const f = render([webPod(), newNode("n"), newDeployment("d"), newService("s")]);
    expect(f.size).toBeGreaterThan(80);
    for (const family of f.values()) {
      expect(family.name).toMatch(/^kube_[a-z_]+$/);
      expect(family.help).not.toBe("");
      expect(["gauge", "counter"]).toContain(family.type);
    }
  });
});

describe("pod times and IPs", () => {
  it("kube_pod_status_ready_time, kube_pod_completion_time and kube_pod_ips", () => {
    const pod = newPod("done", { meta: { uid: "u" }, podIP: "10.244.0.9" });
    pod.status = {
      ...pod.status,
      phase: "Succeeded",
      podIPs: [{ ip: "10.244.0.9" }, { ip: "fd00::9" }],
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: CREATED }],
      containerStatuses: [
        { name: "a", ready: false, restartCount: 0, image: "", imageID: "", state: { terminated: { exitCode: 0, finishedAt: "2024-05-01T10:00:05Z" } } },
        { name: "b", ready: false, restartCount: 0, image: "", imageID: "", state: { terminated: { exitCode: 0, finishedAt: "2024-05-01T10:00:09Z" } } },
      ],
    };
    const f = render([pod]);
    const b = { namespace: "default", pod: "done", uid: "u" };
    expect(values(f, "kube_pod_status_ready_time")).toEqual([[b, CREATED_UNIX]]);
    expect(values(f, "kube_pod_completion_time")).toEqual([[b, CREATED_UNIX + 9]]);
    expect(values(f, "kube_pod_ips")).toEqual([
      [{ ...b, ip: "10.244.0.9", ip_family: "4" }, 1],
      [{ ...b, ip: "fd00::9", ip_family: "6" }, 1],
    ]);
  });
});

describe("lease families", () => {
  it("kube_lease_owner and kube_lease_renew_time", () => {
    const lease: Lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "node-a", namespace: "kube-node-lease", ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "node-a", uid: "n" }] },
      spec: { holderIdentity: "node-a", renewTime: "2024-05-01T10:00:00.500000Z" },
    };
    const f = render([lease]);
    expect(values(f, "kube_lease_owner")).toEqual([[{ lease: "node-a", owner_kind: "Node", owner_name: "node-a", namespace: "kube-node-lease", lease_holder: "node-a" }, 1]]);
    expect(values(f, "kube_lease_renew_time")).toEqual([[{ lease: "node-a", namespace: "kube-node-lease" }, CREATED_UNIX]]);
  });
});

describe("init container families", () => {
  it("mirror the container families under kube_pod_init_container_*", () => {
    const pod = newPod("init", { meta: { uid: "u" }, status: { phase: "Pending" } });
    pod.spec!.initContainers = [{ name: "setup", image: "busybox", resources: { requests: { cpu: "100m" } } }];
    pod.status!.initContainerStatuses = [{ name: "setup", ready: false, restartCount: 2, image: "busybox", imageID: "", state: { terminated: { exitCode: 1, reason: "Error" } } }];
    const f = render([pod]);
    const c = { namespace: "default", pod: "init", uid: "u", container: "setup" };
    expect(values(f, "kube_pod_init_container_status_restarts_total")).toEqual([[c, 2]]);
    expect(f.get("kube_pod_init_container_status_restarts_total")?.type).toBe("counter");
    expect(values(f, "kube_pod_init_container_status_terminated_reason")).toEqual([[{ ...c, reason: "Error" }, 1]]);
    expect(values(f, "kube_pod_init_container_resource_requests")).toEqual([[{ ...c, node: "", resource: "cpu", unit: "core" }, 0.1]]);
    expect(f.get("kube_pod_init_container_info")?.help).toBe("Information about an init container in a pod.");
    expect(values(f, "kube_pod_container_status_restarts_total", { pod: "init" })).toEqual([]);
  });
});
