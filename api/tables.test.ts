import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "./meta.js";
import { RESOURCES, type ResourceInfo } from "./resources.js";
import { buildTable, tableColumns, tableRow } from "./tables.js";
import { formatTime } from "./time.js";
import { newConfigMap, newDaemonSet, newDeployment, newNamespace, newNode, newPod, newReplicaSet, newService, newStatefulSet } from "./testing/builders.js";
import type { ContainerStatus, CoreEvent, EndpointSlice, Endpoints, Lease, Pod, PodStatus, ReplicationController } from "./types/index.js";

const NOW = Date.parse("2024-05-01T12:00:00Z");
const CREATED = "2024-05-01T11:00:00Z"; // 60m before NOW
const minutesAgo = (m: number): string => formatTime(NOW - m * 60_000);

function info(group: string, kind: string): ResourceInfo {
  const found = RESOURCES.find((r) => r.group === group && r.kind === kind);
  if (!found) throw new Error(`no resource ${group}/${kind}`);
  return found;
}

const created = <T extends KubeObject>(obj: T): T => {
  obj.metadata.creationTimestamp = CREATED;
  return obj;
};

function headers(group: string, kind: string, wide = true): string[] {
  return tableColumns(info(group, kind))
    .filter((c) => wide || c.priority === 0)
    .map((c) => c.name.toUpperCase());
}

describe("table columns", () => {
  it.each<[string, string, string[]]>([
    ["", "Pod", ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]],
    ["apps", "Deployment", ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]],
    ["apps", "ReplicaSet", ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]],
    ["", "ReplicationController", ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]],
    ["", "Service", ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]],
    ["", "Node", ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]],
    ["", "Namespace", ["NAME", "STATUS", "AGE"]],
    ["", "Event", ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"]],
    ["events.k8s.io", "Event", ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"]],
    ["", "ConfigMap", ["NAME", "DATA", "AGE"]],
    ["", "Secret", ["NAME", "TYPE", "DATA", "AGE"]],
    ["", "ServiceAccount", ["NAME", "SECRETS", "AGE"]],
    ["", "Endpoints", ["NAME", "ENDPOINTS", "AGE"]],
    ["apps", "DaemonSet", ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]],
    ["apps", "StatefulSet", ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]],
    ["coordination.k8s.io", "Lease", ["NAME", "HOLDER", "AGE"]],
    ["discovery.k8s.io", "EndpointSlice", ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]],
  ])("lists the %s/%s columns kubectl prints with -o wide", (group, kind, expected) => {
    expect(headers(group, kind)).toEqual(expected);
  });

  it.each<[string, string, string[]]>([
    ["", "Pod", ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]],
    ["", "Event", ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]],
    ["apps", "DaemonSet", ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]],
  ])("shows only priority-0 %s/%s columns without -o wide", (group, kind, expected) => {
    expect(headers(group, kind, false)).toEqual(expected);
  });

  it("covers every served resource, with name, type, format, description and priority on each column", () => {
    for (const r of RESOURCES) {
      const cols = tableColumns(r);
      expect(cols.length, r.resource).toBeGreaterThan(1);
      for (const c of cols) {
        expect(Object.keys(c).sort()).toEqual(["description", "format", "name", "priority", "type"]);
        expect(c.description).not.toBe("");
        expect([0, 1]).toContain(c.priority);
      }
      // The first NAME column carries format "name" (kubectl's kind/ prefix and decorations rely on it).
      expect(cols.find((c) => c.name === "Name")?.format, r.resource).toBe("name");
    }
  });
});

