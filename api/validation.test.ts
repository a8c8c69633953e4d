import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyDefaults } from "./defaults.js";
import type { KubeObject } from "./meta.js";
import { RESOURCES, type ResourceInfo } from "./resources.js";
import { newConfigMap, newDaemonSet, newDeployment, newNamespace, newNode, newPod, newReplicaSet, newService, newStatefulSet } from "./testing/builders.js";
import type {
  ConfigMap,
  CoreEvent,
  Deployment,
  EndpointSlice,
  Endpoints,
  Lease,
  Pod,
  ReplicationController,
  Secret,
  Service,
  ServiceAccount,
} from "./types/index.js";
import { validateObject, validateUpdate } from "./validation.js";

function info(group: string, kind: string): ResourceInfo {
  const found = RESOURCES.find((r) => r.group === group && r.kind === kind);
  if (!found) throw new Error(`no resource ${group}/${kind}`);
  return found;
}

function groupOf(obj: KubeObject): string {
  const apiVersion = obj.apiVersion ?? "v1";
  return apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
}

/** Defaults `obj` as the registry would, then validates it; errors as kubectl prints them (`field: message`). */
function problems(obj: KubeObject): string[] {
  const i = info(groupOf(obj), obj.kind ?? "");
  applyDefaults(i, obj);
  return validateObject(i, obj).map((e) => `${e.field}: ${e.message}`);
}

function updateProblems(next: KubeObject, prev: KubeObject): string[] {
  const i = info(groupOf(next), next.kind ?? "");
  applyDefaults(i, prev);
  applyDefaults(i, next);
  return validateUpdate(i, next, prev).map((e) => `${e.field}: ${e.message}`);
}

function edit<T>(obj: T, change: (o: T) => void): T {
  change(obj);
  return obj;
}

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

describe("valid objects", () => {
  const secret: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "default" }, data: { token: "c2VjcmV0" } };
  const sa: ServiceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "default" } };
  const lease: Lease = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "node-1", namespace: "kube-node-lease" },
    spec: { holderIdentity: "node-1", leaseDurationSeconds: 40, renewTime: "2024-05-01T10:00:00.123456Z" },
  };
  const slice: EndpointSlice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-abc", namespace: "default" },
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.244.1.5"], conditions: { ready: true } }],
    ports: [{ name: "http", port: 8080 }],
  };
  const endpoints: Endpoints = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "web", namespace: "default" },
    subsets: [{ addresses: [{ ip: "10.244.1.5" }], ports: [{ port: 8080 }] }],
  };
  const event: CoreEvent = {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "web.17a", namespace: "default" },
    involvedObject: { kind: "Pod", name: "web", namespace: "default" },
    reason: "Scheduled",
    message: "assigned",
  };
  const rc: ReplicationController = {
    apiVersion: "v1",
    kind: "ReplicationController",
    metadata: { name: "nginx", namespace: "default" },
    spec: { replicas: 5, template: { metadata: { labels: { app: "nginx" } }, spec: { containers: [{ name: "nginx", image: "nginx" }] } } },
  };
  const ds = newDaemonSet("agent");
  const sts = newStatefulSet("db");

  it.each<[string, KubeObject]>([
    ["pod", newPod("web")],
    ["service", newService("web")],
    ["NodePort service", newService("web", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] })],
    ["headless service without ports", edit(newService("db", { clusterIP: "None" }), (s) => delete s.spec!.ports)],
    ["deployment", newDeployment("web", { replicas: 3 })],
    ["replicaset", newReplicaSet("web-abc")],
    ["replicationcontroller", rc],
    ["daemonset", ds],
    ["statefulset", sts],
    ["node", newNode("node-1", { podCIDR: "10.244.1.0/24", taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] })],
    ["namespace", newNamespace("team-a")],
    ["configmap", newConfigMap("cfg", { data: { "app.properties": "a=b", KEY_NAME: "x" } })],
    ["secret", secret],
    ["serviceaccount", sa],
    ["lease", lease],
    ["endpointslice", slice],
    ["endpoints", endpoints],
    ["event", event],
  ])("accepts a valid %s", (_what, obj) => {
    expect(problems(obj)).toEqual([]);
  });
});

