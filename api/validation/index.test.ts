import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyDefaults } from "../defaults.js";
import type { KubeObject } from "../meta.js";
import { RESOURCES } from "../resources.js";
import { newConfigMap, newDaemonSet, newDeployment, newNamespace, newNode, newPod, newReplicaSet, newService, newStatefulSet } from "../testing/builders.js";
import type { CoreEvent, EndpointSlice, Endpoints, Lease, ReplicationController, Secret, ServiceAccount } from "../types/index.js";
import { validateObject, validateUpdate } from "./index.js";
import { problems, edit } from "./testing.js";

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