describe("pod rows", () => {
  const running = (name: string, extra: Partial<ContainerStatus> = {}): ContainerStatus => ({
    name,
    ready: true,
    restartCount: 0,
    image: "img",
    imageID: "",
    state: { running: { startedAt: minutesAgo(30) } },
    ...extra,
  });
  const podWith = (status: PodStatus, patch: (p: Pod) => void = () => undefined): Pod => {
    const pod = created(newPod("web", { status }));
    patch(pod);
    return pod;
  };
  const cells = (pod: Pod): unknown[] => tableRow(info("", "Pod"), pod, NOW);

  it.each<[string, Pod, string, string, string]>([
    ["a new pod", podWith({ phase: "Pending" }), "0/1", "Pending", "0"],
    ["a running pod", podWith({ phase: "Running", containerStatuses: [running("app")] }), "1/1", "Running", "0"],
    ["a creating container", podWith({ phase: "Pending", containerStatuses: [{ ...running("app", { ready: false }), state: { waiting: { reason: "ContainerCreating" } } }] }), "0/1", "ContainerCreating", "0"],
    [
      "a crash loop",
      podWith({
        phase: "Running",
        containerStatuses: [
          { ...running("app", { ready: false, restartCount: 3 }), state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 1, reason: "Error", finishedAt: minutesAgo(5) } } },
        ],
      }),
      "0/1",
      "CrashLoopBackOff",
      "3 (5m ago)",
    ],
    ["a completed pod", podWith({ phase: "Succeeded", containerStatuses: [{ ...running("app", { ready: false }), state: { terminated: { exitCode: 0, reason: "Completed" } } }] }), "0/1", "Completed", "0"],
    ["an exit code without reason", podWith({ phase: "Failed", containerStatuses: [{ ...running("app", { ready: false }), state: { terminated: { exitCode: 2 } } }] }), "0/1", "ExitCode:2", "0"],
    ["a signal without reason", podWith({ phase: "Failed", containerStatuses: [{ ...running("app", { ready: false }), state: { terminated: { exitCode: 137, signal: 9 } } }] }), "0/1", "Signal:9", "0"],
    ["an evicted pod", podWith({ phase: "Failed", reason: "Evicted" }), "0/1", "Evicted", "0"],
    ["a terminating pod", podWith({ phase: "Running", containerStatuses: [running("app")] }, (p) => (p.metadata.deletionTimestamp = minutesAgo(0))), "1/1", "Terminating", "0"],
    ["a finished pod being deleted", podWith({ phase: "Succeeded" }, (p) => (p.metadata.deletionTimestamp = minutesAgo(0))), "0/1", "Succeeded", "0"],
    ["a pod on a lost node being deleted", podWith({ phase: "Running", reason: "NodeLost" }, (p) => (p.metadata.deletionTimestamp = minutesAgo(0))), "0/1", "Unknown", "0"],
    ["a scheduling-gated pod", podWith({ phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "SchedulingGated" }] }), "0/1", "SchedulingGated", "0"],
  ])("shows %s", (_what, pod, ready, status, restarts) => {
    expect(cells(pod).slice(0, 5)).toEqual(["web", ready, status, restarts, "60m"]);
  });

  describe("with init containers", () => {
    const withInit = (statuses: ContainerStatus[]): Pod =>
      podWith({ phase: "Pending", initContainerStatuses: statuses }, (p) => {
        p.spec!.initContainers = [
          { name: "init-a", image: "busybox" },
          { name: "init-b", image: "busybox" },
        ];
      });
    const done = (name: string): ContainerStatus => ({ ...running(name, { ready: false }), state: { terminated: { exitCode: 0, reason: "Completed" } } });

    it.each<[string, ContainerStatus[], string]>([
      ["the first init container running", [{ ...running("init-a", { ready: false }) }, { ...running("init-b", { ready: false }), state: { waiting: { reason: "PodInitializing" } } }], "Init:0/2"],
      ["the second init container running", [done("init-a"), running("init-b", { ready: false })], "Init:1/2"],
      ["an init image that cannot be pulled", [{ ...running("init-a", { ready: false }), state: { waiting: { reason: "ErrImagePull" } } }], "Init:ErrImagePull"],
      ["a failed init container", [{ ...running("init-a", { ready: false }), state: { terminated: { exitCode: 1, reason: "Error" } } }], "Init:Error"],
      ["a failed init container without reason", [{ ...running("init-a", { ready: false }), state: { terminated: { exitCode: 3 } } }], "Init:ExitCode:3"],
    ])("shows %s as %s", (_what, statuses, status) => {
      expect(cells(withInit(statuses))[2]).toBe(status);
    });

    it("counts a started sidecar in READY", () => {
      const pod = podWith(
        { phase: "Running", initContainerStatuses: [running("sidecar", { started: true })], containerStatuses: [running("app")] },
        (p) => (p.spec!.initContainers = [{ name: "sidecar", image: "envoy", restartPolicy: "Always" }]),
      );
      expect(cells(pod).slice(1, 3)).toEqual(["2/2", "Running"]);
    });
  });

  it("fills the wide columns", () => {
    const pod = podWith({ phase: "Running", podIPs: [{ ip: "10.244.1.5" }], nominatedNodeName: "node-2", conditions: [{ type: "www.example.com/gate", status: "True" }] }, (p) => {
      p.spec!.nodeName = "node-1";
      p.spec!.readinessGates = [{ conditionType: "www.example.com/gate" }, { conditionType: "other" }];
    });
    expect(cells(pod).slice(5)).toEqual(["10.244.1.5", "node-1", "node-2", "1/2"]);
  });

  it("shows <none> for unset wide columns", () => {
    expect(cells(podWith({ phase: "Pending" })).slice(5)).toEqual(["<none>", "<none>", "<none>", "<none>"]);
  });
});

