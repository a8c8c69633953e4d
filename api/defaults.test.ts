import { describe, expect, it } from "vitest";
import { applyCreateDefaults, applyDefaults, defaultTolerations, podDefaultsOnCreate, pullPolicyFor, qosClassOf } from "./defaults.js";
import type { KubeObject } from "./meta.js";
import { RESOURCES, type ResourceInfo } from "./resources.js";
import { newDaemonSet, newDeployment, newNamespace, newNode, newPod, newReplicaSet, newService, newStatefulSet } from "./testing/builders.js";
import type { Deployment, Namespace, Pod, ReplicationController, Secret, Service } from "./types/index.js";

function info(group: string, kind: string): ResourceInfo {
  const found = RESOURCES.find((r) => r.group === group && r.kind === kind);
  if (!found) throw new Error(`no resource ${group}/${kind}`);
  return found;
}

function defaulted<T extends KubeObject>(group: string, obj: T): T {
  applyDefaults(info(group, obj.kind ?? ""), obj);
  return obj;
}

describe("pod defaulting", () => {
  it("fills the pod-level defaults Kubernetes shows in `kubectl get pod -o yaml`", () => {
    const pod = defaulted("", newPod("web"));
    expect(pod.spec).toMatchObject({
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      schedulerName: "default-scheduler",
      securityContext: {},
      enableServiceLinks: true,
    });
    // Priority admission (apiserver/registry/scheduling), not defaulting, sets priority and preemptionPolicy;
    // ServiceAccount admission sets serviceAccountName.
    expect(pod.spec?.priority).toBeUndefined();
    expect(pod.spec?.serviceAccountName).toBeUndefined();
  });

  it("fills container defaults: pull policy, termination message, port protocol, resources", () => {
    const pod = newPod("web", { image: "nginx:1.27" });
    pod.spec!.containers[0]!.ports = [{ containerPort: 80 }];
    defaulted("", pod);
    expect(pod.spec!.containers[0]).toMatchObject({
      imagePullPolicy: "IfNotPresent",
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
      resources: {},
      ports: [{ containerPort: 80, protocol: "TCP" }],
    });
  });

  it.each([
    ["nginx", "Always"],
    ["nginx:latest", "Always"],
    ["nginx:1.27", "IfNotPresent"],
    ["registry.local:5000/nginx", "Always"],
    ["registry.local:5000/nginx:1.0", "IfNotPresent"],
    ["nginx@sha256:abcdef", "IfNotPresent"],
    ["nginx:latest@sha256:abcdef", "Always"],
  ])("picks pull policy for image %s as %s", (image, policy) => {
    expect(pullPolicyFor(image)).toBe(policy);
  });

  it("keeps values the client set", () => {
    const pod = newPod("web", { restartPolicy: "Never" });
    pod.spec!.terminationGracePeriodSeconds = 5;
    pod.spec!.serviceAccountName = "robot";
    pod.spec!.containers[0]!.imagePullPolicy = "Never";
    defaulted("", pod);
    expect(pod.spec).toMatchObject({ restartPolicy: "Never", terminationGracePeriodSeconds: 5, serviceAccountName: "robot", serviceAccount: "robot" });
    expect(pod.spec!.containers[0]!.imagePullPolicy).toBe("Never");
  });

  it("defaults probes and their HTTP actions", () => {
    const pod = newPod("web");
    pod.spec!.containers[0]!.livenessProbe = { httpGet: { port: 8080 } };
    pod.spec!.containers[0]!.readinessProbe = { tcpSocket: { port: "http" }, periodSeconds: 3 };
    defaulted("", pod);
    expect(pod.spec!.containers[0]!.livenessProbe).toEqual({
      httpGet: { port: 8080, path: "/", scheme: "HTTP" },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(pod.spec!.containers[0]!.readinessProbe?.periodSeconds).toBe(3);
  });

  it("defaults env fieldRef apiVersion, volume modes, and sourceless volumes to emptyDir", () => {
    const pod = newPod("web");
    pod.spec!.containers[0]!.env = [{ name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }];
    pod.spec!.volumes = [{ name: "cfg", configMap: { name: "cfg" } }, { name: "sec", secret: { secretName: "s" } }, { name: "scratch" }];
    defaulted("", pod);
    expect(pod.spec!.containers[0]!.env[0]!.valueFrom?.fieldRef?.apiVersion).toBe("v1");
    expect(pod.spec!.volumes).toEqual([
      { name: "cfg", configMap: { name: "cfg", defaultMode: 420 } },
      { name: "sec", secret: { secretName: "s", defaultMode: 420 } },
      { name: "scratch", emptyDir: {} },
    ]);
  });

  it("makes requests default to limits on pods but not on templates", () => {
    const pod = defaulted("", newPod("web", { limits: { cpu: "1", memory: "1Gi" } }));
    expect(pod.spec!.containers[0]!.resources?.requests).toEqual({ cpu: "1", memory: "1Gi" });

    const d = newDeployment("web");
    d.spec!.template!.spec!.containers[0]!.resources = { limits: { cpu: "1" } };
    defaulted("apps", d);
    expect(d.spec!.template!.spec!.containers[0]!.resources?.requests).toBeUndefined();
  });

  it("turns container ports into host ports for pods on the host network", () => {
    const pod = newPod("web");
    pod.spec!.hostNetwork = true;
    pod.spec!.containers[0]!.ports = [{ containerPort: 8080 }];
    defaulted("", pod);
    expect(pod.spec!.containers[0]!.ports[0]!.hostPort).toBe(8080);
  });

  it("is idempotent", () => {
    const once = defaulted("", newPod("web"));
    const twice = defaulted("", structuredClone(once));
    expect(twice).toEqual(once);
  });

  it("tolerates malformed input without throwing", () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "x" }, spec: { containers: "nope", volumes: [null] } } as unknown as Pod;
    expect(() => defaulted("", pod)).not.toThrow();
  });
});