describe("metadata", () => {
  it.each<[string, KubeObject, string]>([
    ["an invalid pod name", newPod("Foo_bar"), `metadata.name: Invalid value: "Foo_bar": ${SUBDOMAIN_MSG}`],
    ["a missing name", edit(newPod("x"), (p) => delete p.metadata.name), "metadata.name: Required value: name or generateName is required"],
    ["a dotted namespace name", newNamespace("a.b"), `metadata.name: Invalid value: "a.b": must not contain dots`],
    ["a service name starting with a digit", newService("1web"), `metadata.name: Invalid value: "1web": ${DNS1035_MSG}`],
    ["a missing namespace", edit(newPod("x"), (p) => delete p.metadata.namespace), "metadata.namespace: Required value"],
    ["an invalid namespace", newPod("x", { namespace: "Bad" }), `metadata.namespace: Invalid value: "Bad": ${LABEL_MSG}`],
    ["a namespace on a cluster-scoped kind", edit(newNode("n1"), (n) => (n.metadata.namespace = "default")), "metadata.namespace: Forbidden: not allowed on this type"],
    ["an invalid generateName", edit(newPod("x"), (p) => (p.metadata.generateName = "Web-")), `metadata.generateName: Invalid value: "Web-": ${SUBDOMAIN_MSG}`],
    ["an owner reference without uid", edit(newPod("x"), (p) => (p.metadata.ownerReferences = [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "" }])), 'metadata.ownerReferences.uid: Invalid value: "": must not be empty'],
  ])("rejects %s", (_what, obj, expected) => {
    expect(problems(obj)).toContain(expected);
  });

  it("accepts a generateName with a trailing dash", () => {
    expect(problems(edit(newPod("web-abcde"), (p) => (p.metadata.generateName = "web-")))).toEqual([]);
  });

  it("reports an invalid label key at metadata.labels with the bad key", () => {
    const errs = problems(newPod("x", { labels: { "bad key": "v" } }));
    expect(errs.some((e) => e.startsWith('metadata.labels: Invalid value: "bad key": '))).toBe(true);
  });

  it("reports an invalid label value at metadata.labels with the bad value", () => {
    const errs = problems(newPod("x", { labels: { app: "-x-" } }));
    expect(errs.some((e) => e.startsWith('metadata.labels: Invalid value: "-x-": '))).toBe(true);
  });

  it("limits the total size of annotations to 256KiB", () => {
    const pod = newPod("x", { annotations: { big: "x".repeat(256 * 1024) } });
    expect(problems(pod)).toEqual(["metadata.annotations: Too long: must have at most 262144 bytes"]);
  });
});