describe("workload rows", () => {
  it("shows a deployment's ready, up-to-date and available replicas", () => {
    const d = created(newDeployment("web", { replicas: 3, image: "nginx:1.27" }));
    d.status = { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 };
    expect(tableRow(info("apps", "Deployment"), d, NOW)).toEqual(["web", "2/3", 3, 2, "60m", "app", "nginx:1.27", "app=web"]);
  });

  it("shows a new deployment with no status as 0/1", () => {
    expect(tableRow(info("apps", "Deployment"), created(newDeployment("web")), NOW).slice(0, 4)).toEqual(["web", "0/1", 0, 0]);
  });

  it("shows a replica set's desired, current and ready", () => {
    const rs = created(newReplicaSet("web-abc", { replicas: 2, selectorLabels: { app: "web", "pod-template-hash": "abc" } }));
    rs.status = { replicas: 2, readyReplicas: 1 };
    expect(tableRow(info("apps", "ReplicaSet"), rs, NOW)).toEqual(["web-abc", 2, 2, 1, "60m", "app", "registry.k8s.io/pause:3.10", "app=web,pod-template-hash=abc"]);
  });

  it("prints a selector with expressions canonically", () => {
    const rs = created(newReplicaSet("web"));
    rs.spec!.selector = { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["fe", "be"] }, { key: "canary", operator: "DoesNotExist" }] };
    expect(tableRow(info("apps", "ReplicaSet"), rs, NOW)[7]).toBe("app=web,!canary,tier in (be,fe)");
  });

  it("shows a replication controller's selector map", () => {
    const rc: ReplicationController = created({
      apiVersion: "v1",
      kind: "ReplicationController",
      metadata: { name: "nginx" },
      spec: { replicas: 5, selector: { app: "nginx", tier: "web" }, template: { spec: { containers: [{ name: "nginx", image: "nginx" }, { name: "log", image: "busybox" }] } } },
      status: { replicas: 5, readyReplicas: 4 },
    });
    expect(tableRow(info("", "ReplicationController"), rc, NOW)).toEqual(["nginx", 5, 5, 4, "60m", "nginx,log", "nginx,busybox", "app=nginx,tier=web"]);
  });

  it("shows a daemon set's counts and node selector", () => {
    const ds = created(newDaemonSet("agent"));
    ds.spec!.template!.spec!.nodeSelector = { "kubernetes.io/os": "linux" };
    ds.status = { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 };
    expect(tableRow(info("apps", "DaemonSet"), ds, NOW)).toEqual(["agent", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "60m", "app", "registry.k8s.io/pause:3.10", "app=agent"]);
  });

  it("shows a stateful set's ready count", () => {
    const sts = created(newStatefulSet("db", { replicas: 3 }));
    sts.status = { readyReplicas: 1 };
    expect(tableRow(info("apps", "StatefulSet"), sts, NOW)).toEqual(["db", "1/3", "60m", "app", "registry.k8s.io/pause:3.10"]);
  });
});

