import { describe, expect, it } from "vitest";
import { findUnknownFields, pruneUnknownFields } from "./unknown-fields.js";

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
