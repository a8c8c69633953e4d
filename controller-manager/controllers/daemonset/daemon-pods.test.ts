import { describe, expect, it } from "vitest";
import { formatTime } from "../../../api/time.js";
import type { DaemonSet, DaemonSetUpdateStrategy } from "../../../api/types/apps.js";
import type { Node, Pod, PodSpec, Taint } from "../../../api/types/core.js";
import { daemonStatus, newDaemonPod, nodeShouldRunDaemonPod, planDaemonPods, targetNodeName } from "./daemon-pods.js";

const T0 = Date.UTC(2024, 0, 1);

function node(name: string, labels: Record<string, string> = {}, taints: Taint[] = []): Node {
  return { apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } }, spec: { taints } };
}

function ds(spec: Partial<PodSpec> = {}, strategy: DaemonSetUpdateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "default", uid: "ds-uid", generation: 2 },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "agent", image: "a:1" }], ...spec } },
      updateStrategy: strategy,
    },
  };
}

let seq = 0;
function pod(nodeName: string, hash: string, o: { ready?: boolean; phase?: "Running" | "Failed"; deleting?: boolean; bound?: boolean } = {}): Pod {
  const ready = o.ready ?? true;
  const p = newDaemonPod(ds(), nodeName, hash);
  p.metadata.name = `agent-${seq++}`;
  p.metadata.uid = `uid-${p.metadata.name}`;
  p.metadata.creationTimestamp = formatTime(T0 + seq * 1000);
  if (o.bound ?? true) p.spec!.nodeName = nodeName;
  if (o.deleting) p.metadata.deletionTimestamp = formatTime(T0);
  p.status = { phase: o.phase ?? "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False", lastTransitionTime: formatTime(T0) }] };
  return p;
}

const nodes3 = [node("n0"), node("n1"), node("n2")];

describe("nodeShouldRunDaemonPod", () => {
  it.each([
    ["any node", node("n"), ds(), true, true],
    ["a matching nodeSelector", node("n", { disk: "ssd" }), ds({ nodeSelector: { disk: "ssd" } }), true, true],
    ["a nodeSelector that does not match", node("n"), ds({ nodeSelector: { disk: "ssd" } }), false, false],
    [
      "required node affinity",
      node("n", { zone: "a" }),
      ds({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] }] } } } }),
      false,
      false,
    ],
    ["an untolerated NoSchedule taint (keeps running)", node("n", {}, [{ key: "dedicated", value: "infra", effect: "NoSchedule" }]), ds(), false, true],
    ["an untolerated NoExecute taint (evicts)", node("n", {}, [{ key: "dedicated", effect: "NoExecute" }]), ds(), false, false],
    ["a tolerated taint", node("n", {}, [{ key: "dedicated", value: "infra", effect: "NoSchedule" }]), ds({ tolerations: [{ key: "dedicated", operator: "Exists" }] }), true, true],
    ["not-ready NoExecute (a daemon toleration)", node("n", {}, [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute" }]), ds(), true, true],
    ["unschedulable (a daemon toleration)", node("n", {}, [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }]), ds(), true, true],
    ["network-unavailable without hostNetwork", node("n", {}, [{ key: "node.kubernetes.io/network-unavailable", effect: "NoSchedule" }]), ds(), false, true],
    ["network-unavailable with hostNetwork", node("n", {}, [{ key: "node.kubernetes.io/network-unavailable", effect: "NoSchedule" }]), ds({ hostNetwork: true }), true, true],
  ])("%s", (_what, n, d, shouldRun, shouldContinueRunning) => {
    expect(nodeShouldRunDaemonPod(n, d)).toEqual({ shouldRun, shouldContinueRunning });
  });
});

describe("newDaemonPod", () => {
  it("pins the pod to its node by required affinity, adds the daemon tolerations and the revision labels", () => {
    const d = ds({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "Exists" }] }] } } } });
    const p = newDaemonPod(d, "n1", "abc");
    expect(p.metadata).toMatchObject({ generateName: "agent-", namespace: "default", labels: { app: "agent", "controller-revision-hash": "abc", "pod-template-generation": "2" } });
    expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: "DaemonSet", uid: "ds-uid", controller: true });
    expect(p.spec?.nodeName).toBeUndefined();
    expect(p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual({ nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }] });
    expect(p.spec?.tolerations?.map((t) => t.key)).toEqual([
      "node.kubernetes.io/not-ready",
      "node.kubernetes.io/unreachable",
      "node.kubernetes.io/disk-pressure",
      "node.kubernetes.io/memory-pressure",
      "node.kubernetes.io/pid-pressure",
      "node.kubernetes.io/unschedulable",
    ]);
    expect(targetNodeName(p)).toBe("n1");
    // The template itself is untouched.
    expect(d.spec?.template?.spec?.tolerations).toBeUndefined();
  });
});

