import { beforeEach, describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import type { UserInfo } from "../../api/types/index.js";
import { memoryRegistry, type MemoryRegistry } from "../registry/testing/memory-storage.js";
import { rejection } from "../registry/testing/rejection.js";
import { AdmissionChain } from "./admission.js";
import { forbiddenLabels, nodeRestrictionPlugin } from "./noderestriction.js";

const n1: UserInfo = { username: "system:node:n1", groups: ["system:nodes", "system:authenticated"] };
const admin: UserInfo = { username: "admin", groups: ["system:masters"] };

const nodeObject = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: "v1", kind: "Node", metadata: { name }, ...extra });
const podObject = (name: string, nodeName: string, annotations?: Record<string, string>, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { nodeName, containers: [{ name: "c", image: "nginx" }], ...spec },
});
const MIRROR = { "kubernetes.io/config.mirror": "hash" };

let m: MemoryRegistry;

beforeEach(async () => {
  m = await memoryRegistry({ namespaces: ["default", "kube-node-lease"], admission: new AdmissionChain([nodeRestrictionPlugin()]) });
});

describe("NodeRestriction", () => {
  it("lets a node write only its own Node, without taints or restricted labels", async () => {
    const nodes = m.registry.core("nodes");
    await nodes.create(undefined, nodeObject("n1", { metadata: { name: "n1", labels: { "kubernetes.io/hostname": "n1", "kubelet.kubernetes.io/x": "y" } } }), { user: n1 });
    expect((await rejection(nodes.create(undefined, nodeObject("n2"), { user: n1 }))).message).toBe('nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
    const n3: UserInfo = { username: "system:node:n3", groups: ["system:nodes"] };
    const labelled = nodeObject("n3", { metadata: { name: "n3", labels: { "node-restriction.kubernetes.io/pool": "gpu", "node-role.kubernetes.io/control-plane": "" } } });
    expect((await rejection(nodes.create(undefined, labelled, { user: n3 }))).message).toBe('nodes "n3" is forbidden: node "n3" is not allowed to set the following labels: node-restriction.kubernetes.io/pool, node-role.kubernetes.io/control-plane');
    await nodes.create(undefined, nodeObject("n2"), { user: admin });
    expect((await rejection(nodes.patch(undefined, "n2", "application/merge-patch+json", { metadata: { labels: { a: "b" } } }, { user: n1 }))).message).toContain('node "n1" is not allowed to modify node "n2"');
    await nodes.patch(undefined, "n1", "application/merge-patch+json", { metadata: { labels: { team: "blue" } } }, { user: n1 });
    const taint = { spec: { taints: [{ key: "k", effect: "NoSchedule" }] } };
    expect((await rejection(nodes.patch(undefined, "n1", "application/merge-patch+json", taint, { user: n1 }))).message).toBe('nodes "n1" is forbidden: node "n1" is not allowed to modify taints');
    expect((await rejection(nodes.patch(undefined, "n1", "application/merge-patch+json", { metadata: { labels: { "node-restriction.kubernetes.io/x": "1" } } }, { user: n1 }))).message).toBe('nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/x');
    await nodes.patch(undefined, "n1", "application/merge-patch+json", taint, { user: admin });
    expect((await rejection(nodes.delete(undefined, "n2", { user: n1 }))).message).toContain('not allowed to modify node "n2"');
  });

  it("lets a node create only clean mirror pods bound to itself, and delete or update status of its pods only", async () => {
    const pods = m.registry.core("pods");
    await pods.create("default", podObject("static-n1", "n1", MIRROR), { user: n1 });
    expect((await rejection(pods.create("default", podObject("plain", "n1"), { user: n1 }))).message).toBe('pods "plain" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods');
    expect((await rejection(pods.create("default", podObject("elsewhere", "n2", MIRROR), { user: n1 }))).message).toContain('node "n1" can only create pods with spec.nodeName set to itself');
    const withSecret = podObject("secretive", "n1", MIRROR, { volumes: [{ name: "s", secret: { secretName: "token" } }] });
    expect((await rejection(pods.create("default", withSecret, { user: n1 }))).message).toContain('node "n1" can not create pods that reference secrets');
    await pods.create("default", podObject("theirs", "n2"), { user: admin });
    expect((await rejection(pods.patch("default", "theirs", "application/merge-patch+json", { status: { phase: "Running" } }, { subresource: "status", user: n1 }))).message).toContain('node "n1" can only update pod status for pods with spec.nodeName set to itself');
    await pods.patch("default", "static-n1", "application/merge-patch+json", { status: { phase: "Running" } }, { subresource: "status", user: n1 });
    expect((await rejection(pods.patch("default", "static-n1", "application/merge-patch+json", { metadata: { labels: { a: "b" } } }, { user: n1 }))).message).toContain("can only create and delete mirror pods");
    expect((await rejection(pods.delete("default", "theirs", { user: n1 }))).message).toContain('node "n1" can only delete pods with spec.nodeName set to itself');
    await pods.delete("default", "static-n1", { user: n1, gracePeriodSeconds: 0 });
  });

  it("limits leases to the node's own in kube-node-lease, and leaves other users alone", async () => {
    const leases = m.registry.storeOf("coordination.k8s.io", "leases");
    if (!leases) throw new Error("no leases");
    const lease = (name: string): KubeObject => ({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name }, spec: { holderIdentity: name } });
    await leases.create("kube-node-lease", lease("n1"), { user: n1 });
    expect((await rejection(leases.create("kube-node-lease", lease("n2"), { user: n1 }))).message).toBe('leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node');
    expect((await rejection(leases.create("default", lease("n1"), { user: n1 }))).message).toContain('can only access leases in the "kube-node-lease" system namespace');
    await leases.create("kube-node-lease", lease("n2"), { user: admin });
    await leases.create("kube-node-lease", lease("n3"));
  });

  it("finds the labels a node may not touch", () => {
    expect(forbiddenLabels({ "kubernetes.io/hostname": "a", "topology.kubernetes.io/zone": "z", "x.node.kubernetes.io/y": "1", plain: "p" }, undefined)).toEqual([]);
    expect(forbiddenLabels({ "example.k8s.io/a": "1" }, { "node-restriction.kubernetes.io/b": "2" })).toEqual(["example.k8s.io/a", "node-restriction.kubernetes.io/b"]);
    expect(forbiddenLabels({ "node-restriction.kubernetes.io/b": "2" }, { "node-restriction.kubernetes.io/b": "2" })).toEqual([]);
  });
});
