import { describe, expect, it } from "vitest";
import { newPod } from "../testing/builders.js";
import type { Pod } from "../types/index.js";
import { edit, LABEL_MSG, problems } from "./testing.js";

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

describe("pod sysctls", () => {
  const SYSCTL_MSG = "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$";
  const withSysctls = (names: string[]): Pod => edit(newPod("x"), (p) => (p.spec!.securityContext = { sysctls: names.map((name) => ({ name, value: "1" })) }));

  it("refuses malformed names and lets well-formed ones through, safe or not (the e2e's \"should reject invalid sysctls\" cases)", () => {
    expect(problems(withSysctls(["foo-", "kernel.shmmax", "safe-and-unsafe", "bar.."]))).toEqual([
      `spec.securityContext.sysctls[0].name: Invalid value: "foo-": ${SYSCTL_MSG}`,
      `spec.securityContext.sysctls[3].name: Invalid value: "bar..": ${SYSCTL_MSG}`,
    ]);
  });

  it("accepts slashes as separators, and refuses empty, repeated and too long names", () => {
    expect(problems(withSysctls(["kernel/shm_rmid_forced", "net.ipv4.conf.eth0/1.rp_filter"]))).toEqual([]);
    const long = `${"a".repeat(250)}.bcd`;
    expect(problems(withSysctls(["", "kernel.shmmax", "kernel.shmmax", long]))).toEqual([
      "spec.securityContext.sysctls[0].name: Required value",
      'spec.securityContext.sysctls[2].name: Duplicate value: "kernel.shmmax"',
      `spec.securityContext.sysctls[3].name: Invalid value: "${long}": ${SYSCTL_MSG}`,
    ]);
  });

  it("validates a workload template's pod spec the same way", () => {
    const pod = withSysctls(["Kernel.X"]);
    expect(problems({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "default" }, spec: { selector: { matchLabels: { app: "x" } }, template: { metadata: { labels: { app: "x" } }, spec: pod.spec } } })).toEqual([
      `spec.template.spec.securityContext.sysctls[0].name: Invalid value: "Kernel.X": ${SYSCTL_MSG}`,
    ]);
  });
});
