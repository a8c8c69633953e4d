import { describe, expect, it } from "vitest";
import type { KubeObject } from "../meta.js";
import { problems } from "./testing.js";

describe("leases", () => {
  it.each<[string, KubeObject, string]>([
    [
      "a zero lease duration",
      { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "l", namespace: "kube-node-lease" }, spec: { leaseDurationSeconds: 0 } },
      "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
    ],
  ])("rejects %s", (_what, obj, expected) => {
    expect(problems(obj)).toContain(expected);
  });
});