describe("pod template defaulting", () => {
  it.each(["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"])("defaults the pod spec inside a %s template", (kind) => {
    const obj = { ...newDeployment("web"), kind } as KubeObject;
    applyDefaults(info("apps", kind), obj);
    const spec = (obj as Deployment).spec!.template!.spec!;
    expect(spec).toMatchObject({ restartPolicy: "Always", dnsPolicy: "ClusterFirst", terminationGracePeriodSeconds: 30, schedulerName: "default-scheduler" });
    expect(spec.containers[0]).toMatchObject({ imagePullPolicy: "IfNotPresent", terminationMessagePolicy: "File" });
    // Pod-only admission defaults stay off templates, so templates compare equal across Deployment and ReplicaSet.
    expect(spec.serviceAccountName).toBeUndefined();
    expect(spec.enableServiceLinks).toBeUndefined();
    expect(spec.priority).toBeUndefined();
  });

  it("gives a Deployment's template and its ReplicaSet's copy the same defaults", () => {
    const d = defaulted("apps", newDeployment("web"));
    const rs = newReplicaSet("web-abc");
    rs.spec!.template = structuredClone(newDeployment("web").spec!.template!);
    defaulted("apps", rs);
    expect(rs.spec!.template).toEqual(d.spec!.template);
  });
});

describe("create-time defaults", () => {
  it("starts a pod Pending with its QoS class, whatever status the client sent", () => {
    const pod = newPod("web", { status: { phase: "Running" } });
    podDefaultsOnCreate(pod);
    expect(pod.status).toEqual({ phase: "Pending", qosClass: "BestEffort" });
  });

  it.each([
    ["BestEffort", {}, {}],
    ["Burstable", { cpu: "100m" }, {}],
    ["Burstable", { cpu: "100m", memory: "64Mi" }, { cpu: "200m", memory: "64Mi" }],
    ["Guaranteed", { cpu: "1", memory: "1Gi" }, { cpu: "1000m", memory: "1024Mi" }],
  ])("computes QoS class %s for requests %j and limits %j", (qos, requests, limits) => {
    const pod = newPod("web", { requests, limits });
    expect(qosClassOf(pod)).toBe(qos);
  });

  it("gives a new namespace the kubernetes finalizer and phase Active, once", () => {
    const ns = newNamespace("team-a");
    applyCreateDefaults(info("", "Namespace"), ns);
    applyCreateDefaults(info("", "Namespace"), ns);
    expect(ns.spec?.finalizers).toEqual(["kubernetes"]);
    expect(ns.status?.phase).toBe("Active");
  });

  it("does not re-add the kubernetes finalizer on ordinary defaulting", () => {
    const ns: Namespace = { ...newNamespace("team-a"), spec: { finalizers: [] }, status: { phase: "Terminating" } };
    applyDefaults(info("", "Namespace"), ns);
    expect(ns.spec?.finalizers).toEqual([]);
    expect(ns.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "team-a" });
  });
});

