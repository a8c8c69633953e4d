import { describe, expect, it } from "vitest";
import type { KubeObject } from "../meta.js";
import { newDaemonSet, newDeployment, newReplicaSet, newStatefulSet } from "../testing/builders.js";
import type { Deployment } from "../types/index.js";
import { problems, updateProblems, edit } from "./testing.js";

describe("workloads", () => {
  it.each<[string, KubeObject, string]>([
    ["a Deployment without selector", edit(newDeployment("web"), (d) => delete d.spec!.selector), "spec.selector: Required value"],
    [
      "a Deployment with an empty selector",
      edit(newDeployment("web"), (d) => (d.spec!.selector = {})),
      "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
    ],
    [
      "a Deployment whose selector misses its template",
      edit(newDeployment("web"), (d) => (d.spec!.template!.metadata!.labels = { app: "x" })),
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
    ],
    ["negative replicas", newDeployment("web", { replicas: -1 }), "spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
    [
      "a template that does not always restart",
      edit(newDeployment("web"), (d) => (d.spec!.template!.spec!.restartPolicy = "Never")),
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ],
    ["a template container without image", edit(newDeployment("web"), (d) => delete d.spec!.template!.spec!.containers[0]!.image), "spec.template.spec.containers[0].image: Required value"],
    [
      "maxSurge and maxUnavailable both 0",
      edit(newDeployment("web"), (d) => (d.spec!.strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } })),
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
    ],
    [
      "a malformed percentage",
      edit(newDeployment("web"), (d) => (d.spec!.strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: "25", maxUnavailable: 1 } })),
      "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"25\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ],
    [
      "maxUnavailable over 100%",
      edit(newDeployment("web"), (d) => (d.spec!.strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: "150%" } })),
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%',
    ],
    ["a ReplicaSet with an empty selector", edit(newReplicaSet("rs"), (r) => (r.spec!.selector = { matchLabels: {} })), "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"],
    [
      "a selector expression without values",
      edit(newReplicaSet("rs"), (r) => (r.spec!.selector = { matchExpressions: [{ key: "app", operator: "In" }] })),
      "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    ],
    [
      "an RC whose selector misses its template",
      {
        apiVersion: "v1",
        kind: "ReplicationController",
        metadata: { name: "rc", namespace: "default" },
        spec: { selector: { app: "a" }, template: { metadata: { labels: { app: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } } },
      },
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`',
    ],
    [
      "a DaemonSet surging and dropping at once",
      edit(newDaemonSet("ds"), (d) => (d.spec!.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } })),
      "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: may not be set when maxUnavailable is non-zero",
    ],
    [
      "a StatefulSet with maxUnavailable 0",
      edit(newStatefulSet("db"), (s) => (s.spec!.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0 } })),
      "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: cannot be 0",
    ],
    [
      "a StatefulSet with maxUnavailable over 100%",
      edit(newStatefulSet("db"), (s) => (s.spec!.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "150%" } })),
      "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%",
    ],
  ])("rejects %s", (_what, obj, expected) => {
    expect(problems(obj)).toContain(expected);
  });

  it.each<[string, KubeObject]>([
    ["Deployment", newDeployment("web")],
    ["ReplicaSet", newReplicaSet("web")],
    ["DaemonSet", newDaemonSet("web")],
  ])("keeps an apps/v1 %s selector immutable", (_kind, obj) => {
    const next = structuredClone(obj) as Deployment;
    next.spec!.selector = { matchLabels: { app: "web", tier: "fe" } };
    next.spec!.template!.metadata!.labels = { app: "web", tier: "fe" };
    expect(updateProblems(next, obj)).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"fe"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
  });

  it("lets a Deployment scale and change its image", () => {
    const prev = newDeployment("web", { replicas: 1 });
    const next = newDeployment("web", { replicas: 4, image: "nginx:2" });
    expect(updateProblems(next, prev)).toEqual([]);
  });

  it("lets a StatefulSet's containers mount its claim templates, but not unknown volumes", () => {
    const withMount = (name: string) =>
      edit(newStatefulSet("db"), (s) => {
        s.spec!.volumeClaimTemplates = [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }];
        s.spec!.template!.spec!.containers[0]!.volumeMounts = [{ name, mountPath: "/data" }];
      });
    expect(problems(withMount("data"))).toEqual([]);
    expect(problems(withMount("other"))).toEqual(['spec.template.spec.containers[0].volumeMounts[0].name: Not found: "other"']);
  });

  it("refuses a StatefulSet update outside its mutable fields", () => {
    const prev = newStatefulSet("db");
    const next = edit(structuredClone(prev), (s) => (s.spec!.serviceName = "other"));
    expect(updateProblems(next, prev)).toEqual([
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ]);
  });
});