describe("pod spec", () => {
  const twoContainers = (): Pod =>
    newPod("web", {
      containers: [
        { name: "web", image: "nginx" },
        { name: "web", image: "busybox" },
      ],
    });

  it.each<[string, Pod, string]>([
    ["no containers", newPod("x", { containers: [] }), "spec.containers: Required value"],
    ["a container without image", edit(newPod("x"), (p) => delete p.spec!.containers[0]!.image), "spec.containers[0].image: Required value"],
    ["a duplicate container name", twoContainers(), 'spec.containers[1].name: Duplicate value: "web"'],
    ["an init container named like a container", edit(newPod("x"), (p) => (p.spec!.initContainers = [{ name: "app", image: "busybox" }])), 'spec.initContainers[0].name: Duplicate value: "app"'],
    ["an invalid container name", newPod("x", { containers: [{ name: "Web", image: "nginx" }] }), `spec.containers[0].name: Invalid value: "Web": ${LABEL_MSG}`],
    ["a port out of range", edit(newPod("x"), (p) => (p.spec!.containers[0]!.ports = [{ containerPort: 70000 }])), "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"],
    ["an unknown protocol", edit(newPod("x"), (p) => (p.spec!.containers[0]!.ports = [{ containerPort: 80, protocol: "HTTP" as "TCP" }])), 'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
    [
      "a duplicate port name",
      edit(newPod("x"), (p) => (p.spec!.containers[0]!.ports = [{ name: "http", containerPort: 80 }, { name: "http", containerPort: 81 }])),
      'spec.containers[0].ports[1].name: Duplicate value: "http"',
    ],
    ["an unknown restart policy", edit(newPod("x"), (p) => (p.spec!.restartPolicy = "Sometimes" as "Always")), 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
    ["an unknown dns policy", edit(newPod("x"), (p) => (p.spec!.dnsPolicy = "Google" as "Default")), 'spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'],
    ["a mount of a missing volume", edit(newPod("x"), (p) => (p.spec!.containers[0]!.volumeMounts = [{ name: "data", mountPath: "/data" }])), 'spec.containers[0].volumeMounts[0].name: Not found: "data"'],
    [
      "duplicate volume names",
      edit(newPod("x"), (p) => (p.spec!.volumes = [{ name: "v", emptyDir: {} }, { name: "v", emptyDir: {} }])),
      'spec.volumes[1].name: Duplicate value: "v"',
    ],
    ["two sources in one volume", edit(newPod("x"), (p) => (p.spec!.volumes = [{ name: "v", emptyDir: {}, hostPath: { path: "/tmp" } }])), "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"],
    ["a configMap volume without a name", edit(newPod("x"), (p) => (p.spec!.volumes = [{ name: "v", configMap: {} }])), "spec.volumes[0].configMap.name: Required value"],
    ["a request above its limit", newPod("x", { requests: { cpu: "2" }, limits: { cpu: "1" } }), 'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'],
    ["a malformed quantity", newPod("x", { limits: { memory: "lots" } }), "spec.containers[0].resources.limits[memory]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
    ["an unknown resource", newPod("x", { limits: { gpus: "1" } }), 'spec.containers[0].resources.limits[gpus]: Invalid value: "gpus": must be a standard resource for containers'],
    ["a probe without a handler", edit(newPod("x"), (p) => (p.spec!.containers[0]!.livenessProbe = { periodSeconds: 5 })), "spec.containers[0].livenessProbe: Required value: must specify a handler type"],
    [
      "a probe with two handlers",
      edit(newPod("x"), (p) => (p.spec!.containers[0]!.readinessProbe = { exec: { command: ["true"] }, tcpSocket: { port: 80 } })),
      "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
    ],
    ["a liveness probe needing two successes", edit(newPod("x"), (p) => (p.spec!.containers[0]!.livenessProbe = { tcpSocket: { port: 80 }, successThreshold: 2 })), "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"],
    ["an httpGet probe on a bad port name", edit(newPod("x"), (p) => (p.spec!.containers[0]!.readinessProbe = { httpGet: { port: "HTTP" } })), 'spec.containers[0].readinessProbe.httpGet.port: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
    ["an env var with '=' in its name", edit(newPod("x"), (p) => (p.spec!.containers[0]!.env = [{ name: "A=B", value: "1" }])), `spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`],
    ["an env var with value and valueFrom", edit(newPod("x"), (p) => (p.spec!.containers[0]!.env = [{ name: "A", value: "1", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }])), 'spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty'],
    [
      "an unsupported downward API field",
      edit(newPod("x"), (p) => (p.spec!.containers[0]!.env = [{ name: "A", valueFrom: { fieldRef: { fieldPath: "spec.priority" } } }])),
      'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.priority": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"',
    ],
    ["a toleration with seconds but no NoExecute", newPod("x", { tolerations: [{ key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 5 }] }), "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"],
    [
      "a required node affinity without terms",
      edit(newPod("x"), (p) => (p.spec!.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } })),
      "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term",
    ],
    [
      "a pod anti-affinity term without topology key",
      edit(newPod("x"), (p) => (p.spec!.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "x" } }, topologyKey: "" }] } })),
      "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty",
    ],
    ["an invalid hostname", edit(newPod("x"), (p) => (p.spec!.hostname = "My_Host")), `spec.hostname: Invalid value: "My_Host": ${LABEL_MSG}`],
    ["a zero active deadline", edit(newPod("x"), (p) => (p.spec!.activeDeadlineSeconds = 0)), "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"],
  ])("rejects %s", (_what, pod, expected) => {
    expect(problems(pod)).toContain(expected);
  });

  it("accepts a realistic pod with probes, env, volumes and affinity", () => {
    const pod = newPod("web", { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } });
    const c = pod.spec!.containers[0]!;
    c.ports = [{ name: "http", containerPort: 8080 }];
    c.env = [
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "cfg", key: "level" } } },
    ];
    c.envFrom = [{ configMapRef: { name: "cfg" } }];
    c.livenessProbe = { httpGet: { port: "http", path: "/healthz" } };
    c.readinessProbe = { grpc: { port: 9000 } };
    c.startupProbe = { exec: { command: ["cat", "/tmp/ready"] } };
    c.lifecycle = { preStop: { exec: { command: ["sleep", "5"] } } };
    c.volumeMounts = [
      { name: "cfg", mountPath: "/etc/cfg" },
      { name: "info", mountPath: "/etc/info" },
    ];
    pod.spec!.volumes = [
      { name: "cfg", configMap: { name: "cfg", items: [{ key: "a", path: "a.conf" }] } },
      { name: "info", downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } },
    ];
    pod.spec!.affinity = {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] }] } },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: { labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" } }] },
    };
    expect(problems(pod)).toEqual([]);
  });

  it("never throws on malformed input", () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "x", namespace: "d" }, spec: { containers: [null, 3, { name: 5 }], volumes: "x" } } as unknown as Pod;
    expect(() => problems(pod)).not.toThrow();
  });
});

