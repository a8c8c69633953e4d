import { describe, expect, it } from "vitest";
import { findUnknownFields, pruneUnknownFields } from "./unknown-fields.js";
import { WIRE_MODELS, WIRE_ROOTS } from "./wire-types.gen.js";
import { seededRandom } from "../test/support/random.js";

describe("findUnknownFields", () => {
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { app: "web" }, creationTimestamp: null },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "nginx",
              image: "nginx",
              ports: [{ containerPort: 80, protocol: "TCP" }],
              resources: { limits: { cpu: "1" } },
              securityContext: { runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
              livenessProbe: { httpGet: { path: "/", port: 80 }, periodSeconds: 3 },
            },
          ],
          volumes: [{ name: "v", emptyDir: {} }],
          affinity: { nodeAffinity: {} },
          schedulingGroup: { newerThanTheModels: true },
        },
      },
    },
    status: {},
  };

  it("finds nothing in a valid Deployment", () => {
    expect(findUnknownFields("apps/v1", "Deployment", deployment)).toEqual([]);
  });

  it("reports unknown fields with Kubernetes' paths", () => {
    const bad = structuredClone(deployment) as Record<string, unknown> & typeof deployment;
    (bad.spec as Record<string, unknown>).foo = 1;
    (bad.metadata as Record<string, unknown>).lables = {};
    (bad.spec.template.spec.containers[0] as Record<string, unknown>).imagePolicy = "Always";
    (bad.spec.template.spec.volumes[0] as Record<string, unknown>).emptyDri = {};
    (bad as Record<string, unknown>).extra = true;
    (bad.spec.template.spec.containers[0]!.securityContext as Record<string, unknown>).runAsNonRot = true;
    (bad.spec.template.spec.affinity.nodeAffinity as Record<string, unknown>).requiredDuringScheduling = {};
    expect(findUnknownFields("apps/v1", "Deployment", bad).sort()).toEqual(
      [
        "extra",
        "metadata.lables",
        "spec.foo",
        "spec.template.spec.containers[0].imagePolicy",
        "spec.template.spec.volumes[0].emptyDri",
        // Structures a hand-written field list left unchecked are checked against the generated models too.
        "spec.template.spec.containers[0].securityContext.runAsNonRot",
        "spec.template.spec.affinity.nodeAffinity.requiredDuringScheduling",
      ].sort(),
    );
  });

  it.each([
    ["v1", "ConfigMap", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, dta: {} }, ["dta"]],
    ["v1", "Service", { apiVersion: "v1", kind: "Service", metadata: {}, spec: { ports: [{ port: 80, tragetPort: 8080 }] } }, ["spec.ports[0].tragetPort"]],
    ["v1", "Pod", { apiVersion: "v1", kind: "Pod", metadata: {}, spec: { containers: [{ name: "c", image: "i", env: [{ name: "A", valu: "1" }] }] } }, ["spec.containers[0].env[0].valu"]],
    ["v1", "Secret", { apiVersion: "v1", kind: "Secret", metadata: {}, stringData: { a: "b" }, type: "Opaque" }, []],
    ["v1", "Node", { apiVersion: "v1", kind: "Node", metadata: {}, whatever: 1, status: { anything: 1 } }, ["whatever"]],
    ["coordination.k8s.io/v1", "Lease", { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: {}, spec: { holderIdentity: "a", renewTme: "x" } }, ["spec.renewTme"]],
    ["example.com/v1", "Widget", { spec: { anything: 1 } }, []],
  ])("%s %s → %j", (apiVersion, kind, object, expected) => {
    expect(findUnknownFields(apiVersion, kind, object)).toEqual(expected);
  });

  it("does not mistake inherited property names for known fields", () => {
    expect(findUnknownFields("v1", "ConfigMap", JSON.parse('{"metadata":{},"constructor":1,"toString":2}'))).toEqual(["constructor", "toString"]);
  });
});

describe("pruneUnknownFields", () => {
  it("drops exactly the fields findUnknownFields reports, keeping patch directives", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", lables: { a: "b" }, labels: { "x.y/z": "1" } },
      spec: {
        containers: [{ name: "c", image: "i", imagePolicy: "Always", env: [{ name: "A", valu: "1" }] }, { name: "s", $patch: "delete" }],
        $setElementOrder: [{ name: "c" }],
        affinity: { nodeAffinity: {}, anything: { goes: true } },
      },
      extra: true,
    };
    pruneUnknownFields("v1", "Pod", pod);
    expect(pod).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", labels: { "x.y/z": "1" } },
      spec: {
        containers: [{ name: "c", image: "i", env: [{ name: "A" }] }, { name: "s", $patch: "delete" }],
        $setElementOrder: [{ name: "c" }],
        affinity: { nodeAffinity: {} },
      },
    });
    expect(findUnknownFields("v1", "Pod", pod).filter((p) => !p.includes("$"))).toEqual([]);
  });

  it("leaves kinds without a schema alone", () => {
    const widget = { spec: { anything: 1 } };
    pruneUnknownFields("example.com/v1", "Widget", widget);
    expect(widget).toEqual({ spec: { anything: 1 } });
  });
});

describe("findUnknownFields on generated objects", () => {

  /** A random value of schema type `type` at `path`; adds an unknown key now and then and records where it went. */
  function valueOf(type: string, next: () => number, depth: number, path: string, unknown: string[], topLevel = false): unknown {
    const join = (key: string): string => (path === "" ? key : `${path}.${key}`);
    // A value of the wrong JSON type (typed decoding's business): nothing in it is walked.
    if (next() < 0.04) return ["wrong", 7, [1], null][Math.floor(next() * 4)];
    if (type.startsWith("[]")) return depth <= 0 ? [] : Array.from({ length: Math.floor(next() * 3) }, (_, i) => valueOf(type.slice(2), next, depth - 1, `${path}[${i}]`, unknown));
    if (type.startsWith("{}")) return depth <= 0 ? {} : Object.fromEntries(Array.from({ length: Math.floor(next() * 3) }, (_, i) => [`k${i}`, valueOf(type.slice(2), next, depth - 1, join(`k${i}`), unknown)]));
    const fields = WIRE_MODELS[type];
    if (fields === undefined) return ["s", 1, true][Math.floor(next() * 3)];
    const out: Record<string, unknown> = {};
    if (depth <= 0) return out;
    for (const [name, fieldType] of Object.entries(fields)) {
      // A kind's status is not checked: nothing under it is unknown.
      if (next() < 0.3) out[name] = valueOf(fieldType, next, depth - 1, join(name), topLevel && name === "status" ? [] : unknown);
    }
    if (next() < 0.08) {
      out.zzUnknown = { a: 1 };
      unknown.push(join("zzUnknown"));
    }
    return out;
  }

  it("reports exactly the unknown fields placed in random objects of every kind, and [] when there are none", () => {
    const next = seededRandom(21);
    let withUnknown = 0;
    for (const [gvk, root] of Object.entries(WIRE_ROOTS)) {
      const slash = gvk.lastIndexOf("/");
      for (let i = 0; i < 60; i++) {
        const placed: string[] = [];
        const object = valueOf(root, next, 8, "", placed, true);
        if (placed.length > 0) withUnknown++;
        expect(findUnknownFields(gvk.slice(0, slash), gvk.slice(slash + 1), object), JSON.stringify(object)).toEqual(placed);
      }
    }
    expect(withUnknown).toBeGreaterThan(300);
  });
});
