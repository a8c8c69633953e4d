import { describe, expect, it } from "vitest";
import { newPod } from "../testing/builders.js";
import type { Pod } from "../types/index.js";
import { updateProblems, edit } from "./testing.js";

describe("pod updates", () => {
  const stored = (): Pod => newPod("web", { nodeName: "node-1", tolerations: [{ key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 60 }] });

  it.each<[string, (p: Pod) => void]>([
    ["a new image", (p) => (p.spec!.containers[0]!.image = "nginx:2")],
    ["an added toleration", (p) => p.spec!.tolerations!.push({ key: "other", operator: "Exists" })],
    ["a changed tolerationSeconds", (p) => (p.spec!.tolerations![0]!.tolerationSeconds = 10)],
    ["a new activeDeadlineSeconds", (p) => (p.spec!.activeDeadlineSeconds = 100)],
    ["new labels", (p) => (p.metadata.labels = { app: "web" })],
    ["a status change", (p) => (p.status = { phase: "Running" })],
  ])("allows %s", (_what, change) => {
    expect(updateProblems(edit(stored(), change), stored())).toEqual([]);
  });

  it("allows binding an unscheduled pod to a node", () => {
    const prev = newPod("web");
    expect(updateProblems(newPod("web", { nodeName: "node-1" }), prev)).toEqual([]);
  });

  it.each<[string, (p: Pod) => void, string]>([
    ["a changed container port", (p) => (p.spec!.containers[0]!.ports = [{ containerPort: 81 }]), "spec: Forbidden: pod updates may not change fields other than "],
    ["a moved pod", (p) => (p.spec!.nodeName = "node-2"), "spec: Forbidden: pod updates may not change fields other than "],
    ["a removed toleration", (p) => (p.spec!.tolerations = []), "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"],
    ["a renamed pod", (p) => (p.metadata.name = "other"), 'metadata.name: Invalid value: "other": field is immutable'],
  ])("refuses %s", (_what, change, prefix) => {
    const errs = updateProblems(edit(stored(), change), stored());
    expect(errs.some((e) => e.startsWith(prefix))).toBe(true);
  });

  it("names the mutable pod fields exactly as Kubernetes does", () => {
    const errs = updateProblems(edit(stored(), (p) => (p.spec!.restartPolicy = "Never")), stored());
    expect(errs).toEqual([
      "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    ]);
  });
});