describe("default tolerations", () => {
  it("adds not-ready and unreachable NoExecute tolerations", () => {
    const pod = newPod("web");
    defaultTolerations(pod, 300, 200);
    expect(pod.spec!.tolerations).toEqual([
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 200 },
    ]);
  });

  it.each([
    ["a toleration of the same key", { key: "node.kubernetes.io/unreachable", operator: "Exists" as const, effect: "NoExecute" as const, tolerationSeconds: 5 }, 1],
    ["a toleration of every NoExecute taint", { operator: "Exists" as const, effect: "NoExecute" as const }, 0],
    ["a toleration of everything", { operator: "Exists" as const }, 0],
    ["an unrelated toleration", { key: "gpu", operator: "Exists" as const, effect: "NoSchedule" as const }, 2],
  ])("keeps the user's value when the pod already has %s", (_what, toleration, added) => {
    const pod = newPod("web", { tolerations: [toleration] });
    defaultTolerations(pod, 300, 300);
    expect(pod.spec!.tolerations).toHaveLength(1 + added);
    expect(pod.spec!.tolerations![0]).toEqual(toleration);
  });
});

describe("service defaulting", () => {
  it("defaults type, affinity, protocol, target port and traffic policies", () => {
    const svc = defaulted("", newService("web", { ports: [{ port: 80 }] }));
    expect(svc.spec).toMatchObject({
      type: "ClusterIP",
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      ports: [{ port: 80, protocol: "TCP", targetPort: 80 }],
    });
    expect(svc.spec?.externalTrafficPolicy).toBeUndefined();
  });

  it.each([
    ["NodePort", "Cluster"],
    ["LoadBalancer", "Cluster"],
    ["ClusterIP", undefined],
  ] as const)("sets externalTrafficPolicy for %s to %s", (type, policy) => {
    const svc = defaulted("", newService("web", { type }));
    expect(svc.spec?.externalTrafficPolicy).toBe(policy);
  });

  it("leaves IP families off ExternalName services", () => {
    const svc: Service = { ...newService("db", { type: "ExternalName" }), spec: { type: "ExternalName", externalName: "db.example.com" } };
    defaulted("", svc);
    expect(svc.spec?.ipFamilies).toBeUndefined();
    expect(svc.spec?.internalTrafficPolicy).toBeUndefined();
  });

  it("keeps clusterIP and clusterIPs in step", () => {
    const svc = defaulted("", newService("web", { clusterIP: "None" }));
    expect(svc.spec?.clusterIPs).toEqual(["None"]);
  });

  it("gives ClientIP affinity its default timeout", () => {
    const svc = newService("web");
    svc.spec!.sessionAffinity = "ClientIP";
    defaulted("", svc);
    expect(svc.spec?.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } });
  });
});

describe("workload defaulting", () => {
  it("defaults a Deployment's replicas, strategy, history and deadline", () => {
    const d = newDeployment("web");
    delete d.spec!.replicas;
    defaulted("apps", d);
    expect(d.spec).toMatchObject({
      replicas: 1,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
  });

  it("leaves rollingUpdate off a Recreate Deployment", () => {
    const d = newDeployment("web");
    d.spec!.strategy = { type: "Recreate" };
    defaulted("apps", d);
    expect(d.spec!.strategy).toEqual({ type: "Recreate" });
  });

  it("fills an RC's selector and labels from its template labels", () => {
    const rc: ReplicationController = {
      apiVersion: "v1",
      kind: "ReplicationController",
      metadata: { name: "nginx", namespace: "default" },
      spec: { template: { metadata: { labels: { app: "nginx" } }, spec: { containers: [{ name: "nginx", image: "nginx" }] } } },
    };
    defaulted("", rc);
    expect(rc.spec?.selector).toEqual({ app: "nginx" });
    expect(rc.metadata.labels).toEqual({ app: "nginx" });
    expect(rc.spec?.replicas).toBe(1);
    rc.spec!.selector!.extra = "x";
    expect(rc.spec?.template?.metadata?.labels).toEqual({ app: "nginx" });
  });

  it("defaults a DaemonSet's update strategy and history", () => {
    const ds = newDaemonSet("agent");
    defaulted("apps", ds);
    expect(ds.spec).toMatchObject({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, revisionHistoryLimit: 10 });
  });

  it("defaults a StatefulSet's policies", () => {
    const sts = newStatefulSet("db");
    defaulted("apps", sts);
    expect(sts.spec).toMatchObject({
      replicas: 1,
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    });
  });
});

describe("other kinds", () => {
  it("types a secret Opaque and folds stringData into data", () => {
    const secret: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "default" }, stringData: { user: "admin" }, data: { pw: "aHVudGVyMg==" } };
    defaulted("", secret);
    expect(secret.type).toBe("Opaque");
    expect(secret.data).toEqual({ pw: "aHVudGVyMg==", user: "YWRtaW4=" });
    expect(secret.stringData).toBeUndefined();
  });

  it("defaults a node's allocatable to its capacity", () => {
    const node = newNode("n1");
    delete node.status!.allocatable;
    defaulted("", node);
    expect(node.status?.allocatable).toEqual(node.status?.capacity);
  });
});