describe("service rows", () => {
  const row = (svc: KubeObject): unknown[] => tableRow(info("", "Service"), created(svc), NOW);

  it("shows a ClusterIP service", () => {
    const svc = newService("web", { ports: [{ port: 80, protocol: "TCP", targetPort: 8080 }] });
    svc.spec!.type = "ClusterIP";
    svc.spec!.clusterIPs = ["10.96.0.10"];
    expect(row(svc)).toEqual(["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "60m", "app=web"]);
  });

  it("shows node ports", () => {
    const svc = newService("web", { type: "NodePort", ports: [{ port: 8080, protocol: "TCP", nodePort: 30080 }, { name: "udp", port: 53, protocol: "UDP", nodePort: 30053 }] });
    expect(row(svc)[4]).toBe("8080:30080/TCP,53:30053/UDP");
  });

  it.each<[string, (s: ReturnType<typeof newService>) => void, string]>([
    ["a pending load balancer", (s) => (s.spec!.type = "LoadBalancer"), "<pending>"],
    ["a load balancer with ingress and external IPs", (s) => {
      s.spec!.type = "LoadBalancer";
      s.spec!.externalIPs = ["192.0.2.9"];
      s.status = { loadBalancer: { ingress: [{ ip: "192.0.2.1" }, { hostname: "lb.example.com" }] } };
    }, "192.0.2.1,lb.example.com,192.0.2.9"],
    ["external IPs on a ClusterIP service", (s) => {
      s.spec!.type = "ClusterIP";
      s.spec!.externalIPs = ["192.0.2.5", "192.0.2.6"];
    }, "192.0.2.5,192.0.2.6"],
    ["an ExternalName service", (s) => {
      s.spec!.type = "ExternalName";
      s.spec!.externalName = "db.example.com";
    }, "db.example.com"],
  ])("shows the EXTERNAL-IP of %s", (_what, change, expected) => {
    const svc = newService("web");
    change(svc);
    expect(row(svc)[3]).toBe(expected);
  });

  it("shows <none> for a service without ports, cluster IPs or selector", () => {
    const svc = newService("web");
    svc.spec = { type: "ClusterIP" };
    expect(row(svc)).toEqual(["web", "ClusterIP", "<none>", "<none>", "<none>", "60m", "<none>"]);
  });
});

describe("node and namespace rows", () => {
  it("shows a ready worker with its version and wide details", () => {
    const node = created(newNode("node-1", { internalIP: "172.30.0.2", kubeletVersion: "v1.32.0" }));
    node.status!.nodeInfo = { ...node.status!.nodeInfo, osImage: "Debian GNU/Linux 12", kernelVersion: "6.1.0", containerRuntimeVersion: "kubelab://0.1.0" };
    expect(tableRow(info("", "Node"), node, NOW)).toEqual(["node-1", "Ready", "<none>", "60m", "v1.32.0", "172.30.0.2", "<none>", "Debian GNU/Linux 12", "6.1.0", "kubelab://0.1.0"]);
  });

  it.each<[string, Parameters<typeof newNode>[1], string]>([
    ["not ready", { ready: false }, "NotReady"],
    ["of unknown state", { ready: "Unknown" }, "NotReady"],
    ["cordoned", { unschedulable: true }, "Ready,SchedulingDisabled"],
  ])("shows a node that is %s", (_what, opts, status) => {
    expect(tableRow(info("", "Node"), newNode("n", opts), NOW)[1]).toBe(status);
  });

  it("shows Unknown for a node without a Ready condition, and <unknown> for missing system info", () => {
    const node = newNode("n");
    node.status = {};
    const cells = tableRow(info("", "Node"), node, NOW);
    expect(cells[1]).toBe("Unknown");
    expect(cells.slice(7)).toEqual(["<unknown>", "<unknown>", "<unknown>"]);
  });

  it("collects roles from node-role labels and kubernetes.io/role", () => {
    const node = newNode("cp", { labels: { "node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master", "node-role.kubernetes.io/": "x" } });
    expect(tableRow(info("", "Node"), node, NOW)[2]).toBe("control-plane,master");
  });

  it("shows a namespace's phase", () => {
    expect(tableRow(info("", "Namespace"), created(newNamespace("team-a", { phase: "Active" })), NOW)).toEqual(["team-a", "Active", "60m"]);
  });
});

describe("event rows", () => {
  const event = (patch: Partial<CoreEvent>): CoreEvent => ({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "web.17a", namespace: "default", creationTimestamp: CREATED },
    involvedObject: { kind: "Pod", name: "web", namespace: "default", fieldPath: "spec.containers{app}" },
    reason: "Pulled",
    message: "Successfully pulled image\n",
    type: "Normal",
    source: { component: "kubelet", host: "node-1" },
    firstTimestamp: minutesAgo(10),
    lastTimestamp: minutesAgo(2),
    count: 4,
    ...patch,
  });

  it("interleaves the wide columns in kubectl's order", () => {
    expect(tableRow(info("", "Event"), event({}), NOW)).toEqual(["2m", "Normal", "Pulled", "pod/web", "spec.containers{app}", "kubelet, node-1", "Successfully pulled image", "10m", 4, "web.17a"]);
  });

  it("falls back to the reporting fields and the event time of newer events", () => {
    const ev = event({ source: {}, reportingComponent: "default-scheduler", reportingInstance: "", eventTime: minutesAgo(3), count: 0 });
    delete ev.firstTimestamp;
    delete ev.lastTimestamp;
    expect(tableRow(info("", "Event"), ev, NOW)).toEqual(["3m", "Normal", "Pulled", "pod/web", "spec.containers{app}", "default-scheduler", "Successfully pulled image", "3m", 1, "web.17a"]);
  });

  it("uses the series for LAST SEEN and COUNT", () => {
    const ev = event({ series: { count: 9, lastObservedTime: minutesAgo(1) } });
    const cells = tableRow(info("", "Event"), ev, NOW);
    expect([cells[0], cells[8]]).toEqual(["60s", 9]);
  });

  it("prints events.k8s.io events from their own field names", () => {
    const ev: KubeObject = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "n1.1", namespace: "default" },
      regarding: { kind: "Node", name: "n1" },
      note: "Node n1 status is now: NodeReady",
      reason: "NodeReady",
      type: "Normal",
      reportingController: "kubelet",
      reportingInstance: "n1",
      eventTime: minutesAgo(7),
    };
    expect(tableRow(info("events.k8s.io", "Event"), ev, NOW)).toEqual(["7m", "Normal", "NodeReady", "node/n1", "", "kubelet, n1", "Node n1 status is now: NodeReady", "7m", 1, "n1.1"]);
  });
});

