import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StatusError } from "../errors.js";
import { isRecord } from "../meta.js";
import { applyMergePatch } from "./merge-patch.js";
import { applyStrategicMergePatch, listStrategyFor } from "./strategic-merge-patch.js";

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error("expected a StatusError");
}

function deployment(containers: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: "Deployment", metadata: { name: "web" }, spec: { replicas: 1, template: { spec: { containers, ...extra } } } };
}

describe("listStrategyFor", () => {
  it.each([
    [["spec", "containers"], "name"],
    [["spec", "template", "spec", "containers"], "name"],
    [["spec", "jobTemplate", "spec", "template", "spec", "initContainers"], "name"],
    [["template", "spec", "ephemeralContainers"], "name"],
    [["spec", "template", "spec", "containers", "env"], "name"],
    [["spec", "containers", "ports"], "containerPort"],
    [["spec", "initContainers", "volumeMounts"], "mountPath"],
    [["spec", "containers", "volumeDevices"], "devicePath"],
    [["spec", "ports"], "port"],
    [["spec", "volumes"], "name"],
    [["spec", "template", "spec", "imagePullSecrets"], "name"],
    [["metadata", "ownerReferences"], "uid"],
    [["spec", "template", "metadata", "ownerReferences"], "uid"],
    [["status", "conditions"], "type"],
    [["status", "addresses"], "type"],
    [["status", "podIPs"], "ip"],
    [["status", "hostIPs"], "ip"],
    [["spec", "hostAliases"], "ip"],
    [["spec", "topologySpreadConstraints"], "topologyKey"],
    [["spec", "schedulingGates"], "name"],
    [["spec", "resourceClaims"], "name"],
    [["secrets"], "name"],
  ])("merges the list at %j on %s", (path, mergeKey) => {
    expect(listStrategyFor(path)?.mergeKey).toBe(mergeKey);
  });

  it.each([[["metadata", "finalizers"]], [["spec", "template", "metadata", "finalizers"]], [["spec", "podCIDRs"]]])(
    "merges the list at %j as a set of primitives",
    (path) => {
      expect(listStrategyFor(path)).toEqual({});
    },
  );

  it.each([
    [["spec", "tolerations"]],
    [["spec", "containers", "args"]],
    [["spec", "containers", "command"]],
    [["spec", "containers", "envFrom"]],
    [["spec", "template", "spec", "ports"]],
    [["subsets", "addresses"]],
    [["spec", "finalizers"]],
    [["items"]],
  ])("replaces the list at %j whole", (path) => {
    expect(listStrategyFor(path)).toBeUndefined();
  });
});

