import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderWireTypes } from "../test/support/wire-types-schema.js";
import { isStatusError } from "./errors.js";
import { canonicalQuantity, isQuantity, QUANTITY_FORMAT_ERROR, QUANTITY_SUFFIX_ERROR, quantityError } from "./quantity.js";
import { newConfigMap, newDaemonSet, newDeployment, newNamespace, newNode, newPod, newReplicaSet, newService, newStatefulSet } from "./testing/builders.js";
import { canonicalizeQuantities, checkWireTypes, findWireTypeError, MAX_OBJECT_DEPTH, nestedDeeperThan } from "./wire-types.js";
import { WIRE_MODELS, WIRE_ROOTS } from "./wire-types.gen.js";
import { seededRandom } from "../test/support/random.js";

function statusOf(fn: () => unknown): { code: number; reason: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isStatusError(err)) return { code: err.code, reason: err.reason, message: err.message };
    throw err;
  }
  throw new Error("expected a StatusError");
}

function pod(change: (p: Record<string, unknown> & { metadata: Record<string, unknown>; spec: Record<string, unknown> }) => void): unknown {
  const p = JSON.parse(JSON.stringify(newPod("web", { requests: { cpu: "100m" } }))) as Record<string, unknown> & { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  change(p);
  return p;
}

describe("findWireTypeError", () => {
  it.each([
    ["a pod with status", ["v1", "Pod", newPod("web", { ready: true, podIP: "10.244.1.5", nodeName: "n1" })]],
    ["a service", ["v1", "Service", newService("web", { ports: [80, { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" }], type: "NodePort" })]],
    ["a deployment", ["apps/v1", "Deployment", newDeployment("web", { replicas: 3 })]],
    ["a replica set", ["apps/v1", "ReplicaSet", newReplicaSet("web")]],
    ["a daemon set", ["apps/v1", "DaemonSet", newDaemonSet("web")]],
    ["a stateful set", ["apps/v1", "StatefulSet", newStatefulSet("web")]],
    ["a node", ["v1", "Node", newNode("n1", { podCIDR: "10.244.1.0/24", taints: [{ key: "k", effect: "NoSchedule" }] })]],
    ["a namespace", ["v1", "Namespace", newNamespace("ns", { phase: "Active" })]],
    ["a config map", ["v1", "ConfigMap", newConfigMap("cm", { data: { a: "b" } })]],
  ] as const)("accepts %s from the builders", (_name, [apiVersion, kind, object]) => {
    expect(findWireTypeError(apiVersion, kind, object)).toBeUndefined();
  });

  it.each([
    ["an array as the name", pod((p) => (p.metadata.name = ["web"])), "array", "ObjectMeta.metadata.name", "string"],
    ["a number as a label value", pod((p) => (p.metadata.labels = { app: 5 })), "number", "ObjectMeta.metadata.labels", "string"],
    ["a string port", pod((p) => (p.spec.containers = [{ name: "a", image: "x", ports: [{ containerPort: "80" }] }])), "string", "ContainerPort.spec.containers.ports.containerPort", "int32"],
    ["a fractional integer", pod((p) => (p.spec.terminationGracePeriodSeconds = 1.5)), "number 1.5", "PodSpec.spec.terminationGracePeriodSeconds", "int64"],
    ["an int32 out of range", pod((p) => (p.spec.priority = 2 ** 31)), "number 2147483648", "PodSpec.spec.priority", "int32"],
    ["a string boolean", pod((p) => (p.spec.hostNetwork = "no")), "string", "PodSpec.spec.hostNetwork", "bool"],
    ["an object where a list belongs", pod((p) => (p.spec.containers = { name: "a" })), "object", "PodSpec.spec.containers", "[]v1.Container"],
    ["a timestamp that is not RFC 3339", pod((p) => (p.metadata.creationTimestamp = "yesterday")), 'string "yesterday"', "ObjectMeta.metadata.creationTimestamp", "v1.Time"],
    ["an object as a quantity", pod((p) => (p.spec.overhead = { cpu: { v: 1 } })), "object", "PodSpec.spec.overhead", "resource.Quantity"],
  ])("reports %s", (_name, object, found, field, expected) => {
    expect(findWireTypeError("v1", "Pod", object)).toEqual({ found, field, expected });
  });

  it("reports the innermost struct of a config map's data and a deployment's template", () => {
    expect(findWireTypeError("v1", "ConfigMap", { metadata: { name: "x" }, data: { k: { z: 1 } } })).toEqual({ found: "object", field: "ConfigMap.data", expected: "string" });
    const deployment = JSON.parse(JSON.stringify(newDeployment("web"))) as { spec: { template: { spec: { containers: { image: unknown }[] } } } };
    deployment.spec.template.spec.containers[0]!.image = 7;
    expect(findWireTypeError("apps/v1", "Deployment", deployment)).toEqual({ found: "number", field: "Container.spec.template.spec.containers.image", expected: "string" });
  });

  it("accepts what Kubernetes' decoding accepts: numeric quantities, int-or-strings, nulls and unknown fields", () => {
    const object = pod((p) => {
      p.spec.containers = [{ name: "a", image: "x", resources: { limits: { cpu: 1, memory: "1Gi" } }, livenessProbe: { httpGet: { port: "http" } }, readinessProbe: { tcpSocket: { port: 8080 } } }];
      p.spec.nodeName = null;
      p.spec.somethingNew = { any: ["thing"] };
      p.metadata.creationTimestamp = "2024-01-01T00:00:00.123456+02:00";
    });
    expect(findWireTypeError("v1", "Pod", object)).toBeUndefined();
  });

  it("checks nothing for kinds it has no schema for", () => {
    expect(findWireTypeError("v1", "Unheard", { metadata: { name: 5 } })).toBeUndefined();
  });
});

describe("checkWireTypes", () => {
  it("answers 400 BadRequest with Kubernetes' decoding message", () => {
    expect(statusOf(() => { checkWireTypes("v1", "ConfigMap", { metadata: { name: "x" }, data: { k: 5 } }); })).toEqual({
      code: 400,
      reason: "BadRequest",
      message: 'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string',
    });
    expect(statusOf(() => { checkWireTypes("apps/v1", "Deployment", { metadata: { name: "x" }, spec: { replicas: "3" } }); }).message).toBe(
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    );
  });

  it("refuses objects nested past the limit, which patches could otherwise deepen without end", () => {
    let deep: unknown = "x";
    for (let i = 0; i < MAX_OBJECT_DEPTH + 5; i++) deep = { a: deep };
    expect(nestedDeeperThan(deep, MAX_OBJECT_DEPTH)).toBe(true);
    expect(statusOf(() => { checkWireTypes("v1", "Node", { metadata: { name: "n" }, status: { extra: deep } }); })).toMatchObject({ code: 400, message: 'Node in version "v1" cannot be handled as a Node: the object is nested too deeply' });
    expect(nestedDeeperThan({ a: [{ b: [1] }] }, 4)).toBe(false);
  });
});

describe("wire-types.gen.ts", () => {
  it("is what the official client's models give (UPDATE_WIRE_TYPES=1 rewrites it)", () => {
    const path = new URL("./wire-types.gen.ts", import.meta.url);
    const rendered = renderWireTypes();
    if (process.env.UPDATE_WIRE_TYPES) writeFileSync(path, rendered);
    expect(readFileSync(path, "utf8")).toBe(rendered);
  }, 60_000); // compiles api/types/*.ts for the field docs
});

describe("canonicalizeQuantities", () => {
  it("rewrites every quantity of a pod in canonical form, numbers as strings, and nothing else", () => {
    const p = pod((o) => {
      o.metadata.annotations = { cpu: "1000m" };
      o.spec.overhead = { cpu: 0.5 };
      o.spec.containers = [{ name: "c", image: "i", resources: { requests: { cpu: "1000m", memory: "1024Mi" }, limits: { cpu: 2, memory: "1.5Gi", "example.com/gpu": "1e3" } } }];
      o.spec.initContainers = [{ name: "i", image: "i", env: [{ name: "X", valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1000m" } } }] }];
      o.spec.volumes = [{ name: "v", emptyDir: { sizeLimit: "2048Ki" } }];
    }) as { metadata: unknown; spec: Record<string, unknown> };
    canonicalizeQuantities("v1", "Pod", p);
    expect(p.metadata).toMatchObject({ annotations: { cpu: "1000m" } });
    expect(p.spec.overhead).toEqual({ cpu: "500m" });
    expect(p.spec.containers).toEqual([{ name: "c", image: "i", resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "2", memory: "1536Mi", "example.com/gpu": "1e3" } } }]);
    expect(p.spec.initContainers).toEqual([{ name: "i", image: "i", env: [{ name: "X", valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1" } } }] }]);
    expect(p.spec.volumes).toEqual([{ name: "v", emptyDir: { sizeLimit: "2Mi" } }]);
  });

  it("reaches quotas, limit ranges, claims and HPA metric targets", () => {
    const quota = { apiVersion: "v1", kind: "ResourceQuota", spec: { hard: { "requests.cpu": "2000m", pods: 10 } }, status: { used: { "requests.cpu": "0.5" } } };
    canonicalizeQuantities("v1", "ResourceQuota", quota);
    expect(quota).toMatchObject({ spec: { hard: { "requests.cpu": "2", pods: "10" } }, status: { used: { "requests.cpu": "500m" } } });
    const limits = { spec: { limits: [{ type: "Container", default: { memory: "1024Mi" }, maxLimitRequestRatio: { cpu: 4 } }] } };
    canonicalizeQuantities("v1", "LimitRange", limits);
    expect(limits.spec.limits[0]).toEqual({ type: "Container", default: { memory: "1Gi" }, maxLimitRequestRatio: { cpu: "4" } });
    const claim = { spec: { resources: { requests: { storage: "1000Mi" } } }, status: { capacity: { storage: "1e9" } } };
    canonicalizeQuantities("v1", "PersistentVolumeClaim", claim);
    expect(claim).toEqual({ spec: { resources: { requests: { storage: "1000Mi" } } }, status: { capacity: { storage: "1e9" } } });
    const hpa = { spec: { metrics: [{ type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "1000000k" } } }] } };
    canonicalizeQuantities("autoscaling/v2", "HorizontalPodAutoscaler", hpa);
    expect(hpa.spec.metrics[0]?.resource.target.averageValue).toBe("1G");
  });

  it("refuses a quantity that does not parse as Kubernetes' decoding does, and leaves kinds without a schema alone", () => {
    const p = pod((o) => {
      o.spec.containers = [{ name: "c", image: "i", resources: { requests: { cpu: "lots" } } }];
    });
    expect(statusOf(() => { canonicalizeQuantities("v1", "Pod", p); })).toEqual({ code: 400, reason: "BadRequest", message: `Pod in version "v1" cannot be handled as a Pod: ${QUANTITY_FORMAT_ERROR}` });
    const quota = { spec: { hard: { pods: "1kk" } } };
    expect(statusOf(() => { canonicalizeQuantities("v1", "ResourceQuota", quota); }).message).toBe(`ResourceQuota in version "v1" cannot be handled as a ResourceQuota: ${QUANTITY_SUFFIX_ERROR}`);
    const custom = { spec: { resources: { requests: { cpu: "1000m", memory: "lots" } } } };
    canonicalizeQuantities("example.com/v1", "Widget", custom);
    expect(custom.spec.resources.requests).toEqual({ cpu: "1000m", memory: "lots" });
  });

  it("keeps a __proto__ key of a resource list an own member", () => {
    const quota = JSON.parse('{"spec":{"hard":{"__proto__":"1000m"}}}') as { spec: { hard: Record<string, unknown> } };
    canonicalizeQuantities("v1", "ResourceQuota", quota);
    expect(Object.hasOwn(quota.spec.hard, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(quota.spec.hard, "__proto__")?.value).toBe("1");
  });
});


const QUANTITY_VALUES: readonly unknown[] = ["100m", "1000m", "64Mi", "1024Mi", 0.5, 2, "1e3", "bogus", "1kk", " 1", null, { a: 1 }];

/** A random value of schema type `type`: fields present at random, sometimes of the wrong JSON type, unknown keys. */
function valueOf(type: string, next: () => number, depth: number): unknown {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  if (next() < 0.05) return pick(["wrong", 7, [], {}, null]);
  if (type === "quantity") return pick(QUANTITY_VALUES);
  if (type.startsWith("[]")) return depth <= 0 ? [] : Array.from({ length: Math.floor(next() * 3) }, () => valueOf(type.slice(2), next, depth - 1));
  if (type.startsWith("{}")) return depth <= 0 ? {} : Object.fromEntries(Array.from({ length: Math.floor(next() * 3) }, (_, i) => [`k${i}`, valueOf(type.slice(2), next, depth - 1)]));
  const fields = WIRE_MODELS[type];
  if (fields === undefined) return pick(["s", 1, true, "2024-01-01T00:00:00Z"]);
  const out: Record<string, unknown> = {};
  if (depth <= 0) return out;
  for (const [name, fieldType] of Object.entries(fields)) if (next() < 0.35) out[name] = valueOf(fieldType, next, depth - 1);
  if (next() < 0.2) out.unknownField = { cpu: "1000m" };
  return out;
}

/** canonicalizeQuantities' definition, written plainly: every quantity-typed value the schema reaches, rewritten. */
function referenceCanonicalize(value: unknown, type: string, malformed: string[]): unknown {
  if (value === null || value === undefined) return value;
  if (type === "quantity") {
    if (isQuantity(value)) return canonicalQuantity(value);
    malformed.push(quantityError(value) ?? "");
    return value;
  }
  if (type.startsWith("[]")) return Array.isArray(value) ? value.map((item: unknown) => referenceCanonicalize(item, type.slice(2), malformed)) : value;
  if (typeof value !== "object" || Array.isArray(value)) return value;
  const fields = WIRE_MODELS[type];
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    const memberType = type.startsWith("{}") ? type.slice(2) : fields !== undefined && Object.hasOwn(fields, key) ? fields[key] : undefined;
    out[key] = memberType === undefined ? member : referenceCanonicalize(member, memberType, malformed);
  }
  return out;
}

describe("canonicalizeQuantities against its definition", () => {
  it("rewrites the same quantities and reports the same first error, for random objects of every kind", () => {
    const next = seededRandom(7);
    let rewritten = 0;
    let refused = 0;
    for (const [gvk, root] of Object.entries(WIRE_ROOTS)) {
      const slash = gvk.lastIndexOf("/");
      const apiVersion = gvk.slice(0, slash);
      const kind = gvk.slice(slash + 1);
      for (let i = 0; i < 100; i++) {
        const object = valueOf(root, next, 9);
        const text = JSON.stringify(object);
        const malformed: string[] = [];
        const expected = referenceCanonicalize(JSON.parse(text), root, malformed);
        const actual = JSON.parse(text) as unknown;
        let message: string | undefined;
        try {
          canonicalizeQuantities(apiVersion, kind, actual);
        } catch (err) {
          message = isStatusError(err) ? err.message : String(err);
        }
        expect(message, `${gvk} ${text}`).toBe(malformed[0] === undefined ? undefined : `${kind} in version "${apiVersion.slice(apiVersion.indexOf("/") + 1)}" cannot be handled as a ${kind}: ${malformed[0]}`);
        expect(actual, `${gvk} ${text}`).toEqual(expected);
        if (JSON.stringify(actual) !== text) rewritten++;
        if (message !== undefined) refused++;
      }
    }
    // Both outcomes are exercised, deep in pods and templates too.
    expect(rewritten).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(30);
  });

  it("gives the canonical form of a quantity it has seen before, and still refuses a malformed one", () => {
    for (let i = 0; i < 3; i++) {
      const quota = { spec: { hard: { cpu: "1000m", memory: "1024Mi" } } };
      canonicalizeQuantities("v1", "ResourceQuota", quota);
      expect(quota.spec.hard).toEqual({ cpu: "1", memory: "1Gi" });
      expect(statusOf(() => { canonicalizeQuantities("v1", "ResourceQuota", { spec: { hard: { cpu: "1kk" } } }); }).code).toBe(400);
    }
  });
});