describe("other rows", () => {
  it.each<[string, string, KubeObject, unknown[]]>([
    ["config map", "ConfigMap", { ...newConfigMap("cfg", { data: { a: "1", b: "2" } }), binaryData: { c: "AA==" } }, ["cfg", 3, "60m"]],
    ["secret", "Secret", { apiVersion: "v1", kind: "Secret", metadata: { name: "tls" }, type: "kubernetes.io/tls", data: { "tls.crt": "", "tls.key": "" } }, ["tls", "kubernetes.io/tls", 2, "60m"]],
    ["service account", "ServiceAccount", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } }, ["default", 0, "60m"]],
  ])("shows a %s", (_what, kind, obj, expected) => {
    expect(tableRow(info("", kind), created(obj), NOW)).toEqual(expected);
  });

  it("shows a lease's holder", () => {
    const lease: Lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "node-1" }, spec: { holderIdentity: "node-1" } };
    expect(tableRow(info("coordination.k8s.io", "Lease"), created(lease), NOW)).toEqual(["node-1", "node-1", "60m"]);
  });

  it.each<[string, Endpoints["subsets"], string]>([
    ["no subsets", undefined, "<none>"],
    ["two addresses", [{ addresses: [{ ip: "10.244.1.5" }, { ip: "10.244.2.3" }], ports: [{ port: 8080 }] }], "10.244.1.5:8080,10.244.2.3:8080"],
    [
      "more than three endpoints",
      [{ addresses: [{ ip: "10.244.1.5" }, { ip: "10.244.2.3" }, { ip: "10.244.3.4" }, { ip: "10.244.3.5" }], ports: [{ port: 8080 }] }],
      "10.244.1.5:8080,10.244.2.3:8080,10.244.3.4:8080 + 1 more...",
    ],
    ["a headless service without ports", [{ addresses: [{ ip: "10.244.1.5" }] }], "10.244.1.5"],
    ["only not-ready addresses", [{ notReadyAddresses: [{ ip: "10.244.1.5" }], ports: [{ port: 80 }] }], ""],
  ])("shows endpoints with %s", (_what, subsets, expected) => {
    const ep: Endpoints = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "web", creationTimestamp: CREATED } };
    if (subsets) ep.subsets = subsets;
    expect(tableRow(info("", "Endpoints"), ep, NOW)).toEqual(["web", expected, "60m"]);
  });

  it("shows an endpoint slice's ports and addresses", () => {
    const slice: EndpointSlice = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "web-x1", creationTimestamp: CREATED },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.244.1.5"] }, { addresses: ["10.244.2.3"] }, { addresses: ["10.244.3.4"] }, { addresses: ["10.244.3.5"] }],
      ports: [{ name: "http", port: 8080 }, { name: "metrics" }],
    };
    expect(tableRow(info("discovery.k8s.io", "EndpointSlice"), slice, NOW)).toEqual(["web-x1", "IPv4", "8080,metrics", "10.244.1.5,10.244.2.3,10.244.3.4 + 1 more...", "60m"]);
  });

  it("shows <unset> for an empty endpoint slice", () => {
    const slice: EndpointSlice = { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "s" }, addressType: "IPv4" };
    expect(tableRow(info("discovery.k8s.io", "EndpointSlice"), slice, NOW).slice(2, 4)).toEqual(["<unset>", "<unset>"]);
  });

  it("shows <unknown> AGE without a creation timestamp", () => {
    expect(tableRow(info("", "Namespace"), newNamespace("x"), NOW)[2]).toBe("<unknown>");
  });
});

