import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../api/meta.js";
import type { UserInfo } from "../../../api/types/index.js";
import type { Attributes } from "../authorizer.js";
import { NodeGraph } from "./graph.js";
import { NodeAuthorizer, nodeIdentity } from "./node-authorizer.js";

const node = (name: string): UserInfo => ({ username: `system:node:${name}`, groups: ["system:nodes", "system:authenticated"] });

function attrs(user: UserInfo, verb: string, resource: string, namespace: string, name: string, extra: Partial<Attributes> = {}): Attributes {
  return { user, verb, resourceRequest: true, path: "", apiGroup: "", apiVersion: "v1", namespace, resource, subresource: "", name, ...extra };
}

function pod(name: string, nodeName: string, spec: Record<string, unknown> = {}, annotations?: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns", ...(annotations ? { annotations } : {}) }, spec: { nodeName, containers: [], ...spec } };
}

const web = pod("web", "n1", {
  serviceAccountName: "runner",
  imagePullSecrets: [{ name: "pull" }],
  containers: [{ name: "c", envFrom: [{ configMapRef: { name: "env" } }], env: [{ name: "K", valueFrom: { secretKeyRef: { name: "key", key: "k" } } }] }],
  volumes: [{ name: "data", persistentVolumeClaim: { claimName: "claim" } }, { name: "cert", projected: { sources: [{ secret: { name: "tls" } }] } }, { name: "scratch", ephemeral: { volumeClaimTemplate: {} } }],
});

describe("the Node authorizer's graph", () => {
  it("lets a node read what its pods use, and nothing once the pod is gone", () => {
    const graph = new NodeGraph();
    const authorizer = new NodeAuthorizer(graph);
    graph.upsertPod(web);
    graph.upsertVolume({ apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "pv1" }, spec: { claimRef: { namespace: "ns", name: "claim" }, csi: { nodePublishSecretRef: { name: "csi-secret", namespace: "ns" } } } });
    for (const [resource, name] of [["secrets", "pull"], ["secrets", "key"], ["secrets", "tls"], ["configmaps", "env"], ["persistentvolumeclaims", "claim"], ["persistentvolumeclaims", "web-scratch"], ["secrets", "csi-secret"]] as const) {
      expect(authorizer.authorize(attrs(node("n1"), "get", resource, "ns", name)), `${resource}/${name}`).toEqual({ decision: "allow", reason: "" });
    }
    expect(authorizer.authorize(attrs(node("n1"), "get", "persistentvolumes", "", "pv1")).decision).toBe("allow");
    expect(authorizer.authorize(attrs(node("n1"), "create", "serviceaccounts", "ns", "runner", { subresource: "token" })).decision).toBe("allow");
    expect(authorizer.authorize(attrs(node("n2"), "get", "secrets", "ns", "pull"))).toEqual({ decision: "noOpinion", reason: "no relationship found between node 'n2' and this object" });
    expect(authorizer.authorize(attrs(node("n1"), "get", "secrets", "ns", "other")).decision).toBe("noOpinion");
    expect(authorizer.authorize(attrs(node("n1"), "update", "secrets", "ns", "pull")).reason).toBe("can only read resources of this type");
    expect(authorizer.authorize(attrs(node("n1"), "list", "secrets", "ns", "")).reason).toBe("No Object name found");
    expect(authorizer.authorize(attrs(node("n1"), "list", "persistentvolumeclaims", "ns", "")).reason).toBe("can only get individual resources of this type");
    graph.upsertPod(pod("web", "n1"));
    expect(authorizer.authorize(attrs(node("n1"), "get", "secrets", "ns", "pull")).decision).toBe("noOpinion");
    graph.removePod(web);
    expect(authorizer.authorize(attrs(node("n1"), "get", "configmaps", "ns", "env")).decision).toBe("noOpinion");
  });

  it("counts references: a secret two pods use stays readable until both are gone; mirror pods give nothing", () => {
    const graph = new NodeGraph();
    const authorizer = new NodeAuthorizer(graph);
    const uses = (name: string): KubeObject => pod(name, "n1", { volumes: [{ name: "s", secret: { secretName: "shared" } }] });
    graph.upsertPod(uses("a"));
    graph.upsertPod(uses("b"));
    graph.removePod(uses("a"));
    expect(authorizer.authorize(attrs(node("n1"), "get", "secrets", "ns", "shared")).decision).toBe("allow");
    graph.removePod(uses("b"));
    expect(authorizer.authorize(attrs(node("n1"), "get", "secrets", "ns", "shared")).decision).toBe("noOpinion");
    graph.upsertPod(pod("static", "n1", { volumes: [{ name: "s", secret: { secretName: "shared" } }] }, { "kubernetes.io/config.mirror": "x" }));
    expect(authorizer.authorize(attrs(node("n1"), "get", "secrets", "ns", "shared")).decision).toBe("noOpinion");
  });

  it("limits leases to the node's own in kube-node-lease and takes the rest from the system:node role", () => {
    const authorizer = new NodeAuthorizer(new NodeGraph());
    const lease = (n: string, verb: string, namespace: string, name: string): Attributes => attrs(node(n), verb, "leases", namespace, name, { apiGroup: "coordination.k8s.io" });
    expect(authorizer.authorize(lease("n1", "update", "kube-node-lease", "n1")).decision).toBe("allow");
    expect(authorizer.authorize(lease("n1", "update", "kube-node-lease", "n2")).reason).toBe("can only access node lease with the same name as the requesting node");
    expect(authorizer.authorize(lease("n1", "get", "default", "n1")).reason).toBe('can only access leases in the "kube-node-lease" system namespace');
    expect(authorizer.authorize(lease("n1", "list", "kube-node-lease", "")).reason).toBe("can only get, create, update, patch, or delete a node lease");
    expect(authorizer.authorize(attrs(node("n1"), "patch", "nodes", "", "n1", { subresource: "status" })).decision).toBe("allow");
    expect(authorizer.authorize(attrs(node("n1"), "delete", "nodes", "", "n1")).decision).toBe("noOpinion");
    expect(authorizer.authorize(attrs({ username: "jane" }, "get", "nodes", "", "n1"))).toEqual({ decision: "noOpinion", reason: "" });
    expect(authorizer.authorize(attrs({ username: "system:node:", groups: ["system:nodes"] }, "get", "nodes", "", "n1")).reason).toBe('unknown node for user "system:node:"');
    expect(nodeIdentity({ username: "system:node:n1" })).toBeUndefined();
    expect(authorizer.rulesFor(node("n1"))).toMatchObject({ incomplete: true });
  });
});
