import { describe, expect, it } from "vitest";
import type { KubeObject } from "../meta.js";
import { countIndexes } from "./batch.js";
import { problems, updateProblems } from "./testing.js";

function job(extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default" },
    spec: {
      selector: { matchLabels: { app: "pi" } },
      template: { metadata: { labels: { app: "pi" } }, spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } },
      ...extra,
    },
  };
}

const indexed = (extra: Record<string, unknown> = {}): KubeObject => job({ completionMode: "Indexed", completions: 5, parallelism: 2, ...extra });

describe("batch validation: successPolicy, backoffLimitPerIndex, podFailurePolicy (Kubernetes 1.32's messages)", () => {
  it("accepts per-index backoff, a success policy and a FailIndex rule on an Indexed Job", () => {
    expect(
      problems(
        indexed({
          backoffLimitPerIndex: 1,
          maxFailedIndexes: 2,
          successPolicy: { rules: [{ succeededIndexes: "0,2-3", succeededCount: 2 }, { succeededCount: 4 }] },
          podFailurePolicy: { rules: [{ action: "FailIndex", onExitCodes: { operator: "In", values: [42] } }, { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] }] },
        }),
      ),
    ).toEqual([]);
  });

  it("requires Indexed completion mode for backoffLimitPerIndex, maxFailedIndexes and successPolicy", () => {
    expect(problems(job({ backoffLimitPerIndex: 1, maxFailedIndexes: 1, successPolicy: { rules: [] } }))).toEqual([
      "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode",
      "spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode",
      "spec.successPolicy: Invalid value: batch.SuccessPolicy{Rules:[]batch.SuccessPolicyRule{}}: requires indexed completion mode",
    ]);
  });

  it("bounds maxFailedIndexes and requires backoffLimitPerIndex with it", () => {
    expect(problems(indexed({ maxFailedIndexes: 6 }))).toEqual([
      "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
      "spec.maxFailedIndexes: Invalid value: 6: must be less than or equal to completions",
    ]);
    expect(problems(indexed({ backoffLimitPerIndex: -1 }))).toEqual(["spec.backoffLimitPerIndex: Invalid value: -1: must be greater than or equal to 0"]);
    expect(problems(indexed({ completions: 200_000, parallelism: 20_000, backoffLimitPerIndex: 1 }))).toEqual([
      "spec.maxFailedIndexes: Required value: must be specified when completions is above 100000",
      "spec.parallelism: Invalid value: 20000: must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index",
    ]);
  });

  it("checks success policy rules against completions", () => {
    expect(problems(indexed({ successPolicy: { rules: [] } }))).toEqual(["spec.successPolicy.rules: Required value: at least one rules must be specified when the successPolicy is specified"]);
    expect(problems(indexed({ successPolicy: { rules: [{}] } }))).toEqual(["spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified"]);
    expect(problems(indexed({ successPolicy: { rules: [{ succeededIndexes: "1-3,7" }] } }))).toEqual([
      'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "1-3,7": error parsing succeededIndexes: too large index: "7"',
    ]);
    expect(problems(indexed({ successPolicy: { rules: [{ succeededIndexes: "3,1" }] } }))).toEqual([
      'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "3,1": error parsing succeededIndexes: non-increasing order, previous: 3, current: 1',
    ]);
    expect(problems(indexed({ successPolicy: { rules: [{ succeededCount: 6 }, { succeededIndexes: "0-1", succeededCount: 3 }] } }))).toEqual([
      "spec.successPolicy.rules[0].succeededCount: Invalid value: 6: must be less than or equal to 5 (the number of specified completions)",
      "spec.successPolicy.rules[1].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)",
    ]);
  });

  it("checks pod failure policy rules", () => {
    expect(problems(indexed({ podFailurePolicy: { rules: [{ action: "FailIndex", onExitCodes: { operator: "In", values: [0, 3, 3, 1] } }] } }))).toEqual([
      'spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
      "spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
      "spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Duplicate value: 3",
      "spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: []int32{0, 3, 3, 1}: must be ordered",
    ]);
    expect(problems(job({ podFailurePolicy: { rules: [{ action: "Count" }] } }))).toEqual(["spec.podFailurePolicy.rules[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required"]);
    expect(problems(job({ podFailurePolicy: { rules: [{ action: "Retry", onExitCodes: { containerName: "x", operator: "In", values: [1] } }] } }))).toEqual([
      'spec.podFailurePolicy.rules[0].action: Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"',
      'spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: "x": must be one of the container or initContainer names in the pod template',
    ]);
  });

  it("keeps backoffLimitPerIndex, successPolicy and podFailurePolicy immutable", () => {
    const prev = indexed({ backoffLimitPerIndex: 1, successPolicy: { rules: [{ succeededCount: 1 }] } });
    const next = indexed({ backoffLimitPerIndex: 2, successPolicy: { rules: [{ succeededCount: 2 }] } });
    const errs = updateProblems(next, prev);
    expect(errs).toContain("spec.backoffLimitPerIndex: Invalid value: 2: field is immutable");
    expect(errs.some((e) => e.startsWith("spec.successPolicy: Invalid value:") && e.endsWith("field is immutable"))).toBe(true);
  });

  it("counts interval lists as Kubernetes parses them", () => {
    expect(countIndexes("0,2-4", 5)).toBe(4);
    expect(countIndexes("", 5)).toBe(0);
    expect(countIndexes("1-2-3", 5)).toBe(`the fragment "1-2-3" violates the requirement that an index interval can have at most two parts separated by '-'`);
    expect(countIndexes("a", 5)).toBe('cannot convert string to integer for index: "a"');
    expect(countIndexes("3-3", 5)).toBe("non-increasing order, previous: 3, current: 3");
  });
});