describe("buildTable", () => {
  const pod = (): Pod => {
    const p = created(newPod("web", { labels: { app: "web" }, phase: "Pending" }));
    p.metadata.uid = "u1";
    p.metadata.resourceVersion = "7";
    p.metadata.managedFields = [{ manager: "kubectl" }];
    delete p.kind;
    delete p.apiVersion;
    return p;
  };

  it("builds a meta.k8s.io/v1 Table with PartialObjectMetadata rows (managedFields kept, as Kubernetes 1.26) by default", () => {
    const table = buildTable(info("", "Pod"), [pod()], NOW, { includeObject: "Metadata", withColumns: true, resourceVersion: "42", continue: "" });
    expect(table).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1", metadata: { resourceVersion: "42", continue: "" } });
    expect(table.columnDefinitions).toHaveLength(9);
    expect(table.rows).toEqual([
      {
        cells: ["web", "0/1", "Pending", "0", "60m", "<none>", "<none>", "<none>", "<none>"],
        object: {
          kind: "PartialObjectMetadata",
          apiVersion: "meta.k8s.io/v1",
          metadata: { name: "web", namespace: "default", labels: { app: "web" }, creationTimestamp: CREATED, uid: "u1", resourceVersion: "7", managedFields: [{ manager: "kubectl" }] },
        },
      },
    ]);
  });

  it("carries the full object with kind and apiVersion for includeObject=Object", () => {
    const table = buildTable(info("", "Pod"), [pod()], NOW, { includeObject: "Object", withColumns: true });
    expect(table.rows[0]?.object).toMatchObject({ kind: "Pod", apiVersion: "v1", spec: { containers: [{ name: "app" }] } });
    expect(table.metadata).toEqual({});
  });

  it("sends a null object for includeObject=None and columns out when asked", () => {
    const table = buildTable(info("", "Pod"), [pod()], NOW, { includeObject: "None", withColumns: false });
    expect(table.columnDefinitions).toBeNull();
    expect(table.rows[0]?.object).toBeNull();
  });

  it("does not modify the objects it prints", () => {
    const p = pod();
    const before = structuredClone(p);
    buildTable(info("", "Pod"), [p], NOW, { includeObject: "Metadata", withColumns: true });
    expect(p).toEqual(before);
  });

  it("marks finished pods Completed, as Kubernetes does", () => {
    const done = created(newPod("job", { phase: "Succeeded" }));
    const table = buildTable(info("", "Pod"), [done], NOW, { includeObject: "None", withColumns: true });
    expect(table.rows[0]?.conditions).toEqual([{ type: "Completed", status: "True", reason: "Succeeded", message: "The pod has completed successfully." }]);
  });

  it("prints rows for every served resource without throwing on arbitrary content", () => {
    const keys = ["spec", "status", "containers", "initContainers", "containerStatuses", "initContainerStatuses", "state", "lastState", "terminated", "waiting", "ports", "subsets", "addresses", "endpoints", "conditions", "selector", "matchLabels", "matchExpressions", "template", "data", "involvedObject", "series", "loadBalancer", "ingress", "nodeInfo", "labels"];
    fc.assert(
      fc.property(fc.constantFrom(...RESOURCES), fc.object({ key: fc.constantFrom(...keys), maxDepth: 4 }), (r, body) => {
        const obj = { ...body, metadata: { name: "x" } } as KubeObject;
        const table = buildTable(r, [obj], NOW, { includeObject: "Object", withColumns: true });
        expect(table.rows[0]?.cells.length).toBe(table.columnDefinitions?.length);
      }),
      { numRuns: 300 },
    );
  });
});