describe("applyStrategicMergePatch", () => {
  it("sets a container's image by name, as kubectl set image does", () => {
    const live = deployment([
      { name: "app", image: "app:1", ports: [{ containerPort: 80 }] },
      { name: "sidecar", image: "proxy:1" },
    ]);
    const patch = { spec: { template: { spec: { containers: [{ name: "sidecar", image: "proxy:2" }] } } } };
    expect(applyStrategicMergePatch(live, patch)).toEqual(
      deployment([
        { name: "app", image: "app:1", ports: [{ containerPort: 80 }] },
        { name: "sidecar", image: "proxy:2" },
      ]),
    );
  });

  it("applies the body kubectl apply sends for a Deployment", () => {
    const live = {
      metadata: { name: "web", annotations: { "deployment.kubernetes.io/revision": "1" } },
      spec: {
        replicas: 1,
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "nginx", image: "nginx:1.26", imagePullPolicy: "IfNotPresent" }] } },
      },
    };
    const patch = {
      metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}\n" } },
      spec: {
        replicas: 3,
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "nginx" }],
            containers: [{ env: [{ name: "A", value: "1" }], image: "nginx:1.27", name: "nginx" }],
          },
        },
      },
    };
    expect(applyStrategicMergePatch(live, patch)).toEqual({
      metadata: { name: "web", annotations: { "deployment.kubernetes.io/revision": "1", "kubectl.kubernetes.io/last-applied-configuration": "{}\n" } },
      spec: {
        replicas: 3,
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "nginx", image: "nginx:1.27", imagePullPolicy: "IfNotPresent", env: [{ name: "A", value: "1" }] }] },
        },
      },
    });
  });

  it("merges env by name, deleting with null and appending new names", () => {
    const live = deployment([{ name: "a", env: [{ name: "X", value: "1" }, { name: "Y", value: "2", valueFrom: null }] }]);
    const patch = { spec: { template: { spec: { containers: [{ name: "a", env: [{ name: "Y", value: null }, { name: "Z", value: "3" }] }] } } } };
    const result = applyStrategicMergePatch(live, patch);
    expect(result).toEqual(deployment([{ name: "a", env: [{ name: "X", value: "1" }, { name: "Y", valueFrom: null }, { name: "Z", value: "3" }] }]));
  });

  it("removes list items marked with $patch: delete", () => {
    const live = { spec: { containers: [{ name: "a" }, { name: "b" }, { name: "c" }] } };
    const patch = { spec: { containers: [{ name: "b", $patch: "delete" }] } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({ spec: { containers: [{ name: "a" }, { name: "c" }] } });
  });

  it("drops a list that its deletions empty", () => {
    const live = { metadata: { ownerReferences: [{ uid: "u1", name: "rs" }] } };
    const patch = { metadata: { ownerReferences: [{ uid: "u1", $patch: "delete" }] } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({ metadata: {} });
  });

  it("replaces a merging list given a $patch: replace item", () => {
    const live = { spec: { volumes: [{ name: "a", emptyDir: {} }, { name: "b", emptyDir: {} }] } };
    const patch = { spec: { volumes: [{ name: "c", emptyDir: {} }, { $patch: "replace" }] } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({ spec: { volumes: [{ name: "c", emptyDir: {} }] } });
  });

  it("replaces a map given $patch: replace", () => {
    const live = { metadata: { labels: { a: "1", b: "2" } } };
    const patch = { metadata: { labels: { c: "3", $patch: "replace" } } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({ metadata: { labels: { c: "3" } } });
  });

  it("empties a map given $patch: delete", () => {
    const live = { spec: { selector: { app: "web" }, type: "ClusterIP" } };
    expect(applyStrategicMergePatch(live, { spec: { selector: { $patch: "delete" } } })).toEqual({ spec: { selector: {}, type: "ClusterIP" } });
  });

  it("accepts $patch: merge as the default", () => {
    const live = { metadata: { labels: { a: "1" } }, spec: { containers: [{ name: "a", image: "x" }] } };
    const patch = { metadata: { labels: { b: "2", $patch: "merge" } }, spec: { containers: [{ name: "a", image: "y", $patch: "merge" }, { $patch: "merge" }] } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({ metadata: { labels: { a: "1", b: "2" } }, spec: { containers: [{ name: "a", image: "y" }] } });
  });

  it("orders items by $setElementOrder, keeping server-only items in place", () => {
    const live = { spec: { containers: [{ name: "a" }, { name: "b" }, { name: "c" }] } };
    const patch = { spec: { "$setElementOrder/containers": [{ name: "c" }, { name: "a" }], containers: [{ name: "a", image: "new" }] } };
    // b preceded c in the live list, and nothing says where it goes relative to the ordered items.
    expect(applyStrategicMergePatch(live, patch)).toEqual({ spec: { containers: [{ name: "b" }, { name: "c" }, { name: "a", image: "new" }] } });
  });

  it("reorders a list that only $setElementOrder names", () => {
    const live = { spec: { containers: [{ name: "a" }, { name: "b" }] } };
    const patch = { spec: { "$setElementOrder/containers": [{ name: "b" }, { name: "a" }] } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({ spec: { containers: [{ name: "b" }, { name: "a" }] } });
  });

  it("puts new items after server items that precede the patched ones", () => {
    const live = { spec: { containers: [{ name: "a" }, { name: "b" }] } };
    const patch = { spec: { containers: [{ name: "b", image: "x" }, { name: "n" }] } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({ spec: { containers: [{ name: "a" }, { name: "b", image: "x" }, { name: "n" }] } });
  });

  it("keeps only the listed keys under $retainKeys", () => {
    const live = { spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } } };
    const patch = { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({ spec: { strategy: { type: "Recreate" } } });
  });

  it("switches a volume's source under $retainKeys", () => {
    const live = { spec: { volumes: [{ name: "data", emptyDir: {} }] } };
    const patch = { spec: { volumes: [{ name: "data", $retainKeys: ["hostPath", "name"], hostPath: { path: "/data" } }] } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({ spec: { volumes: [{ name: "data", hostPath: { path: "/data" } }] } });
  });

  it("merges finalizers as a set and deletes from them with $deleteFromPrimitiveList", () => {
    const live = { metadata: { finalizers: ["a", "b"] } };
    expect(applyStrategicMergePatch(live, { metadata: { finalizers: ["b", "c"] } })).toEqual({ metadata: { finalizers: ["a", "b", "c"] } });
    expect(applyStrategicMergePatch(live, { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } })).toEqual({ metadata: { finalizers: ["b"] } });
    expect(applyStrategicMergePatch(live, { metadata: { "$deleteFromPrimitiveList/finalizers": ["a", "b"] } })).toEqual({ metadata: {} });
  });

  it("replaces lists without a merge key whole", () => {
    const live = { spec: { tolerations: [{ key: "a" }, { key: "b" }], containers: [{ name: "c", args: ["x", "y"], command: ["sh"], envFrom: [{ configMapRef: { name: "m" } }] }] } };
    const patch = { spec: { tolerations: [{ key: "z", value: null }], containers: [{ name: "c", args: ["q"], envFrom: [] }] } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({
      spec: { tolerations: [{ key: "z" }], containers: [{ name: "c", args: ["q"], command: ["sh"], envFrom: [] }] },
    });
  });

  it("merges Service ports by port and container ports by containerPort", () => {
    const service = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
    expect(applyStrategicMergePatch(service, { spec: { ports: [{ port: 80, targetPort: 9090 }] } })).toEqual({
      spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] },
    });
    const pod = { spec: { containers: [{ name: "a", ports: [{ containerPort: 80, name: "http" }] }] } };
    expect(applyStrategicMergePatch(pod, { spec: { containers: [{ name: "a", ports: [{ containerPort: 80, protocol: "TCP" }] }] } })).toEqual({
      spec: { containers: [{ name: "a", ports: [{ containerPort: 80, name: "http", protocol: "TCP" }] }] },
    });
  });

  it("merges conditions by type and node addresses by type", () => {
    const node = {
      status: {
        conditions: [{ type: "Ready", status: "False" }, { type: "MemoryPressure", status: "False" }],
        addresses: [{ type: "InternalIP", address: "172.30.0.2" }],
      },
    };
    const patch = { status: { conditions: [{ type: "Ready", status: "True" }], addresses: [{ type: "Hostname", address: "n1" }] } };
    expect(applyStrategicMergePatch(node, patch)).toEqual({
      status: {
        conditions: [{ type: "Ready", status: "True" }, { type: "MemoryPressure", status: "False" }],
        addresses: [{ type: "Hostname", address: "n1" }, { type: "InternalIP", address: "172.30.0.2" }],
      },
    });
  });

  it("merges ownerReferences by uid, putting unknown items first as upstream does without an order directive", () => {
    const live = { metadata: { ownerReferences: [{ uid: "u1", name: "a" }] } };
    expect(applyStrategicMergePatch(live, { metadata: { ownerReferences: [{ uid: "u2", name: "b" }] } })).toEqual({
      metadata: { ownerReferences: [{ uid: "u2", name: "b" }, { uid: "u1", name: "a" }] },
    });
  });

  it("deletes keys set to null and ignores nulls for absent keys", () => {
    const live = { metadata: { name: "x", labels: { a: "1" } }, spec: { replicas: 2 } };
    const patch = { metadata: { labels: null, creationTimestamp: null }, spec: { template: { metadata: { creationTimestamp: null } } } };
    expect(applyStrategicMergePatch(live, patch)).toEqual({ metadata: { name: "x" }, spec: { replicas: 2, template: { metadata: {} } } });
  });

  it("processes directives inside values the original lacks", () => {
    const patch = {
      spec: {
        template: {
          spec: { "$setElementOrder/containers": [{ name: "a" }], containers: [{ name: "a", env: [{ name: "X", $patch: "delete" }, { name: "Y", value: "1" }] }] },
        },
      },
    };
    expect(applyStrategicMergePatch({}, patch)).toEqual({ spec: { template: { spec: { containers: [{ name: "a", env: [{ name: "Y", value: "1" }] }] } } } });
  });

  it("lets the patch win when the types differ", () => {
    expect(applyStrategicMergePatch({ a: [1], b: { c: 1 }, d: "x" }, { a: { x: 1 }, b: [2], d: { e: null } })).toEqual({ a: { x: 1 }, b: [2], d: {} });
  });

  it("treats an absent original as an empty object", () => {
    expect(applyStrategicMergePatch(undefined, { metadata: { name: "x" } })).toEqual({ metadata: { name: "x" } });
  });

  it("leaves the original and the patch untouched", () => {
    const live = deployment([{ name: "a", image: "1", env: [{ name: "X", value: "1" }] }]);
    const snapshot = structuredClone(live);
    const patch = { spec: { template: { spec: { containers: [{ name: "a", env: [{ name: "X", value: "2" }] }, { name: "b", args: ["x"] }] } } } };
    const patchSnapshot = structuredClone(patch);
    const result = applyStrategicMergePatch(live, patch) as { spec: { template: { spec: { containers: { args?: string[] }[] } } } };
    result.spec.template.spec.containers[1]?.args?.push("mutated");
    expect(live).toEqual(snapshot);
    expect(patch).toEqual(patchSnapshot);
  });

  it("never lets a $-key from the patch into the result", () => {
    const patch = {
      $weird: 1,
      metadata: { "$setElementOrder/finalizers": ["a"], finalizers: ["a"], $retainKeys: ["finalizers", "labels"], labels: { $patch: "merge", a: "b" } },
      spec: { tolerations: [{ key: "x", $foo: "bar" }] },
    };
    const result = applyStrategicMergePatch({ metadata: { name: "x" } }, patch);
    expect(JSON.stringify(result)).not.toContain("$");
    expect(result).toEqual({ metadata: { finalizers: ["a"], labels: { a: "b" } }, spec: { tolerations: [{ key: "x" }] } });
  });

  it.each([
    ["a patch that is not an object", ["x"]],
    ["an unknown $patch in a map", { metadata: { $patch: "frob" } }],
    ["an unknown $patch in a list", { spec: { containers: [{ name: "a", $patch: "frob" }] } }],
    ["a list item without its merge key", { spec: { containers: [{ image: "x" }] } }],
    ["a delete without the merge key", { spec: { containers: [{ $patch: "delete" }] } }],
    ["a primitive in a merging list of maps", { spec: { containers: ["a"] } }],
    ["a $retainKeys that is not a list", { spec: { strategy: { $retainKeys: "type" } } }],
    ["a key missing from $retainKeys", { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: {} } } }],
    ["a $setElementOrder that is not a list", { spec: { "$setElementOrder/containers": {}, containers: [] } }],
    ["a $setElementOrder item without the merge key", { spec: { "$setElementOrder/containers": [{ image: "x" }] } }],
    ["a $deleteFromPrimitiveList that is not a list", { metadata: { "$deleteFromPrimitiveList/finalizers": "a" } }],
  ])("answers %s with 400 BadRequest", (_title, patch) => {
    const live = { spec: { containers: [{ name: "a" }], strategy: { type: "RollingUpdate" } }, metadata: { finalizers: ["a"] } };
    const err = statusOf(() => applyStrategicMergePatch(live, patch));
    expect(err.code).toBe(400);
    expect(err.reason).toBe("BadRequest");
  });
});

describe("strategic merge patch properties", () => {
  // Without lists and directives a strategic merge patch is a JSON merge patch.
  const scalar = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean());
  const key = fc.string({ maxLength: 4 }).filter((k) => !k.startsWith("$"));
  const tree = fc.letrec((tie) => ({
    node: fc.dictionary(key, fc.oneof({ depthSize: "small" }, scalar, tie("node")), { maxKeys: 4 }),
  })).node;
  const patchTree = fc.letrec((tie) => ({
    node: fc.dictionary(key, fc.oneof({ depthSize: "small" }, scalar, fc.constant(null), tie("node")), { maxKeys: 4 }),
  })).node;

  it("agrees with a JSON merge patch on objects without lists", () => {
    fc.assert(
      fc.property(tree, patchTree, (original, patch) => {
        expect(applyStrategicMergePatch(original, patch)).toEqual(applyMergePatch(original, patch));
      }),
    );
  });

  it("merges container lists without losing or duplicating names", () => {
    const names = fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e"), { maxLength: 5 });
    fc.assert(
      fc.property(names, names, (live, patched) => {
        const result = applyStrategicMergePatch(
          { spec: { containers: live.map((name) => ({ name, from: "live" })) } },
          { spec: { containers: patched.map((name) => ({ name, from: "patch" })) } },
        );
        const spec = result.spec;
        const containers = isRecord(spec) && Array.isArray(spec.containers) ? (spec.containers as { name: string }[]) : [];
        expect(containers.map((c) => c.name).sort()).toEqual([...new Set([...live, ...patched])].sort());
        // Patched items keep the patch's relative order.
        const order = containers.map((c) => c.name).filter((n) => patched.includes(n));
        expect(order).toEqual(patched);
      }),
    );
  });
});