describe("pod updates", () => {
  const stored = (): Pod => newPod("web", { nodeName: "node-1", tolerations: [{ key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 60 }] });

  it.each<[string, (p: Pod) => void]>([
    ["a new image", (p) => (p.spec!.containers[0]!.image = "nginx:2")],
    ["an added toleration", (p) => p.spec!.tolerations!.push({ key: "other", operator: "Exists" })],
    ["a changed tolerationSeconds", (p) => (p.spec!.tolerations![0]!.tolerationSeconds = 10)],
    ["a new activeDeadlineSeconds", (p) => (p.spec!.activeDeadlineSeconds = 100)],
    ["new labels", (p) => (p.metadata.labels = { app: "web" })],
    ["a status change", (p) => (p.status = { phase: "Running" })],
  ])("allows %s", (_what, change) => {
    expect(updateProblems(edit(stored(), change), stored())).toEqual([]);
  });

  it("allows binding an unscheduled pod to a node", () => {
    const prev = newPod("web");
    expect(updateProblems(newPod("web", { nodeName: "node-1" }), prev)).toEqual([]);
  });

  it.each<[string, (p: Pod) => void, string]>([
    ["a changed container port", (p) => (p.spec!.containers[0]!.ports = [{ containerPort: 81 }]), "spec: Forbidden: pod updates may not change fields other than "],
    ["a moved pod", (p) => (p.spec!.nodeName = "node-2"), "spec: Forbidden: pod updates may not change fields other than "],
    ["a removed toleration", (p) => (p.spec!.tolerations = []), "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"],
    ["a renamed pod", (p) => (p.metadata.name = "other"), 'metadata.name: Invalid value: "other": field is immutable'],
  ])("refuses %s", (_what, change, prefix) => {
    const errs = updateProblems(edit(stored(), change), stored());
    expect(errs.some((e) => e.startsWith(prefix))).toBe(true);
  });

  it("names the mutable pod fields exactly as Kubernetes does", () => {
    const errs = updateProblems(edit(stored(), (p) => (p.spec!.restartPolicy = "Never")), stored());
    expect(errs).toEqual([
      "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    ]);
  });
});

describe("services", () => {
  it.each<[string, Service, string]>([
    ["no ports", edit(newService("web"), (s) => (s.spec!.ports = [])), "spec.ports: Required value"],
    ["a port out of range", newService("web", { ports: [70000] }), "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"],
    ["an unnamed port among several", newService("web", { ports: [{ port: 80 }, { port: 443, name: "https" }] }), "spec.ports[0].name: Required value"],
    [
      "duplicate port names",
      newService("web", { ports: [{ port: 80, name: "web" }, { port: 81, name: "web" }] }),
      'spec.ports[1].name: Duplicate value: "web"',
    ],
    ["an unknown type", newService("web", { type: "Magic" as "ClusterIP" }), 'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'],
    ["a node port on a ClusterIP service", newService("web", { ports: [{ port: 80, nodePort: 30080 }] }), "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ["a headless NodePort service", newService("web", { type: "NodePort", clusterIP: "None" }), "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"],
    ["a bad cluster IP", newService("web", { clusterIP: "10.96.0.300" }), 'spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ["an ExternalName without a name", edit(newService("db", { type: "ExternalName" }), (s) => (s.spec = { type: "ExternalName" })), "spec.externalName: Required value"],
    [
      "the same port twice",
      newService("web", { ports: [{ port: 80, name: "a" }, { port: 80, name: "b" }] }),
      'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
    ],
  ])("rejects %s", (_what, svc, expected) => {
    expect(problems(svc)).toContain(expected);
  });

  it("keeps an allocated cluster IP", () => {
    const prev = newService("web", { clusterIP: "10.96.0.10" });
    const errs = updateProblems(newService("web", { clusterIP: "10.96.0.11" }), prev);
    expect(errs).toEqual(['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set']);
  });

  it("lets an update leave the cluster IP out, since the registry carries it over", () => {
    expect(updateProblems(newService("web"), newService("web", { clusterIP: "10.96.0.10" }))).toEqual([]);
  });

  it("lets a headless service stay headless", () => {
    expect(updateProblems(newService("db", { clusterIP: "None" }), newService("db", { clusterIP: "None" }))).toEqual([]);
  });
});

describe("workloads", () => {
  it.each<[string, KubeObject, string]>([
    ["a Deployment without selector", edit(newDeployment("web"), (d) => delete d.spec!.selector), "spec.selector: Required value"],
    [
      "a Deployment with an empty selector",
      edit(newDeployment("web"), (d) => (d.spec!.selector = {})),
      "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
    ],
    [
      "a Deployment whose selector misses its template",
      edit(newDeployment("web"), (d) => (d.spec!.template!.metadata!.labels = { app: "x" })),
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
    ],
    ["negative replicas", newDeployment("web", { replicas: -1 }), "spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
    [
      "a template that does not always restart",
      edit(newDeployment("web"), (d) => (d.spec!.template!.spec!.restartPolicy = "Never")),
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ],
    ["a template container without image", edit(newDeployment("web"), (d) => delete d.spec!.template!.spec!.containers[0]!.image), "spec.template.spec.containers[0].image: Required value"],
    [
      "maxSurge and maxUnavailable both 0",
      edit(newDeployment("web"), (d) => (d.spec!.strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } })),
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
    ],
    [
      "a malformed percentage",
      edit(newDeployment("web"), (d) => (d.spec!.strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: "25", maxUnavailable: 1 } })),
      "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"25\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ],
    [
      "maxUnavailable over 100%",
      edit(newDeployment("web"), (d) => (d.spec!.strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: "150%" } })),
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%',
    ],
    ["a ReplicaSet with an empty selector", edit(newReplicaSet("rs"), (r) => (r.spec!.selector = { matchLabels: {} })), "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"],
    [
      "a selector expression without values",
      edit(newReplicaSet("rs"), (r) => (r.spec!.selector = { matchExpressions: [{ key: "app", operator: "In" }] })),
      "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    ],
    [
      "an RC whose selector misses its template",
      {
        apiVersion: "v1",
        kind: "ReplicationController",
        metadata: { name: "rc", namespace: "default" },
        spec: { selector: { app: "a" }, template: { metadata: { labels: { app: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } } },
      },
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`',
    ],
    [
      "a DaemonSet surging and dropping at once",
      edit(newDaemonSet("ds"), (d) => (d.spec!.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } })),
      "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: may not be set when maxUnavailable is non-zero",
    ],
  ])("rejects %s", (_what, obj, expected) => {
    expect(problems(obj)).toContain(expected);
  });

  it.each<[string, KubeObject]>([
    ["Deployment", newDeployment("web")],
    ["ReplicaSet", newReplicaSet("web")],
    ["DaemonSet", newDaemonSet("web")],
  ])("keeps an apps/v1 %s selector immutable", (_kind, obj) => {
    const next = structuredClone(obj) as Deployment;
    next.spec!.selector = { matchLabels: { app: "web", tier: "fe" } };
    next.spec!.template!.metadata!.labels = { app: "web", tier: "fe" };
    expect(updateProblems(next, obj)).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"fe"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
  });

  it("lets a Deployment scale and change its image", () => {
    const prev = newDeployment("web", { replicas: 1 });
    const next = newDeployment("web", { replicas: 4, image: "nginx:2" });
    expect(updateProblems(next, prev)).toEqual([]);
  });

  it("refuses a StatefulSet update outside its mutable fields", () => {
    const prev = newStatefulSet("db");
    const next = edit(structuredClone(prev), (s) => (s.spec!.serviceName = "other"));
    expect(updateProblems(next, prev)).toEqual([
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ]);
  });
});

describe("config maps and secrets", () => {
  it.each<[string, KubeObject, string]>([
    ["a bad config map key", newConfigMap("c", { data: { "a b": "x" } }), "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"],
    ["a key starting with '..'", newConfigMap("c", { data: { "..a": "x" } }), "data[..a]: Invalid value: \"..a\": must not start with '..'"],
    ["secret data that is not base64", { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "d" }, data: { a: "not base64!" } }, 'data[a]: Invalid value: "not base64!": illegal base64 data at input byte 3'],
    ["a TLS secret without a key", { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "d" }, type: "kubernetes.io/tls", data: { "tls.crt": "eA==" } }, "data[tls.key]: Required value"],
  ])("rejects %s", (_what, obj, expected) => {
    expect(problems(obj)).toContain(expected);
  });

  it("freezes an immutable config map", () => {
    const prev: ConfigMap = { ...newConfigMap("c", { data: { a: "1" } }), immutable: true };
    const next: ConfigMap = { ...newConfigMap("c", { data: { a: "2" } }), immutable: true };
    expect(updateProblems(next, prev)).toEqual(["data: Forbidden: field is immutable when `immutable` is set"]);
  });
});

describe("events, nodes, namespaces, leases, endpoint slices", () => {
  it("requires an event's namespace to match its object's", () => {
    const event: CoreEvent = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "e", namespace: "default" },
      involvedObject: { kind: "Pod", name: "web", namespace: "other" },
    };
    expect(problems(event)).toEqual(['involvedObject.namespace: Invalid value: "other": does not match event.namespace']);
  });

  it("accepts node events recorded in the default namespace", () => {
    const event: CoreEvent = { apiVersion: "v1", kind: "Event", metadata: { name: "n1.1", namespace: "default" }, involvedObject: { kind: "Node", name: "n1" } };
    expect(problems(event)).toEqual([]);
  });

  it("requires reporter, action and reason on new-style events", () => {
    const event: CoreEvent = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "e", namespace: "default" },
      involvedObject: { kind: "Pod", name: "web", namespace: "default" },
      eventTime: "2024-05-01T10:00:00.000000Z",
    };
    expect(problems(event)).toEqual(["reportingComponent: Required value", "reportingInstance: Required value", "action: Required value", "reason: Required value"]);
  });

  it("validates events.k8s.io events by the stricter rules", () => {
    const event: KubeObject = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "e", namespace: "default" },
      regarding: { kind: "Pod", name: "web", namespace: "default" },
      eventTime: "2024-05-01T10:00:00.000000Z",
      reportingController: "kubelab/scheduler",
      reportingInstance: "scheduler-1",
      action: "Binding",
      reason: "Scheduled",
      type: "Normal",
      deprecatedCount: 3,
    };
    expect(problems(event)).toEqual(['deprecatedCount: Invalid value: "": needs to be unset']);
  });

  it.each<[string, KubeObject, string]>([
    ["a bad pod CIDR", newNode("n1", { podCIDR: "10.244.1.0/33" }), 'spec.podCIDRs[0]: Invalid value: "10.244.1.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ["an unknown taint effect", newNode("n1", { taints: [{ key: "k", effect: "Evict" as "NoExecute" }] }), 'spec.taints[0].effect: Unsupported value: "Evict": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'],
    ["a non-standard namespace finalizer", edit(newNamespace("ns"), (n) => (n.spec = { finalizers: ["custom"] })), 'spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified'],
    [
      "a zero lease duration",
      { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "l", namespace: "kube-node-lease" }, spec: { leaseDurationSeconds: 0 } },
      "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
    ],
    [
      "an unknown address type",
      { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "s", namespace: "d" }, addressType: "IPv5" },
      'addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"',
    ],
    [
      "an IPv4 slice with an IPv6 address",
      { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "s", namespace: "d" }, addressType: "IPv4", endpoints: [{ addresses: ["::1"] }] },
      'endpoints[0].addresses[0]: Invalid value: "::1": must be a valid IPv4 address',
    ],
    [
      "a loopback endpoint",
      { apiVersion: "v1", kind: "Endpoints", metadata: { name: "e", namespace: "d" }, subsets: [{ addresses: [{ ip: "127.0.0.1" }] }] },
      'subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
    ],
  ])("rejects %s", (_what, obj, expected) => {
    expect(problems(obj)).toContain(expected);
  });

  it("lets the node IPAM controller assign a pod CIDR once", () => {
    const prev = newNode("n1");
    const next = newNode("n1", { podCIDR: "10.244.1.0/24" });
    expect(updateProblems(next, prev)).toEqual([]);
    expect(updateProblems(newNode("n1", { podCIDR: "10.244.2.0/24" }), next)).toEqual(['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid']);
  });

  it("keeps an endpoint slice's address type", () => {
    const prev = { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "s", namespace: "d" }, addressType: "IPv4" } as EndpointSlice;
    const next = { ...prev, addressType: "IPv6" } as EndpointSlice;
    expect(updateProblems(next, prev)).toEqual(['addressType: Invalid value: "IPv6": field is immutable']);
  });
});

describe("robustness", () => {
  const keys = [
    "spec", "status", "metadata", "name", "namespace", "labels", "annotations", "containers", "initContainers", "image", "ports",
    "containerPort", "protocol", "env", "envFrom", "valueFrom", "fieldRef", "configMapKeyRef", "resources", "limits", "requests",
    "cpu", "livenessProbe", "readinessProbe", "httpGet", "tcpSocket", "exec", "port", "volumes", "volumeMounts", "configMap",
    "secret", "emptyDir", "hostPath", "projected", "sources", "downwardAPI", "items", "path", "tolerations", "affinity",
    "nodeAffinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", "matchExpressions",
    "selector", "matchLabels", "template", "strategy", "rollingUpdate", "maxSurge", "maxUnavailable", "updateStrategy", "replicas",
    "subsets", "addresses", "ip", "endpoints", "addressType", "data", "binaryData", "type", "clusterIP", "clusterIPs", "taints",
    "key", "effect", "operator", "values", "podCIDRs", "involvedObject", "finalizers", "ownerReferences", "eventTime", "regarding",
  ];
  const body = fc.object({ key: fc.constantFrom(...keys), maxDepth: 5 });

  it("validates arbitrary bodies of every kind without throwing", () => {
    fc.assert(
      fc.property(fc.constantFrom(...RESOURCES), body, body, (r, a, b) => {
        const next = { ...a, metadata: { name: "x", namespace: "d", ...(a.metadata as object | undefined) } } as KubeObject;
        const prev = { ...b, metadata: { name: "x", namespace: "d" } } as KubeObject;
        applyDefaults(r, next);
        applyDefaults(r, prev);
        expect(Array.isArray(validateObject(r, next))).toBe(true);
        expect(Array.isArray(validateUpdate(r, next, prev))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