describe("planDaemonPods", () => {
  it("creates on nodes without a pod, removes extras (keeping the oldest) and pods on nodes that should not run one", () => {
    const keep = pod("n1", "h");
    const extra = pod("n1", "h");
    const gone = pod("n9", "h");
    const evicted = pod("n2", "h");
    const nodes = [node("n0"), node("n1"), node("n2", {}, [{ key: "x", effect: "NoExecute" }])];
    const plan = planDaemonPods(ds(), nodes, [keep, extra, gone, evicted], "h", T0);
    expect(plan.create).toEqual(["n0"]);
    expect(plan.delete.map((p) => p.metadata.name).sort()).toEqual([extra, gone, evicted].map((p) => p.metadata.name).sort());
  });

  it("counts an unbound pod pinned by affinity as its node's and waits for a terminating one", () => {
    const pending = pod("n0", "h", { bound: false, ready: false });
    const terminating = pod("n1", "h", { deleting: true });
    expect(planDaemonPods(ds(), nodes3, [pending, terminating, pod("n2", "h")], "h", T0)).toEqual({ create: [], delete: [], failed: [] });
  });

  it("deletes a failed pod and reports it", () => {
    const failed = pod("n0", "h", { phase: "Failed" });
    const plan = planDaemonPods(ds(), nodes3, [failed, pod("n1", "h"), pod("n2", "h")], "h", T0);
    expect(plan.failed).toEqual([failed]);
    expect(plan.delete).toEqual([failed]);
    expect(plan.create).toEqual([]);
  });

  it("RollingUpdate with maxUnavailable 1 replaces one old pod at a time, and old unavailable pods at once", () => {
    const olds = [pod("n0", "old"), pod("n1", "old"), pod("n2", "old")];
    expect(planDaemonPods(ds(), nodes3, olds, "new", T0).delete).toEqual([olds[0]]);
    // n0 replaced, its new pod not ready yet: no further deletes.
    const step = [pod("n0", "new", { ready: false }), olds[1]!, olds[2]!];
    expect(planDaemonPods(ds(), nodes3, step, "new", T0).delete).toEqual([]);
    const broken = [pod("n0", "new"), pod("n1", "old", { ready: false }), olds[2]!];
    expect(planDaemonPods(ds(), nodes3, broken, "new", T0).delete).toEqual([broken[1]]);
    const wide = ds({}, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "100%" } });
    expect(planDaemonPods(wide, nodes3, olds, "new", T0).delete).toHaveLength(3);
  });

  it("RollingUpdate with maxSurge creates the new pod beside the old one and deletes the old once the new is available", () => {
    const surge = ds({}, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const olds = [pod("n0", "old"), pod("n1", "old"), pod("n2", "old")];
    expect(planDaemonPods(surge, nodes3, olds, "new", T0)).toMatchObject({ create: ["n0"], delete: [] });
    const pair = [olds[0]!, pod("n0", "new", { ready: false }), olds[1]!, olds[2]!];
    expect(planDaemonPods(surge, nodes3, pair, "new", T0)).toMatchObject({ create: [], delete: [] });
    const ready = [olds[0]!, pod("n0", "new"), olds[1]!, olds[2]!];
    expect(planDaemonPods(surge, nodes3, ready, "new", T0)).toMatchObject({ create: [], delete: [olds[0]] });
  });

  it("OnDelete never replaces an old pod, but a deleted one comes back new", () => {
    const onDelete = ds({}, { type: "OnDelete" });
    const olds = [pod("n0", "old"), pod("n1", "old")];
    expect(planDaemonPods(onDelete, nodes3, olds, "new", T0)).toEqual({ create: ["n2"], delete: [], failed: [] });
  });
});

describe("daemonStatus", () => {
  it("counts desired, current, ready, available, updated and misscheduled nodes", () => {
    const nodes = [...nodes3, node("n3", { role: "edge" })];
    const d2 = ds({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "role", operator: "DoesNotExist" }] }] } } } });
    const pods = [pod("n0", "new"), pod("n1", "old", { ready: false }), pod("n3", "new")];
    expect(daemonStatus(d2, nodes, pods, "new", T0)).toEqual({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 2,
      numberReady: 1,
      numberAvailable: 1,
      numberUnavailable: 2,
      updatedNumberScheduled: 1,
      numberMisscheduled: 1,
    });
  });
});
